package adversarial

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// The request rows of attacks.md, R1–R10 (R9 is in limits_test.go). Rows
// R1–R3 must be refused with the backend untouched; rows R4–R8 and R10 are
// requests the gateway forwards, and the assertion is on what arrives.

// The WWW-Authenticate values of a refused request: the plain challenge when
// it brought no token, invalid_token when it brought a bad one.
const challenge = `Bearer realm="/test"`

// checkChallenge requires res to carry exactly the WWW-Authenticate want
// ("" for none).
func checkChallenge(t *testing.T, res gatewaytest.Response, want string) {
	t.Helper()
	if got := res.Header.Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
}

// expiredToken is the rig's RS256 key signing a token an hour past its exp.
func expiredToken(t *testing.T) string {
	return validTokenWith(t, map[string]any{"exp": gatewaytest.FixedNow.Add(-time.Hour).Unix()})
}

// newQueryRig is a deployment taking its token from ?access_token=, with
// anonymous access allowed, at the fixed clock, and the routes
//
//	/r      AUTHENTICATION_ONLY to the backend
//	/anon   ANONYMOUS to the backend
//	/down   to an address nothing listens on
func newQueryRig(t *testing.T) *gatewaytest.Gateway {
	t.Helper()
	b := gatewaytest.NewBackend(t)
	auth := gatewaytest.TokenInQuery(gatewaytest.JWTAuth(gatewaytest.StaticKeys(gatewaytest.RSA("rsa").JWK(t))), "access_token")
	auth["isAnonymousAccessAllowed"] = true
	return gatewaytest.Start(t, gatewaytest.Spec(auth,
		gatewaytest.HTTPRoute("/r", b.URL+"/r", nil),
		gatewaytest.HTTPRoute("/anon", b.URL+"/anon", gatewaytest.Anonymous()),
		gatewaytest.HTTPRoute("/down", "http://"+gatewaytest.ClosedAddr(t)+"/down", nil),
	), b, gatewaytest.Options{Now: gatewaytest.FixedClock})
}

func TestR1ExactlyOneCredential(t *testing.T) {
	tok := validToken(t)
	t.Run("two Authorization headers", func(t *testing.T) {
		g := newTokenRig(t)
		res := g.RefusedFor(t, "/test/r", http.Header{"Authorization": {"Bearer " + tok, "Bearer " + tok}},
			http.StatusUnauthorized, "multiple_tokens")
		checkChallenge(t, res, invalidToken)
	})
	q := newQueryRig(t)
	t.Run("the query parameter twice", func(t *testing.T) {
		q.RefusedFor(t, "/test/r?access_token="+tok+"&access_token="+tok, nil, http.StatusUnauthorized, "multiple_tokens")
	})
	t.Run("the query parameter empty", func(t *testing.T) {
		q.RefusedFor(t, "/test/r?access_token=&a=1", nil, http.StatusUnauthorized, "malformed_credential")
	})
	q.Log.NoSecrets(t, tok, gatewaytest.Signature(tok))
}

func TestR2Scheme(t *testing.T) {
	g := newTokenRig(t)
	tok := validToken(t)
	for _, tt := range []struct {
		name          string
		header        http.Header
		reason, reply string // the log reason and the challenge
	}{
		{"two spaces", http.Header{"Authorization": {"Bearer  " + tok}}, "malformed_credential", invalidToken},
		{"extra word", http.Header{"Authorization": {"Bearer " + tok + " extra"}}, "malformed_credential", invalidToken},
		{"comma and more", http.Header{"Authorization": {"Bearer " + tok + ",x"}}, "malformed_credential", invalidToken},
		{"comma list of two tokens", http.Header{"Authorization": {"Bearer " + tok + ",Bearer " + tok}}, "malformed_credential", invalidToken},
		{"scheme only", http.Header{"Authorization": {"Bearer"}}, "malformed_credential", invalidToken},
		{"Basic", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, "missing_token", challenge},
		{"no scheme", http.Header{"Authorization": {tok}}, "missing_token", challenge},
		{"no Authorization", nil, "missing_token", challenge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := g.RefusedFor(t, "/test/r", tt.header, http.StatusUnauthorized, tt.reason)
			checkChallenge(t, res, tt.reply)
		})
	}
	for _, scheme := range []string{"bearer", "BEARER", "bEaReR"} {
		t.Run("scheme "+scheme, func(t *testing.T) {
			res := g.Do(t, http.MethodGet, "/test/r", http.Header{"Authorization": {scheme + " " + tok}}, nil)
			if res.Status != http.StatusOK || len(g.Backend.ByID(res.ID)) != 1 {
				t.Fatalf("status = %d, forwarded %d times; want 200, once", res.Status, len(g.Backend.ByID(res.ID)))
			}
			checkChallenge(t, res, "")
		})
	}
}

