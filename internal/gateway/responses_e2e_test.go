package gateway

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// End-to-end tests of the reference's section 5: the status, challenge and
// body a caller gets, and the request id that ties a response to its log.

func TestResponsesForEachSituation(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	spec := authSpec(jwtAuth(key.staticJWK(t)),
		httpRoute("/1", []string{"POST"}, backend.url(), anyOf("orders:read")),
		httpRoute("/admin", []string{"GET", "DELETE"}, backend.url(), anyOf("admin", "ops")),
	)
	gw := startOCIGateway(t, testPrefix, spec, fixedClock, false)
	valid := key.sign(t, claimsAt(nil)) // scope "orders:read profile"
	expired := key.sign(t, claimsAt(map[string]any{"exp": fixedNow.Unix()}))

	tests := []struct {
		name          string
		method, path  string
		header        http.Header
		wantStatus    int
		wantMessage   string
		wantChallenge string // "" asserts no WWW-Authenticate
		wantAllow     string // "" asserts no Allow
		wantCode      string // the log line's code
		wantReason    string
	}{
		{"no token", "POST", "/test3/1", nil, 401, "Unauthorized",
			`Bearer realm="/test3"`, "", codeJWTAuthFailed, "missing_token"},
		{"another scheme counts as no token", "POST", "/test3/1", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, 401, "Unauthorized",
			`Bearer realm="/test3"`, "", codeJWTAuthFailed, "missing_token"},
		{"invalid token", "POST", "/test3/1", bearer(expired), 401, "Unauthorized",
			`Bearer realm="/test3", error="invalid_token"`, "", codeJWTAuthFailed, "token_expired"},
		{"unparseable token", "POST", "/test3/1", bearer("x.y.z"), 401, "Unauthorized",
			`Bearer realm="/test3", error="invalid_token"`, "", codeJWTAuthFailed, "malformed_token"},
		{"two tokens", "POST", "/test3/1", http.Header{"Authorization": {"Bearer " + valid, "Bearer " + valid}}, 401, "Unauthorized",
			`Bearer realm="/test3", error="invalid_token"`, "", codeJWTAuthFailed, "multiple_tokens"},
		{"insufficient scope", "GET", "/test3/admin", bearer(valid), 403, "Forbidden",
			`Bearer realm="/test3", error="insufficient_scope", scope="admin ops"`, "", codeUnauthorized, "insufficient_scope"},
		{"no route in the deployment", "GET", "/test3/nope", bearer(valid), 404, "Not Found",
			"", "", codeRouting, "no_route"},
		{"no deployment", "GET", "/other/1", bearer(valid), 404, "Not Found",
			"", "", codeRouting, "no_route"},
		{"prefix without a segment boundary", "POST", "/test31", bearer(valid), 404, "Not Found",
			"", "", codeRouting, "no_route"},
		{"wrong method", "GET", "/test3/1", bearer(valid), 405, "Method Not Allowed",
			"", "POST", codeRouting, "method_not_allowed"},
		{"wrong method, no token: 405 before 401", "PUT", "/test3/admin", nil, 405, "Method Not Allowed",
			"", "DELETE, GET", codeRouting, "method_not_allowed"},
		{"encoded dot segments", "POST", "/test3/%2e%2e/test3/1", bearer(valid), 400, "Bad Request",
			"", "", codeRouting, "bad_path"},
		{"dot segments", "POST", "/test3/x/../1", bearer(valid), 400, "Bad Request",
			"", "", codeRouting, "bad_path"},
		{"empty segment", "POST", "/test3//1", bearer(valid), 400, "Bad Request",
			"", "", codeRouting, "bad_path"},
		{"encoded slash", "POST", "/test3%2f1", bearer(valid), 400, "Bad Request",
			"", "", codeRouting, "bad_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := outcome{status: tt.wantStatus, code: tt.wantCode, reason: tt.wantReason}
			r := sendAndCheck(t, gw, backend, tt.method, tt.path, tt.header, want)
			checkErrorBody(t, r.body, tt.wantStatus, tt.wantMessage)
			h := r.resp.Header
			if got := h.Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantChallenge)
			}
			if got := h.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			if got := h.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			if got := h.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			line := rejectionLine(t, gw, r.id)
			if line["opcRequestId"] != r.id || accessLine(t, gw, r.id)["opcRequestId"] != r.id {
				t.Errorf("log lines do not carry the response's opc-request-id %q", r.id)
			}
			if tt.wantReason != "missing_token" && strings.Contains(r.body, tt.wantReason) {
				t.Errorf("body %q tells the client the reason %q", r.body, tt.wantReason)
			}
		})
	}
}

