package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/keygate/keygate/internal/authz"
	"github.com/keygate/keygate/internal/token"
)

// authentication is a deployment's compiled authentication policy, whatever
// its mechanism (a token verified with keys today; an authorizer function
// or token introspection tomorrow).
type authentication interface {
	// authenticate checks the request's credential, with three outcomes: a
	// principal (accepted); a refusal (*httpError: 401 or the failure
	// policy's status), or errNoCredential when the request carried none at
	// all (cheap: an ANONYMOUS route goes on without it, refusal makes the
	// answer otherwise); or 503 when the credential could not be checked.
	authenticate(r *http.Request, ex *exchange) (principal, error)
	// refusal is the answer to a request authenticate refused with err.
	refusal(r *http.Request, ex *exchange, err error) *httpError
	// scrub leaves the backend no credential but the one that authenticated
	// p (none when p is nil).
	scrub(r *http.Request, ex *exchange, p *principal)
	// challenge is the WWW-Authenticate value of a refusal with errorCode
	// (RFC 6750 §3: "" for a missing credential, insufficient_scope ...).
	challenge(errorCode string) string
	// credentialQueryParam names the query parameter the credential travels
	// in, removed before the backend; "" when it travels in a header.
	credentialQueryParam() string
	// describe summarises the policy for keygate validate.
	describe() AuthSummary
}

// principal is who a request authenticated as, whatever authenticated it:
// authorization reads its scopes, ${request.auth[name]} its claims.
type principal struct {
	scopes []string
	claims token.Claims
	// token is the verified token that made the principal; nil when
	// another mechanism did.
	token *token.Token
	// name is who an authorizer function said the caller is (its
	// "principal"), for the log; "" otherwise.
	name string
}

// tokenAuthenticator is a deployment's compiled JWT_AUTHENTICATION or
// TOKEN_AUTHENTICATION policy: a token from a header or the query,
// verified with static keys or a JWKS.
type tokenAuthenticator struct {
	verifier *token.Verifier
	// header and scheme locate the token in a request header ("Authorization",
	// "Bearer"); scheme empty means the whole header value is the token.
	header string
	scheme string
	// readsAuthorization: header is Authorization (set at compile, so the
	// hot path does not compare names).
	readsAuthorization bool
	// queryParam locates the token in the query string instead.
	queryParam string
	// failCode and loadingCode are OCI's log codes for this policy type.
	failCode, loadingCode string
	// realm is the WWW-Authenticate realm: the deployment's path prefix.
	realm string
	// failure replaces the 401 of a missing or invalid token when set
	// (TOKEN_AUTHENTICATION validationFailurePolicy MODIFY_RESPONSE).
	failure *failureResponse
	// discovery, when set, makes this a REMOTE_DISCOVERY policy: verifier
	// holds the discovered JWKS and every token is also introspected.
	discovery *discoveryCheck
	summary   AuthSummary
}

var _ authentication = (*tokenAuthenticator)(nil)

func (a *tokenAuthenticator) credentialQueryParam() string { return a.queryParam }

func (a *tokenAuthenticator) describe() AuthSummary { return a.summary }

// Credential errors: reasons a request carries no usable token.
var (
	errNoCredential        = errors.New("no token in the request")
	errMultipleCredentials = errors.New("more than one token in the request")
	errMalformedCredential = errors.New("the token is not in the configured form")
)