func TestR3PathsNeverRouted(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	g := gatewaytest.Start(t, gatewaytest.Spec(nil, gatewaytest.HTTPRoute("/{p*}", b.URL+"/s/${request.path[p]}", nil)), b, gatewaytest.Options{})
	for _, target := range []string{
		"/test/public/%2e%2e/admin",
		"/test/public/%2E%2E/admin",
		"/test/public/.%2e/admin",
		"/test/public/..%2fadmin",
		"/test/public/..%2Fadmin",
		"/test/public%2fadmin",
		"/test/public%2fadmin|", // a byte that makes Go re-escape the path must not hide the %2f
		"/test/public%2fadmin%22",
		"/test/public/..;/admin",
		"/test/public/..%3b/admin",
		"/test/public/..%5cadmin",
		`/test/public/..\admin`,
		"/test/public/%252e%252e/admin",
		"//test/admin",
		"/test//admin",
		"/test/a%00",
		"/test/a%0d%0aX-Injected:%201",
		"/test/a%0d%0aX:1",
		"/test/%ff",
		"/test/\xff",
		"/test/a/./b",
		"/test/a/../b",
		"/test/a/..",
		"/test/a/.",
		"*",
		"/test/a%2",  // net/http refuses malformed escapes itself,
		"/test/a%zz", // before the gateway runs
	} {
		t.Run(target, func(t *testing.T) {
			before := b.Count()
			resp, body := g.Raw(t, http.MethodGet, target)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if got := b.Since(before); len(got) != 0 {
				t.Errorf("backend received %q, want nothing", got[0].Path)
			}
			if strings.HasSuffix(target, "%2") || strings.HasSuffix(target, "%zz") {
				return
			}
			gatewaytest.CheckErrorBody(t, body, http.StatusBadRequest)
			if reason := g.Log.Reason(t, resp.Header.Get("opc-request-id")); reason != "bad_path" {
				t.Errorf("log reason = %q, want bad_path", reason)
			}
		})
	}
}

// TestR3CanonicalPathForwarded is R3's other half: an accepted escaped path
// is routed on its decoded form and the backend receives exactly its
// canonical escaping.
func TestR3CanonicalPathForwarded(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	g := gatewaytest.Start(t, gatewaytest.Spec(nil,
		gatewaytest.HTTPRoute("/docs/{name}", b.URL+"/doc/${request.path[name]}", nil),
		gatewaytest.HTTPRoute("/{p*}", b.URL+"/s/${request.path[p]}", nil),
	), b, gatewaytest.Options{})
	for _, tt := range []struct{ target, want string }{
		{"/test/a%20b/%41", "/s/a%20b/A"},
		{"/test/x..y", "/s/x..y"},
		{"/test/caf%C3%A9", "/s/caf%C3%A9"},
		{"/test/%64ocs/x", "/doc/x"}, // %64 is 'd': routed on the decoded path
		{"/test/docs/a%3Fb", "/doc/a%3Fb"},
		{"/test/docs/a%23b", "/doc/a%23b"},
		{"/test/docs/caf%C3%A9", "/doc/caf%C3%A9"},
		{"/test/docs/x..y", "/doc/x..y"},
		{"/test/docs/...", "/doc/..."},
		{"/test/docs/a+b", "/doc/a+b"},
	} {
		t.Run(tt.target, func(t *testing.T) {
			resp, _ := g.Raw(t, http.MethodGet, tt.target)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if got := b.ByID(resp.Header.Get("opc-request-id")); len(got) != 1 || got[0].Path != tt.want {
				t.Errorf("backend received %v, want one request for %s", got, tt.want)
			}
		})
	}
}

