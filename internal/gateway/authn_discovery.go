package gateway

import (
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/oidc"
	"github.com/keygate/keygate/internal/token"
)

// OCI's log codes of REMOTE_DISCOVERY (§8 and §14 of the policies
// reference).
const (
	codeIDPCallFailed        = "authentication.idpCallFailed"
	codeIDPExpiryNonNumeric  = "authentication.idpTokenExpiryNonNumeric"
	codeLoadingDiscovery     = "tokenAuthentication.loadingDiscoveryEndpointResponse"
	codeBadDiscovery         = "tokenAuthentication.badDiscoveryEndpointResponse"
	codeBadIntrospection     = "tokenAuthentication.badIntrospectionResponse"
	reasonIDPUnavailable     = reason("idp_unavailable")
	reasonTokenInactive      = reason("token_inactive")
	reasonIDPExpNonNumeric   = reason("idp_exp_non_numeric")
	reasonDiscoveredIssuer   = reason("wrong_issuer")
	reasonBadIntrospection   = reason("bad_introspection_response")
	reasonProviderMisconfigd = reason("bad_discovery_document")
)

// discoveryCheck is the REMOTE_DISCOVERY part of a TOKEN_AUTHENTICATION
// policy: every token, JWT or opaque, is introspected at the provider's
// discovered introspection endpoint (§8: "both JWT tokens and non-JWT
// tokens"). A token in JWS form is first verified locally against the
// provider's discovered JWKS and issuer, so a forged or expired JWT costs
// the provider nothing.
type discoveryCheck struct {
	provider     *oidc.Provider
	introspector *oidc.Introspector
	// claims applies the spec's additionalValidationPolicy (and the clock
	// skew) to the introspection answer.
	claims *token.Verifier
}

// authenticate checks raw for a, a TOKEN_AUTHENTICATION policy with
// REMOTE_DISCOVERY.
func (d *discoveryCheck) authenticate(a *tokenAuthenticator, r *http.Request, ex *exchange, raw string) (principal, error) {
	if d.introspector == nil { // compiled without a gateway file's secrets (CheckSpec): never served
		return principal{}, &httpError{status: http.StatusServiceUnavailable, code: codeBadDiscovery, reason: reasonProviderMisconfigd,
			detail: "no client secret for introspection", level: slog.LevelError}
	}
	if looksLikeJWS(raw) {
		tok, err := a.verifier.Verify(raw)
		if err != nil {
			if dec := ex.decision; dec != nil {
				dec.Token, dec.Checks = a.verifier.Check(raw)
				if errors.Is(err, token.ErrKeysUnavailable) {
					dec.Undecided = true
					dec.Unchecked = append(dec.Unchecked, "the signature: the provider's keys could not be fetched ("+d.provider.Status().LastError+")",
						"introspection: whether the provider considers the token active, its scopes and claims")
				}
			}
			return principal{}, a.refuse(r, ex, d.jwtError(a, tok, err))
		}
		if doc := d.provider.Current(); doc == nil || !doc.IssuerMatches(tok.Claims.Issuer()) {
			e := d.rejected(a, reasonDiscoveredIssuer, "the token's iss is not the issuer of the provider's discovery document", nil)
			e.attrs = tokenAttrs(tok)
			return principal{}, a.refuse(r, ex, e)
		}
	}
	in, err := d.introspect(r, ex, raw)
	if err != nil {
		if dec := ex.decision; dec != nil && errors.Is(err, errNotIntrospected) {
			dec.Undecided = true
			e := &httpError{status: http.StatusServiceUnavailable, code: codeIntrospectionNotCalled, reason: reasonNotIntrospected,
				detail: err.Error(), cause: err, level: slog.LevelInfo}
			return principal{}, e
		}
		if dec := ex.decision; dec != nil && errors.Is(err, oidc.ErrInactive) {
			dec.Introspected = "the provider answered: not active (revoked, expired or unknown to it)"
		}
		e := d.introspectionError(a, err)
		if dec := ex.decision; dec != nil && e.status == http.StatusServiceUnavailable {
			dec.Undecided = true
			dec.Unchecked = append(dec.Unchecked, "introspection: the provider could not be asked ("+err.Error()+")")
		}
		return principal{}, a.refuse(r, ex, e)
	}
	claims := token.Claims(in.Claims)
	if err := d.claims.VerifyClaims(claims); err != nil {
		e := d.rejected(a, reason(token.Reason(err)), "introspection answer: "+err.Error(), err)
		if sub := claims.Subject(); sub != "" {
			e.attrs = append(e.attrs, slog.String("sub", bounded(sub)))
		}
		return principal{}, a.refuse(r, ex, e)
	}
	if dec := ex.decision; dec != nil {
		dec.Introspected = describeIntrospection(claims, in)
	}
	return principal{scopes: claims.Scopes(), claims: claims}, nil
}

