package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// Usage plans: OCI's log codes; keygate's reasons.
const (
	codeUsageRejected        = "usagePlans.requestRejected"
	codeUsageBreachedAllowed = "usagePlans.requestBreachedButAllowed"

	reasonNoClientToken      reason = "missing_client_token"
	reasonUnknownClientToken reason = "unknown_client_token"
	reasonNotEntitled        reason = "not_entitled"
	reasonUsageRateLimited   reason = "usage_rate_limited"
	reasonQuotaExceeded      reason = "quota_exceeded"
)

// withUsagePlans finds the request's subscriber by its client token and
// applies the entitlement it has on the deployment: 403 without a token,
// with one no subscriber has, or for a subscriber none of whose plans
// targets the deployment; 429 with Retry-After over the entitlement's rate
// limit or, with operationOnBreach REJECT, its quota. A Decide call is a
// question, not traffic: the subscriber is found, nothing is counted.
func (g *Gateway) withUsagePlans(u *usagePolicy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		tok := u.token(r, ex)
		if tok == "" {
			g.usageRefused(w, ex, http.StatusForbidden, reasonNoClientToken, nil, "no client token at "+u.locationText)
			return
		}
		client := u.clients.lookup(tok)
		if client == nil {
			g.usageRefused(w, ex, http.StatusForbidden, reasonUnknownClientToken, nil, "the client token is no subscriber's")
			return
		}
		grant := u.grants[client.subscriber.index]
		ex.usage, ex.usageClient = grant, client
		if grant == nil {
			g.usageRefused(w, ex, http.StatusForbidden, reasonNotEntitled, nil,
				"subscriber "+strconv.Quote(client.subscriber.label)+" has no usage plan with an entitlement for this deployment")
			return
		}
		if ex.decision != nil {
			next.ServeHTTP(w, r)
			return
		}
		if grant.limit.rate == 0 && grant.limit.quota == 0 {
			// An entitlement without limits: access, and nothing to count.
			if grant.permitted != nil {
				grant.permitted.Inc()
			}
			next.ServeHTTP(w, r)
			return
		}
		d := u.limits.decideUsage(r.Context(), &grant.limit, g.now())
		switch d.outcome {
		case usageRateLimited:
			g.usageRefused(w, ex, http.StatusTooManyRequests, reasonUsageRateLimited, &d,
				"over the entitlement's rate limit of "+strconv.Itoa(grant.limit.rate)+" requests per second")
			return
		case usageQuotaExceeded:
			g.usageRefused(w, ex, http.StatusTooManyRequests, reasonQuotaExceeded, &d,
				"the entitlement's quota of "+strconv.Itoa(grant.limit.quota)+" requests per "+grant.limit.unit+" is used up")
			return
		case usageBreachedAllowed:
			g.usageBreachedAllowed(ex)
		default:
			if grant.permitted != nil {
				grant.permitted.Inc()
			}
		}
		if grant.limit.quota == 0 {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status >= 500 {
			// OCI counts a 5xx toward the rate limit only.
			u.limits.refundQuota(r.Context(), &grant.limit, d.period)
		}
	})
}

// token is the request's client token: the value of the first token
// location that holds one, or "".
func (u *usagePolicy) token(r *http.Request, ex *exchange) string {
	for _, v := range u.locations {
		if tok := evalVariable(r, ex, v); tok != "" {
			return tok
		}
	}
	return ""
}

// usageBreachedAllowed counts and logs a request served past its quota
// (operationOnBreach ALLOW).
func (g *Gateway) usageBreachedAllowed(ex *exchange) {
	g.metrics.usage(ex.dep.prefix, ex.usage, ex.usageClient, "breached_allowed")
	if ex.executionLogEnabled(slog.LevelInfo) {
		attrs := append([]slog.Attr{slog.String("code", codeUsageBreachedAllowed), slog.String("opcRequestId", ex.requestID),
			slog.String("deployment", ex.dep.prefix), slog.String("route", ex.route.path)}, usageAttrs(ex, reasonQuotaExceeded)...)
		g.log.LogAttrs(ex.ctx, slog.LevelInfo, "the entitlement's quota is used up; operationOnBreach ALLOW lets the request through", attrs...)
	}
}

// usageRefused writes a usage plan refusal; d is the limits' decision for
// a 429 (its wait gives Retry-After), nil for a 403.
func (g *Gateway) usageRefused(w http.ResponseWriter, ex *exchange, status int, why reason, d *usageDecision, detail string) {
	if ex.decision == nil {
		g.metrics.usage(ex.dep.prefix, ex.usage, ex.usageClient, string(why))
	}
	e := &httpError{status: status, code: codeUsageRejected, reason: why, detail: detail, level: slog.LevelInfo,
		attrs: usageAttrs(ex, why)}
	if d != nil {
		e.setHeader("Retry-After", strconv.Itoa(retryAfterSeconds(d.wait)))
	}
	g.writeError(w, ex, e)
}

// retryAfterSeconds is a wait in whole seconds, rounded up, at least 1.
func retryAfterSeconds(wait time.Duration) int {
	return max(int((wait+time.Second-1)/time.Second), 1)
}

// usageAttrs are the execution log's fields of a usage plan decision, as
// OCI names them (with the limit that decided, when limitedBy is the rate
// limit's or the quota's reason); never the token.
func usageAttrs(ex *exchange, limitedBy reason) []slog.Attr {
	var attrs []slog.Attr
	if c := ex.usageClient; c != nil {
		attrs = append(attrs, slog.String("subscriberId", c.subscriber.id), slog.String("subscriberName", c.subscriber.label),
			slog.String("clientName", c.name))
	}
	if gr := ex.usage; gr != nil {
		attrs = append(attrs, slog.String("limitingResourceId", gr.planID), slog.String("limitingResourceName", gr.planLabel),
			slog.String("entitlementName", gr.entitlement))
		switch limitedBy {
		case reasonUsageRateLimited:
			attrs = append(attrs, slog.Int("configuredLimit", gr.limit.rate), slog.String("configuredUnit", config.RateUnitSecond))
		case reasonQuotaExceeded:
			attrs = append(attrs, slog.Int("configuredLimit", gr.limit.quota), slog.String("configuredUnit", gr.limit.unit))
		}
	}
	return attrs
}

// statusWriter remembers the final status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (sw *statusWriter) WriteHeader(status int) {
	if sw.status == 0 && status >= 200 {
		sw.status = status
	}
	sw.ResponseWriter.WriteHeader(status)
}

func (sw *statusWriter) Write(p []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	return sw.ResponseWriter.Write(p)
}

// Flush passes flushes through, so streamed responses stay streamed.
func (sw *statusWriter) Flush() {
	if f, ok := sw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }
