package adversarial

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// The request rows of attacks.md, R1–R10 (R9 is in limits_test.go). Rows
// R1–R3 must be refused with the backend untouched; rows R4–R8 and R10 are
// requests the gateway forwards, and the assertion is on what arrives.

func TestR1ExactlyOneCredential(t *testing.T) {
	tr := newTokenRig(t)
	tok := validToken(t)
	tr.RefusedFor(t, "/test/r", http.Header{"Authorization": {"Bearer " + tok, "Bearer " + tok}},
		http.StatusUnauthorized, "multiple_tokens")

	b := gatewaytest.NewBackend(t)
	auth := gatewaytest.JWTAuth(gatewaytest.StaticKeys(gatewaytest.JWK(t, "rsa", "RS256", &gatewaytest.RSAKey().PublicKey)))
	delete(auth, "tokenHeader")
	delete(auth, "tokenAuthScheme")
	auth["tokenQueryParam"] = "access_token"
	q := gatewaytest.Start(t, gatewaytest.Spec(auth, gatewaytest.HTTPRoute("/r", b.URL+"/r", nil)), b, gatewaytest.Options{Now: gatewaytest.FixedClock})
	q.RefusedFor(t, "/test/r?access_token="+tok+"&access_token="+tok, nil, http.StatusUnauthorized, "multiple_tokens")
	q.RefusedFor(t, "/test/r?access_token=", nil, http.StatusUnauthorized, "malformed_credential")
	got := q.Passes(t, "/test/r?access_token="+tok+"&keep=1", nil)

	// R10: the query token never reaches the backend or the log.
	if strings.Contains(got.RawQuery, tok) || got.RawQuery != "keep=1" {
		t.Errorf("backend query = %q, want %q without the token", got.RawQuery, "keep=1")
	}
	q.Log.NoSecrets(t, tok, tok[strings.LastIndexByte(tok, '.')+1:])
}

func TestR2Scheme(t *testing.T) {
	tr := newTokenRig(t)
	tok := validToken(t)
	for _, tt := range []struct{ header, reason string }{
		{"Bearer  " + tok, "malformed_credential"},
		{"Bearer " + tok + " extra", "malformed_credential"},
		{"Bearer " + tok + ",x", "malformed_credential"},
		{"Bearer", "malformed_credential"},
		{"Basic dXNlcjpwYXNz", "missing_token"},
		{tok, "missing_token"},
	} {
		t.Run(tt.header[:min(len(tt.header), 20)], func(t *testing.T) {
			tr.RefusedFor(t, "/test/r", http.Header{"Authorization": {tt.header}}, http.StatusUnauthorized, tt.reason)
		})
	}
	for _, scheme := range []string{"bearer", "BEARER", "bEaReR"} {
		tr.Passes(t, "/test/r", http.Header{"Authorization": {scheme + " " + tok}})
	}
}

func TestR3PathsNeverRouted(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	r := gatewaytest.Start(t, gatewaytest.Spec(nil, gatewaytest.HTTPRoute("/{p*}", b.URL+"/s/${request.path[p]}", nil)), b, gatewaytest.Options{})
	for _, target := range []string{
		"/test/public/%2e%2e/admin", "/test/public/%2E%2E/admin", "/test/public/..%2fadmin",
		"/test/public/..;/admin", "/test/public/..%3b/admin", "/test/public/..%5cadmin", `/adv/public/..\admin`,
		"/test/public/%252e%252e/admin", "//adv/admin", "/test//admin", "/test/a%00", "/test/%ff", "/test/\xff",
		"/test/a/../b", "/test/a/./b", "/test/a%0d%0aX:1", "*",
	} {
		t.Run(target, func(t *testing.T) {
			before := b.Count()
			resp, _ := r.Raw(t, http.MethodGet, target)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if got := b.Since(before); len(got) != 0 {
				t.Errorf("backend received %q, want nothing", got[0].Path)
			}
		})
	}
	// What is accepted is forwarded in exactly its canonical spelling.
	for target, want := range map[string]string{
		"/test/a%20b/%41": "/s/a%20b/A", "/test/x..y": "/s/x..y", "/test/caf%C3%A9": "/s/caf%C3%A9",
	} {
		before := b.Count()
		if resp, _ := r.Raw(t, http.MethodGet, target); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status = %d, want 200", target, resp.StatusCode)
		}
		if got := b.Since(before); len(got) != 1 || got[0].Path != want {
			t.Errorf("%s: backend received %v, want one request for %s", target, got, want)
		}
	}
}

