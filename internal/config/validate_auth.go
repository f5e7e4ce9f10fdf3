package config

import (
	"slices"
	"strings"
)

// OCI's authentication limits, kept by keygate.
const (
	maxIssuers      = 5
	maxAudiences    = 5
	maxVerifyClaims = 10
	maxClockSkew    = 120
)

// authentication validates the deployment's authentication policy.
func (c *checker) authentication(p string, a *Authentication) {
	switch a.Type {
	case AuthenticationJWT:
		c.tokenSource(p, a)
		c.stringList(at(p, "issuers"), a.Issuers, 1, maxIssuers, "issuer")
		c.stringList(at(p, "audiences"), a.Audiences, 1, maxAudiences, "audience")
		if a.PublicKeys == nil {
			c.addf(at(p, "publicKeys"), "missing; add publicKeys with type STATIC_KEYS and keys")
		} else {
			c.keySet(at(p, "publicKeys"), a.PublicKeys)
		}
		c.claims(at(p, "verifyClaims"), a.VerifyClaims)
		const other = "only for TOKEN_AUTHENTICATION; remove it or change type"
		if a.ValidationPolicy != nil {
			c.addf(at(p, "validationPolicy"), other)
		}
		if a.ValidationFailurePolicy != nil {
			c.addf(at(p, "validationFailurePolicy"), other)
		}
	case AuthenticationToken:
		c.tokenSource(p, a)
		if a.ValidationPolicy == nil {
			c.addf(at(p, "validationPolicy"), "missing; add a validationPolicy with type STATIC_KEYS and keys")
		} else {
			c.validationPolicy(at(p, "validationPolicy"), a.ValidationPolicy)
		}
		if a.ValidationFailurePolicy != nil {
			c.failurePolicy(at(p, "validationFailurePolicy"), a.ValidationFailurePolicy, a.ValidationPolicy)
		}
		c.jwtOnlyFields(p, a)
	case AuthenticationCustom:
		c.customAuthentication(p, a)
	case "":
		c.addf(at(p, "type"), "missing; use JWT_AUTHENTICATION, TOKEN_AUTHENTICATION or CUSTOM_AUTHENTICATION")
	default:
		c.addf(at(p, "type"), "unknown type %q; use JWT_AUTHENTICATION, TOKEN_AUTHENTICATION or CUSTOM_AUTHENTICATION", a.Type)
	}
	if a.Type == AuthenticationJWT || a.Type == AuthenticationToken {
		c.customOnlyFields(p, a)
	}
}

// jwtOnlyFields reports JWT_AUTHENTICATION members in a TOKEN_AUTHENTICATION
// policy, where they live in validationPolicy.additionalValidationPolicy.
func (c *checker) jwtOnlyFields(p string, a *Authentication) {
	const moved = "only for JWT_AUTHENTICATION; with TOKEN_AUTHENTICATION put it in validationPolicy.additionalValidationPolicy"
	if a.Issuers != nil {
		c.addf(at(p, "issuers"), moved)
	}
	if a.Audiences != nil {
		c.addf(at(p, "audiences"), moved)
	}
	if a.PublicKeys != nil {
		c.addf(at(p, "publicKeys"), "only for JWT_AUTHENTICATION; with TOKEN_AUTHENTICATION use validationPolicy")
	}
	if a.VerifyClaims != nil {
		c.addf(at(p, "verifyClaims"), moved)
	}
}

// tokenLocation checks that the token is read from exactly one valid
// place, tokenHeader or tokenQueryParam; missing is the message when
// neither is set.
func (c *checker) tokenLocation(p string, a *Authentication, missing string) {
	switch {
	case a.TokenHeader == "" && a.TokenQueryParam == "":
		c.addf(at(p, "tokenHeader"), "%s", missing)
	case a.TokenHeader != "" && a.TokenQueryParam != "":
		c.addf(at(p, "tokenQueryParam"), "set together with tokenHeader; use only one of them")
	case a.TokenHeader != "" && !isToken(a.TokenHeader):
		c.addf(at(p, "tokenHeader"), "%q is not a valid header name; use e.g. Authorization", a.TokenHeader)
	}
}

// tokenSource checks where the token comes from and the clock skew, common
// to both authentication types.
func (c *checker) tokenSource(p string, a *Authentication) {
	c.tokenLocation(p, a, "missing; set tokenHeader (e.g. Authorization) or tokenQueryParam")
	if a.TokenAuthScheme != "" && a.TokenHeader == "" {
		c.addf(at(p, "tokenAuthScheme"), "applies only with tokenHeader; remove it or set tokenHeader")
	}
	if a.TokenAuthScheme != "" && !isToken(a.TokenAuthScheme) {
		c.addf(at(p, "tokenAuthScheme"), "%q is not a valid scheme name; use e.g. Bearer", a.TokenAuthScheme)
	}
	if s := a.MaxClockSkewInSeconds; s < 0 || s > maxClockSkew {
		c.addf(at(p, "maxClockSkewInSeconds"), "%v is out of range; give 0 to %d seconds", s, maxClockSkew)
	}
}

