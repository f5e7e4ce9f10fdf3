package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/keygate/keygate/internal/authz"
	"github.com/keygate/keygate/internal/token"
)

// authenticator is a deployment's compiled authentication policy.
type authenticator struct {
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
	summary AuthSummary
}

// failureResponse is a validationFailurePolicy of type MODIFY_RESPONSE.
type failureResponse struct {
	status  int
	message string
}

// Credential errors: reasons a request carries no usable token.
var (
	errNoCredential        = errors.New("no token in the request")
	errMultipleCredentials = errors.New("more than one token in the request")
	errMalformedCredential = errors.New("the token is not in the configured form")
)

// credential extracts the token from the request: exactly one header (or
// query parameter) holding exactly one token (RFC 6750 §2). folded reports
// that a spelling of the header with '_' for '-' was there.
func (a *authenticator) credential(r *http.Request) (raw string, folded bool, err error) {
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
func (a *authenticator) challenge(errorCode string) string {
	c := `Bearer realm="` + a.realm + `"`
	if errorCode != "" {
		c += `, error="` + errorCode + `"`
	}
	return c
}

// withAuthentication verifies the token of a request to rt, a route of a
// deployment whose authentication policy is a. On ANONYMOUS routes a
// missing or invalid token does not stop the request; an invalid one is
// logged at WARN.
func (g *Gateway) withAuthentication(a *authenticator, rt *route, next http.Handler) http.Handler {
	anonymous := rt.policy.Kind == authz.Anonymous
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		raw, folded, err := a.credential(r)
		if err != nil {
			if anonymous && errors.Is(err, errNoCredential) {
				a.forwardOnlyValidated(r, ex, false, folded)
				next.ServeHTTP(w, r)
				return
			}
			if anonymous {
				g.ignoreRejection(ex, a.credentialError(err, slog.LevelWarn))
				a.forwardOnlyValidated(r, ex, false, folded)
				next.ServeHTTP(w, r)
				return
			}
			g.writeError(w, ex, a.credentialError(err, slog.LevelInfo))
			return
		}
		tok, err := a.verifier.Verify(raw)
		if err != nil {
			if d := ex.decision; d != nil {
				d.Token, d.Checks = a.verifier.Check(raw)
				policy := rt.policy
				d.ScopeRefusedToo = d.Token != nil && !anonymous && policy.Kind == authz.AnyOf && !policy.Allows(d.Token.Scopes)
			}
			e := a.tokenError(tok, err)
			if anonymous {
				g.ignoreRejection(ex, e)
				a.forwardOnlyValidated(r, ex, false, folded)
				next.ServeHTTP(w, r)
				return
			}
			g.writeError(w, ex, e)
			return
		}
		ex.token = tok
		if ex.decision == nil && ex.dep.allowed.authentication != nil {
			ex.dep.allowed.authentication.Inc()
		}
		a.forwardOnlyValidated(r, ex, true, folded)
		next.ServeHTTP(w, r)
	})
}

// forwardOnlyValidated leaves the backend no credential the gateway did not
// validate: the token header goes on only with a verified token in it, and a
// client's Authorization header that this deployment does not read (its
// token comes from another header or from the query) is dropped. A query
// token is never forwarded in any form (RFC 6750 §5.3; the query loses it
// in the proxy).
//
// A verified token goes on under the header's own name whatever spelling
// carried it, and is set again after hop-by-hop removal, so that a client's
// "Connection: Authorization" cannot strip it (attack R12): the exchange
// keeps it for the proxy's Rewrite.
//
// folded says that the request spelled the header with '_' (credential).
func (a *authenticator) forwardOnlyValidated(r *http.Request, ex *exchange, verified, folded bool) {
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
func (a *authenticator) credentialError(err error, level slog.Level) *httpError {
	e := &httpError{status: http.StatusUnauthorized, code: a.failCode, detail: err.Error(), cause: err, level: level}
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
	return a.applyFailurePolicy(e)
}

// tokenError is the rejection of a token that failed verification, with the
// unverified kid, iss and sub for the log when the token could be decoded.
func (a *authenticator) tokenError(tok *token.Token, err error) *httpError {
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
	return a.applyFailurePolicy(e)
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

// applyFailurePolicy swaps status and body for the configured ones.
func (a *authenticator) applyFailurePolicy(e *httpError) *httpError {
	if a.failure != nil {
		e.status = a.failure.status
		e.message = a.failure.message
		if e.status != http.StatusUnauthorized {
			e.header.Del("WWW-Authenticate") // a challenge belongs to a 401 (RFC 9110 §11.6.1)
		}
	}
	return e
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