// credential extracts the token from the request: exactly one header (or
// query parameter) holding exactly one token (RFC 6750 §2). folded reports
// that a spelling of the header with '_' for '-' was there.
func (a *tokenAuthenticator) credential(r *http.Request) (raw string, folded bool, err error) {
	if a.queryParam != "" {
		values := r.URL.Query()[a.queryParam]
		switch {
		case len(values) == 0:
			return "", false, errNoCredential
		case len(values) > 1:
			return "", false, errMultipleCredentials
		case values[0] == "":
			return "", false, errMalformedCredential
		}
		return values[0], false, nil
	}
	values := r.Header[a.header]
	// A backend that folds '_' into '-' (CGI, WSGI: RFC 3875 §4.1.18)
	// reads X_Api_Key as X-Api-Key: such a spelling is this header too, and
	// one beside the real one is a second credential (attack R11).
	for name, vs := range r.Header {
		if len(name) == len(a.header) && name != a.header && sameHeaderFolded(name, a.header) {
			values = append(values[:len(values):len(values)], vs...)
			folded = true
		}
	}
	switch {
	case len(values) == 0:
		return "", folded, errNoCredential
	case len(values) > 1:
		return "", folded, errMultipleCredentials
	}
	value := values[0]
	if a.scheme != "" {
		scheme, rest, found := strings.Cut(value, " ")
		if !strings.EqualFold(scheme, a.scheme) {
			// Another scheme (Basic ...) is no bearer credential at all.
			return "", folded, errNoCredential
		}
		if !found {
			return "", folded, errMalformedCredential
		}
		value = rest
	}
	if value == "" || strings.IndexByte(value, ' ') >= 0 || strings.IndexByte(value, '\t') >= 0 || strings.IndexByte(value, ',') >= 0 {
		return "", folded, errMalformedCredential
	}
	return value, folded, nil
}

// challenge is the WWW-Authenticate value for a missing (errorCode empty) or
// rejected token, RFC 6750 §3.
func (a *tokenAuthenticator) challenge(errorCode string) string {
	c := `Bearer realm="` + a.realm + `"`
	if errorCode != "" {
		c += `, error="` + errorCode + `"`
	}
	return c
}

// withAuthentication authenticates the requests to rt, a route of a
// deployment whose authentication policy is a. On ANONYMOUS routes a
// missing or refused credential does not stop the request; a refused one is
// logged at WARN. Either way the backend gets no credential the gateway did
// not verify.
func (g *Gateway) withAuthentication(a authentication, rt *route, next http.Handler) http.Handler {
	anonymous := rt.policy.Kind == authz.Anonymous
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		p, err := a.authenticate(r, ex)
		if err != nil {
			if anonymous && err == errNoCredential {
				a.scrub(r, ex, nil) // the common anonymous request: nothing to log
				next.ServeHTTP(w, r)
				return
			}
			e := a.refusal(r, ex, err)
			if !anonymous || e.evenAnonymous {
				g.writeError(w, ex, e)
				return
			}
			g.ignoreRejection(ex, e)
			a.scrub(r, ex, nil)
			next.ServeHTTP(w, r)
			return
		}
		// Kept in the exchange: a principal costs no allocation of its own.
		ex.principalValue = p
		ex.principal = &ex.principalValue
		if ex.decision == nil && ex.dep.allowed.authentication != nil {
			ex.dep.allowed.authentication.Inc()
		}
		a.scrub(r, ex, ex.principal)
		next.ServeHTTP(w, r)
	})
}

// refuse applies the validationFailurePolicy, if any, to the refusal of a
// missing or invalid credential (a 503 stays a 503).
func (a *tokenAuthenticator) refuse(r *http.Request, ex *exchange, e *httpError) *httpError {
	if a.failure != nil && e.status == http.StatusUnauthorized {
		a.failure.apply(r, ex, e)
	}
	return e
}

// authenticate verifies the request's token. For a Decide call, a refused
// token's every failing check is recorded, and whether the route would
// refuse its scopes as well.
func (a *tokenAuthenticator) authenticate(r *http.Request, ex *exchange) (principal, error) {
	raw, folded, err := a.credential(r)
	ex.credentialFolded = folded
	if err == errNoCredential {
		return principal{}, err
	}
	if err != nil {
		return principal{}, a.refuse(r, ex, a.credentialError(err))
	}
	if a.discovery != nil {
		return a.discovery.authenticate(a, r, ex, raw)
	}
	tok, err := a.verifier.Verify(raw)
	if err != nil {
		if d := ex.decision; d != nil {
			d.Token, d.Checks = a.verifier.Check(raw)
			policy := ex.route.policy
			d.ScopeRefusedToo = d.Token != nil && policy.Kind == authz.AnyOf && !policy.Allows(d.Token.Scopes)
		}
		return principal{}, a.refuse(r, ex, a.tokenError(tok, err))
	}
	return principal{scopes: tok.Scopes, claims: tok.Claims, token: tok}, nil
}

