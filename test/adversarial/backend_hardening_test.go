package adversarial

import (
	"io"
	"net/http"
	"net/textproto"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// What a backend behind keygate can be tricked into by a client, attacks.md
// R11–R13 and R15: a token header spelled with '_' that a CGI-style backend
// reads as the real one, a Connection header that strips the verified
// credential, a request body that a backend reads as the next request, and
// headers that backends trust for routing or identity. (R14, backends that
// write past their responses, is in upstream_poison_test.go.)

// spellings returns the headers of h whose name, '_' read as '-' and case
// ignored, is name: every header a backend that folds '_' into '-' (CGI,
// WSGI) reads as name.
func spellings(h http.Header, name string) http.Header {
	out := http.Header{}
	want := strings.ToLower(name)
	for k, v := range h {
		if strings.ToLower(strings.ReplaceAll(k, "_", "-")) == want {
			out[k] = v
		}
	}
	return out
}

// newAPIKeyRig is a deployment whose token is the whole value of X-Api-Key,
// verified with the RSA key "rsa" at the fixed clock, with anonymous access
// allowed and the routes
//
//	/r        AUTHENTICATION_ONLY to the backend
//	/scoped   ANY_OF orders:read to the backend
//	/open     ANONYMOUS to the backend
func newAPIKeyRig(t *testing.T) *gatewaytest.Gateway {
	t.Helper()
	b := gatewaytest.NewBackend(t)
	auth := gatewaytest.TokenInHeader(gatewaytest.JWTAuth(gatewaytest.StaticKeys(gatewaytest.RSA("rsa").JWK(t))), "X-Api-Key")
	auth["isAnonymousAccessAllowed"] = true
	return gatewaytest.Start(t, gatewaytest.Spec(auth,
		gatewaytest.HTTPRoute("/r", b.URL+"/r", nil),
		gatewaytest.HTTPRoute("/scoped", b.URL+"/scoped", gatewaytest.AnyOf("orders:read")),
		gatewaytest.HTTPRoute("/open", b.URL+"/open", gatewaytest.Anonymous()),
	), b, gatewaytest.Options{Now: gatewaytest.FixedClock})
}

func TestR11UnderscoreSpellingIsTheTokenHeader(t *testing.T) {
	r := newAPIKeyRig(t)
	tok := validToken(t)

	t.Run("alone it authenticates and arrives as X-Api-Key", func(t *testing.T) {
		for _, name := range []string{"X_Api_Key", "x_api_key", "X_API_KEY"} {
			got := r.Passes(t, "/test/r", http.Header{name: {tok}})
			if h, want := spellings(got.Header, "X-Api-Key"), (http.Header{"X-Api-Key": {tok}}); !reflect.DeepEqual(h, want) {
				t.Errorf("%s: backend token headers = %v, want %v", name, h, want)
			}
		}
	})

	t.Run("beside another it is a second credential", func(t *testing.T) {
		for _, h := range []http.Header{
			{"X-Api-Key": {tok}, "X_Api_Key": {"other"}},
			{"X-Api-Key": {tok}, "X_Api_Key": {tok}},
			{"X-Api-Key": {tok}, "x_api_key": {tok}},
			{"X_Api_Key": {tok}, "x_api_key": {tok}},
		} {
			for _, route := range []string{"/r", "/scoped"} {
				r.RefusedFor(t, "/test"+route, h, http.StatusUnauthorized, "multiple_tokens")
			}
		}
	})

	t.Run("on an anonymous route no unverified spelling arrives", func(t *testing.T) {
		for _, h := range []http.Header{
			{"X_Api_Key": {"forged"}},
			{"x_api_key": {tok + "x"}},
			{"X-Api-Key": {"garbage"}, "X_Api_Key": {"forged"}},
			{"X-Api-Key": {tok}, "X_Api_Key": {tok}},
		} {
			got := r.Passes(t, "/test/open", h)
			if sent := spellings(got.Header, "X-Api-Key"); len(sent) != 0 {
				t.Errorf("client sent %v: backend got %v, want no token header", h, sent)
			}
		}
	})

	// Authorization has no '-', but its case variants are the same header.
	t.Run("Authorization case variants", func(t *testing.T) {
		tr := newTokenRig(t)
		before := tr.Backend.Count()
		resp, body := tr.Raw(t, http.MethodGet, "/test/r", "authorization: Bearer "+tok, "AUTHORIZATION: Bearer "+tok)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401 (body %s)", resp.StatusCode, strings.TrimSpace(body))
		}
		if reason := tr.Log.Reason(t, resp.Header.Get("opc-request-id")); reason != "multiple_tokens" {
			t.Errorf("log reason = %q, want %q", reason, "multiple_tokens")
		}
		if got := tr.Backend.Since(before); len(got) != 0 {
			t.Errorf("backend received %d requests, want none", len(got))
		}
	})
}

