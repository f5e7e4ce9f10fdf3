package gateway_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/gateway/gatewaytest"
	"github.com/keygate/keygate/internal/token"
)

// policyBenchRows are the rows of BenchmarkPolicy: the same GET (with an
// Origin, an X-Username, a bearer token and a client certificate, whatever
// the route reads) sent to routes of one gateway that differ only in the
// policy they have. "baseline" is a deployment without any policy. A
// "<policy>/configured" row is a route or deployment that has it; a
// "<policy>/unused" row is a route beside it, in the same deployment, that
// does not: it must cost what baseline costs (a route pays nothing for a
// policy it does not use). Deployment-wide policies (mutual TLS, rate
// limit, authentication) have no sibling route without them: their
// "unused" is the baseline deployment itself, in the same gateway.
var policyBenchRows = []struct{ name, path string }{
	{"baseline", "/base/r"},
	{"cors/configured", "/cors/with"},
	{"cors/unused", "/cors/without"},
	{"transformations/configured", "/tf/with"},
	{"transformations/unused", "/tf/without"},
	{"validations/configured", "/val/with"},
	{"validations/unused", "/val/without"},
	{"mutual-tls/configured", "/mtls/r"},
	{"rate-limit/configured", "/rl/r"},
	{"auth-anonymous-route/configured", "/auth/anon"},
	{"auth-jwt-cached/configured", "/auth/jwt"},
	{"auth-jwt-cold/configured", "/auth/jwt"}, // on a gateway without a token cache
}

// policyBenchGateway compiles one deployment per policy (see
// policyBenchRows), all answering from a stock response, access log off.
func policyBenchGateway(b *testing.B, pki *gatewaytest.PKI, cache *token.Cache) *gateway.Gateway {
	b.Helper()
	stock := func(path string, requestPolicies map[string]any) map[string]any {
		r := map[string]any{"path": path, "methods": []any{"GET"},
			"backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"}}
		if requestPolicies != nil {
			r["requestPolicies"] = requestPolicies
		}
		return r
	}
	spec := func(requestPolicies map[string]any, routes ...map[string]any) map[string]any {
		rs := make([]any, len(routes))
		for i, r := range routes {
			rs[i] = r
		}
		s := map[string]any{"routes": rs}
		if requestPolicies != nil {
			s["requestPolicies"] = requestPolicies
		}
		return s
	}
	items := func(kv ...string) map[string]any {
		var out []any
		for i := 0; i < len(kv); i += 2 {
			out = append(out, map[string]any{"name": kv[i], "values": []any{kv[i+1]}, "ifExists": "OVERWRITE"})
		}
		return map[string]any{"items": out}
	}
	auth := gatewaytest.JWTAuth(gatewaytest.StaticKeys(gatewaytest.RSA("k1").JWK(b)))
	auth["isAnonymousAccessAllowed"] = true
	readScope := map[string]any{"authorization": gatewaytest.AnyOf("orders:read")}
	specs := map[string]map[string]any{
		"/base": spec(nil, stock("/r", nil)),
		"/cors": spec(nil,
			stock("/with", map[string]any{"cors": map[string]any{"allowedOrigins": []any{"https://app.example.test"},
				"allowedMethods": []any{"GET"}, "exposedHeaders": []any{"X-Trace"}, "isAllowCredentialsEnabled": true}}),
			stock("/without", nil)),
		"/tf": spec(nil,
			map[string]any{"path": "/with", "methods": []any{"GET"},
				"backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"},
				"requestPolicies": map[string]any{"headerTransformations": map[string]any{
					"setHeaders":    items("X-Gateway", "keygate", "X-User", "${request.headers[X-Username]}"),
					"filterHeaders": map[string]any{"type": "BLOCK", "items": []any{map[string]any{"name": "X-Debug"}}}}},
				"responsePolicies": map[string]any{"headerTransformations": map[string]any{
					"setHeaders": items("Cache-Control", "no-store")}}},
			stock("/without", nil)),
		"/val": spec(nil,
			stock("/with", map[string]any{"headerValidations": map[string]any{"validationMode": "ENFORCING",
				"headers": []any{map[string]any{"name": "X-Username", "required": true}}}}),
			stock("/without", nil)),
		"/mtls": spec(map[string]any{"mutualTls": map[string]any{"isVerifiedCertificateRequired": true,
			"allowedSans": []any{"client.example.test"}}}, stock("/r", nil)),
		"/rl": spec(map[string]any{"rateLimiting": map[string]any{"rateInRequestsPerSecond": 1 << 30, "rateKey": "TOTAL"}}, stock("/r", nil)),
		"/auth": spec(map[string]any{"authentication": auth},
			stock("/anon", map[string]any{"authorization": gatewaytest.Anonymous()}), stock("/jwt", readScope)),
	}
	cfg := &config.Gateway{Listen: "127.0.0.1:0", ClientCA: pki.ClientCA()}
	for prefix, s := range specs {
		d, err := gatewaytest.Deployment(prefix, s)
		if err != nil {
			b.Fatalf("%s: %v", prefix, err)
		}
		cfg.Deployments = append(cfg.Deployments, d)
	}
	g, err := gateway.New(cfg, gateway.Options{DisableAccessLog: true, TokenCache: cache})
	if err != nil {
		b.Fatalf("building the gateway: %v", err)
	}
	return g
}

// BenchmarkPolicy measures what each policy costs a request that passes it,
// and that a route without it costs the baseline. Ratios are only
// meaningful between rows of one run:
//
//	go test -run '^$' -bench Policy -benchmem -benchtime 2s -count 3 ./internal/gateway/
//
// Every row but auth-jwt-cold runs on a gateway with a token cache (as
// keygate serve runs); auth-jwt-cold is the same spec compiled without
// one, so its token is verified in full (RS256) on every request.
func BenchmarkPolicy(b *testing.B) {
	pki := gatewaytest.NewPKI(b, "bench client CA")
	cert := pki.Issue(b, gatewaytest.ClientCert{CN: "client", DNS: []string{"client.example.test"}})
	cached := policyBenchGateway(b, pki, token.NewCache(1000))
	cold := policyBenchGateway(b, pki, nil)
	key := gatewaytest.RSA("k1")
	now := time.Now() // the client certificate is valid around now, not at gatewaytest.FixedNow
	tok := key.Sign(b, gatewaytest.Claims(map[string]any{"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}))
	for _, row := range policyBenchRows {
		b.Run(row.name, func(b *testing.B) {
			g := cached
			if row.name == "auth-jwt-cold/configured" {
				g = cold
			}
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+row.path, nil)
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("Origin", "https://app.example.test")
			req.Header.Set("X-Username", "alice")
			req.Header.Set("Authorization", "Bearer "+tok)
			req.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{cert.Leaf}}
			w := &policyWriter{header: http.Header{}}
			g.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("GET %s: status %d, want 200", row.path, w.status)
			}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				g.ServeHTTP(w, req)
			}
			if w.status != http.StatusOK {
				b.Fatalf("GET %s: status %d, want 200", row.path, w.status)
			}
		})
	}
}

// policyWriter is a ResponseWriter reset without allocating.
type policyWriter struct {
	header http.Header
	status int
}

func (w *policyWriter) Header() http.Header { return w.header }

func (w *policyWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *policyWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}

func (w *policyWriter) reset() {
	clear(w.header)
	w.status = 0
}