// refusal is the answer to err from authenticate: the refusal itself, or,
// for a request without a token, the plain challenge.
func (a *tokenAuthenticator) refusal(r *http.Request, ex *exchange, err error) *httpError {
	if e, ok := err.(*httpError); ok {
		return e
	}
	return a.refuse(r, ex, a.credentialError(err))
}

// scrub leaves the backend no credential the gateway did not validate: the token header goes on only with a verified token in it, and a
// client's Authorization header that this deployment does not read (its
// token comes from another header or from the query) is dropped. A query
// token is never forwarded in any form (RFC 6750 §5.3; the query loses it
// in the proxy).
//
// A verified token goes on under the header's own name whatever spelling
// carried it, and is set again after hop-by-hop removal, so that a client's
// "Connection: Authorization" cannot strip it (attack R12): the exchange
// keeps it for the proxy's Rewrite.
func (a *tokenAuthenticator) scrub(r *http.Request, ex *exchange, p *principal) {
	verified, folded := p != nil, ex.credentialFolded
	if a.queryParam != "" {
		r.Header.Del("Authorization")
		return
	}
	if !a.readsAuthorization {
		r.Header.Del("Authorization")
	}
	if !verified {
		delete(r.Header, a.header)
		if folded {
			deleteUnderscoreSpellings(r.Header, a.header)
		}
		return
	}
	value, ok := r.Header[a.header]
	if folded {
		if !ok {
			value = foldedValues(r.Header, a.header)
			r.Header[a.header] = value
		}
		deleteUnderscoreSpellings(r.Header, a.header)
	}
	ex.credentialHeader, ex.credential = a.header, value
}

// foldedValues returns the values of the first header of h whose name,
// '_' read as '-' and case ignored, is canonical.
func foldedValues(h http.Header, canonical string) []string {
	for name, vs := range h {
		if sameHeaderFolded(name, canonical) {
			return vs
		}
	}
	return nil
}

// deleteUnderscoreSpellings removes every spelling of canonical with '_'
// for '-'.
func deleteUnderscoreSpellings(h http.Header, canonical string) {
	for name := range h {
		if strings.IndexByte(name, '_') >= 0 && sameHeaderFolded(name, canonical) {
			delete(h, name)
		}
	}
}

// foldedHeaderValues are the values of header canonical, then those of
// its spellings with '_' for '-' (sorted by name): a backend that folds '_'
// into '-' (CGI, WSGI) reads them all as that header (attack R11), so an
// authorizer is asked about them and a cache keys by them.
func foldedHeaderValues(h http.Header, canonical string) []string {
	values := h[canonical]
	var others []string
	for name := range h {
		if name != canonical && strings.IndexByte(name, '_') >= 0 && sameHeaderFolded(name, canonical) {
			others = append(others, name)
		}
	}
	if len(others) == 0 {
		return values
	}
	slices.Sort(others)
	values = values[:len(values):len(values)]
	for _, name := range others {
		values = append(values, h[name]...)
	}
	return values
}

