package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// validationBenchGateway serves two stock-response routes that differ only
// in their policies: /plain has none, /validated requires a header, a query
// parameter and a JSON body (ENFORCING), /permissive the same in PERMISSIVE
// mode. The access log is off and the execution log goes to io.Discard.
func validationBenchGateway(b *testing.B) *Gateway {
	b.Helper()
	stock := map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"}
	policies := func(mode string) map[string]any {
		return map[string]any{
			"headerValidations":         headerPolicy(mode, item("X-Username", true), item("X-Trace", false)),
			"queryParameterValidations": queryPolicy(mode, item("state", true)),
			"bodyValidation":            bodyPolicy(mode, true, "application/json", "text/*"),
		}
	}
	spec := map[string]any{"routes": []any{
		map[string]any{"path": "/plain", "methods": []any{"POST"}, "backend": stock},
		map[string]any{"path": "/validated", "methods": []any{"POST"}, "backend": stock, "requestPolicies": policies("ENFORCING")},
		map[string]any{"path": "/permissive", "methods": []any{"POST"}, "backend": stock, "requestPolicies": policies("PERMISSIVE")},
	}}
	data, err := json.Marshal(spec)
	if err != nil {
		b.Fatal(err)
	}
	s, err := config.DecodeSpec("bench.json", data)
	if err != nil {
		b.Fatalf("decoding the spec: %v", err)
	}
	g, err := New(&config.Gateway{Deployments: []config.Deployment{{PathPrefix: benchPrefix, Specification: s}}},
		Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), DisableAccessLog: true, Metrics: NewMetrics()})
	if err != nil {
		b.Fatalf("building the gateway: %v", err)
	}
	return g
}

// BenchmarkValidation is the same request (a header, a query parameter and
// a JSON body, which no route reads) on a route without validations and on
// routes that check all three: what the validation step costs a request
// that passes, one that is refused, and one that fails in PERMISSIVE mode
// (a WARN line and a metric per policy). Compare with
//
//	go test -run '^$' -bench Validation -benchmem -count 3 ./internal/gateway/
func BenchmarkValidation(b *testing.B) {
	g := validationBenchGateway(b)
	full := http.Header{"X-Username": {"alice"}, "Content-Type": {"application/json; charset=utf-8"}}
	tests := []struct {
		name   string
		path   string
		header http.Header
		status int
	}{
		{"none", "/plain?page=1&state=ok", full, 200},
		{"passes", "/validated?page=1&state=ok", full, 200},
		{"refused", "/validated?page=1", full, 400},
		{"permissive_fails", "/permissive?page=1", http.Header{"Content-Type": {"image/png"}}, 200},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080"+benchPrefix+tt.path, strings.NewReader(`{"a":1}`))
			req.RemoteAddr = "127.0.0.1:40000"
			for name, values := range tt.header {
				req.Header[name] = values
			}
			w := &benchWriter{header: http.Header{}}
			g.ServeHTTP(w, req)
			if w.status != tt.status {
				b.Fatalf("POST %s: status %d, want %d", tt.path, w.status, tt.status)
			}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				g.ServeHTTP(w, req)
				if w.status != tt.status {
					b.Fatalf("POST %s: status %d, want %d", tt.path, w.status, tt.status)
				}
			}
		})
	}
}