// stringList checks a list of min..max non-empty strings; what names one
// entry in messages.
func (c *checker) stringList(p string, list []string, minLen, maxLen int, what string) {
	switch {
	case len(list) < minLen:
		c.addf(p, "missing; list at least one %s", what)
	case len(list) > maxLen:
		c.addf(p, "%d entries; OCI allows at most %d; remove some", len(list), maxLen)
	}
	for i, s := range list {
		if strings.TrimSpace(s) == "" {
			c.addf(idx(p, i), "empty; give the %s or remove the entry", what)
		}
	}
}

// claims checks verifyClaims.
func (c *checker) claims(p string, claims []ClaimRule) {
	if len(claims) > maxVerifyClaims {
		c.addf(p, "%d claims; OCI allows at most %d; remove some", len(claims), maxVerifyClaims)
	}
	for i, cl := range claims {
		if cl.Key == "" {
			c.addf(at(idx(p, i), "key"), "missing; give the claim name")
		}
	}
}

// validationPolicy checks TOKEN_AUTHENTICATION's validation policy.
func (c *checker) validationPolicy(p string, vp *ValidationPolicy) {
	if vp.Type == KeySetRemoteDiscovery {
		c.remoteDiscovery(p, vp)
	} else {
		c.keySet(p, &vp.KeySet)
		const other = "only for REMOTE_DISCOVERY; remove it or use type REMOTE_DISCOVERY"
		if vp.ClientDetails != nil {
			c.addf(at(p, "clientDetails"), other)
		}
		if vp.SourceURIDetails != nil {
			c.addf(at(p, "sourceUriDetails"), other)
		}
	}
	if ap := vp.AdditionalValidationPolicy; ap != nil {
		app := at(p, "additionalValidationPolicy")
		c.stringList(at(app, "issuers"), ap.Issuers, 0, maxIssuers, "issuer")
		c.stringList(at(app, "audiences"), ap.Audiences, 0, maxAudiences, "audience")
		c.claims(at(app, "verifyClaims"), ap.VerifyClaims)
	}
}

// failurePolicy checks the validation failure policy of
// TOKEN_AUTHENTICATION (vp its validation policy) or CUSTOM_AUTHENTICATION
// (vp nil).
func (c *checker) failurePolicy(p string, fp *ValidationFailurePolicy, vp *ValidationPolicy) {
	switch {
	case strings.EqualFold(fp.Type, FailureModifyResponse):
		c.oauth2FieldsAbsent(p, fp)
		// The failure may come on any route: path parameters differ.
		rules := templateRules{tables: slices.DeleteFunc(slices.Clone(transformTables), func(t VarTable) bool { return t == VarPath }), hasAuth: true}
		if code := string(fp.ResponseCode); code != "" {
			if v, bare := ParseBareVariable(code); bare {
				c.template(at(p, "responseCode"), v.String(), rules)
			} else if strings.Contains(code, "${") {
				c.template(at(p, "responseCode"), code, rules)
			} else if n := fp.ResponseCode.Int(); len(code) != 3 || n < 100 || n > 599 {
				c.addf(at(p, "responseCode"), "%q is not a status; give 100 to 599, e.g. \"403\" or \"302\", or a context variable", code)
			}
		}
		c.template(at(p, "responseMessage"), fp.ResponseMessage, rules)
		if ht := fp.ResponseHeaderTransformations; ht != nil {
			c.headerTransformations(at(p, "responseHeaderTransformations"), ht,
				transformPlace{response: true, limits: responseHeaderLimits, rules: rules})
		}
	case strings.EqualFold(fp.Type, FailureOAuth2):
		c.oauth2Policy(p, fp, vp)
	case fp.Type == "":
		c.addf(at(p, "type"), "missing; use MODIFY_RESPONSE or OAUTH2")
	default:
		c.addf(at(p, "type"), "unknown type %q; use MODIFY_RESPONSE or OAUTH2", fp.Type)
	}
}

// authorization checks a route's authorization against the deployment's
// authentication (nil when the deployment has none).
func (c *checker) authorization(p string, az *RouteAuthorization, auth *Authentication) {
	if az == nil {
		return
	}
	tp := at(p, "type")
	switch az.Type {
	case AuthorizationAuthenticationOnly, AuthorizationAnonymous:
		if az.AllowedScope != nil {
			c.addf(at(p, "allowedScope"), "only for ANY_OF; remove it or use type ANY_OF")
		}
	case AuthorizationAnyOf:
		c.scopes(at(p, "allowedScope"), az.AllowedScope)
	case "":
		c.addf(tp, "missing; use AUTHENTICATION_ONLY, ANY_OF or ANONYMOUS")
		return
	default:
		c.addf(tp, "unknown type %q; use AUTHENTICATION_ONLY, ANY_OF or ANONYMOUS", az.Type)
		return
	}
	switch {
	case auth == nil && az.Type != AuthorizationAnonymous:
		c.addf(tp, "%s requires requestPolicies.authentication in the deployment; add one or use ANONYMOUS", az.Type)
	case auth != nil && az.Type == AuthorizationAnonymous && !auth.IsAnonymousAccessAllowed:
		c.addf(tp, "ANONYMOUS requires isAnonymousAccessAllowed: true in the deployment's authentication; set it or use another type")
	}
}

func (c *checker) scopes(p string, scopes []string) {
	if len(scopes) == 0 {
		c.addf(p, "missing; list at least one scope")
	}
	c.scopeWords(p, scopes)
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}
