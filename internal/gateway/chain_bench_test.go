package gateway

import (
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// Whole-chain benchmarks: one Gateway built once, its ServeHTTP called in
// the loop, no listener in front. They measure what keygate adds per request
// (request id, routing, authentication, authorization, backend) with the
// same spec shape as bench/compare.sh: an ANONYMOUS route and an ANY_OF
// api:read route. Run them with
//
//	go test -run '^$' -bench Chain -benchtime 2s -count 3 ./internal/gateway/

const (
	benchIssuer   = "https://auth.example.test/"
	benchAudience = "api://perf-gateway"
	benchKID      = "perf-key-1"
	benchPrefix   = "/bench"
)

// benchRSA is the test binary's shared RSA-2048 key.
func benchRSA(b *testing.B) *rsa.PrivateKey { return sharedRSA(b) }

// benchToken is an RS256 token of the size compare.sh sends (~800 bytes).
func benchToken(b *testing.B) string {
	b.Helper()
	now := time.Now()
	tok, err := token.Sign(benchRSA(b), benchKID, "RS256", map[string]any{
		"iss": benchIssuer, "aud": benchAudience, "sub": "user-7f3c2a91-5b4e-4d1a-9c3e-2f8b6a1d0e47",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(24 * time.Hour).Unix(),
		"jti":   "b9e2c6f4-1d3a-4e8b-a7c5-3f2d1e0b9a86",
		"scope": "openid profile api:read api:write", "email": "alice@example.test", "name": "Alice Example",
	})
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// accessLogMode is how a benchmark gateway writes its access lines.
type accessLogMode int

const (
	accessLogOff  accessLogMode = iota // --no-access-log, as in compare.sh's *-nolog targets
	accessLogFast                      // gateway.AccessLog, as keygate serve writes them
	accessLogSlog                      // slog records through slog.JSONHandler (Options.AccessLog nil)
)

// benchGateway compiles the benchmark spec: /anon and /jwt answer from a
// stock response, /proxy forwards to backendURL (skipped when empty). The
// access log, when on, is JSON written to io.Discard.
func benchGateway(b *testing.B, backendURL string, cache *token.Cache, accessLog accessLogMode) *Gateway {
	b.Helper()
	jwk, err := keys.PublicJWK(benchRSA(b).Public())
	if err != nil {
		b.Fatal(err)
	}
	stock := map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok",
		"headers": []any{map[string]any{"name": "Content-Type", "value": "text/plain"}}}
	readScope := map[string]any{"type": "ANY_OF", "allowedScope": []any{"api:read"}}
	routes := []any{
		map[string]any{"path": "/anon", "methods": []any{"GET"}, "backend": stock,
			"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"}}},
		map[string]any{"path": "/jwt", "methods": []any{"GET"}, "backend": stock,
			"requestPolicies": map[string]any{"authorization": readScope}},
	}
	if backendURL != "" {
		routes = append(routes, map[string]any{"path": "/proxy", "methods": []any{"GET"},
			"backend":         map[string]any{"type": "HTTP_BACKEND", "url": backendURL + "/"},
			"requestPolicies": map[string]any{"authorization": readScope}})
	}
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"isAnonymousAccessAllowed": true,
			"issuers":                  []any{benchIssuer}, "audiences": []any{benchAudience},
			"publicKeys": map[string]any{"type": "STATIC_KEYS", "keys": []any{map[string]any{
				"format": "JSON_WEB_KEY", "kid": benchKID, "kty": jwk.Kty, "alg": "RS256", "use": "sig",
				"n": jwk.N, "e": jwk.E}}},
		}},
		"routes": routes,
	}
	data, err := json.Marshal(spec)
	if err != nil {
		b.Fatal(err)
	}
	s, err := config.DecodeSpec("bench.json", data)
	if err != nil {
		b.Fatalf("decoding the spec: %v", err)
	}
	cfg := &config.Gateway{Listen: "127.0.0.1:0", Deployments: []config.Deployment{
		{PathPrefix: benchPrefix, Specification: s, Source: config.Source{File: "bench.json"}},
	}}
	opts := Options{
		Logger:           slog.New(slog.NewJSONHandler(io.Discard, nil)),
		DisableAccessLog: accessLog == accessLogOff,
		TokenCache:       cache,
	}
	if accessLog == accessLogFast {
		opts.AccessLog = NewAccessLog(io.Discard, AccessLogJSON)
	}
	g, err := New(cfg, opts)
	if err != nil {
		b.Fatalf("building the gateway: %v", err)
	}
	return g
}

