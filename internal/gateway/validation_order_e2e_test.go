package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// Where validations sit among the other steps, what they see of the
// request, HTTP/2 bodies, and Decide.

// TestValidationAfterAuthentication: validation runs after authentication
// and authorization (a request failing both is refused by authentication),
// and a CORS preflight is answered before it.
func TestValidationAfterAuthentication(t *testing.T) {
	key := newRSAKey(t, "k")
	rig := newValidationRig(t, func(url string) map[string]any {
		r := validated("/orders", url, map[string]any{
			"authorization":     anyOf("orders:read"),
			"headerValidations": headerPolicy("ENFORCING", item("X-Username", true)),
			"cors":              map[string]any{"allowedOrigins": []any{"https://app.example.com"}, "allowedHeaders": []any{"Authorization"}},
		})
		return authSpec(jwtAuth(key.staticJWK(t)), r)
	})
	good := key.sign(t, validClaims(fixedNow))
	noScope := validClaims(fixedNow)
	noScope["scope"] = "other"
	tests := []struct {
		name   string
		header http.Header
		status int
		code   string
		reason string
	}{
		{"no token, no header", nil, 401, codeJWTAuthFailed, string(reasonMissingToken)},
		{"wrong scope, no header", bearer(key.sign(t, noScope)), 403, codeUnauthorized, string(reasonInsufficient)},
		{"valid token, no header", bearer(good), 400, codeValidationError, string(reasonMissingHeader)},
		{"valid token and header", http.Header{"Authorization": {"Bearer " + good}, "X-Username": {"a"}}, 200, "", ""},
		{"preflight", http.Header{"Origin": {"https://app.example.com"}, "Access-Control-Request-Method": {"GET"}}, 204, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			if tt.status == 204 {
				method = http.MethodOptions
			}
			r := send(t, rig.gw, method, "/v/orders", tt.header)
			if r.resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", r.resp.StatusCode, tt.status, r.body)
			}
			if tt.code != "" {
				l := rejectionLine(t, rig.gw, r.id)
				if l["code"] != tt.code || l["reason"] != tt.reason {
					t.Errorf("log = %s %s, want %s %s", l["code"], l["reason"], tt.code, tt.reason)
				}
			}
		})
	}
}

// TestValidationSeesTheScrubbedRequest: validations judge the request as
// authentication leaves it, so a credential header keygate drops before
// the backend is missing for them too.
func TestValidationSeesTheScrubbedRequest(t *testing.T) {
	key := newRSAKey(t, "k")
	rig := newValidationRig(t, func(url string) map[string]any {
		auth := jwtAuth(key.staticJWK(t))
		auth["tokenHeader"] = "X-Api-Key"
		delete(auth, "tokenAuthScheme")
		auth["isAnonymousAccessAllowed"] = true
		return authSpec(auth,
			validated("/basic", url, map[string]any{"headerValidations": headerPolicy("ENFORCING", item("Authorization", true))}),
			validated("/anon", url, map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"},
				"headerValidations": headerPolicy("ENFORCING", item("X-Api-Key", true))}),
		)
	})
	good := key.sign(t, validClaims(fixedNow))
	tests := []struct {
		name, path string
		header     http.Header
		status     int
	}{
		{"Authorization the deployment does not read", "/v/basic", http.Header{"X-Api-Key": {good}, "Authorization": {"Basic YTpi"}}, 400},
		{"an unverified token on an ANONYMOUS route", "/v/anon", http.Header{"X-Api-Key": {"not-a-token"}}, 400},
		{"a verified token on an ANONYMOUS route", "/v/anon", http.Header{"X-Api-Key": {good}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, rig.gw, http.MethodGet, tt.path, tt.header)
			if r.resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (body %s)", r.resp.StatusCode, tt.status, r.body)
			}
		})
	}
}

// TestValidationHTTP2Body: over HTTP/2 a request has a body when its stream
// stays open after the headers; one ended with the headers has none.
func TestValidationHTTP2Body(t *testing.T) {
	backend := newBackend(t)
	data, _ := json.Marshal(validationSpec(backend.url()))
	s, err := config.DecodeSpec("spec.json", data)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(&config.Gateway{Deployments: []config.Deployment{{PathPrefix: "/v", Specification: s}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(g)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tests := []struct {
		name   string
		body   func() io.Reader
		status int
	}{
		{"stream ended with the headers", func() io.Reader { return nil }, 400},
		{"empty body with its length", func() io.Reader { return strings.NewReader("") }, 400},
		{"body with its length", func() io.Reader { return strings.NewReader("{}") }, 200},
		{"body of unknown length", func() io.Reader {
			pr, pw := io.Pipe()
			go func() {
				time.Sleep(10 * time.Millisecond)
				_, _ = pw.Write([]byte("{}"))
				_ = pw.Close()
			}()
			return pr
		}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v/b", tt.body())
			req.Header.Set("Content-Type", "application/json")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.ProtoMajor != 2 {
				t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

// TestValidationDecide: Decide reports an ENFORCING refusal like any other,
// and a PERMISSIVE failure as a warning of an accepted request.
func TestValidationDecide(t *testing.T) {
	rig := newValidationRig(t, validationSpec)
	d := rig.g.Decide(httptest.NewRequest(http.MethodGet, "/v/h", nil))
	if d.Accepted || d.Status != 400 || d.Code != codeValidationError || d.Reason != string(reasonMissingHeader) || d.Route != "/h" {
		t.Errorf("Decide(GET /v/h) = %+v, want 400 %s %s on /h", d, codeValidationError, reasonMissingHeader)
	}
	d = rig.g.Decide(httptest.NewRequest(http.MethodGet, "/v/p", nil))
	want := []string{"missing_header: required header X-Username is missing", "missing_query_parameter: required query parameter state is missing",
		"missing_body: the route requires a request body and there is none"}
	if !d.Accepted || strings.Join(d.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("Decide(GET /v/p) = %+v, want accepted with warnings %q", d, want)
	}
	// Decide counts nothing.
	rec := httptest.NewRecorder()
	rig.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if strings.Contains(rec.Body.String(), "\nkeygate_validation_failures_total{") {
		t.Error("Decide counted validation failures")
	}
}
