package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// BenchmarkChainAuthorizer is an ANY_OF api:read route answered by a stock
// response, its caller authenticated by an authorizer function whose
// verdict is cached (every request after the first is a hit: no call),
// beside the same route open (none) and with a cached JWT, in the same run:
// what the authorizer cache costs per request. The execution log is JSON
// to io.Discard at the spec's level: INFO (the default, one
// successfulAuthentication line per request) or WARN.
//
//	go test -run '^$' -bench ChainAuthorizer -benchtime 2s -count 3 ./internal/gateway/
func BenchmarkChainAuthorizer(b *testing.B) {
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"active": true, "scope": ["api:read"], "context": {"tenant": "acme"}, "expiresAt": "2999-01-01T00:00:00Z"}`)
	}))
	b.Cleanup(fn.Close)
	stock := map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"}
	route := func(authorization map[string]any) []any {
		r := map[string]any{"path": "/r", "methods": []any{"GET"}, "backend": stock}
		if authorization != nil {
			r["requestPolicies"] = map[string]any{"authorization": authorization}
		}
		return []any{r}
	}
	readScope := map[string]any{"type": "ANY_OF", "allowedScope": []any{"api:read"}}
	custom := func(extra map[string]any) map[string]any {
		a := map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": testAuthorizerID}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	jwk, err := keys.PublicJWK(benchRSA(b).Public())
	if err != nil {
		b.Fatal(err)
	}
	jwt := map[string]any{"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
		"issuers": []any{benchIssuer}, "audiences": []any{benchAudience},
		"publicKeys": map[string]any{"type": "STATIC_KEYS", "keys": []any{map[string]any{
			"format": "JSON_WEB_KEY", "kid": benchKID, "kty": jwk.Kty, "alg": "RS256", "use": "sig", "n": jwk.N, "e": jwk.E}}}}
	apiKey := "ak_live_7f3c2a915b4e4d1a9c3e2f8b6a1d0e47"
	rows := []struct {
		name   string
		auth   map[string]any
		level  string
		header http.Header
	}{
		{"none", nil, "", nil},
		{"jwt-cached", jwt, "", http.Header{"Authorization": {"Bearer " + benchToken(b)}}},
		{"authorizer-hit", custom(map[string]any{"tokenHeader": "X-Api-Key"}), "", http.Header{"X-Api-Key": {apiKey}}},
		{"authorizer-hit-warn", custom(map[string]any{"tokenHeader": "X-Api-Key"}), "WARN", http.Header{"X-Api-Key": {apiKey}}},
		{"authorizer-hit-multi", custom(map[string]any{"parameters": map[string]any{
			"xapikey": "request.headers[X-Api-Key]", "state": "request.query[state]"}}), "",
			http.Header{"X-Api-Key": {apiKey}}},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			spec := map[string]any{"routes": route(nil)}
			if row.auth != nil {
				spec = map[string]any{"requestPolicies": map[string]any{"authentication": row.auth}, "routes": route(readScope)}
			}
			if row.level != "" {
				withLogLevel(spec, row.level)
			}
			opts := Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), DisableAccessLog: true,
				TokenCache: token.NewCache(1000),
				Functions:  testRegistry(b, map[string]string{testAuthorizerID: fn.URL}, 2*time.Second)}
			g := compileSpec(b, benchPrefix, spec, nil, opts)
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+benchPrefix+"/r?state=ca", nil)
			req.RemoteAddr = "127.0.0.1:40000"
			for name, values := range row.header {
				req.Header[name] = values
			}
			w := &benchWriter{header: http.Header{}}
			g.ServeHTTP(w, req) // fills the cache
			if w.status != http.StatusOK {
				b.Fatalf("status %d, want 200", w.status)
			}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				g.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("status %d, want 200", w.status)
				}
			}
		})
	}
}