func TestR12ConnectionCannotStripTheCredential(t *testing.T) {
	tr := newTokenRig(t)
	ak := newAPIKeyRig(t)
	tok := validToken(t)
	for _, tt := range []struct {
		name   string
		r      *gatewaytest.Gateway
		path   string
		lines  []string
		header string   // the token header, as the backend reads it
		want   []string // its values at the backend; nil: absent
	}{
		{"Connection: Authorization", tr, "/r",
			[]string{"Authorization: Bearer " + tok, "Connection: Authorization"}, "Authorization", []string{"Bearer " + tok}},
		{"Connection: keep-alive, authorization", tr, "/r",
			[]string{"Authorization: bearer " + tok, "Connection: keep-alive, authorization"}, "Authorization", []string{"bearer " + tok}},
		{"Connection: X-Api-Key", ak, "/r",
			[]string{"X-Api-Key: " + tok, "Connection: X-Api-Key"}, "X-Api-Key", []string{tok}},
		{"Connection: x-api-key on a scoped route", ak, "/scoped",
			[]string{"X-Api-Key: " + tok, "Connection: x-api-key"}, "X-Api-Key", []string{tok}},
		{"Connection naming both spellings", ak, "/r",
			[]string{"X_Api_Key: " + tok, "Connection: X_Api_Key, X-Api-Key"}, "X-Api-Key", []string{tok}},
		// Only a verified credential is set again.
		{"unverified on an anonymous route", tr, "/open",
			[]string{"Authorization: Bearer garbage", "Connection: Authorization"}, "Authorization", nil},
		{"unverified X-Api-Key on an anonymous route", ak, "/open",
			[]string{"X-Api-Key: garbage", "Connection: X-Api-Key"}, "X-Api-Key", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.r.Backend.Count()
			resp, body := tt.r.Raw(t, http.MethodGet, "/test"+tt.path, tt.lines...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", resp.StatusCode, strings.TrimSpace(body))
			}
			got := tt.r.Backend.Since(before)
			if len(got) != 1 {
				t.Fatalf("backend received %d requests, want 1", len(got))
			}
			want := http.Header{}
			if tt.want != nil {
				want[tt.header] = tt.want
			}
			if h := spellings(got[0].Header, tt.header); !reflect.DeepEqual(h, want) {
				t.Errorf("backend token headers = %v, want %v", h, want)
			}
		})
	}
}

