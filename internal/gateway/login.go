package gateway

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/oidc"
)

// OCI's log codes of the OAUTH2 validation failure policy and of the
// logout backend (oci-policies.md §5, §9).
const (
	codeOAuthLogin      = "authentication.validationFailurePolicyOAuth"
	codeOAuthStepFailed = "authentication.validationFailurePolicyOAuthStepFailed"
	codeIdPCallSuccess  = "authentication.idpCallSuccess"
	codeIdPCallFailed   = "authentication.idpCallFailed"
	codeLogoutAuth      = "logoutBackend.invalidAuthentication"
	codeLogoutError     = "logoutBackend.logoutError"
	codeLogoutRedirect  = "logoutBackend.redirectError"
)

// Reasons of the browser login.
const (
	reasonLoginRequired    reason = "login_required"
	reasonLoginStep        reason = "login_step_failed"
	reasonStateMismatch    reason = "state_mismatch"
	reasonNonceMismatch    reason = "nonce_mismatch"
	reasonIssuerMismatch   reason = "issuer_mismatch"
	reasonLoginDirect      reason = "login_route_called_directly"
	reasonIdPUnavailable   reason = "idp_unavailable"
	reasonCSRF             reason = "csrf_token_mismatch"
	reasonPostLogoutURL    reason = "post_logout_url_not_allowed"
	reasonSessionTooLarge  reason = "session_too_large"
	reasonProviderRefusal  reason = "provider_refused_login"
	reasonBadTokenResponse reason = "bad_token_response"
)

// Request and response headers of the login (OCI's names).
const (
	// apigwTokenHeader carries the sealed session when the policy does not
	// use cookies for it.
	apigwTokenHeader = "X-Apigw-Token"
	// csrfHeader is the anti-CSRF token of a cookie session: sent on every
	// response, required on every request but GET, HEAD and OPTIONS.
	csrfHeader = "X-Csrf-Token"
)

// Bounds of the login.
const (
	// flowLifetime is how long a login may take at the provider.
	flowLifetime = 10 * time.Minute
	// refreshMargin: an access token this close to its expiry is refreshed
	// before the request goes on.
	refreshMargin = 30 * time.Second
	// idpTimeout bounds each call to the provider's token endpoint.
	idpTimeout = 10 * time.Second
	// maxFlowsInMemory bounds the logins in progress kept in the gateway
	// (useCookiesForIntermediateSteps false).
	maxFlowsInMemory = 10000
)

// oauth2Login is a deployment's TOKEN_AUTHENTICATION with a
// validationFailurePolicy of type OAUTH2: a request without a valid token
// is sent through the provider's authorization code flow, and comes back
// with a sealed session (oci-policies.md §5; README "Browser login").
type oauth2Login struct {
	// inner checks a token the request carries in the policy's tokenHeader
	// or tokenQueryParam (the validation policy); nil when it has none.
	inner authentication
	// provider is the discovery document of the OpenID provider.
	provider *oidc.Provider
	client   *http.Client
	clientID string
	secret   config.SecretValue
	scopes   []string
	// pkce sends an S256 code challenge (usePkce).
	pkce bool
	// cookieSession keeps the session in a cookie (useCookiesForSession);
	// false hands it out as X-APIGW-TOKEN.
	cookieSession bool
	// flows holds logins in progress when they are not kept in cookies
	// (useCookiesForIntermediateSteps false); nil otherwise.
	flows *flowStore
	// prefix is the deployment's path prefix: the cookies' path, and the
	// base of the paths below.
	prefix string
	// fallbackPath, logoutPath and loginPath are the policy's paths,
	// relative to prefix ("" when not set).
	fallbackPath, logoutPath, loginPath string
	// maxAge bounds a session from its login (maxExpiryDurationInHours).
	maxAge  time.Duration
	sealer  *sealer
	trusted trustedProxies
	now     func() time.Time
	log     *slog.Logger
	realm   string
	summary AuthSummary

	verifiers verifierCache
	refreshes flight
	// opened caches the sessions recently opened.
	opened openedSessions
}

var _ authentication = (*oauth2Login)(nil)

// credentialQueryParam is the inner policy's.
func (l *oauth2Login) credentialQueryParam() string {
	if l.inner != nil {
		return l.inner.credentialQueryParam()
	}
	return ""
}

func (l *oauth2Login) describe() AuthSummary { return l.summary }

func (l *oauth2Login) challenge(errorCode string) string {
	if l.inner != nil {
		return l.inner.challenge(errorCode)
	}
	c := `Bearer realm="` + l.realm + `"`
	if errorCode != "" {
		c += `, error="` + errorCode + `"`
	}
	return c
}

