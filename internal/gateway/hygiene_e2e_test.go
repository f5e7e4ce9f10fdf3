package gateway

import (
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Request hygiene end to end (attacks.md R1–R8, R10): what a hostile
// request makes of the path, the credential and the headers that reach the
// backend.

// TestCanonicalPathRefused is R3: every spelling a backend could resolve to
// another path is 400 and never forwarded. The only route is a catch-all,
// so anything not refused would reach the backend.
func TestCanonicalPathRefused(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(
		httpRoute("/{p*}", nil, b.url()+"/s/${request.path[p]}", nil),
	), nil)
	for _, target := range []string{
		"/test3/public/%2e%2e/admin",
		"/test3/public/%2E%2E/admin",
		"/test3/public/.%2e/admin",
		"/test3/public/..%2fadmin",
		"/test3/public/..%2Fadmin",
		"/test3/public%2fadmin",
		"/test3/public%2fadmin|", // a byte that makes Go re-escape the path must not hide the %2f
		"/test3/public%2fadmin%22",
		"/test3/public/..;/admin",
		"/test3/public/..%3b/admin",
		"/test3/public/..%5cadmin",
		`/test3/public/..\admin`,
		"/test3/public/%252e%252e/admin",
		"//test3/admin",
		"/test3//admin",
		"/test3/a%00",
		"/test3/a%0d%0aX-Injected:%201",
		"/test3/%ff",
		"/test3/\xff",
		"/test3/a/./b",
		"/test3/a/../b",
		"/test3/a/..",
		"/test3/a/.",
		"/test3/a%2",  // net/http refuses malformed escapes itself
		"/test3/a%zz", // before the gateway runs
	} {
		t.Run(target, func(t *testing.T) {
			resp, body := gw.raw(t, http.MethodGet, target)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("GET %q: status = %d, want 400", target, resp.StatusCode)
			}
			if strings.HasSuffix(target, "%2") || strings.HasSuffix(target, "%zz") {
				return
			}
			assertErrorBody(t, body, 400)
			if resp.Header.Get("opc-request-id") == "" {
				t.Error("a 400 carries no opc-request-id")
			}
		})
	}
	if got := b.requests(); len(got) != 0 {
		t.Errorf("backend received %d requests, first %q; want none", len(got), got[0].Path)
	}
	assertLogReason(t, gw, "bad_path")
}