// sameHeaderFolded reports whether name, with '_' read as '-' and ASCII
// case ignored, equals canonical (a canonical header name).
func sameHeaderFolded(name, canonical string) bool {
	if len(name) != len(canonical) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c, d := name[i], canonical[i]
		if c == '_' {
			c = '-'
		}
		if c != d && lowerASCII(c) != lowerASCII(d) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ignoreRejection logs, at WARN, a bad token on an ANONYMOUS route: the
// request goes on without it, so the line carries no status of its own.
func (g *Gateway) ignoreRejection(ex *exchange, e *httpError) {
	e.level = slog.LevelWarn
	e.status = 0
	e.attrs = append(e.attrs, slog.Bool("ignored", true))
	g.logRejection(ex, e)
}

// credentialError is the rejection of a request without a usable token:
// none at all (a plain challenge), or one that is not exactly one token in
// the configured form (treated as an invalid token, 401).
func (a *tokenAuthenticator) credentialError(err error) *httpError {
	e := &httpError{status: http.StatusUnauthorized, code: a.failCode, detail: err.Error(), cause: err, level: slog.LevelInfo}
	switch {
	case errors.Is(err, errNoCredential):
		e.reason = reasonMissingToken
		e.setHeader("WWW-Authenticate", a.challenge(""))
	case errors.Is(err, errMultipleCredentials):
		e.reason = reasonMultipleTokens
		e.setHeader("WWW-Authenticate", a.challenge("invalid_token"))
	default:
		e.reason = reasonMalformedCred
		e.setHeader("WWW-Authenticate", a.challenge("invalid_token"))
	}
	return e
}

// tokenError is the rejection of a token that failed verification, with the
// unverified kid, iss and sub for the log when the token could be decoded.
func (a *tokenAuthenticator) tokenError(tok *token.Token, err error) *httpError {
	if errors.Is(err, token.ErrKeysUnavailable) {
		return &httpError{status: http.StatusServiceUnavailable, code: a.loadingCode,
			reason: reasonKeysUnavailable, detail: err.Error(), cause: err, level: slog.LevelError}
	}
	e := &httpError{status: http.StatusUnauthorized, code: a.failCode, reason: reason(token.Reason(err)),
		detail: err.Error(), cause: err, level: slog.LevelInfo}
	e.setHeader("WWW-Authenticate", a.challenge("invalid_token"))
	if tok != nil {
		e.attrs = tokenAttrs(tok)
	}
	if msg, ok := ociMessages[e.reason]; ok {
		e.attrs = append(e.attrs, slog.String("ociMessage", msg))
	}
	return e
}

// ociMessages are the texts OCI API Gateway's execution log uses for the
// same rejections, logged beside keygate's own so that searches written
// for OCI's logs keep working.
var ociMessages = map[reason]string{
	"token_expired":       "Validation failed for 'exp' claim.",
	"missing_exp":         "Validation failed for 'exp' claim.",
	"token_not_yet_valid": "Validation failed for 'nbf' claim.",
	"invalid_iat":         "Validation failed for 'iat' claim.",
	"wrong_issuer":        "JWT token not issued by the configured issuers.",
	"wrong_audience":      "JWT token not issued for the configured audience.",
	"unknown_kid":         "key not found",
	"bad_signature":       "invalid token",
	"malformed_token":     "invalid token",
	"alg_not_allowed":     "invalid token",
}

// principalAttrs are the log attributes naming who a principal is.
func principalAttrs(p *principal) []slog.Attr {
	switch {
	case p == nil:
		return nil
	case p.token != nil:
		return tokenAttrs(p.token)
	case p.name != "":
		return []slog.Attr{slog.String("principal", bounded(p.name))}
	}
	return nil
}

// tokenAttrs are the log attributes naming a token's key and parties, each
// bounded: they may come from an attacker's token.
func tokenAttrs(tok *token.Token) []slog.Attr {
	attrs := make([]slog.Attr, 0, 3)
	if tok.Header.KeyID != "" {
		attrs = append(attrs, slog.String("kid", bounded(tok.Header.KeyID)))
	}
	if iss := tok.Claims.Issuer(); iss != "" {
		attrs = append(attrs, slog.String("iss", bounded(iss)))
	}
	if sub := tok.Claims.Subject(); sub != "" {
		attrs = append(attrs, slog.String("sub", bounded(sub)))
	}
	return attrs
}

// bounded cuts a client-supplied value for the log, on a rune boundary so
// the log shows no broken character.
func bounded(s string) string {
	const max = 128
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