// Outcome of a Decide that may not ask the provider and finds no cached
// answer.
const (
	codeIntrospectionNotCalled = "tokenAuthentication.introspectionNotCalled"
	reasonNotIntrospected      = reason("introspection_not_called")
)

var errNotIntrospected = errors.New("no cached introspection answer, and this explanation may not ask the provider")

// introspect asks the introspector: for traffic through its cache; for a
// Decide, the cached answer only, or (DecideOptions.Introspect) a call
// that leaves the cache as it was.
func (d *discoveryCheck) introspect(r *http.Request, ex *exchange, raw string) (*oidc.Introspection, error) {
	dec := ex.decision
	if dec == nil {
		return d.introspector.Introspect(r.Context(), raw)
	}
	if in, ok := d.introspector.Cached(raw); ok {
		return in, nil
	}
	if !dec.opts.Introspect {
		where := d.introspector.Endpoint()
		if where == "" {
			where = "the endpoint of " + d.provider.URI()
		}
		dec.Unchecked = append(dec.Unchecked, "introspection at "+where+
			": whether the provider considers the token active (not revoked), its scopes and claims")
		return nil, errNotIntrospected
	}
	return d.introspector.IntrospectUncached(r.Context(), raw)
}

// describeIntrospection says what an accepting answer held, for
// explanations.
func describeIntrospection(claims token.Claims, in *oidc.Introspection) string {
	var b strings.Builder
	b.WriteString("active")
	if sub := claims.Subject(); sub != "" {
		b.WriteString(", sub " + quoteID(bounded(sub)))
	}
	if scopes := claims.Scopes(); len(scopes) > 0 {
		b.WriteString(", scope " + quoteID(bounded(strings.Join(scopes, " "))))
	}
	b.WriteString(", exp " + in.Expiry.UTC().Format(time.RFC3339))
	if in.Cached {
		b.WriteString(" (the cached answer serve holds)")
	} else {
		b.WriteString(" (asked the provider now)")
	}
	return b.String()
}

// jwtError is the refusal of a JWT the discovered keys did not verify; keys
// not loaded is the provider's fault (503).
func (d *discoveryCheck) jwtError(a *tokenAuthenticator, tok *token.Token, err error) *httpError {
	e := a.tokenError(tok, err)
	if e.status == http.StatusServiceUnavailable {
		e.code, e.reason = codeLoadingDiscovery, reasonIDPUnavailable
		if st := d.provider.Status(); st.LastError != "" {
			e.detail += "; discovery: " + st.LastError
		}
	}
	return e
}

// rejected is a 401 for a token the provider's answer refuses.
func (d *discoveryCheck) rejected(a *tokenAuthenticator, why reason, detail string, cause error) *httpError {
	e := &httpError{status: http.StatusUnauthorized, code: a.failCode, reason: why, detail: detail, cause: cause, level: slog.LevelInfo}
	e.setHeader("WWW-Authenticate", a.challenge("invalid_token"))
	return e
}