// TestCanonicalPathForwarded is R3's other half: an accepted escaped path is
// routed on its decoded form and the backend receives exactly its canonical
// escaping.
func TestCanonicalPathForwarded(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(
		httpRoute("/docs/{name}", nil, b.url()+"/doc/${request.path[name]}", nil),
		httpRoute("/{p*}", nil, b.url()+"/s/${request.path[p]}", nil),
	), nil)
	tests := []struct{ target, want string }{
		{"/test3/a%20b/%41", "/s/a%20b/A"},
		{"/test3/%64ocs/x", "/doc/x"}, // %64 is 'd': routed on the decoded path
		{"/test3/docs/a%3Fb", "/doc/a%3Fb"},
		{"/test3/docs/a%23b", "/doc/a%23b"},
		{"/test3/docs/caf%C3%A9", "/doc/caf%C3%A9"},
		{"/test3/docs/x..y", "/doc/x..y"},
		{"/test3/docs/...", "/doc/..."},
		{"/test3/docs/a+b", "/doc/a+b"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			before := len(b.requests())
			resp, _ := gw.raw(t, http.MethodGet, tt.target)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if got := onlyRequestSince(t, b, before).Path; got != tt.want {
				t.Errorf("backend path = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestContextVariablesEscaped is R4: a substituted value stays one segment
// whatever it holds; a wildcard keeps its separators.
func TestContextVariablesEscaped(t *testing.T) {
	b := newBackend(t)
	key := newRSAKey(t, "k1")
	now := time.Now()
	claims := validClaims(now)
	claims["sub"] = "../admin?x#y z"
	tok := key.sign(t, claims)
	spec := routesSpec(
		httpRoute("/p/{x}", nil, b.url()+"/seg/${request.path[x]}/end", nil),
		httpRoute("/w/{rest*}", nil, b.url()+"/wild/${request.path[rest]}", nil),
		httpRoute("/q", nil, b.url()+"/q/${request.query[x]}/end", nil),
		httpRoute("/h", nil, b.url()+"/h/${request.headers[X-Name]}/end", nil),
		httpRoute("/a", nil, b.url()+"/a/${request.auth[sub]}/end", nil),
		httpRoute("/missing", nil, b.url()+"/m/x${request.query[nope]}y${request.headers[X-Nope]}z${request.auth[nope]}", nil),
		httpRoute("/merge", nil, b.url()+"/merge?fixed=1&b=2", nil),
	)
	spec["requestPolicies"] = map[string]any{"authentication": jwtAuth(key.staticJWK(t))}
	gw := startGateway(t, testPrefix, spec, nil)
	auth := "Authorization: Bearer " + tok

	tests := []struct {
		name, target string
		lines        []string
		wantPath     string
		wantQuery    string
	}{
		{name: "path param with ? # space", target: "/test3/p/a%3Fb%23c%20d", wantPath: "/seg/a%3Fb%23c%20d/end"},
		{name: "path param with dots", target: "/test3/p/..x", wantPath: "/seg/..x/end"},
		{name: "wildcard keeps separators", target: "/test3/w/a%20b/c%3Fd/e", wantPath: "/wild/a%20b/c%3Fd/e"},
		{name: "wildcard empty", target: "/test3/w", wantPath: "/wild/"},
		{name: "query with slash", target: "/test3/q?" + url.Values{"x": {"a/b"}}.Encode(), wantPath: "/q/a%2Fb/end"},
		{name: "query dot-dot", target: "/test3/q?x=..", wantPath: "/q/%2E%2E/end"},
		{name: "query dot", target: "/test3/q?x=.", wantPath: "/q/%2E/end"},
		{name: "query traversal", target: "/test3/q?" + url.Values{"x": {"../../admin"}}.Encode(), wantPath: "/q/..%2F..%2Fadmin/end"},
		{name: "query with ? and #", target: "/test3/q?" + url.Values{"x": {"a?b#c"}}.Encode(), wantPath: "/q/a%3Fb%23c/end"},
		{name: "query with space", target: "/test3/q?x=a+b", wantPath: "/q/a%20b/end"},
		{name: "query with percent", target: "/test3/q?" + url.Values{"x": {"%2e%2e"}}.Encode(), wantPath: "/q/%252e%252e/end"},
		{name: "query with semicolon", target: "/test3/q?" + url.Values{"x": {";x"}}.Encode(), wantPath: "/q/%3Bx/end"},
		{name: "query first value", target: "/test3/q?x=one&x=two", wantPath: "/q/one/end"},
		{name: "header", target: "/test3/h", lines: []string{"X-Name: a/b?c#d e"}, wantPath: "/h/a%2Fb%3Fc%23d%20e/end"},
		{name: "header dot-dot", target: "/test3/h", lines: []string{"x-name: .."}, wantPath: "/h/%2E%2E/end"},
		{name: "auth claim", target: "/test3/a", wantPath: "/a/..%2Fadmin%3Fx%23y%20z/end"},
		{name: "missing variables are empty", target: "/test3/missing", wantPath: "/m/xyz"},
		{name: "backend query merged", target: "/test3/merge?a=1&b=3", wantPath: "/merge", wantQuery: "fixed=1&b=2&a=1&b=3"},
		{name: "backend query alone", target: "/test3/merge", wantPath: "/merge", wantQuery: "fixed=1&b=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.requests())
			resp, _ := gw.raw(t, http.MethodGet, tt.target, append([]string{auth}, tt.lines...)...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			got := onlyRequestSince(t, b, before)
			if got.Path != tt.wantPath {
				t.Errorf("backend path = %q, want %q", got.Path, tt.wantPath)
			}
			if tt.wantQuery != "" && got.RawQuery != tt.wantQuery {
				t.Errorf("backend query = %q, want %q", got.RawQuery, tt.wantQuery)
			}
		})
	}
}

// TestExactlyOneCredential is R1 and R2 for a header token.
func TestExactlyOneCredential(t *testing.T) {
	b := newBackend(t)
	key := newRSAKey(t, "k1")
	tok := key.sign(t, validClaims(time.Now()))
	spec := routesSpec(httpRoute("/r", nil, b.url()+"/r", nil))
	spec["requestPolicies"] = map[string]any{"authentication": jwtAuth(key.staticJWK(t))}
	gw := startGateway(t, testPrefix, spec, nil)

	const challenge = `Bearer realm="/test3"`
	const invalid = `Bearer realm="/test3", error="invalid_token"`
	tests := []struct {
		name          string
		lines         []string
		wantStatus    int
		wantChallenge string
	}{
		{"bearer lower case", []string{"Authorization: bearer " + tok}, 200, ""},
		{"bearer upper case", []string{"Authorization: BEARER " + tok}, 200, ""},
		{"two Authorization headers", []string{"Authorization: Bearer " + tok, "Authorization: Bearer " + tok}, 401, invalid},
		{"two spaces", []string{"Authorization: Bearer  " + tok}, 401, invalid},
		{"extra word", []string{"Authorization: Bearer " + tok + " extra"}, 401, invalid},
		{"comma list", []string{"Authorization: Bearer " + tok + ",Bearer " + tok}, 401, invalid},
		{"scheme only", []string{"Authorization: Bearer"}, 401, invalid},
		{"basic", []string{"Authorization: Basic dXNlcjpwYXNz"}, 401, challenge},
		{"none", nil, 401, challenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.requests())
			resp, _ := gw.raw(t, http.MethodGet, "/test3/r", tt.lines...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantChallenge)
			}
			wantForwarded := 0
			if tt.wantStatus == 200 {
				wantForwarded = 1
			}
			if got := len(requestsSince(b, before)); got != wantForwarded {
				t.Errorf("backend received %d requests, want %d", got, wantForwarded)
			}
		})
	}
}

// queryTokenSpec is a deployment taking its token from ?access_token=.
func queryTokenSpec(t *testing.T, key testKey, routes ...map[string]any) map[string]any {
	t.Helper()
	auth := jwtAuth(key.staticJWK(t))
	delete(auth, "tokenHeader")
	delete(auth, "tokenAuthScheme")
	auth["tokenQueryParam"] = "access_token"
	auth["isAnonymousAccessAllowed"] = true
	spec := routesSpec(routes...)
	spec["requestPolicies"] = map[string]any{"authentication": auth}
	return spec
}

// TestQueryTokenNeverLeaks is R1 for a query token and R10: the token is
// not forwarded to the backend and not written to any log line, whatever
// the outcome of the request.
func TestQueryTokenNeverLeaks(t *testing.T) {
	b := newBackend(t)
	key := newRSAKey(t, "k1")
	now := time.Now()
	tok := key.sign(t, validClaims(now))
	expiredClaims := validClaims(now)
	expiredClaims["exp"] = now.Add(-time.Hour).Unix()
	expired := key.sign(t, expiredClaims)
	gw := startGateway(t, testPrefix, queryTokenSpec(t, key,
		httpRoute("/r", nil, b.url()+"/r", nil),
		httpRoute("/anon", nil, b.url()+"/anon", map[string]any{"type": "ANONYMOUS"}),
		httpRoute("/down", nil, "http://"+closedAddr(t)+"/down", nil),
	), nil)

	tests := []struct {
		name       string
		target     string
		wantStatus int
		wantQuery  url.Values // what the backend must get; nil: nothing forwarded
	}{
		{"valid token", "/test3/r?a=1&access_token=" + tok + "&b=two", 200, url.Values{"a": {"1"}, "b": {"two"}}},
		{"token only", "/test3/r?access_token=" + tok, 200, url.Values{}},
		{"escaped parameter name", "/test3/r?access%5Ftoken=" + tok + "&c=3", 200, url.Values{"c": {"3"}}},
		{"token twice", "/test3/r?access_token=" + tok + "&access_token=" + tok, 401, nil},
		{"token empty", "/test3/r?access_token=&a=1", 401, nil},
		{"expired token", "/test3/r?access_token=" + expired + "&a=1", 401, nil},
		{"anonymous route with token", "/test3/anon?access_token=" + tok + "&a=1", 200, url.Values{"a": {"1"}}},
		{"anonymous route with bad token", "/test3/anon?access_token=" + expired + "&a=1", 200, url.Values{"a": {"1"}}},
		{"no route", "/test3/nope?access_token=" + tok, 404, nil},
		{"backend down", "/test3/down?access_token=" + tok + "&a=1", 502, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.requests())
			resp, _ := gw.raw(t, http.MethodGet, tt.target)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			got := requestsSince(b, before)
			if tt.wantQuery == nil {
				if len(got) != 0 {
					t.Fatalf("backend received %d requests, want 0", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("backend received %d requests, want 1", len(got))
			}
			q, err := url.ParseQuery(got[0].RawQuery)
			if err != nil {
				t.Fatalf("backend query %q: %v", got[0].RawQuery, err)
			}
			if q.Encode() != tt.wantQuery.Encode() {
				t.Errorf("backend query = %q, want %q", got[0].RawQuery, tt.wantQuery.Encode())
			}
			assertNoSecret(t, "backend request", got[0].Path+"?"+got[0].RawQuery+"\n"+headerText(got[0].Header), tok, expired)
		})
	}
	logs := gw.log.String()
	if !strings.Contains(logs, `"path":"/test3/r"`) {
		t.Errorf("access log lacks the path of /test3/r:\n%s", logs)
	}
	assertNoSecret(t, "log", logs, tok, expired)
}

// assertNoSecret fails if text holds any of the tokens or their signatures.
func assertNoSecret(t *testing.T, where, text string, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if strings.Contains(text, tok) || strings.Contains(text, sig) {
			t.Errorf("%s holds a token:\n%s", where, text)
		}
	}
}

