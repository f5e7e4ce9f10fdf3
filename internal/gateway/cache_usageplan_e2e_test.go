package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestCacheUsagePlanClientToken: a usage plan's client token names the
// subscriber, and a backend may answer each subscriber its own data: it
// is a credential to the cache. Without private caching a request with
// one bypasses; with it, one subscriber's entry never answers another.
func TestCacheUsagePlanClientToken(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "data of "+r.Header.Get("Client-Id")+r.URL.Query().Get("client_id"))
	}))
	t.Cleanup(backend.Close)
	rds := startRedis(t, "")
	client := redis.NewClient(&redis.Options{Addr: rds.addr})
	t.Cleanup(func() { client.Close() })
	cache := NewResponseCache(client, ResponseCacheOptions{Logger: slog.New(slog.DiscardHandler), Timeout: time.Second})
	cfg := usagePlanConfig(0, 0, "", "")
	orders := cfg["deployments"].([]any)[0].(map[string]any)["specification"].(map[string]any)
	orders["routes"] = append(orders["routes"].([]any),
		cachedRoute("/shared", backend.URL, nil, lookupPolicy(false)),
		cachedRoute("/private", backend.URL, nil, lookupPolicy(true)))
	g := usageGateway(t, cfg, Options{Logger: slog.New(slog.DiscardHandler), ResponseCache: cache})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	get := func(path string, header http.Header) (string, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s %v: %d %s", path, header, resp.StatusCode, body)
		}
		return resp.Header.Get(cacheStatusHeader), string(body)
	}
	for _, path := range []string{"/orders/shared", "/orders/private"} {
		get(path, http.Header{"Client-Id": {tokAcmeWeb}})
		get(path, http.Header{"Client-Id": {tokAcmeWeb}})
		for _, h := range []http.Header{{"Client-Id": {tokGlobex}}} {
			if state, body := get(path, h); state == "HIT" || !strings.Contains(body, tokGlobex) {
				t.Errorf("%s: Globex (%v) got %s %q after Acme's request, want its own data", path, h, state, body)
			}
		}
		if state, body := get(path+"?client_id="+tokGlobex, nil); state == "HIT" || !strings.Contains(body, tokGlobex) {
			t.Errorf("%s: Globex by query got %s %q, want its own data", path, state, body)
		}
	}
	if state, _ := get("/orders/private", http.Header{"Client-Id": {tokAcmeWeb}}); state != "HIT" {
		t.Errorf("private caching: Acme's repeated request is %q, want HIT under its own token", state)
	}
}
