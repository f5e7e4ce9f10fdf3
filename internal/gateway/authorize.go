package gateway

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/keygate/keygate/internal/authz"
)

// withAuthorization applies the route's authorization policy to the token
// that authentication verified: ANY_OF needs one of the allowed scopes.
func (g *Gateway) withAuthorization(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		policy := ex.route.policy
		if ex.dep.auth == nil || policy.Kind == authz.Anonymous {
			next.ServeHTTP(w, r)
			return
		}
		if ex.token == nil || !policy.Allows(ex.token.Scopes) {
			g.writeError(w, ex, &httpError{
				status:    http.StatusForbidden,
				code:      codeUnauthorized,
				reason:    reasonInsufficient,
				detail:    "the token's scope holds none of the route's allowed scopes " + ex.route.allowedScopes,
				challenge: ex.dep.auth.challenge(reasonInsufficient) + `, scope="` + ex.route.allowedScopes + `"`,
				level:     slog.LevelInfo,
				attrs:     tokenAttrs(ex.token),
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
