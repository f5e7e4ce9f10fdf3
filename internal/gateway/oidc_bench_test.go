package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// BenchmarkChainOIDC measures what REMOTE_DISCOVERY and dynamic
// authentication cost per request once warm, against a baseline row of
// the same run: a static-key JWT_AUTHENTICATION route whose token is in
// the verified-token cache (the cost of a cache-hit authentication).
// Rows: the baseline; an opaque token whose introspection answer is cached;
// a JWT access token (verified-token cache hit on the discovered keys, then
// the cached introspection answer); dynamic authentication picking the
// static-key server by a header. Run with
//
//	go test -run '^$' -bench ChainOIDC -benchtime 2s -count 3 ./internal/gateway/
func BenchmarkChainOIDC(b *testing.B) {
	op := oidctest.Start(b)
	key := newRSAKey(b, "static-1")
	static := jwtAuth(key.staticJWK(b))
	dyn := dynamicSpec("request.headers[X-Tenant]",
		server(map[string]any{"type": "ANY_OF", "name": "partners", "values": []any{"acme"}}, static),
		server(map[string]any{"type": "WILDCARD", "name": "idp", "expression": "idp-*"}, discoveryAuth(op, oidctest.ClientID)))
	specs := map[string]map[string]any{
		"/static":  stockSpec(jwtAuth(key.staticJWK(b))),
		"/opaque":  stockSpec(discoveryAuth(op, oidctest.ClientID)),
		"/jwt":     stockSpec(discoveryAuth(op, oidctest.JWTClientID)),
		"/dynamic": stockRoutes(dyn),
	}
	gw := startOIDCGateway(b, specs)
	waitReady(b, gw.g)
	staticTok := key.sign(b, validClaims(time.Now()))
	rows := []struct {
		name, path, tok, tenant string
	}{
		{"baseline-static-jwt-cached", "/static/any", staticTok, ""},
		{"discovery-opaque-introspection-cached", "/opaque/any", op.AccessToken("openid"), ""},
		{"discovery-jwt-introspection-cached", "/jwt/any", op.JWTAccessToken("openid"), ""},
		{"dynamic-header-static-jwt-cached", "/dynamic/any", staticTok, "acme"},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+row.path, nil)
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("Authorization", "Bearer "+row.tok)
			if row.tenant != "" {
				req.Header.Set("X-Tenant", row.tenant)
			}
			w := &benchWriter{header: http.Header{}}
			g := gw.g
			g.ServeHTTP(w, req) // warms the caches
			if w.status != http.StatusOK {
				b.Fatalf("GET %s: status %d %v", row.path, w.status, w.header)
			}
			calls := op.Requests(oidctest.IntrospectionPath)
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				g.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("GET %s: status %d", row.path, w.status)
				}
			}
			if n := op.Requests(oidctest.IntrospectionPath) - calls; n != 0 {
				b.Fatalf("%d introspection calls in the loop, want 0 (cached)", n)
			}
		})
	}
}

// stockSpec is a spec with auth and one route /any answered by a stock
// response.
func stockSpec(auth map[string]any) map[string]any {
	return stockRoutes(map[string]any{"requestPolicies": map[string]any{"authentication": auth}})
}

// stockRoutes gives spec the one route /any answered by a stock response.
func stockRoutes(spec map[string]any) map[string]any {
	spec["routes"] = []any{map[string]any{"path": "/any", "methods": []any{"GET"},
		"backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"}}}
	return spec
}