// TestR11OnlyTheVerifiedCredentialArrives: a credential the gateway did not
// verify never reaches the backend: a header this deployment does not read
// (Authorization beside a custom token header or a query token), a bad
// token ignored on an ANONYMOUS route, another scheme.
func TestR11OnlyTheVerifiedCredentialArrives(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	key := gatewaytest.RSA("rsa")
	tok, expired := validToken(t), expiredToken(t)
	const forged = "Bearer forged.admin.token"
	start := func(auth map[string]any) *gatewaytest.Gateway {
		auth["isAnonymousAccessAllowed"] = true
		return gatewaytest.Start(t, gatewaytest.Spec(auth,
			gatewaytest.HTTPRoute("/r", b.URL+"/r", nil),
			gatewaytest.HTTPRoute("/anon", b.URL+"/anon", gatewaytest.Anonymous()),
		), b, gatewaytest.Options{Now: gatewaytest.FixedClock})
	}
	bearerGW := start(gatewaytest.JWTAuth(gatewaytest.StaticKeys(key.JWK(t))))
	customGW := start(gatewaytest.TokenInHeader(gatewaytest.JWTAuth(gatewaytest.StaticKeys(key.JWK(t))), "X-Client-Token"))
	queryGW := start(gatewaytest.TokenInQuery(gatewaytest.JWTAuth(gatewaytest.StaticKeys(key.JWK(t))), "access_token"))

	for _, tt := range []struct {
		name   string
		g      *gatewaytest.Gateway
		target string
		lines  []string
		want   http.Header // the credential headers the backend must see, exactly
	}{
		{"verified bearer token goes on", bearerGW, "/test/r", []string{"Authorization: Bearer " + tok},
			http.Header{"Authorization": {"Bearer " + tok}}},
		{"bad token on an anonymous route is dropped", bearerGW, "/test/anon", []string{"Authorization: Bearer " + expired},
			http.Header{}},
		{"another scheme on an anonymous route is dropped", bearerGW, "/test/anon", []string{"Authorization: Basic dXNlcjpwYXNz"},
			http.Header{}},
		{"custom header: Authorization is not read, so dropped", customGW, "/test/r", []string{"X-Client-Token: " + tok, "Authorization: " + forged},
			http.Header{"X-Client-Token": {tok}}},
		{"custom header: bad token on an anonymous route is dropped", customGW, "/test/anon", []string{"X-Client-Token: " + expired, "Authorization: " + forged},
			http.Header{}},
		{"query token: Authorization is not read, so dropped", queryGW, "/test/r?access_token=" + tok, []string{"Authorization: " + forged},
			http.Header{}},
		{"query token on an anonymous route", queryGW, "/test/anon", []string{"Authorization: " + forged},
			http.Header{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := tt.g.Raw(t, http.MethodGet, tt.target, tt.lines...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d %s, want 200", resp.StatusCode, body)
			}
			got := b.ByID(resp.Header.Get("opc-request-id"))
			if len(got) != 1 {
				t.Fatalf("backend received the request %d times, want once", len(got))
			}
			credentials := http.Header{}
			for _, name := range []string{"Authorization", "X-Client-Token"} {
				for k, v := range spellings(got[0].Header, name) {
					credentials[k] = v
				}
			}
			if !reflect.DeepEqual(credentials, tt.want) {
				t.Errorf("backend credential headers = %v, want %v", credentials, tt.want)
			}
		})
	}
}

// plainAnswer is an honest backend's answer: 200 with the path as X-Echo
// and, except to HEAD, as the body.
func plainAnswer(w io.Writer, req rawRequest) {
	if req.Method == http.MethodHead {
		_, _ = io.WriteString(w, "HTTP/1.1 200 OK\r\nX-Echo: "+req.Path+"\r\nContent-Length: "+strconv.Itoa(len(req.Path))+"\r\n\r\n")
		return
	}
	_, _ = io.WriteString(w, okResponse(req.Path))
}

// newBodyRig serves rb behind a deployment without authentication, with
// routes /pub and /admin to it.
func newBodyRig(t *testing.T, rb *rawBackend) *gatewaytest.Gateway {
	t.Helper()
	startRawBackend(t, rb)
	return gatewaytest.Start(t, gatewaytest.Spec(nil,
		gatewaytest.HTTPRoute("/pub", rb.url+"/pub", nil), gatewaytest.HTTPRoute("/admin", rb.url+"/admin", nil)), nil, gatewaytest.Options{})
}

// adminSeen fails if the backend ever received a request for /admin.
func adminSeen(t *testing.T, rb *rawBackend) {
	t.Helper()
	for _, rec := range rb.since(0) {
		if rec.Path == "/admin" {
			t.Errorf("backend received %s /admin (request %d on connection %d): the smuggled request got through",
				rec.Method, rec.Seq, rec.Conn)
		}
	}
}