func TestR4ParametersStayOneSegment(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	r := gatewaytest.Start(t, gatewaytest.Spec(nil,
		gatewaytest.HTTPRoute("/p/{x}", b.URL+"/seg/${request.path[x]}/end", nil),
		gatewaytest.HTTPRoute("/q", b.URL+"/q/${request.query[x]}/end", nil),
		gatewaytest.HTTPRoute("/h", b.URL+"/h/${request.headers[X-Name]}/end", nil),
	), b, gatewaytest.Options{})
	for _, tt := range []struct {
		target, header, want string
	}{
		{"/test/p/a%3Fb%23c", "", "/seg/a%3Fb%23c/end"},
		{"/test/q?" + url.Values{"x": {"../../admin"}}.Encode(), "", "/q/..%2F..%2Fadmin/end"},
		{"/test/q?x=..", "", "/q/%2E%2E/end"},
		{"/test/q?" + url.Values{"x": {"a?b#c"}}.Encode(), "", "/q/a%3Fb%23c/end"},
		{"/test/h", "X-Name: ../admin?x#y", "/h/..%2Fadmin%3Fx%23y/end"},
		{"/test/h", "X-Name: ..", "/h/%2E%2E/end"},
	} {
		before := b.Count()
		var lines []string
		if tt.header != "" {
			lines = append(lines, tt.header)
		}
		if resp, _ := r.Raw(t, http.MethodGet, tt.target, lines...); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status = %d, want 200", tt.target, resp.StatusCode)
		}
		if got := b.Since(before); len(got) != 1 || got[0].Path != tt.want {
			t.Errorf("%s %s: backend received %v, want %s", tt.target, tt.header, got, tt.want)
		}
	}
}

// gatewayHeaders are the headers the gateway sets on the way to a backend.
var gatewayHeaders = []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Opc-Request-Id"}

func TestR5toR8HeadersThatArrive(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	r := gatewaytest.Start(t, gatewaytest.Spec(nil, gatewaytest.HTTPRoute("/r", b.URL+"/r", nil)), b, gatewaytest.Options{})
	tests := []struct {
		name  string
		lines []string
	}{
		{"R5 method overrides", []string{"X-HTTP-Method-Override: DELETE", "X-HTTP-Method: DELETE",
			"X-Method-Override: DELETE", "X_HTTP_Method_Override: DELETE"}},
		{"R6 Connection naming gateway headers", []string{"Connection: close, X-Forwarded-For, opc-request-id, X-Forwarded-Host"}},
		{"R7 client copies", []string{"X-Forwarded-For: 6.6.6.6", "X-Forwarded-Host: evil.test", "X-Forwarded-Proto: https",
			"X_Forwarded_For: 6.6.6.6", "Opc_Request_Id: smuggled", "Forwarded: for=6.6.6.6"}},
		{"R8 h2c upgrade", []string{"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"}},
		{"R8 websocket on a plain route", []string{"Connection: Upgrade", "Upgrade: websocket",
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := b.Count()
			resp, _ := r.Raw(t, http.MethodGet, "/test/r", tt.lines...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200 (never 101)", resp.StatusCode)
			}
			got := b.Since(before)
			if len(got) != 1 {
				t.Fatalf("backend received %d requests, want 1", len(got))
			}
			h := got[0].Header
			if got[0].Method != http.MethodGet {
				t.Errorf("backend method = %s, want GET", got[0].Method)
			}
			for name, v := range h {
				dashed := textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(name, "_", "-"))
				switch dashed {
				case "X-Http-Method-Override", "X-Http-Method", "X-Method-Override", "Upgrade", "Connection",
					"Http2-Settings", "Forwarded":
					t.Errorf("backend got %s: %q", name, v)
				}
				if name != dashed && strings.Contains(name, "_") {
					for _, g := range gatewayHeaders {
						if dashed == g {
							t.Errorf("backend got the client's %s: %q", name, v)
						}
					}
				}
			}
			want := map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "gateway.test",
				"X-Forwarded-Proto": "http", "Opc-Request-Id": resp.Header.Get("opc-request-id")}
			for name, value := range want {
				if v := h.Values(name); len(v) != 1 || v[0] != value {
					t.Errorf("backend %s = %q, want [%q]", name, v, value)
				}
			}
		})
	}
}