// benchWriter is a response recorder that can be reset without allocating,
// so the figures show the gateway's allocations, not the recorder's.
type benchWriter struct {
	header http.Header
	status int
	bytes  int
}

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.bytes += len(p)
	return len(p), nil
}

func (w *benchWriter) reset() {
	clear(w.header)
	w.status, w.bytes = 0, 0
}

// runChain calls g.ServeHTTP with the same request in the loop and fails on
// any status but 200. The request is never changed by the chain: the
// request-id middleware works on a copy made by WithContext.
func runChain(b *testing.B, g *Gateway, path, tok string) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+benchPrefix+path, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	w := &benchWriter{header: http.Header{}}
	// One request outside the timer: it proves the setup and, with a cache,
	// stores the token so the loop measures hits.
	g.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		b.Fatalf("GET %s: status %d, want 200", path, w.status)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		g.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("GET %s: status %d, want 200", path, w.status)
		}
	}
}

// BenchmarkChainAnonymousStock is an ANONYMOUS route without a token,
// answered by a stock response: the chain's fixed cost.
func BenchmarkChainAnonymousStock(b *testing.B) {
	runChain(b, benchGateway(b, "", nil, accessLogOff), "/anon", "")
}

// BenchmarkChainJWTCached is an ANY_OF api:read route whose token is in
// the verified-token cache (every request after the first is a hit).
func BenchmarkChainJWTCached(b *testing.B) {
	runChain(b, benchGateway(b, "", token.NewCache(1000), accessLogOff), "/jwt", benchToken(b))
}

// BenchmarkChainJWTCachedAccessLog is BenchmarkChainJWTCached with the
// access log on as keygate serve writes it (gateway.AccessLog, JSON to
// io.Discard): what encoding one line costs. The writer's share (a copy
// under a mutex, one write(2) per batch) is in cli's BenchmarkAsyncWriter.
func BenchmarkChainJWTCachedAccessLog(b *testing.B) {
	runChain(b, benchGateway(b, "", token.NewCache(1000), accessLogFast), "/jwt", benchToken(b))
}

// BenchmarkChainJWTCachedAccessLogSlog is the same line as a slog record
// through slog.JSONHandler: the way access lines were written before
// gateway.AccessLog, and still are when Options.AccessLog is nil.
func BenchmarkChainJWTCachedAccessLogSlog(b *testing.B) {
	runChain(b, benchGateway(b, "", token.NewCache(1000), accessLogSlog), "/jwt", benchToken(b))
}

// BenchmarkChainJWTCold is the same route without a cache: every request
// pays a full RS256 verification.
func BenchmarkChainJWTCold(b *testing.B) {
	runChain(b, benchGateway(b, "", nil, accessLogOff), "/jwt", benchToken(b))
}

// BenchmarkChainJWTProxy is the cached JWT route forwarding to an
// HTTP_BACKEND on loopback (one keep-alive connection, the loop is serial):
// the gateway side of keygate-jwt-same-token in compare.sh, plus the
// backend's own cost.
func BenchmarkChainJWTProxy(b *testing.B) {
	body := []byte("ok")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	}))
	b.Cleanup(backend.Close)
	runChain(b, benchGateway(b, backend.URL, token.NewCache(1000), accessLogOff), "/proxy", benchToken(b))
}
