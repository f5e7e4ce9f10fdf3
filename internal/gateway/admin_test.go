package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadinessAfterFirstReady: /readyz waits for the keys at start-up only.
// A reload that adds a JWKS that does not load leaves the instance ready
// (that deployment answers 503 on its own), and says so in the body.
func TestReadinessAfterFirstReady(t *testing.T) {
	key := newRSAKey(t, "k1")
	staticSpec := routesSpec(stockResponseRoute("/r", nil, 200, "ok"))
	staticSpec["requestPolicies"] = map[string]any{"authentication": jwtAuth(key.staticJWK(t))}
	remoteAuth := jwtAuth()
	remoteAuth["publicKeys"] = map[string]any{"type": "REMOTE_JWKS", "uri": "http://" + closedAddr(t) + "/jwks"}
	remoteSpec := routesSpec(stockResponseRoute("/r", nil, 200, "ok"))
	remoteSpec["requestPolicies"] = map[string]any{"authentication": remoteAuth}

	static, _, err := buildGateway(testPrefix, staticSpec, nil)
	if err != nil {
		t.Fatal(err)
	}
	remote, _, err := buildGateway(testPrefix, remoteSpec, nil)
	if err != nil {
		t.Fatal(err)
	}
	readyz := func(a *Admin) (int, string) {
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		body, _ := io.ReadAll(rec.Body)
		return rec.Code, string(body)
	}

	tests := []struct {
		name     string
		start    *Gateway
		swapTo   *Gateway // nil: no reload
		drain    bool
		wantCode int
		wantBody string
	}{
		{"static keys", static, nil, false, 200, "ready\n"},
		{"JWKS never loaded at start-up", remote, nil, false, 503, "keys not loaded\n"},
		{"reload adds a JWKS that does not load", static, remote, false, 200,
			"ready; a JWKS added by a reload has not loaded, its deployment answers 503\n"},
		{"draining", static, nil, true, 503, "shutting down\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := NewLive(tt.start)
			a := NewAdmin(live, nil, false)
			readyz(a) // the instance's first readiness check
			if tt.swapTo != nil {
				live.Swap(tt.swapTo)
			}
			if tt.drain {
				a.Drain()
			}
			if code, body := readyz(a); code != tt.wantCode || !strings.HasPrefix(body, tt.wantBody) {
				t.Errorf("/readyz = %d %q, want %d %q", code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}
