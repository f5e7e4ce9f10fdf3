package adversarial

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The request rows of attacks.md, R1–R10 (R9 is in limits_test.go). Rows
// R1–R3 must be refused with the backend untouched; rows R4–R8 and R10 are
// requests the gateway forwards, and the assertion is on what arrives.

// rawResponse sends raw (a complete HTTP/1.1 request, written byte for byte)
// on a new connection and reads the response.
func rawResponse(t *testing.T, addr, method, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(exchangeTimeout))
	go func() { _, _ = io.WriteString(conn, raw) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// rawGet is a GET of target, as sent, with extra header lines.
func (r *rig) rawGet(t *testing.T, target string, lines ...string) (*http.Response, string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: gateway.test\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return rawResponse(t, r.addr, http.MethodGet, b.String())
}

func TestR1ExactlyOneCredential(t *testing.T) {
	tr := newTokenRig(t)
	tok := tr.valid(t)
	tr.refusedFor(t, prefix+"/r", http.Header{"Authorization": {"Bearer " + tok, "Bearer " + tok}},
		http.StatusUnauthorized, "multiple_tokens")

	b := newBackend(t)
	auth := jwtAuth(staticKeys(jwkEntry(t, "rsa", "RS256", &signers().rsa.PublicKey)))
	delete(auth, "tokenHeader")
	delete(auth, "tokenAuthScheme")
	auth["tokenQueryParam"] = "access_token"
	q := startRig(t, spec(auth, httpRoute("/r", b.srv.URL+"/r", nil)), b, options{now: fixedClock})
	q.refusedFor(t, prefix+"/r?access_token="+tok+"&access_token="+tok, nil, http.StatusUnauthorized, "multiple_tokens")
	q.refusedFor(t, prefix+"/r?access_token=", nil, http.StatusUnauthorized, "malformed_credential")
	got := q.passes(t, prefix+"/r?access_token="+tok+"&keep=1", nil)

	// R10: the query token never reaches the backend or the log.
	if strings.Contains(got.Query, tok) || got.Query != "keep=1" {
		t.Errorf("backend query = %q, want %q without the token", got.Query, "keep=1")
	}
	q.noSecrets(t, tok, tok[strings.LastIndexByte(tok, '.')+1:])
}

func TestR2Scheme(t *testing.T) {
	tr := newTokenRig(t)
	tok := tr.valid(t)
	for _, tt := range []struct{ header, reason string }{
		{"Bearer  " + tok, "malformed_credential"},
		{"Bearer " + tok + " extra", "malformed_credential"},
		{"Bearer " + tok + ",x", "malformed_credential"},
		{"Bearer", "malformed_credential"},
		{"Basic dXNlcjpwYXNz", "missing_token"},
		{tok, "missing_token"},
	} {
		t.Run(tt.header[:min(len(tt.header), 20)], func(t *testing.T) {
			tr.refusedFor(t, prefix+"/r", http.Header{"Authorization": {tt.header}}, http.StatusUnauthorized, tt.reason)
		})
	}
	for _, scheme := range []string{"bearer", "BEARER", "bEaReR"} {
		tr.passes(t, prefix+"/r", http.Header{"Authorization": {scheme + " " + tok}})
	}
}

func TestR3PathsNeverRouted(t *testing.T) {
	b := newBackend(t)
	r := startRig(t, spec(nil, httpRoute("/{p*}", b.srv.URL+"/s/${request.path[p]}", nil)), b, options{})
	for _, target := range []string{
		"/adv/public/%2e%2e/admin", "/adv/public/%2E%2E/admin", "/adv/public/..%2fadmin",
		"/adv/public/..;/admin", "/adv/public/..%3b/admin", "/adv/public/..%5cadmin", `/adv/public/..\admin`,
		"/adv/public/%252e%252e/admin", "//adv/admin", "/adv//admin", "/adv/a%00", "/adv/%ff", "/adv/\xff",
		"/adv/a/../b", "/adv/a/./b", "/adv/a%0d%0aX:1", "*",
	} {
		t.Run(target, func(t *testing.T) {
			before := b.count()
			resp, _ := r.rawGet(t, target)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if got := b.since(before); len(got) != 0 {
				t.Errorf("backend received %q, want nothing", got[0].Path)
			}
		})
	}
	// What is accepted is forwarded in exactly its canonical spelling.
	for target, want := range map[string]string{
		"/adv/a%20b/%41": "/s/a%20b/A", "/adv/x..y": "/s/x..y", "/adv/caf%C3%A9": "/s/caf%C3%A9",
	} {
		before := b.count()
		if resp, _ := r.rawGet(t, target); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status = %d, want 200", target, resp.StatusCode)
		}
		if got := b.since(before); len(got) != 1 || got[0].Path != want {
			t.Errorf("%s: backend received %v, want one request for %s", target, got, want)
		}
	}
}

func TestR4ParametersStayOneSegment(t *testing.T) {
	b := newBackend(t)
	r := startRig(t, spec(nil,
		httpRoute("/p/{x}", b.srv.URL+"/seg/${request.path[x]}/end", nil),
		httpRoute("/q", b.srv.URL+"/q/${request.query[x]}/end", nil),
		httpRoute("/h", b.srv.URL+"/h/${request.headers[X-Name]}/end", nil),
	), b, options{})
	for _, tt := range []struct {
		target, header, want string
	}{
		{"/adv/p/a%3Fb%23c", "", "/seg/a%3Fb%23c/end"},
		{"/adv/q?" + url.Values{"x": {"../../admin"}}.Encode(), "", "/q/..%2F..%2Fadmin/end"},
		{"/adv/q?x=..", "", "/q/%2E%2E/end"},
		{"/adv/q?" + url.Values{"x": {"a?b#c"}}.Encode(), "", "/q/a%3Fb%23c/end"},
		{"/adv/h", "X-Name: ../admin?x#y", "/h/..%2Fadmin%3Fx%23y/end"},
		{"/adv/h", "X-Name: ..", "/h/%2E%2E/end"},
	} {
		before := b.count()
		var lines []string
		if tt.header != "" {
			lines = append(lines, tt.header)
		}
		if resp, _ := r.rawGet(t, tt.target, lines...); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status = %d, want 200", tt.target, resp.StatusCode)
		}
		if got := b.since(before); len(got) != 1 || got[0].Path != tt.want {
			t.Errorf("%s %s: backend received %v, want %s", tt.target, tt.header, got, tt.want)
		}
	}
}

// gatewayHeaders are the headers the gateway sets on the way to a backend.
var gatewayHeaders = []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Opc-Request-Id"}

func TestR5toR8HeadersThatArrive(t *testing.T) {
	b := newBackend(t)
	r := startRig(t, spec(nil, httpRoute("/r", b.srv.URL+"/r", nil)), b, options{})
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
			before := b.count()
			resp, _ := r.rawGet(t, "/adv/r", tt.lines...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200 (never 101)", resp.StatusCode)
			}
			got := b.since(before)
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