func headerText(h http.Header) string {
	var b strings.Builder
	_ = h.Write(&b)
	return b.String()
}

// TestMethodOverrideStripped is R5.
func TestMethodOverrideStripped(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", []string{"POST"}, b.url()+"/r", nil)), nil)
	resp, _ := gw.raw(t, http.MethodPost, "/test3/r",
		"X-HTTP-Method-Override: DELETE",
		"x-http-method: DELETE",
		"X-Method-Override: DELETE",
		"X_HTTP_Method_Override: DELETE", // a backend folding '_' into '-' reads these too
		"X-Http-Method_Override: DELETE",
		"x_method_override: DELETE",
		"X_HTTP_METHOD: DELETE",
		"X-Other: kept",
		"Content-Length: 0",
	)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	got := onlyRequestSince(t, b, 0)
	if got.Method != http.MethodPost {
		t.Errorf("backend method = %q, want POST", got.Method)
	}
	for name, v := range got.Header {
		switch textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(name, "_", "-")) {
		case "X-Http-Method-Override", "X-Http-Method", "X-Method-Override":
			t.Errorf("backend got %s: %q, want no method override", name, v)
		}
	}
	if v := got.Header.Get("X-Other"); v != "kept" {
		t.Errorf("backend X-Other = %q, want %q", v, "kept")
	}
}