func TestResponsesCarryTheRequestID(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	spec := authSpec(jwtAuth(key.staticJWK(t)), httpRoute("/1", nil, backend.url(), nil))
	gw := startOCIGateway(t, testPrefix, spec, fixedClock, false)
	valid := key.sign(t, claimsAt(nil))
	generated := regexp.MustCompile(`^[0-9A-F]{32}$`)
	withID := func(h http.Header, ids ...string) http.Header {
		out := http.Header{}
		for k, v := range h {
			out[k] = v
		}
		out["Opc-Request-Id"] = ids
		return out
	}

	tests := []struct {
		name       string
		path       string
		header     http.Header
		wantStatus int
		wantID     string // "" means a generated id
	}{
		{"generated on success", "/test3/1", bearer(valid), 200, ""},
		{"generated on 401", "/test3/1", nil, 401, ""},
		{"generated on 404", "/nowhere", nil, 404, ""},
		{"generated on 400", "/test3//1", nil, 400, ""},
		{"echoed on success", "/test3/1", withID(bearer(valid), "client-req/42:a.b_c"), 200, "client-req/42:a.b_c"},
		{"echoed on 401", "/test3/1", withID(nil, "abc-401"), 401, "abc-401"},
		{"echoed on 404", "/nowhere", withID(nil, "abc-404"), 404, "abc-404"},
		{"replaced when it holds a space", "/test3/1", withID(bearer(valid), "bad id"), 200, ""},
		{"replaced when it holds a quote", "/test3/1", withID(nil, `x"y`), 401, ""},
		{"replaced when longer than 128", "/test3/1", withID(nil, strings.Repeat("a", 129)), 401, ""},
		{"replaced when sent twice", "/test3/1", withID(nil, "one", "two"), 401, ""},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(backend.requests())
			r := send(t, gw, http.MethodGet, tt.path, tt.header)
			if r.resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", r.resp.StatusCode, tt.wantStatus)
			}
			if got := r.resp.Header.Values(requestIDHeader); len(got) != 1 {
				t.Fatalf("response has %d opc-request-id headers, want 1", len(got))
			}
			switch {
			case tt.wantID != "" && r.id != tt.wantID:
				t.Errorf("opc-request-id = %q, want the caller's %q", r.id, tt.wantID)
			case tt.wantID == "" && !generated.MatchString(r.id):
				t.Errorf("opc-request-id = %q, want 32 upper-case hex digits", r.id)
			case tt.wantID == "" && seen[r.id]:
				t.Errorf("opc-request-id %q was given out twice", r.id)
			}
			seen[r.id] = true
			lines := linesOf(t, gw, r.id)
			wantLines := 2 // the rejection and the access line
			if tt.wantStatus == http.StatusOK {
				wantLines = 1
			}
			if len(lines) != wantLines {
				t.Errorf("log has %d lines with opcRequestId %q, want %d", len(lines), r.id, wantLines)
			}
			if tt.wantStatus != http.StatusOK {
				return
			}
			reqs := backend.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("backend received %d requests, want 1", len(reqs))
			}
			if got := reqs[0].Header.Values("Opc-Request-Id"); len(got) != 1 || got[0] != r.id {
				t.Errorf("backend got opc-request-id %q, want [%q]", got, r.id)
			}
		})
	}
}
