package gateway

import (
	"net/http"
	"testing"
	"time"
)

func TestSeedFlow(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "suitable_name")
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": jwtAuth(key.staticJWK(t))},
		"routes": []any{
			httpRoute("/1", []string{"POST"}, backend.url()+"/api/1", map[string]any{"type": "ANY_OF", "allowedScope": []any{"orders:read"}}),
		},
	}
	gw := startGateway(t, testPrefix, spec, nil)
	tok := key.sign(t, validClaims(time.Now()))

	tests := []struct {
		name       string
		header     http.Header
		wantStatus int
		wantReason string
	}{
		{"valid token", bearer(tok), http.StatusOK, ""},
		{"no token", nil, http.StatusUnauthorized, "missing_token"},
		{"unknown kid", bearer(newRSAKey(t, "other").sign(t, validClaims(time.Now()))), http.StatusUnauthorized, "unknown_kid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := gw.do(t, http.MethodPost, testPrefix+"/1", tt.header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if resp.Header.Get("opc-request-id") == "" {
				t.Error("response has no opc-request-id")
			}
		})
	}
	if got := len(backend.requests()); got != 1 {
		t.Errorf("backend received %d requests, want 1", got)
	}
}
