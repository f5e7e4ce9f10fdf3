package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Rate limiting: OCI's log code; keygate's reason.
const (
	codeRateLimited          = "rateLimiting.requestDenied"
	reasonRateLimited reason = "rate_limited"
)

// rateLimit is a deployment's compiled rateLimiting: one counter for all its
// routes (per client address with CLIENT_IP), in limits.
type rateLimit struct {
	limits    *Limits
	rate      int
	perClient bool
	// key is the deployment's own part of every key.
	key     string
	trusted trustedProxies
}

// withRateLimit refuses a request over the deployment's rate with 429 and
// Retry-After (whole seconds, at least 1). A Decide call is a question, not
// traffic: it consumes nothing.
func (g *Gateway) withRateLimit(rl *rateLimit, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		if ex.decision != nil {
			next.ServeHTTP(w, r)
			return
		}
		key := rl.key
		if rl.perClient {
			key += "|" + rateKey(rl.trusted.clientAddr(r))
		}
		ok, wait := rl.limits.decide(r.Context(), key, rl.rate, g.now())
		g.metrics.rateLimit(ex, ok)
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		seconds := int((wait + time.Second - 1) / time.Second)
		if seconds < 1 {
			seconds = 1
		}
		e := &httpError{status: http.StatusTooManyRequests, code: codeRateLimited, reason: reasonRateLimited,
			detail: "over the deployment's rate of " + strconv.Itoa(rl.rate) + " requests per second", level: slog.LevelInfo}
		e.setHeader("Retry-After", strconv.Itoa(seconds))
		g.writeError(w, ex, e)
	})
}
