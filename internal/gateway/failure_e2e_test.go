package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keygate/keygate/internal/keys"
)

// failureGateway serves /f/r behind TOKEN_AUTHENTICATION with the given
// validationFailurePolicy.
func failureGateway(t *testing.T, failure map[string]any) *httptest.Server {
	t.Helper()
	jwk, err := keys.PublicJWK(sharedRSA(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"validationPolicy": map[string]any{"type": "STATIC_KEYS", "keys": []any{map[string]any{
				"format": "JSON_WEB_KEY", "kid": "k", "kty": "RSA", "alg": "RS256", "n": jwk.N, "e": jwk.E}},
				"additionalValidationPolicy": map[string]any{"issuers": []any{"https://issuer.example.com"}}},
			"validationFailurePolicy": failure,
		}},
		"routes": []any{map[string]any{"path": "/r", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200}}},
	}
	srv := httptest.NewServer(compileSpec(t, "/f", spec, nil, Options{}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFailurePolicyModifyResponse(t *testing.T) {
	tests := []struct {
		name       string
		failure    map[string]any
		header     map[string]string
		status     int
		body       string
		wantHeader map[string]string // "" = absent
	}{
		{"a browser is sent to a login page", map[string]any{"type": "MODIFY_RESPONSE", "responseCode": "302",
			"responseHeaderTransformations": map[string]any{"setHeaders": map[string]any{"items": []any{
				map[string]any{"name": "Location", "values": []any{"https://login.example.com/?from=${request.headers[X-Page]}"}}}}}},
			map[string]string{"X-Page": "orders"}, 302, `{"code":302,"message":"Found"}` + "\n",
			map[string]string{"Location": "https://login.example.com/?from=orders", "WWW-Authenticate": ""}},
		{"the status from a context variable, bare as OCI writes it", map[string]any{"type": "MODIFY_RESPONSE",
			"responseCode": "request.headers[X-Code]", "responseMessage": "denied for ${request.headers[X-Page]}"},
			map[string]string{"X-Code": "451", "X-Page": "p"}, 451, "denied for p",
			map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{"a status that is no status gives the 401", map[string]any{"type": "MODIFY_RESPONSE", "responseCode": "${request.headers[X-Code]}"},
			map[string]string{"X-Code": "abc"}, 401, `{"code":401,"message":"Unauthorized"}` + "\n",
			map[string]string{"WWW-Authenticate": `Bearer realm="/f"`}},
		{"transformations start from the refusal's headers", map[string]any{"type": "MODIFY_RESPONSE",
			"responseHeaderTransformations": map[string]any{
				"setHeaders":    map[string]any{"items": []any{map[string]any{"name": "Content-Type", "values": []any{"application/problem+json"}}}},
				"filterHeaders": map[string]any{"type": "BLOCK", "items": []any{map[string]any{"name": "WWW-Authenticate"}, map[string]any{"name": "Cache-Control"}}}}},
			nil, 401, `{"code":401,"message":"Unauthorized"}` + "\n",
			map[string]string{"WWW-Authenticate": "", "Cache-Control": "", "Content-Type": "application/problem+json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := failureGateway(t, tt.failure)
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/f/r", nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			for name, want := range tt.wantHeader {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if resp.Header.Get("opc-request-id") == "" {
				t.Error("no opc-request-id")
			}
		})
	}
}
