package gateway

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
)

// BenchmarkDynamicRouting measures choosing a backend: a route with a
// plain STOCK_RESPONSE_BACKEND is the baseline row (the same request,
// header included); the others route by a
// header among 20 ANY_OF keys (3 values each) and 5 WILDCARD keys, to the
// same stock response, hitting an exact value, the last wildcard, and the
// default. Run with
//
//	go test -run '^$' -bench DynamicRouting -benchtime 2s -count 3 ./internal/gateway/
func BenchmarkDynamicRouting(b *testing.B) {
	stock := map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"}
	var rbs []any
	for i := range 20 {
		rbs = append(rbs, map[string]any{"key": map[string]any{"type": "ANY_OF", "name": fmt.Sprintf("k%d", i),
			"values": []any{fmt.Sprintf("v%d", i), fmt.Sprintf("w%d", i), fmt.Sprintf("x%d", i)}}, "backend": stock})
	}
	for i := range 5 {
		rbs = append(rbs, map[string]any{"key": map[string]any{"type": "WILDCARD", "name": fmt.Sprintf("wild%d", i),
			"expression": fmt.Sprintf("tenant%d-*", i)}, "backend": stock})
	}
	rbs = append(rbs, map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "rest", "isDefault": true}, "backend": stock})
	spec := routesSpec(
		map[string]any{"path": "/stock", "methods": []any{"GET"}, "backend": stock},
		map[string]any{"path": "/routed", "methods": []any{"GET"}, "backend": map[string]any{"type": "DYNAMIC_ROUTING_BACKEND",
			"selectionSource": map[string]any{"type": "SINGLE", "selector": "request.headers[X-Tenant]"}, "routingBackends": rbs}},
	)
	g := compileSpec(b, "/b", spec, nil, Options{Logger: slog.New(slog.DiscardHandler), DisableAccessLog: true})
	for _, row := range []struct{ name, path, tenant string }{
		{"stock", "/b/stock", "W17"},
		{"ANY_OF", "/b/routed", "W17"},
		{"WILDCARD", "/b/routed", "tenant4-eu"},
		{"default", "/b/routed", "nobody"},
	} {
		b.Run(row.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", row.path, nil)
				req.Header.Set("X-Tenant", row.tenant)
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