func TestR13BodyOnHeadOrTraceRefused(t *testing.T) {
	rb := &rawBackend{answer: plainAnswer}
	r := newBodyRig(t, rb)
	for _, tt := range []struct{ name, method, framing, body string }{
		{"HEAD Content-Length", http.MethodHead, "Content-Length: 5", "hello"},
		{"HEAD chunked", http.MethodHead, "Transfer-Encoding: chunked", "5\r\nhello\r\n0\r\n\r\n"},
		{"TRACE Content-Length", http.MethodTrace, "Content-Length: 5", "hello"},
		{"TRACE chunked", http.MethodTrace, "Transfer-Encoding: chunked", "5\r\nhello\r\n0\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := rb.count()
			resp, _ := gatewaytest.RawDo(t, r.Addr, tt.method,
				gatewaytest.RawRequest(tt.method, "/test/pub", tt.framing, "Connection: close")+tt.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if reason := r.Log.Reason(t, resp.Header.Get("opc-request-id")); reason != "body_not_allowed" {
				t.Errorf("log reason = %q, want %q", reason, "body_not_allowed")
			}
			if got := rb.since(before); len(got) != 0 {
				t.Errorf("backend received %d requests, want none (first: %s %s)", len(got), got[0].Method, got[0].Path)
			}
		})
	}

	// The "CL.0" smuggling shape: the body of a HEAD is a whole request. A
	// plain request follows on the same connection, so everything before it
	// has been dealt with once its answer (or the close) comes.
	t.Run("HEAD carrying a request", func(t *testing.T) {
		smuggled := "GET /test/admin HTTP/1.1\r\nHost: x\r\n\r\n"
		raw := gatewaytest.RawRequest(http.MethodHead, "/test/pub", "Content-Length: "+strconv.Itoa(len(smuggled))) +
			smuggled + gatewaytest.RawRequest(http.MethodGet, "/test/pub", "Connection: close")
		statuses := gatewaytest.Pipeline(t, r.Addr, raw, http.MethodHead, http.MethodGet, http.MethodGet)
		if len(statuses) == 0 || statuses[0] != http.StatusBadRequest {
			t.Errorf("statuses = %v, want 400 first", statuses)
		}
		if len(statuses) > 2 {
			t.Errorf("statuses = %v: the gateway answered the smuggled request", statuses)
		}
		adminSeen(t, rb)
	})
}

func TestR13BodyOnOtherMethodsGetsItsOwnConnection(t *testing.T) {
	// This backend ignores Connection: close: only the gateway can end the
	// connection a body went on.
	rb := &rawBackend{answer: plainAnswer}
	r := newBodyRig(t, rb)
	for _, method := range []string{http.MethodGet, http.MethodDelete, http.MethodOptions} {
		t.Run(method, func(t *testing.T) {
			before := rb.count()
			body := `{"query":"` + method + ` with a body"}`
			if res := r.Do(t, method, "/test/pub", nil, strings.NewReader(body)); res.Status != http.StatusOK || res.Body != "/pub" {
				t.Fatalf("status = %d, body %q; want 200 %q", res.Status, res.Body, "/pub")
			}
			got := rb.since(before)
			if len(got) != 1 || got[0].Method != method || got[0].Body != body {
				t.Fatalf("backend received %+v, want one %s with body %q", got, method, body)
			}
			conn := got[0].Conn
			if !got[0].Close {
				t.Errorf("%s with a body arrived without Connection: close", method)
			}
			if !waitFor(2*time.Second, func() bool { return rb.hasEnded(conn) }) {
				t.Errorf("the gateway left backend connection %d open after a %s with a body", conn, method)
			}
			// The next requests of both upstream paths go elsewhere.
			r.Do(t, http.MethodGet, "/test/pub", nil, nil)
			r.Do(t, http.MethodPost, "/test/pub", nil, strings.NewReader("next"))
			for _, rec := range rb.since(before + 1) {
				if rec.Conn == conn {
					t.Errorf("%s %s (request %d) arrived on connection %d, which carried the %s with a body",
						rec.Method, rec.Path, rec.Seq, conn, method)
				}
			}
		})
	}

	t.Run("POST keeps pooled connections", func(t *testing.T) {
		before := rb.count()
		for i := range 2 {
			if res := r.Do(t, http.MethodPost, "/test/pub", nil, strings.NewReader("post "+strconv.Itoa(i))); res.Status != http.StatusOK {
				t.Fatalf("POST %d: status = %d, want 200", i, res.Status)
			}
		}
		got := rb.since(before)
		if len(got) != 2 || got[0].Conn != got[1].Conn || got[0].Close || got[1].Close {
			t.Errorf("backend received %+v, want two POSTs on one connection, without Connection: close", got)
		}
	})
}

