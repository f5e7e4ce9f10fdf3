package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

const corsOrigin = "https://app.example.com"

// corsRig is a gateway with a JWT deployment /p whose cors policy allows
// corsOrigin (and file: pages) with credentials, in front of a backend that
// sets CORS headers of its own.
type corsRig struct {
	gw      *httptest.Server
	backend *httptest.Server
	hits    chan string
	token   string
}

func newCORSRig(t *testing.T) *corsRig {
	t.Helper()
	rig := &corsRig{hits: make(chan string, 100)}
	rig.backend = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rig.hits <- r.Method + " " + r.URL.Path
		w.Header().Set("Access-Control-Allow-Origin", "*") // the policy owns these
		w.Header().Set("Access-Control-Allow-Methods", "DELETE")
		w.Header().Set("ETag", `"v1"`)
		_, _ = io.WriteString(w, "backend ok")
	}))
	t.Cleanup(rig.backend.Close)
	key := sharedRSA(t)
	jwk, err := keys.PublicJWK(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]any{
		"requestPolicies": map[string]any{
			"authentication": map[string]any{
				"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
				"issuers": []any{"https://issuer.example.com"}, "audiences": []any{"api"}, "isAnonymousAccessAllowed": true,
				"publicKeys": map[string]any{"type": "STATIC_KEYS", "keys": []any{map[string]any{
					"format": "JSON_WEB_KEY", "kid": "k", "kty": "RSA", "alg": "RS256", "n": jwk.N, "e": jwk.E}}},
			},
			"cors": map[string]any{
				"allowedOrigins": []any{corsOrigin, "null"}, "allowedMethods": []any{"GET", "PUT"},
				"allowedHeaders": []any{"Authorization", "X-Custom"}, "exposedHeaders": []any{"ETag", "opc-request-id"},
				"isAllowCredentialsEnabled": true, "maxAgeInSeconds": 600,
			},
		},
		"routes": []any{
			map[string]any{"path": "/items", "methods": []any{"GET", "PUT"},
				"backend": map[string]any{"type": "HTTP_BACKEND", "url": rig.backend.URL + "/items"}},
			map[string]any{"path": "/stock", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "stock"},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"}}},
			map[string]any{"path": "/own", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"},
					"cors": map[string]any{"allowedOrigins": []any{"*"}, "exposedHeaders": []any{"*"}}}},
		},
	}
	rig.gw = httptest.NewServer(compileSpec(t, "/p", spec, nil, Options{}))
	t.Cleanup(rig.gw.Close)
	rig.token, err = token.Sign(key, "k", "RS256", map[string]any{
		"iss": "https://issuer.example.com", "aud": "api", "sub": "s", "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return rig
}

func (rig *corsRig) do(t *testing.T, method, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, rig.gw.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := rig.gw.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// backendHits drains the record of what the backend received.
func (rig *corsRig) backendHits() []string {
	var hits []string
	for {
		select {
		case h := <-rig.hits:
			hits = append(hits, h)
		default:
			return hits
		}
	}
}

func TestCORS(t *testing.T) {
	rig := newCORSRig(t)
	bearer := "Bearer " + rig.token
	none := "" // the header must be absent
	tests := []struct {
		name         string
		method, path string
		header       map[string]string
		status       int
		want         map[string]string // header values; none: absent
		backend      bool              // the backend is called
	}{
		{"preflight allowed, no credential needed", "OPTIONS", "/p/items",
			map[string]string{"Origin": corsOrigin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization, x-custom"},
			204, map[string]string{"Access-Control-Allow-Origin": corsOrigin, "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods": "GET, PUT", "Access-Control-Allow-Headers": "Authorization, X-Custom",
				"Access-Control-Max-Age": "600", "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}, false},
		{"preflight from another origin", "OPTIONS", "/p/items",
			map[string]string{"Origin": "https://evil.example.com", "Access-Control-Request-Method": "PUT"},
			403, map[string]string{"Access-Control-Allow-Origin": none, "Access-Control-Allow-Methods": none}, false},
		{"preflight for a method not allowed", "OPTIONS", "/p/items",
			map[string]string{"Origin": corsOrigin, "Access-Control-Request-Method": "DELETE"},
			403, map[string]string{"Access-Control-Allow-Origin": none}, false},
		{"preflight for a header not allowed", "OPTIONS", "/p/items",
			map[string]string{"Origin": corsOrigin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-other"},
			403, map[string]string{"Access-Control-Allow-Origin": none}, false},
		{"preflight from a file: page", "OPTIONS", "/p/items",
			map[string]string{"Origin": "null", "Access-Control-Request-Method": "GET"},
			204, map[string]string{"Access-Control-Allow-Origin": "null"}, false},
		{"preflight, origin in another spelling", "OPTIONS", "/p/items",
			map[string]string{"Origin": "HTTPS://APP.example.com:443", "Access-Control-Request-Method": "GET"},
			204, map[string]string{"Access-Control-Allow-Origin": "HTTPS://APP.example.com:443"}, false},
		{"401 is readable by an allowed origin", "GET", "/p/items",
			map[string]string{"Origin": corsOrigin},
			401, map[string]string{"Access-Control-Allow-Origin": corsOrigin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}, false},
		{"a backend's answer, the policy's headers", "GET", "/p/items",
			map[string]string{"Origin": corsOrigin, "Authorization": bearer},
			200, map[string]string{"Access-Control-Allow-Origin": corsOrigin, "Access-Control-Expose-Headers": "ETag, opc-request-id",
				"Access-Control-Allow-Methods": none, "Vary": "Origin"}, true},
		{"another origin is served without CORS headers", "GET", "/p/items",
			map[string]string{"Origin": "https://evil.example.com", "Authorization": bearer},
			200, map[string]string{"Access-Control-Allow-Origin": none, "Access-Control-Allow-Credentials": none, "Vary": "Origin"}, true},
		{"no Origin: no CORS headers, the backend's removed", "GET", "/p/items",
			map[string]string{"Authorization": bearer},
			200, map[string]string{"Access-Control-Allow-Origin": none, "Access-Control-Allow-Methods": none, "Vary": "Origin"}, true},
		{"a stock response", "GET", "/p/stock", map[string]string{"Origin": corsOrigin},
			200, map[string]string{"Access-Control-Allow-Origin": corsOrigin}, false},
		{"404 carries the deployment's headers", "GET", "/p/nope", map[string]string{"Origin": corsOrigin},
			404, map[string]string{"Access-Control-Allow-Origin": corsOrigin}, false},
		{"405 too", "DELETE", "/p/items", map[string]string{"Origin": corsOrigin},
			405, map[string]string{"Access-Control-Allow-Origin": corsOrigin}, false},
		{"a route's policy replaces the deployment's", "GET", "/p/own", map[string]string{"Origin": "https://any.example.org"},
			200, map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": none,
				"Access-Control-Expose-Headers": "*", "Vary": none}, false},
		{"an OPTIONS that is no preflight is routed as OPTIONS", "OPTIONS", "/p/items", map[string]string{"Origin": corsOrigin},
			405, map[string]string{"Allow": "GET, PUT"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig.backendHits()
			resp, body := rig.do(t, tt.method, tt.path, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			for name, want := range tt.want {
				got := strings.Join(resp.Header.Values(name), ", ")
				if want == none && got != "" {
					t.Errorf("%s = %q, want none", name, got)
				}
				if want != none && got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if hits := rig.backendHits(); (len(hits) > 0) != tt.backend {
				t.Errorf("backend received %q, want a call: %v", hits, tt.backend)
			}
		})
	}
}