// authenticate finds the request's session (cookie or X-APIGW-TOKEN), or a
// token the validation policy accepts; handles the provider's redirect back
// (the callback); and otherwise reports errNoCredential, which refusal
// turns into a login.
func (l *oauth2Login) authenticate(r *http.Request, ex *exchange) (principal, error) {
	if l.loginPath != "" && ex.route != nil && ex.route.path == l.loginPath {
		return principal{}, l.callback(r, ex)
	}
	s, err := l.readSession(r, ex)
	switch {
	case err == nil:
		return l.sessionPrincipal(r, ex, s)
	case errors.Is(err, errNoSession):
	default:
		if e, ok := err.(*httpError); ok {
			return principal{}, e
		}
		// A session that does not open, has ended or could not be
		// refreshed: forget it and log in again. Never the value.
		l.log.LogAttrs(ex.ctx, slog.LevelInfo, "session not accepted: "+err.Error(),
			slog.String("code", codeOAuthLogin), slog.String("opcRequestId", ex.requestID))
		l.forgetSession(r, ex)
	}
	if l.loginPath == "" && isCallback(r) {
		switch err := l.callback(r, ex); {
		case err != nil:
			return principal{}, err
		case ex.loginSession == nil:
			return principal{}, errNoCredential
		}
		// X-APIGW-TOKEN mode: the original GET goes on with the new session.
		return ex.loginSession.principal(), nil
	}
	if l.inner != nil {
		p, err := l.inner.authenticate(r, ex)
		if err == nil {
			return p, nil
		}
		var e *httpError
		if errors.As(err, &e) && e.status != http.StatusUnauthorized {
			return principal{}, err // the provider could not be asked: 503
		}
	}
	if l.logoutPath != "" && ex.route != nil && ex.route.path == l.logoutPath {
		// Logging out needs no session: the logout backend redirects
		// unauthenticated clients too (§9).
		return principal{}, nil
	}
	return principal{}, errNoCredential
}

// refusal is the answer to a request authenticate did not accept: its own
// refusal, or a login.
func (l *oauth2Login) refusal(r *http.Request, ex *exchange, err error) *httpError {
	e, ok := err.(*httpError)
	if !ok {
		e = l.startLogin(r, ex)
	}
	// The refusal's headers replace the response's: keep the cookies
	// authenticate deleted (a session that did not open).
	if set := ex.header["Set-Cookie"]; len(set) > 0 && e.header != nil && len(e.header["Set-Cookie"]) > 0 {
		e.header["Set-Cookie"] = append(slices.Clone(set), e.header["Set-Cookie"]...)
	}
	return e
}

// scrub leaves the backend none of the login's cookies and no
// X-APIGW-TOKEN; a token in the policy's own header goes on only when it
// is what authenticated the request.
func (l *oauth2Login) scrub(r *http.Request, ex *exchange, p *principal) {
	stripLoginCookies(r)
	r.Header.Del(apigwTokenHeader)
	if l.inner == nil {
		return
	}
	if ex.loginSession != nil {
		p = nil
	}
	l.inner.scrub(r, ex, p)
}

// isCallback reports whether r is the provider's redirect back: a state
// with a code or an error.
func isCallback(r *http.Request) bool {
	q := r.URL.Query()
	return q.Has("state") && (q.Has("code") || q.Has("error"))
}

// sessionPrincipal accepts a session: a request that could change state
// must prove it comes from the gateway's own pages (X-CSRF-TOKEN), and
// every answer tells the page the token to prove it with.
func (l *oauth2Login) sessionPrincipal(r *http.Request, ex *exchange, s *session) (principal, error) {
	if l.cookieSession {
		if !safeMethod(r.Method) {
			got := r.Header.Get(csrfHeader)
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
				e := &httpError{status: http.StatusForbidden, code: codeOAuthStepFailed, reason: reasonCSRF,
					detail: "a cookie session's " + r.Method + " request without the session's X-CSRF-TOKEN", level: slog.LevelWarn}
				return principal{}, e
			}
		}
		if ex.decision == nil {
			ex.header.Set(csrfHeader, s.CSRF)
		}
	}
	ex.loginSession = s
	return s.principal(), nil
}

// safeMethod: methods that do not change state (RFC 9110 §9.2.1), which
// need no CSRF token.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// forgetSession deletes the request's session cookies.
func (l *oauth2Login) forgetSession(r *http.Request, ex *exchange) {
	if l.cookieSession && ex.decision == nil {
		clearChunked(ex.header, r, l.cookieAttrs(r))
	}
}

// cookieAttrs are the attributes of this deployment's login cookies for r.
func (l *oauth2Login) cookieAttrs(r *http.Request) cookieAttrs {
	return cookieAttrsFor(r, l.prefix, l.forwardedHTTPS(r))
}

// forwardedHTTPS: a trusted proxy in front of keygate says the browser
// spoke HTTPS to it.
func (l *oauth2Login) forwardedHTTPS(r *http.Request) bool {
	if len(l.trusted) == 0 || !l.trusted.contains(peerAddr(r)) {
		return false
	}
	return strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// origin is scheme://host of the request as the browser sent it.
func (l *oauth2Login) origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || l.forwardedHTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// verifierCache keeps one ID token verifier per provider key set, so its
// keys are fetched once and refreshed on an unknown kid by go-oidc.
type verifierCache struct {
	mu sync.Mutex
	// jwks and verifier belong together: a discovery document naming
	// another jwks_uri or issuer replaces them.
	jwks, issuer string
	verifier     *gooidc.IDTokenVerifier
}