// A "CL.0" backend ignores the body of a GET, DELETE or OPTIONS and reads it
// as the next request on the connection, but stops reading a connection
// after answering Connection: close: keygate's close is what keeps it from
// ever parsing the smuggled request.
func TestR13CL0BackendNeverParsesTheBody(t *testing.T) {
	rb := &rawBackend{answer: plainAnswer, honourClose: true,
		skipBody: map[string]bool{http.MethodGet: true, http.MethodDelete: true, http.MethodOptions: true}}
	r := newBodyRig(t, rb)
	smuggled := "GET /admin HTTP/1.1\r\nHost: backend\r\n\r\n"
	// The control: sent straight to this backend without Connection: close,
	// the body is read as a request for /admin.
	direct := "GET /pub HTTP/1.1\r\nHost: backend\r\nContent-Length: " + strconv.Itoa(len(smuggled)) + "\r\n\r\n" + smuggled
	if statuses := gatewaytest.Pipeline(t, strings.TrimPrefix(rb.url, "http://"), direct, http.MethodGet, http.MethodGet); len(statuses) != 2 {
		t.Fatalf("control: the backend answered %v, want two answers (/pub and the smuggled /admin)", statuses)
	}
	if got := rb.since(0); len(got) != 2 || got[1].Path != "/admin" {
		t.Fatalf("control: backend received %+v, want /pub then /admin", got)
	}
	before := rb.count()
	for _, method := range []string{http.MethodGet, http.MethodDelete, http.MethodOptions} {
		if res := r.Do(t, method, "/test/pub", nil, strings.NewReader(smuggled)); res.Status != http.StatusOK || res.Body != "/pub" {
			t.Errorf("%s: status = %d, body %q; want 200 %q", method, res.Status, res.Body, "/pub")
		}
		if res := r.Do(t, http.MethodGet, "/test/pub", nil, nil); res.Status != http.StatusOK || res.Body != "/pub" {
			t.Errorf("GET after %s: status = %d, body %q; want 200 %q", method, res.Status, res.Body, "/pub")
		}
	}
	for _, rec := range rb.since(before) {
		if rec.Path == "/admin" {
			t.Errorf("backend received %s /admin (request %d on connection %d): the smuggled request got through",
				rec.Method, rec.Seq, rec.Conn)
		}
	}
}

// r15Names are the headers attacks.md R15 names.
var r15Names = []string{
	"X-Original-URL", "X-Rewrite-URL", "X-Forwarded-Prefix", "X-Forwarded-Port", "X-Forwarded-Server",
	"X-Forwarded-Host", "X-Forwarded-Proto", "X-Client-IP", "True-Client-IP", "X-Real-IP",
	"X-Authenticated-User", "X-Remote-User",
}

func TestR15TrustedHeadersDropped(t *testing.T) {
	t.Run("the list", func(t *testing.T) {
		for _, name := range r15Names {
			if !slices.Contains(gateway.ClientHeadersDropped, textproto.CanonicalMIMEHeaderKey(name)) {
				t.Errorf("gateway.ClientHeadersDropped lacks %s", name)
			}
		}
		for _, name := range gateway.ClientHeadersDropped {
			if c := textproto.CanonicalMIMEHeaderKey(name); c != name {
				t.Errorf("gateway.ClientHeadersDropped has %q, want the canonical %q (request headers arrive canonical)", name, c)
			}
		}
	})

	b := gatewaytest.NewBackend(t)
	r := gatewaytest.Start(t, gatewaytest.Spec(nil, gatewaytest.HTTPRoute("/r", b.URL+"/r", nil)), b, gatewaytest.Options{})
	// check sends lines and asserts that no dropped header arrives but the
	// gateway's own values of those it sets.
	check := func(t *testing.T, lines ...string) {
		t.Helper()
		resp, _ := r.Raw(t, http.MethodGet, "/test/r", lines...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d, want 200", resp.StatusCode)
		}
		id := resp.Header.Get("opc-request-id")
		got := b.ByID(id)
		if len(got) != 1 || got[0].Path != "/r" {
			t.Fatalf("backend received %v, want one request for /r", got)
		}
		checkDropped(t, got[0].Header, id)
	}
	for _, name := range gateway.ClientHeadersDropped {
		forms := []string{name, strings.ReplaceAll(name, "-", "_"), strings.ToLower(strings.ReplaceAll(name, "-", "_"))}
		for _, form := range slices.Compact(forms) {
			t.Run(form, func(t *testing.T) { check(t, form+": /admin") })
		}
	}
	t.Run("attacks.md spellings at once", func(t *testing.T) {
		var lines []string
		for _, name := range r15Names {
			lines = append(lines, name+": /admin", strings.ReplaceAll(name, "-", "_")+": /admin")
		}
		check(t, lines...)
	})
}
