package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// rateLimitGateway serves deployment /rl with rateLimiting rate/key over a
// stock route (and a CORS policy, to see the 429 carry its headers), at a
// fixed clock: no refill during a test, so the burst is exact.
func rateLimitGateway(t *testing.T, rate int, key string, trusted []string, limits *Limits) *Gateway {
	t.Helper()
	spec := map[string]any{
		"requestPolicies": map[string]any{
			"rateLimiting": map[string]any{"rateInRequestsPerSecond": rate, "rateKey": key},
			"cors":         map[string]any{"allowedOrigins": []any{"https://app.example.com"}},
		},
		"routes": []any{
			map[string]any{"path": "/a", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200}},
			map[string]any{"path": "/b", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200}},
		},
	}
	now := time.Unix(1_750_000_000, 0)
	return compileSpec(t, "/rl", spec, &config.Gateway{TrustedProxies: trusted},
		Options{Now: func() time.Time { return now }, Limits: limits})
}

// hit sends one request to srv with the given X-Forwarded-For (none if "")
// and returns the response.
func hit(t *testing.T, srv *httptest.Server, path, xff string) *http.Response {
	t.Helper()
	header := http.Header{"Origin": {"https://app.example.com"}}
	if xff != "" {
		header.Set("X-Forwarded-For", xff)
	}
	return getDrained(t, srv, path, header)
}

// getDrained sends GET path with header to srv and returns the response,
// its body read and closed.
func getDrained(t testing.TB, srv *httptest.Server, path string, header http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.Header = header
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestRateLimitTotal(t *testing.T) {
	srv := httptest.NewServer(rateLimitGateway(t, 3, "TOTAL", nil, nil))
	t.Cleanup(srv.Close)
	// One counter for the deployment: /a and /b share it.
	for i, path := range []string{"/rl/a", "/rl/b", "/rl/a"} {
		if resp := hit(t, srv, path, ""); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d, want 200", i, resp.StatusCode)
		}
	}
	resp := hit(t, srv, "/rl/b", "")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("4th request: %d Retry-After %q, want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Error("the 429 carries no CORS headers: a browser could not read it")
	}
}

func TestRateLimitClientIP(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		// requests are X-Forwarded-For values; want the statuses.
		requests []string
		want     []int
	}{
		{"without trusted proxies a client cannot pick its key", nil,
			[]string{"198.51.100.1", "198.51.100.2", "198.51.100.3"}, []int{200, 200, 429}},
		{"behind a trusted proxy each client has its bucket", []string{"127.0.0.1/32"},
			[]string{"198.51.100.1", "198.51.100.1", "198.51.100.1", "198.51.100.2"}, []int{200, 200, 429, 200}},
		{"a spoofed entry left of the proxy's does not count", []string{"127.0.0.1"},
			[]string{"203.0.113.9, 198.51.100.1", "203.0.113.8, 198.51.100.1", "198.51.100.1"}, []int{200, 200, 429}},
		{"IPv6 clients share a /64", []string{"127.0.0.0/8"},
			[]string{"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8:0:1::1"}, []int{200, 200, 429, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(rateLimitGateway(t, 2, "client_ip", tt.trusted, nil))
			t.Cleanup(srv.Close)
			for i, xff := range tt.requests {
				if got := hit(t, srv, "/rl/a", xff).StatusCode; got != tt.want[i] {
					t.Errorf("request %d (X-Forwarded-For %q): %d, want %d", i, xff, got, tt.want[i])
				}
			}
		})
	}
}

// TestRateLimitOutlivesReload: a new configuration built with the same
// Limits keeps the counts (a reload hands nobody a fresh burst), and
// Decide consumes nothing.
func TestRateLimitOutlivesReloadAndDecide(t *testing.T) {
	limits := NewLimits()
	first := rateLimitGateway(t, 2, "TOTAL", nil, limits)
	for range 5 {
		first.Decide(httptest.NewRequest(http.MethodGet, "/rl/a", nil))
	}
	srv := httptest.NewServer(first)
	t.Cleanup(srv.Close)
	if hit(t, srv, "/rl/a", "").StatusCode != 200 {
		t.Fatal("Decide consumed the burst")
	}
	reloaded := httptest.NewServer(rateLimitGateway(t, 2, "TOTAL", nil, limits))
	t.Cleanup(reloaded.Close)
	if got := hit(t, reloaded, "/rl/a", "").StatusCode; got != 200 {
		t.Fatalf("second request after reload: %d, want 200", got)
	}
	if got := hit(t, reloaded, "/rl/a", "").StatusCode; got != 429 {
		t.Fatalf("third request after reload: %d, want 429: the reload reset the limit", got)
	}
}

func TestTrustedProxyChainForwarded(t *testing.T) {
	var got string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("X-Forwarded-For") }))
	t.Cleanup(backend.Close)
	for _, tt := range []struct {
		trusted []string
		want    string
	}{{nil, "127.0.0.1"}, {[]string{"127.0.0.1"}, "198.51.100.1, 127.0.0.1"}} {
		spec := map[string]any{"routes": []any{map[string]any{"path": "/r",
			"backend": map[string]any{"type": "HTTP_BACKEND", "url": backend.URL}}}}
		srv := httptest.NewServer(compileSpec(t, "/x", spec, &config.Gateway{TrustedProxies: tt.trusted}, Options{}))
		hit(t, srv, "/x/r", "198.51.100.1")
		srv.Close()
		if got != tt.want {
			t.Errorf("trusted %v: backend X-Forwarded-For %q, want %q", tt.trusted, got, tt.want)
		}
	}
}

// BenchmarkChainRateLimit is a stock route with and without a rate limit
// (TOTAL, high enough never to refuse): what the policy costs per request,
// decided in process and, as replicas share it, in a local redis-server
// (one round trip over loopback per request).
func BenchmarkChainRateLimit(b *testing.B) {
	for _, store := range []string{"none", "TOTAL", "TOTAL-redis"} {
		b.Run(store, func(b *testing.B) {
			rp := map[string]any{}
			if store != "none" {
				rp["rateLimiting"] = map[string]any{"rateInRequestsPerSecond": 1 << 30, "rateKey": "TOTAL"}
			}
			opts := Options{DisableAccessLog: true}
			if store == "TOTAL-redis" {
				rs := startRedis(b, "")
				opts.Limits = sharedLimitsFor(b, rs.addr, slog.New(slog.DiscardHandler))
			}
			g := compileSpec(b, "/x", map[string]any{"requestPolicies": rp, "routes": []any{map[string]any{"path": "/r",
				"backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200}}}}, nil, opts)
			req := httptest.NewRequest(http.MethodGet, "/x/r", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				w.Body.Reset()
				g.ServeHTTP(w, req)
			}
			if !strings.Contains(w.Result().Status, "200") {
				b.Fatalf("status %s", w.Result().Status)
			}
		})
	}
}