// TestGatewayHeadersSurviveConnection is R6: a Connection header naming a
// header the gateway sets does not remove the gateway's value.
func TestGatewayHeadersSurviveConnection(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", nil, b.url()+"/r", nil)), nil)
	tests := []struct {
		name  string
		lines []string
	}{
		{"X-Forwarded-For", []string{"Connection: close, X-Forwarded-For", "X-Forwarded-For: 6.6.6.6"}},
		{"opc-request-id", []string{"Connection: close, opc-request-id", "opc-request-id: caller-id-1"}},
		{"all of them", []string{"Connection: keep-alive, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, Opc-Request-Id", "opc-request-id: caller-id-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.requests())
			resp, _ := gw.raw(t, http.MethodGet, "/test3/r", tt.lines...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			got := onlyRequestSince(t, b, before)
			assertForwardedHeaders(t, got.Header)
			id := resp.Header.Get("opc-request-id")
			if v := got.Header.Values("Opc-Request-Id"); len(v) != 1 || v[0] != id {
				t.Errorf("backend opc-request-id = %q, want [%q]", v, id)
			}
		})
	}
}

// assertForwardedHeaders checks the X-Forwarded-* headers the gateway sets
// for a plain-HTTP loopback client of Host gateway.test.
func assertForwardedHeaders(t *testing.T, h http.Header) {
	t.Helper()
	want := map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "gateway.test", "X-Forwarded-Proto": "http"}
	for name, value := range want {
		if got := h.Values(name); len(got) != 1 || got[0] != value {
			t.Errorf("backend %s = %q, want [%q]", name, got, value)
		}
	}
}