// introspectionError maps an introspection failure to its answer: 401 for
// a token the provider does not vouch for, 503 when it could not be asked.
func (d *discoveryCheck) introspectionError(a *tokenAuthenticator, err error) *httpError {
	unavailable := func(code string, why reason) *httpError {
		return &httpError{status: http.StatusServiceUnavailable, code: code, reason: why, detail: err.Error(), cause: err, level: slog.LevelError}
	}
	switch {
	case errors.Is(err, oidc.ErrInactive):
		return d.rejected(a, reasonTokenInactive, err.Error(), err)
	case errors.Is(err, oidc.ErrExpiryNonNumeric):
		e := d.rejected(a, reasonIDPExpNonNumeric, err.Error(), err)
		e.code = codeIDPExpiryNonNumeric
		return e
	case errors.Is(err, oidc.ErrIntrospectedExpired):
		return d.rejected(a, "token_expired", err.Error(), err)
	case errors.Is(err, oidc.ErrIssuerMismatch):
		return d.rejected(a, reasonDiscoveredIssuer, err.Error(), err)
	case errors.Is(err, oidc.ErrNotLoaded):
		return unavailable(codeLoadingDiscovery, reasonIDPUnavailable)
	case errors.Is(err, oidc.ErrBadIntrospection):
		return unavailable(codeBadIntrospection, reasonBadIntrospection)
	case errors.Is(err, oidc.ErrNoIntrospectionEndpoint), errors.Is(err, oidc.ErrNoClientAuthMethod):
		return unavailable(codeBadDiscovery, reasonProviderMisconfigd)
	}
	return unavailable(codeIDPCallFailed, reasonIDPUnavailable)
}

// looksLikeJWS reports whether raw has the form of a compact JWS: three
// base64url segments whose first starts with the encoding of '{"' or '{ '.
// Anything else (opaque tokens, JWE's five segments) is only introspected.
func looksLikeJWS(raw string) bool {
	if strings.Count(raw, ".") != 2 {
		return false
	}
	return strings.HasPrefix(raw, "eyJ") || strings.HasPrefix(raw, "eyA") || strings.HasPrefix(raw, "ewo") || strings.HasPrefix(raw, "ew0")
}

// discovery compiles the REMOTE_DISCOVERY part of auth; problems (an
// unresolvable secret) go to c.
func (c *compiler) discovery(auth *tokenAuthenticator, a *config.Authentication, policy token.Policy, src config.Source, at string) {
	vp := a.ValidationPolicy
	if vp.SourceURIDetails == nil || vp.ClientDetails == nil {
		return // an invalid spec in CheckSpec: validation named it
	}
	ps := providerSource{uri: vp.SourceURIDetails.URI, insecure: vp.IsSslVerifyDisabled}
	refresh := vp.KeySet.CacheDuration()
	p := c.keySets.provider(ps, refresh)
	if old, ok := c.g.providers[p]; !ok || refresh < old {
		c.g.providers[p] = refresh
	}
	set := c.keySets.remoteLocated(remoteSource{url: ps.uri, insecure: ps.insecure, discovery: true}, refresh, codeTokenKeysLoading, p.JWKSURI)
	if old, ok := c.g.remoteRefresh[set]; !ok || refresh < old {
		c.g.remoteRefresh[set] = refresh
	}
	// The provider's own tokens name it; the spec's issuers (if listed)
	// narrow that further.
	auth.verifier = token.NewVerifier(set, policy, c.g.now)
	auth.verifier.UseCache(c.tokenCache)
	check := &discoveryCheck{provider: p, claims: token.NewVerifier(nil, policy, c.g.now)}
	auth.discovery = check
	auth.summary.Discovery = ps.uri
	if c.cfg == nil {
		return // CheckSpec: no secrets to resolve
	}
	cd := vp.ClientDetails
	secret, ok := c.cfg.Secret(cd.ClientSecretID)
	if !ok {
		c.problem(src, at+".validationPolicy.clientDetails.clientSecretId",
			"secret "+quoteID(cd.ClientSecretID)+" is not in the gateway file's secrets list; add {id: "+quoteID(cd.ClientSecretID)+", file: PATH}")
		return
	}
	is := introspectorSource{provider: ps, clientID: cd.ClientID, secret: sha256.Sum256([]byte(secret.Reveal())),
		maxCache: refresh, skew: policy.MaxClockSkew}
	check.introspector = c.keySets.introspector(is, p, secret.Reveal())
	c.g.introspectors[check.introspector] = true
}

func quoteID(id string) string { return `"` + id + `"` }
