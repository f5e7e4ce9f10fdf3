package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// An authorizer function over loopback: accepts the API key "k-acme"
// (scope orders:read, tenant acme), refuses the rest; counts its calls.
func startCountingAuthorizer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var in struct {
			Type  string
			Token string
			Data  map[string]any
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &in)
		key := in.Token
		if in.Type == "USER_DEFINED" {
			key, _ = in.Data["xapikey"].(string)
		}
		w.Header().Set("Content-Type", "application/json")
		if key == "k-acme" {
			_, _ = io.WriteString(w, `{"active": true, "principal": "alice", "scope": ["orders:read"], "context": {"tenant": "acme"}, "expiresAt": "2999-01-01T00:00:00Z"}`)
			return
		}
		_, _ = io.WriteString(w, `{"active": false}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &calls
}

// authorizerConfig writes a gateway file mapping the authorizer's id to
// url, with a deployment /api authenticated by auth.
func authorizerConfig(t *testing.T, url string, auth map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": auth},
		"routes": []any{
			map[string]any{"path": "/orders", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANY_OF", "allowedScope": []any{"orders:read"}}}},
			map[string]any{"path": "/admin", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANY_OF", "allowedScope": []any{"admin"}}}},
		},
	}
	data, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "api.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	gw := "listen: 127.0.0.1:0\nfunctions:\n  - id: ocid1.fnfunc.oc1..authz\n    url: " + url + "\n" +
		"deployments:\n  - pathPrefix: /api\n    specificationFile: api.json\n"
	file := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(file, []byte(gw), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestTokenVerifyCallsAuthorizerOnlyWhenAsked(t *testing.T) {
	url, calls := startCountingAuthorizer(t)
	single := authorizerConfig(t, url, map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": "ocid1.fnfunc.oc1..authz", "tokenHeader": "X-Api-Key"})
	multi := authorizerConfig(t, url, map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": "ocid1.fnfunc.oc1..authz",
		"parameters": map[string]any{"xapikey": "request.headers[X-Api-Key]"}})

	tests := []struct {
		name  string
		args  []string
		code  int
		calls int64
		want  []string
	}{
		{"offline: undecided", []string{"--config", single, "--request", "GET /api/orders", "k-acme"}, exitFail, 0,
			[]string{"UNDECIDED", "header X-Api-Key: TOKEN", "not checked offline (1)", "ocid1.fnfunc.oc1..authz", "--call-functions"}},
		{"offline, no token: refused without the function", []string{"--config", single, "--request", "GET /api/orders"}, exitFail, 0,
			[]string{"REJECT 401 missing_token"}},
		{"called: accepted", []string{"--config", single, "--request", "GET /api/orders", "--call-functions", "k-acme"}, exitOK, 1,
			[]string{"ACCEPT", `accepted (active: true), principal "alice", scope ["orders:read"], context tenant="acme"`, "caches the answer for 1h0m0s"}},
		{"called: scope refused", []string{"--config", single, "--request", "GET /api/admin", "--call-functions", "k-acme"}, exitFail, 1,
			[]string{"REJECT 403 insufficient_scope"}},
		{"called: refused", []string{"--config", single, "--request", "GET /api/orders", "--call-functions", "k-other"}, exitFail, 1,
			[]string{"REJECT 401 authorizer_refused", "refused (active: false)"}},
		{"multi-argument offline", []string{"--config", multi, "--request", "GET /api/orders", "--header", "X-Api-Key: k-acme"}, exitFail, 0,
			[]string{"UNDECIDED"}},
		{"multi-argument called", []string{"--config", multi, "--request", "GET /api/orders", "--header", "X-Api-Key: k-acme", "--call-functions"}, exitOK, 1,
			[]string{"ACCEPT", `context tenant="acme"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := calls.Load()
			out, errOut, code := runCLI(t, "", append([]string{"token", "verify"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			if got := calls.Load() - before; got != tt.calls {
				t.Errorf("function calls = %d, want %d", got, tt.calls)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "k-acme") {
				t.Errorf("output shows the API key:\n%s", out)
			}
		})
	}
}

func TestTokenVerifyCallFunctionsNeedsConfig(t *testing.T) {
	_, errOut, code := runCLI(t, "", "token", "verify", "--spec", "x.json", "--request", "GET /x", "--call-functions", "tok")
	if code != exitUsage || !strings.Contains(errOut, "--call-functions needs --config") {
		t.Errorf("exit %d, stderr %q; want a usage error naming --config", code, errOut)
	}
}

func TestTokenVerifyAuthorizerOnAnonymousRoute(t *testing.T) {
	url, calls := startCountingAuthorizer(t)
	dir := t.TempDir()
	spec := `{"requestPolicies": {"authentication": {"type": "CUSTOM_AUTHENTICATION", "functionId": "ocid1.fnfunc.oc1..authz",
	  "tokenHeader": "X-Api-Key", "isAnonymousAccessAllowed": true}},
	  "routes": [{"path": "/public", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200},
	    "requestPolicies": {"authorization": {"type": "ANONYMOUS"}}}]}`
	writeTestFile(t, filepath.Join(dir, "api.json"), spec)
	gw := filepath.Join(dir, "gateway.yaml")
	writeTestFile(t, gw, "functions:\n  - id: ocid1.fnfunc.oc1..authz\n    url: "+url+"\ndeployments:\n  - pathPrefix: /api\n    specificationFile: api.json\n")
	out, _, code := runCLI(t, "", "token", "verify", "--config", gw, "--request", "GET /api/public", "k-acme")
	if code != exitOK || !strings.Contains(out, "not checked offline, and the route is ANONYMOUS") || calls.Load() != 0 {
		t.Errorf("exit %d, %d calls:\n%s", code, calls.Load(), out)
	}
}