// TestR4ParametersStayOneSegment: a value substituted into a backend URL
// stays one segment whatever it holds; a wildcard keeps its separators; a
// missing value is empty; the backend URL's own query comes first.
func TestR4ParametersStayOneSegment(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	key := gatewaytest.RSA("rsa")
	tok := key.Sign(t, gatewaytest.Claims(map[string]any{"sub": "../admin?x#y z"}))
	g := gatewaytest.Start(t, gatewaytest.Spec(gatewaytest.JWTAuth(gatewaytest.StaticKeys(key.JWK(t))),
		gatewaytest.HTTPRoute("/p/{x}", b.URL+"/seg/${request.path[x]}/end", nil),
		gatewaytest.HTTPRoute("/w/{rest*}", b.URL+"/wild/${request.path[rest]}", nil),
		gatewaytest.HTTPRoute("/q", b.URL+"/q/${request.query[x]}/end", nil),
		gatewaytest.HTTPRoute("/h", b.URL+"/h/${request.headers[X-Name]}/end", nil),
		gatewaytest.HTTPRoute("/a", b.URL+"/a/${request.auth[sub]}/end", nil),
		gatewaytest.HTTPRoute("/missing", b.URL+"/m/x${request.query[nope]}y${request.headers[X-Nope]}z${request.auth[nope]}", nil),
		gatewaytest.HTTPRoute("/merge", b.URL+"/merge?fixed=1&b=2", nil),
	), b, gatewaytest.Options{Now: gatewaytest.FixedClock})
	q := func(v string) string { return url.Values{"x": {v}}.Encode() }

	for _, tt := range []struct {
		name, target string
		header       string // an extra header line
		wantPath     string
		wantQuery    string
	}{
		{name: "path param with ? # space", target: "/test/p/a%3Fb%23c%20d", wantPath: "/seg/a%3Fb%23c%20d/end"},
		{name: "path param with dots", target: "/test/p/..x", wantPath: "/seg/..x/end"},
		{name: "wildcard keeps separators", target: "/test/w/a%20b/c%3Fd/e", wantPath: "/wild/a%20b/c%3Fd/e"},
		{name: "wildcard empty", target: "/test/w", wantPath: "/wild/"},
		{name: "query with slash", target: "/test/q?" + q("a/b"), wantPath: "/q/a%2Fb/end"},
		{name: "query dot-dot", target: "/test/q?x=..", wantPath: "/q/%2E%2E/end"},
		{name: "query dot", target: "/test/q?x=.", wantPath: "/q/%2E/end"},
		{name: "query traversal", target: "/test/q?" + q("../../admin"), wantPath: "/q/..%2F..%2Fadmin/end"},
		{name: "query with ? and #", target: "/test/q?" + q("a?b#c"), wantPath: "/q/a%3Fb%23c/end"},
		{name: "query with space", target: "/test/q?x=a+b", wantPath: "/q/a%20b/end"},
		{name: "query with percent", target: "/test/q?" + q("%2e%2e"), wantPath: "/q/%252e%252e/end"},
		{name: "query with semicolon", target: "/test/q?" + q(";x"), wantPath: "/q/%3Bx/end"},
		{name: "query first value", target: "/test/q?x=one&x=two", wantPath: "/q/one/end"},
		{name: "header", target: "/test/h", header: "X-Name: a/b?c#d e", wantPath: "/h/a%2Fb%3Fc%23d%20e/end"},
		{name: "header traversal", target: "/test/h", header: "X-Name: ../admin?x#y", wantPath: "/h/..%2Fadmin%3Fx%23y/end"},
		{name: "header dot-dot", target: "/test/h", header: "x-name: ..", wantPath: "/h/%2E%2E/end"},
		{name: "auth claim", target: "/test/a", wantPath: "/a/..%2Fadmin%3Fx%23y%20z/end"},
		{name: "missing variables are empty", target: "/test/missing", wantPath: "/m/xyz"},
		{name: "backend query first", target: "/test/merge?a=1&b=3", wantPath: "/merge", wantQuery: "fixed=1&b=2&a=1&b=3"},
		{name: "backend query alone", target: "/test/merge", wantPath: "/merge", wantQuery: "fixed=1&b=2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines := []string{"Authorization: Bearer " + tok}
			if tt.header != "" {
				lines = append(lines, tt.header)
			}
			resp, _ := g.Raw(t, http.MethodGet, tt.target, lines...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			got := b.ByID(resp.Header.Get("opc-request-id"))
			if len(got) != 1 {
				t.Fatalf("backend received the request %d times, want once", len(got))
			}
			if got[0].Path != tt.wantPath {
				t.Errorf("backend path = %q, want %q", got[0].Path, tt.wantPath)
			}
			if tt.wantQuery != "" && got[0].RawQuery != tt.wantQuery {
				t.Errorf("backend query = %q, want %q", got[0].RawQuery, tt.wantQuery)
			}
		})
	}
}