// TestClientCopiesOfGatewayHeaders is R7.
func TestClientCopiesOfGatewayHeaders(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", nil, b.url()+"/r", nil)), nil)
	resp, _ := gw.raw(t, http.MethodGet, "/test3/r",
		"X-Forwarded-For: 6.6.6.6",
		"X-Forwarded-For: 7.7.7.7",
		"X-Forwarded-Host: evil.test",
		"X-Forwarded-Proto: https",
		"Forwarded: for=6.6.6.6;proto=https",
		"X-Real-IP: 6.6.6.6",
		"X_Forwarded_For: 6.6.6.6",
		"x_forwarded_host: evil.test",
		"X-Real_Ip: 6.6.6.6",
		"X_Forwarded-Proto: https",
		"Opc_Request_Id: smuggled",
		"X_Other: kept",
	)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	got := onlyRequestSince(t, b, 0)
	assertForwardedHeaders(t, got.Header)
	for _, name := range []string{"Forwarded", "X-Real-Ip"} {
		if v := got.Header.Values(name); len(v) != 0 {
			t.Errorf("backend got %s: %q, want none", name, v)
		}
	}
	for name, v := range got.Header {
		if !strings.Contains(name, "_") {
			continue
		}
		if dashed := textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(name, "_", "-")); clientHeadersDropped[dashed] {
			t.Errorf("backend got %s: %q, a client copy of %s", name, v, dashed)
		}
	}
	if v := got.Header.Get("X_Other"); v != "kept" {
		t.Errorf("backend X_Other = %q, want %q: only gateway headers are dropped", v, "kept")
	}
}

// TestUpgradeRefused is R8: an upgrade offer is served as a plain request
// and the backend never sees it, nor the headers its Connection names.
func TestUpgradeRefused(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", nil, b.url()+"/r", nil)), nil)
	tests := []struct {
		name  string
		lines []string
	}{
		{"h2c", []string{"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"}},
		{"websocket", []string{"Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"}},
		{"upgrade without connection", []string{"Upgrade: h2c"}},
		{"two connection headers", []string{"Connection: keep-alive", "Connection: upgrade, X-Hop", "upgrade: H2C", "X-Hop: 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.requests())
			resp, body := gw.raw(t, http.MethodGet, "/test3/r", tt.lines...)
			if resp.StatusCode != http.StatusOK || body != "backend ok" {
				t.Fatalf("status = %d body %q, want 200 %q (not 101)", resp.StatusCode, body, "backend ok")
			}
			if resp.Header.Get("Upgrade") != "" {
				t.Errorf("response offers Upgrade %q", resp.Header.Get("Upgrade"))
			}
			got := onlyRequestSince(t, b, before)
			for _, name := range []string{"Upgrade", "Connection", "Http2-Settings", "X-Hop", "Sec-Websocket-Key", "Sec-Websocket-Version"} {
				if v := got.Header.Values(name); len(v) != 0 {
					t.Errorf("backend got %s: %q, want none", name, v)
				}
			}
		})
	}
}

// TestHopByHopHeadersRemoved checks that the backend gets one Authorization
// header and none of the hop-by-hop headers of the client's connection.
func TestHopByHopHeadersRemoved(t *testing.T) {
	b := newBackend(t)
	key := newRSAKey(t, "k1")
	tok := key.sign(t, validClaims(time.Now()))
	spec := routesSpec(httpRoute("/r", nil, b.url()+"/r", nil))
	spec["requestPolicies"] = map[string]any{"authentication": jwtAuth(key.staticJWK(t))}
	gw := startGateway(t, testPrefix, spec, nil)
	resp, _ := gw.raw(t, http.MethodPost, "/test3/r",
		"Authorization: Bearer "+tok,
		"Connection: keep-alive, X-Custom-Hop",
		"X-Custom-Hop: 1",
		"Keep-Alive: timeout=5",
		"TE: deflate",
		"Trailer: X-Trail",
		"Proxy-Authorization: Basic dXNlcjpwYXNz",
		"Proxy-Connection: keep-alive",
		"Proxy-Authenticate: Basic",
		"Transfer-Encoding: chunked",
		"",
		"5\r\nhello\r\n0",
	)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	got := onlyRequestSince(t, b, 0)
	if string(got.Body) != "hello" {
		t.Errorf("backend body = %q, want %q", got.Body, "hello")
	}
	if v := got.Header.Values("Authorization"); len(v) != 1 || v[0] != "Bearer "+tok {
		t.Errorf("backend got %d Authorization headers, want exactly the client's one", len(v))
	}
	for _, name := range []string{"Connection", "X-Custom-Hop", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding",
		"Proxy-Authorization", "Proxy-Connection", "Proxy-Authenticate"} {
		if v := got.Header.Values(name); len(v) != 0 {
			t.Errorf("backend got hop-by-hop %s: %q", name, v)
		}
	}
}

