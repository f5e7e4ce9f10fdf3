package config

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
)

// maxSessionKeys bounds the session key list: one sealing, a few retiring.
const maxSessionKeys = 5

// oauth2Policy checks an OAUTH2 validation failure policy (oci-policies.md
// §5) of a TOKEN_AUTHENTICATION whose validation policy is vp (nil when
// missing; reported elsewhere).
func (c *checker) oauth2Policy(p string, fp *ValidationFailurePolicy, vp *ValidationPolicy) {
	if vp == nil { // CUSTOM_AUTHENTICATION: no provider to log the browser in with
		c.addf(at(p, "type"), "OAUTH2 is for TOKEN_AUTHENTICATION with a REMOTE_DISCOVERY validationPolicy (the provider that logs the browser in must also check its tokens); use MODIFY_RESPONSE with an authorizer function")
		return
	}
	if vp != nil && vp.Type != "" && !strings.EqualFold(vp.Type, "REMOTE_DISCOVERY") {
		c.addf(at(p, "type"), "OAUTH2 needs a validationPolicy of type REMOTE_DISCOVERY (the provider that logs the browser in must also check its tokens); change validationPolicy or use MODIFY_RESPONSE")
	}
	c.modifyResponseFieldsAbsent(p, fp)
	switch cd := fp.ClientDetails; {
	case cd == nil:
		c.addf(at(p, "clientDetails"), "missing; add {\"type\": \"VALIDATION_BLOCK\"} to reuse the validation policy's client, or a CUSTOM client")
	case strings.EqualFold(cd.Type, ClientDetailsValidationBlock):
		if cd.ClientID != "" || cd.ClientSecretID != "" || cd.ClientSecretVersionNumber != nil {
			c.addf(at(p, "clientDetails"), "VALIDATION_BLOCK takes no clientId, clientSecretId or clientSecretVersionNumber; remove them or use type CUSTOM")
		}
	case strings.EqualFold(cd.Type, ClientDetailsCustom):
		cp := at(p, "clientDetails")
		if cd.ClientID == "" {
			c.addf(at(cp, "clientId"), "missing; give the client's id at the provider")
		}
		if cd.ClientSecretID == "" {
			c.addf(at(cp, "clientSecretId"), "missing; give the Vault secret OCID of the client secret, listed in the gateway file's secrets")
		} else {
			c.secretRef(at(cp, "clientSecretId"), cd.ClientSecretID)
		}
		if cd.ClientSecretVersionNumber == nil {
			c.addf(at(cp, "clientSecretVersionNumber"), "missing; give the Vault secret's version number, e.g. 1")
		}
	case cd.Type == "":
		c.addf(at(p, "clientDetails.type"), "missing; use VALIDATION_BLOCK or CUSTOM")
	default:
		c.addf(at(p, "clientDetails.type"), "unknown type %q; use VALIDATION_BLOCK or CUSTOM", cd.Type)
	}
	switch sd := fp.SourceURIDetails; {
	case sd == nil:
		c.addf(at(p, "sourceUriDetails"), "missing; add {\"type\": \"VALIDATION_BLOCK\"} to use the validation policy's discovery URI")
	case strings.EqualFold(sd.Type, SourceURIValidationBlock):
		if sd.URI != "" {
			c.addf(at(p, "sourceUriDetails.uri"), "VALIDATION_BLOCK takes no uri; remove it or use type DISCOVERY_URI")
		}
	case strings.EqualFold(sd.Type, SourceURIDiscovery):
		c.discoveryURI(at(p, "sourceUriDetails.uri"), sd.URI)
	case sd.Type == "":
		c.addf(at(p, "sourceUriDetails.type"), "missing; use VALIDATION_BLOCK or DISCOVERY_URI")
	default:
		c.addf(at(p, "sourceUriDetails.type"), "unknown type %q; use VALIDATION_BLOCK or DISCOVERY_URI", sd.Type)
	}
	switch {
	case len(fp.Scopes) == 0:
		c.addf(at(p, "scopes"), "missing; list the scopes to request, openid among them")
	case !slices.Contains(fp.Scopes, "openid"):
		c.addf(at(p, "scopes"), "no openid; OpenID Connect login needs the openid scope, add it")
	}
	c.scopeWords(at(p, "scopes"), fp.Scopes)
	switch {
	case fp.ResponseType == "":
		c.addf(at(p, "responseType"), "missing; use CODE (the authorization code flow)")
	case !strings.EqualFold(fp.ResponseType, ResponseTypeCode):
		c.addf(at(p, "responseType"), "%q is not supported; OCI runs only the authorization code flow, use CODE", fp.ResponseType)
	}
	if h := fp.MaxExpiryDurationInHours; h != nil && (*h < 1 || *h > 24) {
		c.addf(at(p, "maxExpiryDurationInHours"), "%d is out of range; give 1 to 24 hours", *h)
	}
	c.relativePath(at(p, "fallbackRedirectPath"), fp.FallbackRedirectPath)
	c.relativePath(at(p, "logoutPath"), fp.LogoutPath)
	c.relativePath(at(p, "loginPath"), fp.LoginPath)
	if fp.LoginPath != "" && strings.ContainsAny(fp.LoginPath, "{}*") {
		c.addf(at(p, "loginPath"), "%q has parameters or wildcards; the login path is static", fp.LoginPath)
	}
	if fp.LoginPath != "" && fp.LoginPath == fp.LogoutPath {
		c.addf(at(p, "loginPath"), "is the logoutPath too; give login and logout routes of their own")
	}
	c.sessionKeysNeeded(p)
}