// ownHeaders are the values the gateway sets, for a raw request of Host
// gateway.test from loopback, of the ClientHeadersDropped it sets again.
func ownHeaders(id string) map[string]string {
	return map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": gatewaytest.Host,
		"X-Forwarded-Proto": "http", "Opc-Request-Id": id}
}

// checkDropped requires that of every header in gateway.ClientHeadersDropped,
// in any spelling ('_' for '-', any case), only the gateway's own value
// arrived.
func checkDropped(t *testing.T, h http.Header, id string) {
	t.Helper()
	own := ownHeaders(id)
	for _, name := range gateway.ClientHeadersDropped {
		want := http.Header{}
		if v, ok := own[name]; ok {
			want[name] = []string{v}
		}
		if got := spellings(h, name); !reflect.DeepEqual(got, want) {
			t.Errorf("backend %s headers = %v, want %v", name, got, want)
		}
	}
}

// neverArrive are headers no request may pass to a backend, in any
// spelling: method overrides (R5) and the upgrade machinery (R8).
var neverArrive = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override", "Upgrade", "Connection", "Http2-Settings"}

func TestR5toR8HeadersThatArrive(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	g := gatewaytest.Start(t, gatewaytest.Spec(nil, gatewaytest.HTTPRoute("/r", b.URL+"/r", nil)), b, gatewaytest.Options{})
	for _, tt := range []struct {
		name   string
		method string
		lines  []string
		gone   []string          // more headers that must not arrive, in any spelling
		kept   map[string]string // headers that must arrive as sent
	}{
		{name: "R5 method overrides", lines: []string{"X-HTTP-Method-Override: DELETE", "X-HTTP-Method: DELETE",
			"X-Method-Override: DELETE", "X_HTTP_Method_Override: DELETE"}},
		{name: "R5 method overrides on a POST, every spelling", method: http.MethodPost, lines: []string{
			"X-HTTP-Method-Override: DELETE", "x-http-method: DELETE", "X-Method-Override: DELETE",
			"X_HTTP_Method_Override: DELETE", // a backend folding '_' into '-' reads these too
			"X-Http-Method_Override: DELETE", "x_method_override: DELETE", "X_HTTP_METHOD: DELETE",
			"X-Other: kept", "Content-Length: 0"},
			kept: map[string]string{"X-Other": "kept"}},
		{name: "R6 Connection naming gateway headers", lines: []string{"Connection: close, X-Forwarded-For, opc-request-id, X-Forwarded-Host"}},
		{name: "R6 Connection naming X-Forwarded-For the client sent", lines: []string{"Connection: close, X-Forwarded-For", "X-Forwarded-For: 6.6.6.6"}},
		{name: "R6 Connection naming opc-request-id the client sent", lines: []string{"Connection: close, opc-request-id", "opc-request-id: caller-id-1"}},
		{name: "R6 Connection naming all of them", lines: []string{
			"Connection: keep-alive, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, Opc-Request-Id", "opc-request-id: caller-id-2"}},
		{name: "R7 client copies", lines: []string{"X-Forwarded-For: 6.6.6.6", "X-Forwarded-Host: evil.test", "X-Forwarded-Proto: https",
			"X_Forwarded_For: 6.6.6.6", "Opc_Request_Id: smuggled", "Forwarded: for=6.6.6.6"}},
		{name: "R7 client copies, every spelling", lines: []string{
			"X-Forwarded-For: 6.6.6.6", "X-Forwarded-For: 7.7.7.7", "X-Forwarded-Host: evil.test", "X-Forwarded-Proto: https",
			"Forwarded: for=6.6.6.6;proto=https", "X-Real-IP: 6.6.6.6", "X_Forwarded_For: 6.6.6.6", "x_forwarded_host: evil.test",
			"X-Real_Ip: 6.6.6.6", "X_Forwarded-Proto: https", "Opc_Request_Id: smuggled", "X_Other: kept"},
			kept: map[string]string{"X_Other": "kept"}}, // only gateway headers are dropped
		{name: "R8 h2c upgrade", lines: []string{"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"}},
		{name: "R8 websocket on a plain route", lines: []string{"Connection: Upgrade", "Upgrade: websocket",
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"},
			gone: []string{"Sec-Websocket-Key", "Sec-Websocket-Version"}},
		{name: "R8 upgrade without Connection", lines: []string{"Upgrade: h2c"}},
		{name: "R8 two Connection headers", lines: []string{"Connection: keep-alive", "Connection: upgrade, X-Hop", "upgrade: H2C", "X-Hop: 1"},
			gone: []string{"X-Hop"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			resp, body := g.Raw(t, method, "/test/r", tt.lines...)
			if resp.StatusCode != http.StatusOK || body != "backend ok" {
				t.Fatalf("status = %d, body %q; want 200 %q (never 101)", resp.StatusCode, body, "backend ok")
			}
			if v := resp.Header.Get("Upgrade"); v != "" {
				t.Errorf("response offers Upgrade %q", v)
			}
			id := resp.Header.Get("opc-request-id")
			got := b.ByID(id)
			if len(got) != 1 {
				t.Fatalf("backend received the request %d times, want once", len(got))
			}
			if got[0].Method != method {
				t.Errorf("backend method = %s, want %s", got[0].Method, method)
			}
			for _, name := range append(neverArrive, tt.gone...) {
				if v := spellings(got[0].Header, name); len(v) != 0 {
					t.Errorf("backend got %v", v)
				}
			}
			checkDropped(t, got[0].Header, id)
			for name, value := range tt.kept {
				if v := got[0].Header.Values(name); len(v) != 1 || v[0] != value {
					t.Errorf("backend %s = %q, want [%q]", name, v, value)
				}
			}
		})
	}
}

// TestHopByHopHeadersNeverArrive: the backend gets the one verified
// Authorization header and none of the hop-by-hop headers of the client's
// connection (Proxy-Authorization would hand it another credential), and a
// chunked body arrives whole.
func TestHopByHopHeadersNeverArrive(t *testing.T) {
	g := newTokenRig(t)
	tok := validToken(t)
	raw := gatewaytest.RawRequest(http.MethodPost, "/test/r",
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
	) + "5\r\nhello\r\n0\r\n\r\n"
	resp, _ := gatewaytest.RawDo(t, g.Addr, http.MethodPost, raw)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	got := g.Backend.ByID(resp.Header.Get("opc-request-id"))
	if len(got) != 1 {
		t.Fatalf("backend received the request %d times, want once", len(got))
	}
	if got[0].Body != "hello" {
		t.Errorf("backend body = %q, want %q", got[0].Body, "hello")
	}
	if v := got[0].Header.Values("Authorization"); len(v) != 1 || v[0] != "Bearer "+tok {
		t.Errorf("backend got %d Authorization headers, want exactly the client's one", len(v))
	}
	for _, name := range []string{"Connection", "X-Custom-Hop", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding",
		"Proxy-Authorization", "Proxy-Connection", "Proxy-Authenticate"} {
		if v := got[0].Header.Values(name); len(v) != 0 {
			t.Errorf("backend got hop-by-hop %s: %q", name, v)
		}
	}
}

// TestR10QueryTokenNeverLeaks: a query token is never forwarded to the
// backend nor written to any log line, whatever the outcome of the request
// (the parameter given twice or empty is R1's),
// and removing it leaves every other parameter as the client sent it, in
// order, even ones a strict parser would refuse (and might then forward
// the raw query, token and all).
func TestR10QueryTokenNeverLeaks(t *testing.T) {
	g := newQueryRig(t)
	tok, expired := validToken(t), expiredToken(t)
	for _, tt := range []struct {
		name      string
		target    string
		status    int
		reason    string // the reason in the request's log lines
		wantQuery string // what the backend must get, exactly, when forwarded
	}{
		{"token between other parameters", "/test/r?a=1&access_token=" + tok + "&b=two", 200, "", "a=1&b=two"},
		{"token first", "/test/r?access_token=" + tok + "&keep=1", 200, "", "keep=1"},
		{"token only", "/test/r?access_token=" + tok, 200, "", ""},
		{"escaped parameter name", "/test/r?access%5Ftoken=" + tok + "&c=3", 200, "", "c=3"},
		{"other parameters kept as sent", "/test/r?z=1&access_token=" + tok + "&a=%zz&b=2&b=1&&c", 200, "", "z=1&a=%zz&b=2&b=1&&c"},
		{"expired token", "/test/r?access_token=" + expired + "&a=1", 401, "token_expired", ""},
		{"anonymous route with a token", "/test/anon?access_token=" + tok + "&a=1", 200, "", "a=1"},
		// The token is ignored, and the log says why.
		{"anonymous route with a bad token", "/test/anon?access_token=" + expired + "&a=1", 200, "token_expired", "a=1"},
		{"no route", "/test/nope?access_token=" + tok, 404, "no_route", ""},
		{"backend down", "/test/down?access_token=" + tok + "&a=1", 502, "backend_unavailable", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := g.Backend.Count()
			resp, _ := g.Raw(t, http.MethodGet, tt.target)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			id := resp.Header.Get("opc-request-id")
			if reason := g.Log.Reason(t, id); reason != tt.reason {
				t.Errorf("log reason = %q, want %q", reason, tt.reason)
			}
			if tt.status != http.StatusOK {
				if got := g.Backend.Since(before); len(got) != 0 {
					t.Errorf("backend received %d requests, want none", len(got))
				}
				return
			}
			got := g.Backend.ByID(id)
			if len(got) != 1 {
				t.Fatalf("backend received the request %d times, want once", len(got))
			}
			if got[0].RawQuery != tt.wantQuery {
				t.Errorf("backend query = %q, want %q", got[0].RawQuery, tt.wantQuery)
			}
			var sent strings.Builder
			_ = got[0].Header.Write(&sent)
			arrived := got[0].Path + "?" + got[0].RawQuery + "\n" + sent.String()
			for _, secret := range []string{tok, expired, gatewaytest.Signature(tok), gatewaytest.Signature(expired)} {
				if strings.Contains(arrived, secret) {
					t.Errorf("the backend request holds a token:\n%s", arrived)
				}
			}
		})
	}
	if logs := g.Log.String(); !strings.Contains(logs, `"path":"/test/r"`) {
		t.Errorf("access log lacks the path of /test/r:\n%s", logs)
	}
	g.Log.NoSecrets(t, tok, expired, gatewaytest.Signature(tok), gatewaytest.Signature(expired))
}

