package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkChainUsagePlan is a stock route of a deployment without usage
// plans next to the same route of one with a usage plan (rate limit and
// quota, high enough never to refuse; the token in a header): what the
// policy costs per request, counted in-process and, as replicas share it,
// in a local redis-server (one loopback round trip per request).
func BenchmarkChainUsagePlan(b *testing.B) {
	cfg := usagePlanConfig(1<<30, 1<<30, "MONTH", "REJECT")
	cfg["deployments"] = append(cfg["deployments"].([]any), map[string]any{"pathPrefix": "/plain", "specification": map[string]any{
		"routes": []any{map[string]any{"path": "/ok", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200}}}}})
	for _, row := range []string{"none", "usage-plan", "usage-plan-redis"} {
		b.Run(row, func(b *testing.B) {
			opts := Options{DisableAccessLog: true}
			if row == "usage-plan-redis" {
				opts.Limits = sharedLimitsFor(b, startRedis(b, "").addr, slog.New(slog.DiscardHandler))
			}
			g := usageGateway(b, cfg, opts)
			path := "/orders/ok"
			if row == "none" {
				path = "/plain/ok"
			}
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("client-id", tokGlobex)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				w.Body.Reset()
				g.ServeHTTP(w, req)
			}
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		})
	}
}

// BenchmarkUsageDecision is the usage plan step's own work, without HTTP:
// finding the client by its token and deciding its rate limit and quota
// in-process (what the chain benchmark's in-process row adds, measured
// where a loaded machine's noise does not drown it).
func BenchmarkUsageDecision(b *testing.B) {
	cfg := usagePlanConfig(1<<30, 1<<30, "MONTH", "REJECT")
	g := usageGateway(b, cfg, Options{DisableAccessLog: true})
	var u *usagePolicy
	for _, d := range g.deployments {
		if d.prefix == "/orders" {
			u = d.usage
		}
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c := u.clients.lookup(tokGlobex)
		if d := u.limits.decideUsage(context.Background(), &u.grants[c.subscriber.index].limit, now); d.outcome != usagePermitted {
			b.Fatal(d.outcome)
		}
	}
}