// modifyResponseFieldsAbsent reports MODIFY_RESPONSE fields in an OAUTH2
// policy.
func (c *checker) modifyResponseFieldsAbsent(p string, fp *ValidationFailurePolicy) {
	const other = "only for MODIFY_RESPONSE; remove it or change type"
	c.unsetFields(p, other, []setField{
		{"responseCode", fp.ResponseCode != ""}, {"responseMessage", fp.ResponseMessage != ""},
		{"responseHeaderTransformations", fp.ResponseHeaderTransformations != nil},
	})
}

// oauth2FieldsAbsent reports OAUTH2 fields in a MODIFY_RESPONSE policy.
func (c *checker) oauth2FieldsAbsent(p string, fp *ValidationFailurePolicy) {
	const other = "only for OAUTH2; remove it or change type"
	c.unsetFields(p, other, []setField{
		{"clientDetails", fp.ClientDetails != nil}, {"sourceUriDetails", fp.SourceURIDetails != nil},
		{"scopes", fp.Scopes != nil}, {"responseType", fp.ResponseType != ""},
		{"maxExpiryDurationInHours", fp.MaxExpiryDurationInHours != nil},
		{"useCookiesForSession", fp.UseCookiesForSession != nil},
		{"useCookiesForIntermediateSteps", fp.UseCookiesForIntermediateSteps != nil},
		{"usePkce", fp.UsePkce != nil}, {"fallbackRedirectPath", fp.FallbackRedirectPath != ""},
		{"logoutPath", fp.LogoutPath != ""}, {"loginPath", fp.LoginPath != ""},
	})
}

// scopeWords checks that each scope is one word.
func (c *checker) scopeWords(p string, scopes []string) {
	for i, s := range scopes {
		switch {
		case s == "":
			c.addf(idx(p, i), "empty; give a scope or remove the entry")
		case strings.ContainsFunc(s, isSpace):
			c.addf(idx(p, i), "%q contains a space; a scope is one word, list each scope separately", s)
		}
	}
}

// discoveryURI checks a provider's discovery document URL.
func (c *checker) discoveryURI(p, raw string) {
	if raw == "" {
		c.addf(p, "missing; give the provider's discovery URL, e.g. https://idp.example.com/.well-known/openid-configuration")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		c.addf(p, "%q is not an absolute http or https URL; give e.g. https://idp.example.com/.well-known/openid-configuration", raw)
	}
}

// relativePath checks a path of the deployment named by a policy ("" is
// absent): it starts with '/' and is a path, nothing else, so a redirect to
// it cannot leave the gateway.
func (c *checker) relativePath(p, path string) {
	switch {
	case path == "":
	case !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//"):
		c.addf(p, "%q is not a path of this deployment; write it starting with a single '/', e.g. /home", path)
	case strings.ContainsAny(path, "?#\\ \t\r\n"):
		c.addf(p, "%q holds a query, fragment, backslash or space; give the route path only", path)
	}
}

// sessionKeysNeeded reports an OAUTH2 policy served without session keys in
// the gateway file. A spec checked on its own is not held to it.
func (c *checker) sessionKeysNeeded(p string) {
	switch {
	case c.serving == nil:
	case c.serving.specOnly:
		c.addf(p, "an OAUTH2 login needs session keys, which only a gateway file can give; serve this spec with --config and sessions.keys naming secrets")
	case c.serving.secrets != nil && !c.serving.sessionKeys:
		c.addf(p, "an OAUTH2 login needs session keys; add sessions: {keys: [ID]} to the gateway file, ID a secrets entry holding 32 random bytes as base64 (openssl rand -base64 32)")
	}
}

// logoutBackend checks an OAUTH2_LOGOUT_BACKEND (oci-policies.md §9).
func (c *checker) logoutBackend(p string, b *Backend) {
	if len(b.AllowedPostLogoutUris) > maxPostLogoutURIs {
		c.addf(at(p, "allowedPostLogoutUris"), "%d entries; OCI allows at most %d; remove some", len(b.AllowedPostLogoutUris), maxPostLogoutURIs)
	}
	rules := templateRules{tables: transformTables, hasAuth: true}
	for i, u := range b.AllowedPostLogoutUris {
		up := idx(at(p, "allowedPostLogoutUris"), i)
		c.template(up, u, rules)
		plain := contextVariable.ReplaceAllString(u, "x")
		if strings.HasPrefix(plain, "/") && !strings.HasPrefix(plain, "//") {
			continue
		}
		if pu, err := url.Parse(plain); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			c.addf(up, "%q is neither a path of this deployment (/...) nor an absolute http or https URL", u)
		}
	}
	if s := b.PostLogoutState; s != "" {
		t := c.template(at(p, "postLogoutState"), s, rules)
		for _, part := range t {
			if part.Var == nil && strings.TrimSpace(part.Literal) != "" {
				c.addf(at(p, "postLogoutState"), "%q holds constant text; OCI allows only context variables here, e.g. ${request.query[state]}", s)
				break
			}
		}
	}
	c.otherBackendFields(p, b, "allowedPostLogoutUris", "postLogoutState")
}

// loginBackend checks an OAUTH2_LOGIN_BACKEND: it has no fields.
func (c *checker) loginBackend(p string, b *Backend) {
	c.otherBackendFields(p, b)
}

// otherBackendFields reports the fields of b that its type does not take;
// own lists the logout backend's fields that it does.
func (c *checker) otherBackendFields(p string, b *Backend, own ...string) {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"url", b.URL != ""}, {"connectTimeoutInSeconds", b.ConnectTimeoutInSeconds != nil},
		{"readTimeoutInSeconds", b.ReadTimeoutInSeconds != nil}, {"sendTimeoutInSeconds", b.SendTimeoutInSeconds != nil},
		{"isSslVerifyDisabled", b.IsSslVerifyDisabled}, {"status", b.Status != nil}, {"body", b.Body != ""},
		{"headers", len(b.Headers) > 0},
		{"allowedPostLogoutUris", b.AllowedPostLogoutUris != nil}, {"postLogoutState", b.PostLogoutState != ""},
	} {
		if f.set && !slices.Contains(own, f.name) {
			c.addf(at(p, f.name), "not a field of %s; remove it", b.Type)
		}
	}
}

