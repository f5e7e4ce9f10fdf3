package console

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/explain"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

const testToken = "console-token-0123456789abcdef"

// fixture is a gateway with one authenticated deployment, its activity and
// history, and the key its clients sign with.
type fixture struct {
	live     *gateway.Live
	gw       *gateway.Gateway
	activity *gateway.Activity
	history  *gateway.ConfigHistory
	key      gatewaytest.Key
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{key: gatewaytest.EC("client"), activity: gateway.NewActivity(nil), history: gateway.NewConfigHistory()}
	auth := gatewaytest.JWTAuth(gatewaytest.StaticKeys(f.key.JWK(t)))
	auth["isAnonymousAccessAllowed"] = true
	health := gatewaytest.StockRoute("/health", 200, "ok", gatewaytest.Anonymous())
	health["requestPolicies"].(map[string]any)["responseCacheLookup"] = map[string]any{"type": "SIMPLE_LOOKUP_POLICY"}
	health["responsePolicies"] = map[string]any{"responseCacheStore": map[string]any{"type": "FIXED_TTL_STORE_POLICY", "timeToLiveInSeconds": 5}}
	spec := gatewaytest.Spec(auth,
		gatewaytest.StockRoute("/orders", 200, "ok", gatewaytest.AnyOf("orders:read")), health)
	d, err := gatewaytest.Deployment("/api", spec)
	if err != nil {
		t.Fatal(err)
	}
	// A responseCache without its connection: the Deployments page says
	// how /health caches; nothing is cached.
	f.gw, err = gateway.New(&config.Gateway{Listen: "127.0.0.1:0", Deployments: []config.Deployment{d},
		ResponseCache: &config.ResponseCache{Type: config.ResponseCacheExternal}},
		gateway.Options{Activity: f.activity, DisableAccessLog: true})
	if err != nil {
		t.Fatal(err)
	}
	f.live = gateway.NewLive(f.gw)
	f.history.Add(gateway.ConfigEvent{Time: time.Now(), Cause: "start-up", Result: "loaded", Version: "abc123"})
	return f
}

// sign returns a token valid now, with claims changed by edits.
func (f *fixture) sign(t *testing.T, edits map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := gatewaytest.Claims(map[string]any{"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()})
	for k, v := range edits {
		claims[k] = v
	}
	return f.key.Sign(t, claims)
}

func (f *fixture) handler(t *testing.T, token string, loopback bool) http.Handler {
	t.Helper()
	c, err := New(Options{Live: f.live, Activity: f.activity, History: f.history, Token: token, Loopback: loopback})
	if err != nil {
		t.Fatal(err)
	}
	return c.Handler()
}

// serve sends r to h, Host set to host.
func serve(h http.Handler, r *http.Request, host string) *httptest.ResponseRecorder {
	r.Host = host
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func sessionValue(t *testing.T, token string) string {
	t.Helper()
	c, err := New(Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c.session
}

func TestAccess(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name     string
		token    string // the console's token
		loopback bool
		host     string
		path     string
		header   http.Header
		cookie   string
		want     int
	}{
		{"loopback, no token, 127.0.0.1", "", true, "127.0.0.1:9901", "/", nil, "", 200},
		{"loopback, no token, localhost", "", true, "localhost:9901", "/deployments", nil, "", 200},
		{"loopback, no token, [::1]", "", true, "[::1]:9901", "/keys", nil, "", 200},
		{"loopback, no token, another host name (DNS rebinding)", "", true, "evil.example:9901", "/", nil, "", 403},
		{"not loopback, no token: off", "", false, "10.0.0.5:9901", "/", nil, "", 403},
		{"not loopback, no token: assets off too", "", false, "10.0.0.5:9901", "/static/console.css", nil, "", 403},
		{"token, none given", testToken, false, "10.0.0.5:9901", "/", nil, "", 401},
		{"token, none given on loopback either", testToken, true, "127.0.0.1:9901", "/rejections", nil, "", 401},
		{"token, right bearer", testToken, false, "10.0.0.5:9901", "/traffic", http.Header{"Authorization": {"Bearer " + testToken}}, "", 200},
		{"token, bearer scheme in any case", testToken, false, "10.0.0.5:9901", "/config", http.Header{"Authorization": {"bearer " + testToken}}, "", 200},
		{"token, wrong bearer", testToken, false, "10.0.0.5:9901", "/", http.Header{"Authorization": {"Bearer " + testToken + "x"}}, "", 401},
		{"token, basic credentials are not it", testToken, false, "10.0.0.5:9901", "/", http.Header{"Authorization": {"Basic " + testToken}}, "", 401},
		{"token, session cookie", testToken, false, "10.0.0.5:9901", "/explain", nil, sessionValue(t, testToken), 200},
		{"token, the token itself as cookie is not a session", testToken, false, "10.0.0.5:9901", "/", nil, testToken, 401},
		{"token, a session of another token", testToken, false, "10.0.0.5:9901", "/", nil, sessionValue(t, testToken+"-old"), 401},
		{"token, login page is open", testToken, false, "10.0.0.5:9901", "/login", nil, "", 200},
		{"token, assets are open", testToken, false, "10.0.0.5:9901", "/static/console.js", nil, "", 200},
		{"unknown page", "", true, "127.0.0.1", "/nope", nil, "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: sessionCookie, Value: tt.cookie})
			}
			rec := serve(f.handler(t, tt.token, tt.loopback), r, tt.host)
			if rec.Code != tt.want {
				t.Fatalf("GET %s: got %d, want %d\n%s", tt.path, rec.Code, tt.want, rec.Body)
			}
			if tt.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
		})
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	h := f.handler(t, testToken, false)
	tests := []struct {
		name       string
		token      string
		want       int
		wantCookie bool
	}{
		{"right token", testToken, http.StatusSeeOther, true},
		{"right token with spaces around", "  " + testToken + "\n", http.StatusSeeOther, true},
		{"wrong token", "guess", http.StatusUnauthorized, false},
		{"empty", "", http.StatusUnauthorized, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {tt.token}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := serve(h, r, "10.0.0.5:9901")
			if rec.Code != tt.want {
				t.Fatalf("got %d, want %d", rec.Code, tt.want)
			}
			cookies := rec.Result().Cookies()
			if got := len(cookies) == 1; got != tt.wantCookie {
				t.Fatalf("got cookies %v, want a session cookie: %v", cookies, tt.wantCookie)
			}
			if !tt.wantCookie {
				return
			}
			c := cookies[0]
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Value == testToken || strings.Contains(c.Value, testToken) {
				t.Fatalf("got cookie %+v, want HttpOnly, SameSite=Strict, and not the token", c)
			}
			// The cookie opens the pages.
			r = httptest.NewRequest(http.MethodGet, "/", nil)
			r.AddCookie(c)
			if rec := serve(h, r, "10.0.0.5:9901"); rec.Code != 200 {
				t.Fatalf("with the session cookie: got %d, want 200", rec.Code)
			}
		})
	}
}

// TestCrossOriginPosts: the explainer and the login are POSTs that a page
// of another site cannot make through the user's browser.
func TestCrossOriginPosts(t *testing.T) {
	f := newFixture(t)
	h := f.handler(t, "", true)
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"same-origin fetch metadata", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site is not same-origin", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"Origin of another site, no fetch metadata", map[string]string{"Origin": "http://evil.example"}, 403},
		{"Origin of the console itself", map[string]string{"Origin": "http://127.0.0.1:9901"}, 200},
		{"no browser headers: a script with curl", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"method": {"GET"}, "path": {"/api/orders"}}
			r := httptest.NewRequest(http.MethodPost, "/explain", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if rec := serve(h, r, "127.0.0.1:9901"); rec.Code != tt.want {
				t.Fatalf("got %d, want %d\n%s", rec.Code, tt.want, rec.Body)
			}
		})
	}
}

var (
	inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	inlineStyle  = regexp.MustCompile(`<style|\sstyle=|\son[a-z]+=`)
)

// TestSecurityHeaders: every page carries the headers, and holds nothing
// its Content-Security-Policy would block (no inline script, style or
// event handler), so the policy costs the page nothing.
func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	f.gw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/orders", nil)) // a rejection to list
	h := f.handler(t, "", true)
	for _, path := range []string{"/", "/deployments", "/keys", "/traffic", "/rejections", "/config", "/explain", "/login", "/nope"} {
		t.Run(path, func(t *testing.T) {
			rec := serve(h, httptest.NewRequest(http.MethodGet, path, nil), "127.0.0.1:9901")
			hd := rec.Header()
			csp := hd.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("Content-Security-Policy %q allows something unsafe", csp)
			}
			for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
				if got := hd.Get(name); got != want {
					t.Errorf("%s: got %q, want %q", name, got, want)
				}
			}
			body := rec.Body.String()
			if m := inlineScript.FindString(body); m != "" {
				t.Errorf("inline script %q", m)
			}
			if m := inlineStyle.FindString(body); m != "" {
				t.Errorf("inline style or handler %q", m)
			}
		})
	}
}

// TestExplainer: the console's verdict is the one `keygate token verify`
// prints, line for line, and the token never comes back.
func TestExplainer(t *testing.T) {
	f := newFixture(t)
	h := f.handler(t, "", true)
	good := f.sign(t, nil)
	tests := []struct {
		name, method, path, token string
		wantStatus                int
		want                      []string
	}{
		{"good token", "GET", "/api/orders", good, 200, []string{"ACCEPT: serve would pass GET /api/orders to the backend", "verified"}},
		{"pasted with its scheme", "GET", "/api/orders", "Bearer " + good, 200, []string{"ACCEPT"}},
		{"wrong audience and issuer", "GET", "/api/orders", f.sign(t, map[string]any{"aud": "other", "iss": "https://evil.test"}), 200,
			[]string{"REJECT 401", "failing checks (2):", "sign with --iss", "sign with --aud"}},
		{"scope missing", "GET", "/api/orders", f.sign(t, map[string]any{"scope": "profile"}), 200, []string{"REJECT 403 insufficient_scope"}},
		{"no token", "GET", "/api/orders", "", 200, []string{"REJECT 401 missing_token"}},
		{"no route", "GET", "/api/nope", good, 200, []string{"REJECT 404 no_route"}},
		{"not a path", "GET", "orders", good, 400, []string{"give a method and a path starting with /"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"method": {tt.method}, "path": {tt.path}, "token": {tt.token}}
			r := httptest.NewRequest(http.MethodPost, "/explain", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := serve(h, r, "127.0.0.1:9901")
			if rec.Code != tt.wantStatus {
				t.Fatalf("got %d, want %d\n%s", rec.Code, tt.wantStatus, rec.Body)
			}
			page := rec.Body.String()
			for _, want := range tt.want {
				if !strings.Contains(page, escaped(want)) {
					t.Errorf("the page lacks %q:\n%s", want, page)
				}
			}
			if raw := strings.TrimPrefix(tt.token, "Bearer "); raw != "" && strings.Contains(page, raw) {
				t.Error("the page holds the pasted token")
			}
			if tt.wantStatus != 200 {
				return
			}
			// The same lines as the CLI's rendering, escaped for HTML.
			req, _ := explain.ParseRequest(tt.method + " " + tt.path)
			var cli bytes.Buffer
			explain.Gateway(&cli, f.gw, f.gw.Config(), req, strings.TrimPrefix(tt.token, "Bearer "), explain.Options{})
			if !strings.Contains(page, `<pre id="explain-output">`+escaped(cli.String())+`</pre>`) {
				t.Errorf("the page's verdict differs from token verify's:\n%s\nwant\n%s", page, cli.String())
			}
		})
	}
	if got := f.activity.Recent(); len(got) != 0 {
		t.Errorf("explained requests were counted as traffic: %+v", got)
	}
}

// escaped escapes s as html/template does text.
func escaped(s string) string {
	var b bytes.Buffer
	htmlEscaper.WriteString(&b, s)
	return b.String()
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "+", "&#43;")

// TestPagesShowLiveData: what the gateway did is on the pages.
func TestPagesShowLiveData(t *testing.T) {
	f := newFixture(t)
	f.gw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/health", nil))
	bad := httptest.NewRequest(http.MethodGet, "/api/orders", nil)
	bad.Header.Set("Authorization", "Bearer "+f.sign(t, map[string]any{"aud": "other", "sub": "mallory"}))
	rec := httptest.NewRecorder()
	f.gw.ServeHTTP(rec, bad)
	id := rec.Header().Get("opc-request-id")
	f.history.Add(gateway.ConfigEvent{Time: time.Now(), Cause: "SIGHUP", Result: "refused", Version: "abc123",
		Problems: []string{"spec.json: routes[0].path: must start with /"}})
	h := f.handler(t, "", true)
	tests := []struct {
		path string
		want []string
	}{
		{"/", []string{`id="deployment-count">1<`, `id="route-count">2<`, id, "wrong_audience"}},
		{"/deployments", []string{"/api", "/orders", "ANY_OF [orders:read]", "JWT_AUTHENTICATION", "STOCK_RESPONSE_BACKEND 200",
			"GET/HEAD/OPTIONS responses kept 5s; requests with a credential bypass"}},
		{"/keys", []string{"client", "ES256", "EC 256 bits", "STATIC_KEYS JSON_WEB_KEY"}},
		{"/traffic", []string{`id="requests-5">2<`, `id="rejected-60">1<`, "wrong_audience", "<svg"}},
		{"/rejections", []string{id, "wrong_audience", "mallory", "client"}},
		{"/config", []string{"refused", "SIGHUP", "routes[0].path: must start with /", "abc123", "start-up"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := serve(h, httptest.NewRequest(http.MethodGet, tt.path, nil), "127.0.0.1:9901")
			if rec.Code != 200 {
				t.Fatalf("got %d", rec.Code)
			}
			for _, want := range tt.want {
				if !strings.Contains(rec.Body.String(), escaped(want)) && !strings.Contains(rec.Body.String(), want) {
					t.Errorf("the page lacks %q", want)
				}
			}
		})
	}
}

// TestProbesStayOpen: a console that is off, or behind its token, leaves
// the admin endpoints open to probes and Prometheus.
func TestProbesStayOpen(t *testing.T) {
	f := newFixture(t)
	for _, token := range []string{"", testToken} {
		admin := gateway.NewAdmin(f.live, gateway.NewMetrics(), false)
		admin.ServeConsole(f.handler(t, token, false))
		h := admin.Handler()
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/": map[bool]int{true: 403, false: 401}[token == ""]} {
			if rec := serve(h, httptest.NewRequest(http.MethodGet, path, nil), "10.0.0.5:9901"); rec.Code != want {
				t.Errorf("with a token %t: GET %s: got %d, want %d", token != "", path, rec.Code, want)
			}
		}
	}
}

// TestHostileValuesEscaped: a token's kid, iss and sub come from anyone;
// the rejection list shows them as text, never as markup.
func TestHostileValuesEscaped(t *testing.T) {
	f := newFixture(t)
	const hostile = `<img src=x onerror=alert(1)>`
	bad := httptest.NewRequest(http.MethodGet, "/api/orders", nil)
	bad.Header.Set("Authorization", "Bearer "+f.sign(t, map[string]any{"aud": "other", "sub": hostile, "iss": hostile}))
	f.gw.ServeHTTP(httptest.NewRecorder(), bad)
	h := f.handler(t, "", true)
	for _, path := range []string{"/", "/rejections"} {
		body := serve(h, httptest.NewRequest(http.MethodGet, path, nil), "127.0.0.1").Body.String()
		if strings.Contains(body, hostile) || !strings.Contains(body, escaped(hostile)) {
			t.Errorf("%s: the hostile sub is not escaped as text", path)
		}
	}
}

// TestExplainFormPrefilled: a route's link fills method and path; a token
// in the URL is ignored (URLs are kept in histories and logs).
func TestExplainFormPrefilled(t *testing.T) {
	f := newFixture(t)
	h := f.handler(t, "", true)
	body := serve(h, httptest.NewRequest(http.MethodGet, "/explain?method=post&path=/api/orders&token=eyJ.secret.x", nil), "127.0.0.1").Body.String()
	for _, want := range []string{`<option selected>POST</option>`, `value="/api/orders"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	if strings.Contains(body, "eyJ.secret.x") {
		t.Error("the form took the token from the URL")
	}
	deployments := serve(h, httptest.NewRequest(http.MethodGet, "/deployments", nil), "127.0.0.1").Body.String()
	if !strings.Contains(deployments, `href="/explain?method=GET&amp;path=%2fapi%2forders"`) {
		t.Errorf("the Deployments page does not link /api/orders to the explainer:\n%s", deployments)
	}
}