// TestR22QueryTokenBehindSemicolon (attacks.md R22): backends that split
// the query on ';' as well as '&' (Python before 3.9.2, some Java and PHP
// stacks; CVE-2021-23336) read access_token in "x=1;access_token=forged",
// which keygate's parser does not: such a token is never forwarded.
func TestR22QueryTokenBehindSemicolon(t *testing.T) {
	g := newQueryRig(t)
	tok := validToken(t)
	for _, tt := range []struct {
		target string
		status int
	}{
		{"/test/anon?x=1;access_token=forged", 200},
		{"/test/anon?access_token=forged;x=1&y=2", 200},
		{"/test/anon?x=1;access%5Ftoken=forged;z=3", 200},
		{"/test/r?access_token=" + tok + "&x=1;access_token=forged", 200},
	} {
		before := g.Backend.Count()
		resp, _ := g.Raw(t, http.MethodGet, tt.target)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.target, resp.StatusCode, tt.status)
			continue
		}
		got := g.Backend.Since(before)
		if len(got) != 1 {
			t.Fatalf("%s: the backend got %d requests, want 1", tt.target, len(got))
		}
		for _, pair := range strings.FieldsFunc(got[0].RawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
			key, _, _ := strings.Cut(pair, "=")
			if k, err := url.QueryUnescape(key); err == nil && k == "access_token" {
				t.Errorf("%s: the backend query %q holds a token a ';'-splitting backend reads", tt.target, got[0].RawQuery)
			}
		}
	}
}