// oauth2Routes checks what ties an OAUTH2 policy to the spec's routes: its
// logoutPath and loginPath name routes with the matching backend, each GET
// only; those backends need an OAUTH2 policy.
func (c *checker) oauth2Routes(p string, s *Spec) {
	if rp := s.RequestPolicies; rp != nil && rp.DynamicAuthentication != nil {
		for i, srv := range rp.DynamicAuthentication.AuthenticationServers {
			if a := srv.AuthenticationServerDetail; a != nil && a.ValidationFailurePolicy != nil && strings.EqualFold(a.ValidationFailurePolicy.Type, FailureOAuth2) {
				c.addf(at(idx(at(p, "requestPolicies.dynamicAuthentication.authenticationServers"), i), "authenticationServerDetail.validationFailurePolicy.type"),
					"an OAUTH2 browser login is not supported inside dynamicAuthentication (one login, one session per deployment); use it in requestPolicies.authentication, or MODIFY_RESPONSE here")
			}
		}
	}
	var fp *ValidationFailurePolicy
	fpp := ""
	if rp := s.RequestPolicies; rp != nil && rp.Authentication != nil {
		if f := rp.Authentication.ValidationFailurePolicy; f != nil && strings.EqualFold(f.Type, FailureOAuth2) {
			fp, fpp = f, at(p, "requestPolicies.authentication.validationFailurePolicy")
		}
	}
	for i := range s.Routes {
		r := &s.Routes[i]
		rp := idx(at(p, "routes"), i)
		var want string
		switch r.Backend.Type {
		case BackendOAuth2Logout:
			if fp != nil {
				want = fp.LogoutPath
			}
		case BackendOAuth2Login:
			if fp != nil {
				want = fp.LoginPath
			}
		default:
			continue
		}
		switch {
		case fp == nil:
			c.addf(at(rp, "backend.type"), "%s needs the deployment's authentication to have a validationFailurePolicy of type OAUTH2", r.Backend.Type)
		case want != r.Path:
			field := "logoutPath"
			if r.Backend.Type == BackendOAuth2Login {
				field = "loginPath"
			}
			c.addf(at(rp, "path"), "%q is not the OAUTH2 policy's %s (%q); set %s to %q", r.Path, field, want, field, r.Path)
		}
		for j, m := range r.Methods {
			if !strings.EqualFold(m, "GET") {
				c.addf(idx(at(rp, "methods"), j), "%s serves GET only; list only GET", r.Backend.Type)
			}
		}
		if len(r.Methods) == 0 {
			c.addf(at(rp, "methods"), "missing; %s serves GET only, give [\"GET\"]", r.Backend.Type)
		}
	}
	if fp == nil {
		return
	}
	for _, f := range []struct{ field, path, backend string }{
		{"logoutPath", fp.LogoutPath, BackendOAuth2Logout}, {"loginPath", fp.LoginPath, BackendOAuth2Login},
	} {
		if f.path == "" {
			continue
		}
		found := false
		for _, r := range s.Routes {
			found = found || r.Path == f.path && r.Backend.Type == f.backend
		}
		if !found {
			c.addf(at(fpp, f.field), "no route %q with a backend of type %s; add one (methods [\"GET\"])", f.path, f.backend)
		}
	}
}

// sessions validates the gateway file's session keys, after the secrets
// list was read: each names a secret holding a 32-byte key.
func (c *checker) sessions(g *Gateway) {
	if g.Sessions == nil {
		return
	}
	c.serving.sessionKeys = len(g.Sessions.Keys) > 0
	kp := "sessions.keys"
	switch n := len(g.Sessions.Keys); {
	case n == 0:
		c.addf(kp, "empty; name at least one secrets entry holding a 32-byte key, or remove sessions")
	case n > maxSessionKeys:
		c.addf(kp, "%d keys; keep at most %d (the sealing key and the ones still retiring)", n, maxSessionKeys)
	}
	seen := map[string]bool{}
	for i, id := range g.Sessions.Keys {
		p := idx(kp, i)
		if seen[id] {
			c.addf(p, "%q is listed twice; list each key once", id)
			continue
		}
		seen[id] = true
		v, ok := g.Secret(id)
		if !ok {
			c.addf(p, "secret %q is not in the secrets list; add {id: %q, file: PATH} holding 32 random bytes as base64", id, id)
			continue
		}
		key, ok := parseSessionKey(v.Reveal())
		if !ok {
			if v.Reveal() != "" {
				c.addf(p, "secret %q is not a 32-byte key; write 32 random bytes as base64 (openssl rand -base64 32) or as 64 hex digits", id)
			}
			continue
		}
		g.SessionKeys = append(g.SessionKeys, SessionKey{ID: id, Key: key})
	}
}

// parseSessionKey reads 32 bytes written as base64 (standard or URL,
// padded or not) or hex.
func parseSessionKey(s string) ([32]byte, bool) {
	var key [32]byte
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			copy(key[:], b)
			return key, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			copy(key[:], b)
			return key, true
		}
	}
	return key, false
}