// TestBackendGetsOnlyTheValidatedCredential is issue item "the backend
// receives only the validated credential": a credential the gateway did not
// verify (wrong header for this deployment, an ignored bad token on an
// ANONYMOUS route, another scheme) never reaches the backend.
func TestBackendGetsOnlyTheValidatedCredential(t *testing.T) {
	b := newBackend(t)
	key := newRSAKey(t, "k1")
	now := time.Now()
	tok := key.sign(t, validClaims(now))
	expiredClaims := validClaims(now)
	expiredClaims["exp"] = now.Add(-time.Hour).Unix()
	expired := key.sign(t, expiredClaims)
	const forged = "Bearer forged.admin.token"

	routes := []map[string]any{
		httpRoute("/r", nil, b.url()+"/r", nil),
		httpRoute("/anon", nil, b.url()+"/anon", map[string]any{"type": "ANONYMOUS"}),
	}
	bearerAuth := jwtAuth(key.staticJWK(t))
	bearerAuth["isAnonymousAccessAllowed"] = true
	customAuth := jwtAuth(key.staticJWK(t))
	customAuth["tokenHeader"] = "X-Client-Token"
	delete(customAuth, "tokenAuthScheme")
	customAuth["isAnonymousAccessAllowed"] = true
	withAuth := func(auth map[string]any) map[string]any {
		s := routesSpec(routes...)
		s["requestPolicies"] = map[string]any{"authentication": auth}
		return s
	}
	bearerGW := startGateway(t, testPrefix, withAuth(bearerAuth), nil)
	customGW := startGateway(t, testPrefix, withAuth(customAuth), nil)
	queryGW := startGateway(t, testPrefix, queryTokenSpec(t, key, routes...), nil)

	tests := []struct {
		name       string
		gw         *testGateway
		target     string
		lines      []string
		wantHeader http.Header // the credential headers the backend must see, exactly
	}{
		{"verified bearer token goes on", bearerGW, "/test3/r", []string{"Authorization: Bearer " + tok},
			http.Header{"Authorization": {"Bearer " + tok}}},
		{"bad token on an anonymous route is dropped", bearerGW, "/test3/anon", []string{"Authorization: Bearer " + expired},
			http.Header{}},
		{"another scheme on an anonymous route is dropped", bearerGW, "/test3/anon", []string{"Authorization: Basic dXNlcjpwYXNz"},
			http.Header{}},
		{"custom header: Authorization is not read, so dropped", customGW, "/test3/r", []string{"X-Client-Token: " + tok, "Authorization: " + forged},
			http.Header{"X-Client-Token": {tok}}},
		{"custom header: bad token on an anonymous route is dropped", customGW, "/test3/anon", []string{"X-Client-Token: " + expired, "Authorization: " + forged},
			http.Header{}},
		{"query token: Authorization is not read, so dropped", queryGW, "/test3/r?access_token=" + tok, []string{"Authorization: " + forged},
			http.Header{}},
		{"query token on an anonymous route", queryGW, "/test3/anon", []string{"Authorization: " + forged},
			http.Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.requests())
			resp, body := tt.gw.raw(t, http.MethodGet, tt.target, tt.lines...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d %s, want 200", resp.StatusCode, body)
			}
			got := requestsSince(b, before)
			if len(got) != 1 {
				t.Fatalf("backend received %d requests, want 1", len(got))
			}
			credentials := http.Header{}
			for _, name := range []string{"Authorization", "X-Client-Token"} {
				if v := got[0].Header.Values(name); len(v) > 0 {
					credentials[name] = v
				}
			}
			if !reflect.DeepEqual(credentials, tt.wantHeader) {
				t.Errorf("backend credential headers = %v, want %v", credentials, tt.wantHeader)
			}
		})
	}
}

// TestQueryKeptAsSentWithoutTheToken: removing a query token leaves every
// other parameter as the client sent it, in order, even ones a strict
// parser would refuse.
func TestQueryKeptAsSentWithoutTheToken(t *testing.T) {
	b := newBackend(t)
	key := newRSAKey(t, "k1")
	tok := key.sign(t, validClaims(time.Now()))
	gw := startGateway(t, testPrefix, queryTokenSpec(t, key, httpRoute("/r", nil, b.url()+"/r", nil)), nil)
	resp, body := gw.raw(t, http.MethodGet, "/test3/r?z=1&access_token="+tok+"&a=%zz&b=2&b=1&&c")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d %s, want 200", resp.StatusCode, body)
	}
	got := b.requests()
	if want := "z=1&a=%zz&b=2&b=1&&c"; len(got) != 1 || got[0].RawQuery != want {
		t.Fatalf("backend query = %v, want %q", got, want)
	}
}
