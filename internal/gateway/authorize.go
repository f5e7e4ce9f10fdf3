package gateway

import (
	"log/slog"
	"net/http"
	"strings"
)

// withAuthorization applies the authorization policy of rt, a route that
// is not ANONYMOUS, to the token that a, its deployment's authentication,
// verified: ANY_OF needs one of the allowed scopes.
func (g *Gateway) withAuthorization(a authentication, rt *route, next http.Handler) http.Handler {
	policy := rt.policy
	challenge := http.Header{"Www-Authenticate": {a.challenge(string(reasonInsufficient)) + `, scope="` + rt.allowedScopes + `"`}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		if p := ex.principal; p == nil || !policy.Allows(p.scopes) {
			g.writeError(w, ex, &httpError{
				status: http.StatusForbidden,
				code:   codeUnauthorized,
				reason: reasonInsufficient,
				detail: "the token's scope holds none of the route's allowed scopes " + rt.allowedScopes,
				header: challenge,
				level:  slog.LevelInfo,
				attrs:  principalAttrs(ex.principal),
			})
			return
		}
		if ex.decision == nil && ex.dep.allowed.authorization != nil {
			ex.dep.allowed.authorization.Inc()
		}
		next.ServeHTTP(w, r)
	})
}

// joinScopes renders allowed scopes for the WWW-Authenticate scope parameter
// (RFC 6750 §3: space-delimited).
func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }
