package gateway

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of CUSTOM_AUTHENTICATION (oci-policies.md §6): a real
// authorizer function over loopback behind keygate's registry, a real
// gateway, a real backend.

// tenantRoute is a route whose backend gets the authorizer's tenant and
// count as headers, through a header transformation.
func tenantRoute(path, url string, authorization map[string]any) map[string]any {
	r := httpRoute(path, nil, url, authorization)
	rq, _ := r["requestPolicies"].(map[string]any)
	if rq == nil {
		rq = map[string]any{}
		r["requestPolicies"] = rq
	}
	rq["headerTransformations"] = map[string]any{"setHeaders": map[string]any{"items": []any{
		map[string]any{"name": "X-Tenant", "values": []any{"${request.auth[tenant]}"}},
		map[string]any{"name": "X-Seats", "values": []any{"${request.auth[seats]}"}},
		map[string]any{"name": "X-Plan", "values": []any{"${request.auth[plan]}"}},
	}}}
	return r
}

func TestCustomAuthSingleArgument(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, byToken(map[string]string{
		"key-acme":        `{"active": true, "principal": "alice", "scope": ["orders:read", "profile"], "context": {"tenant": "acme", "seats": 5, "plan": {"tier": "gold"}}}`,
		"key-space-scope": `{"active": true, "scope": "orders:read orders:write", "context": {"tenant": "globex"}}`,
		"Bearer abc":      `{"active": true, "context": {"tenant": "bearer"}}`,
		"key-no-scope":    `{"active": true}`,
	}))
	auth := customAuth("X-Api-Key")
	auth["isAnonymousAccessAllowed"] = true
	spec := authSpec(auth,
		tenantRoute("/any", backend.url(), nil),
		tenantRoute("/read", backend.url(), anyOf("orders:read")),
		tenantRoute("/write", backend.url(), anyOf("orders:write")),
		tenantRoute("/anon", backend.url(), map[string]any{"type": "ANONYMOUS"}),
	)
	gw := startCustomGateway(t, spec, fn, Options{})
	key := func(k string) http.Header { return http.Header{"X-Api-Key": {k}} }

	tests := []struct {
		name      string
		path      string
		header    http.Header
		status    int
		calls     int64 // function calls the request makes (0: cached or not asked)
		tenant    string
		seats     string
		plan      string
		challenge string
		code      string
	}{
		{"accepted, context reaches the backend", "/any", key("key-acme"), 200, 1, "acme", "5", `{"tier":"gold"}`, "", ""},
		{"same token again: cached", "/any", key("key-acme"), 200, 0, "acme", "5", `{"tier":"gold"}`, "", ""},
		{"ANY_OF with an array scope", "/read", key("key-acme"), 200, 0, "acme", "5", `{"tier":"gold"}`, "", ""},
		{"ANY_OF refused: 403", "/write", key("key-acme"), 403, 0, "", "", "", "", codeUnauthorized},
		{"ANY_OF with a space-separated scope", "/write", key("key-space-scope"), 200, 1, "globex", "", "", "", ""},
		{"no scope at all: ANY_OF refused", "/read", key("key-no-scope"), 403, 1, "", "", "", "", codeUnauthorized},
		{"the whole header value is the token", "/any", http.Header{"X-Api-Key": {"Bearer abc"}}, 200, 1, "bearer", "", "", "", ""},
		{"refused: 401 with the function's challenge", "/any", key("key-wrong"), 401, 1, "", "", "", `ApiKey realm="tenants"`, codeCustomAuthFailed},
		{"refused again: cached", "/any", key("key-wrong"), 401, 0, "", "", "", `ApiKey realm="tenants"`, codeCustomAuthFailed},
		{"no token: 401, function not called", "/any", nil, 401, 0, "", "", "", `Bearer realm="/test3"`, codeCustomAuthFailed},
		{"two tokens: 401, function not called", "/any", http.Header{"X-Api-Key": {"key-acme", "key-x"}}, 401, 0, "", "", "", `Bearer realm="/test3", error="invalid_token"`, codeCustomAuthFailed},
		{"anonymous without a token", "/anon", nil, 200, 0, "", "", "", "", ""},
		{"anonymous with a token: context too", "/anon", key("key-acme"), 200, 0, "acme", "5", `{"tier":"gold"}`, "", ""},
		{"anonymous with a refused token passes", "/anon", key("key-wrong"), 200, 0, "", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, reqs := fn.calls.Load(), len(backend.requests())
			r := send(t, gw.testGateway, http.MethodGet, testPrefix+tt.path, tt.header)
			if r.resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", r.resp.StatusCode, tt.status, r.body)
			}
			if got := fn.calls.Load() - calls; got != tt.calls {
				t.Errorf("function calls = %d, want %d", got, tt.calls)
			}
			if got := r.resp.Header.Get("WWW-Authenticate"); tt.challenge != "" && got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if tt.status != 200 {
				if len(backend.requests()) != reqs {
					t.Error("a refused request reached the backend")
				}
				if codes := codesOf(t, gw.testGateway, r.id); codes[len(codes)-1] != tt.code {
					t.Errorf("log codes = %v, want the last %s", codes, tt.code)
				}
				return
			}
			got := onlyRequestSince(t, backend, reqs)
			for name, want := range map[string]string{"X-Tenant": tt.tenant, "X-Seats": tt.seats, "X-Plan": tt.plan} {
				if v := got.Header.Get(name); v != want {
					t.Errorf("backend's %s = %q, want %q", name, v, want)
				}
			}
			if tt.tenant == "" && got.Header.Get("X-Api-Key") != "" {
				t.Error("the backend got a token the function did not accept")
			}
		})
	}
	if in := fn.inputs[0]; !reflect.DeepEqual(in, map[string]any{"type": "TOKEN", "token": "key-acme"}) {
		t.Errorf("function input = %v, want {type: TOKEN, token: key-acme}", in)
	}
	checkNoSecrets(t, gw.testGateway, "key-space-scope")
}

func TestCustomAuthQueryToken(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, byToken(map[string]string{"k1": `{"active": true}`}))
	auth := map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": testAuthorizerID, "tokenQueryParam": "apikey"}
	gw := startCustomGateway(t, authSpec(auth, httpRoute("/q", nil, backend.url(), nil)), fn, Options{})
	reqs := len(backend.requests())
	r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/q?apikey=k1&x=1", nil)
	if r.resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200", r.resp.StatusCode)
	}
	if got := onlyRequestSince(t, backend, reqs); got.RawQuery != "x=1" {
		t.Errorf("backend's query = %q, want the token removed (x=1)", got.RawQuery)
	}
	if r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/q?apikey=k2", nil); r.resp.StatusCode != 401 {
		t.Errorf("status = %d, want 401", r.resp.StatusCode)
	}
}

func TestCustomAuthMultiArgument(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, func(in map[string]any) (int, string) {
		data, _ := in["data"].(map[string]any)
		if data["xapikey"] == "k1" {
			return 200, `{"active": true, "context": {"tenant": "t1"}}`
		}
		return 200, `{"active": false}`
	})
	auth := map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": testAuthorizerID,
		"parameters": map[string]any{
			"xapikey": "request.headers[X-Api-Key]",
			"state":   "request.query[state]",
			"groups":  "request.header[X-Group]",
			"host":    "request.host",
			"body":    "request.body",
		}}
	gw := startCustomGateway(t, authSpec(auth, tenantRoute("/m", backend.url(), nil)), fn, Options{})

	// One request: every kind of argument.
	req, _ := http.NewRequest(http.MethodPost, gw.srv.URL+testPrefix+"/m?state=california&state=nevada", strings.NewReader(`{"order": "é"}`))
	req.Header.Set("X-Api-Key", "k1")
	req.Header.Add("X-Group", "a")
	req.Header.Add("X-Group", "b")
	req.Host = "API.Example.com:8443"
	resp, err := gw.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	want := map[string]any{"type": "USER_DEFINED", "data": map[string]any{
		"xapikey": "k1", "state": []any{"california", "nevada"}, "groups": []any{"a", "b"},
		"host": "api.example.com", "body": `{"order": "é"}`,
	}}
	if got := fn.lastInput(t); !reflect.DeepEqual(got, want) {
		t.Errorf("function input = %v\nwant %v", got, want)
	}
	got := backend.requests()[len(backend.requests())-1]
	if string(got.Body) != `{"order": "é"}` || got.Header.Get("X-Tenant") != "t1" {
		t.Errorf("backend got body %q, X-Tenant %q; want the body unchanged and t1", got.Body, got.Header.Get("X-Tenant"))
	}

	// Absent arguments are omitted; with none at all the function is
	// still asked, with data {} (OPEN).
	r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/m", nil)
	if r.resp.StatusCode != 401 {
		t.Errorf("status = %d, want 401", r.resp.StatusCode)
	}
	if got := fn.lastInput(t); !reflect.DeepEqual(got, map[string]any{"type": "USER_DEFINED", "data": map[string]any{"host": "127.0.0.1"}}) {
		t.Errorf("function input = %v, want only host", got)
	}

	// The cache key is every argument but request.body: another body,
	// same other arguments, is a cache hit; another query is not.
	calls := fn.calls.Load()
	for _, body := range []string{"one", "two"} {
		req, _ := http.NewRequest(http.MethodPut, gw.srv.URL+testPrefix+"/m?state=ohio", strings.NewReader(body))
		req.Header.Set("X-Api-Key", "k1")
		resp, err := gw.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := fn.calls.Load() - calls; got != 1 {
		t.Errorf("two requests differing only in request.body made %d calls, want 1", got)
	}
}

func TestCustomAuthCacheKeyNarrows(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, func(in map[string]any) (int, string) { return 200, `{"active": true}` })
	auth := map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": testAuthorizerID,
		"parameters": map[string]any{"xapikey": "request.headers[X-Api-Key]", "state": "request.query[state]"},
		"cacheKey":   []any{"xapikey"}}
	gw := startCustomGateway(t, authSpec(auth, httpRoute("/c", nil, backend.url(), nil)), fn, Options{})
	for _, q := range []string{"?state=a", "?state=b", ""} {
		if r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/c"+q, http.Header{"X-Api-Key": {"k"}}); r.resp.StatusCode != 200 {
			t.Fatalf("status = %d, want 200", r.resp.StatusCode)
		}
	}
	if got := fn.calls.Load(); got != 1 {
		t.Errorf("three requests with one xapikey made %d calls, want 1 (cacheKey [xapikey])", got)
	}
	send(t, gw.testGateway, http.MethodGet, testPrefix+"/c", http.Header{"X-Api-Key": {"k2"}})
	if got := fn.calls.Load(); got != 2 {
		t.Errorf("another xapikey made %d calls in all, want 2", got)
	}
}

func TestCustomAuthFunctionFailures(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, nil)
	auth := customAuth("X-Api-Key")
	auth["isAnonymousAccessAllowed"] = true
	gw := startCustomGateway(t, authSpec(auth, httpRoute("/f", nil, backend.url(), nil),
		httpRoute("/anon", nil, backend.url(), map[string]any{"type": "ANONYMOUS"})), fn, Options{})

	tests := []struct {
		name   string
		status int
		body   string
		code   string
		reason string
	}{
		{"5xx", 500, `{"active": true}`, codeCustomInvocationFailed, string(reasonAuthorizerFailed)},
		{"503", 503, ``, codeCustomInvocationFailed, string(reasonAuthorizerFailed)},
		{"4xx", 404, `{"active": true}`, codeCustomInvocationFailed, string(reasonAuthorizerFailed)},
		{"3xx", 302, ``, codeCustomUnexpected, string(reasonAuthorizerUnexpected)},
		{"not JSON", 200, `<html>ok</html>`, codeCustomUnexpected, string(reasonAuthorizerUnexpected)},
		{"a JSON array", 200, `[true]`, codeCustomUnexpected, string(reasonAuthorizerUnexpected)},
		{"active a string", 200, `{"active": "true"}`, codeCustomUnexpected, string(reasonAuthorizerUnexpected)},
		{"scope a number", 200, `{"active": true, "scope": 5}`, codeCustomUnexpected, string(reasonAuthorizerUnexpected)},
		{"scope holding a number", 200, `{"active": true, "scope": ["a", 5]}`, codeCustomUnexpected, string(reasonAuthorizerUnexpected)},
		{"context an array", 200, `{"active": true, "context": ["a"]}`, codeCustomUnexpected, string(reasonAuthorizerUnexpected)},
		{"two JSON values", 200, `{"active": true} {"active": false}`, codeCustomUnexpected, string(reasonAuthorizerUnexpected)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn.setAnswer(func(map[string]any) (int, string) { return tt.status, tt.body })
			for i := range 2 { // a failure is not cached: both requests call
				calls := fn.calls.Load()
				r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/f", http.Header{"X-Api-Key": {"key-" + tt.name}})
				if r.resp.StatusCode != http.StatusBadGateway {
					t.Fatalf("request %d: status = %d, want 502", i, r.resp.StatusCode)
				}
				checkErrorBody(t, r.body, 502, "Bad Gateway")
				if fn.calls.Load()-calls != 1 {
					t.Errorf("request %d: function calls = %d, want 1", i, fn.calls.Load()-calls)
				}
				line := lastExecLine(t, gw.testGateway, r.id)
				if line["code"] != tt.code || line["reason"] != tt.reason || line["functionId"] != testAuthorizerID || line["level"] != "ERROR" {
					t.Errorf("log line = %v; want code %s, reason %s, functionId, level ERROR", line, tt.code, tt.reason)
				}
			}
		})
	}
	t.Run("anonymous route passes without the verdict", func(t *testing.T) {
		fn.setAnswer(func(map[string]any) (int, string) { return 500, `` })
		if r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/anon", http.Header{"X-Api-Key": {"k"}}); r.resp.StatusCode != 200 {
			t.Errorf("status = %d, want 200", r.resp.StatusCode)
		}
	})
}

func TestCustomAuthFunctionDownOrSlow(t *testing.T) {
	backend := newBackend(t)
	slow := newTestAuthorizer(t, func(map[string]any) (int, string) {
		time.Sleep(2 * time.Second)
		return 200, `{"active": true}`
	})
	spec := authSpec(customAuth("X-Api-Key"), httpRoute("/f", nil, backend.url(), nil))
	tests := []struct {
		name   string
		url    string
		reason reason
	}{
		{"timeout", slow.srv.URL, reasonAuthorizerTimeout},
		{"connection refused", "http://" + closedAddr(t), reasonAuthorizerFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			functions := testRegistry(t, map[string]string{testAuthorizerID: tt.url}, 100*time.Millisecond)
			gw := startCustomGatewayWith(t, spec, functions, Options{})
			start := time.Now()
			r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/f", http.Header{"X-Api-Key": {"k"}})
			if r.resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("status = %d, want 502", r.resp.StatusCode)
			}
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Errorf("answered after %v; the function's timeout is 100ms", d)
			}
			line := lastExecLine(t, gw.testGateway, r.id)
			if line["code"] != codeCustomInvocationFailed || line["reason"] != string(tt.reason) {
				t.Errorf("log code, reason = %v, %v; want %s, %s", line["code"], line["reason"], codeCustomInvocationFailed, tt.reason)
			}
		})
	}
}

func TestCustomAuthExecutionLogCodes(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, byToken(map[string]string{"good-key-0123456789": `{"active": true, "principal": "alice"}`}))
	gw := startCustomGateway(t, authSpec(customAuth("X-Api-Key"), httpRoute("/l", nil, backend.url(), nil)), fn, Options{})
	steps := []struct {
		key  string
		want []string
	}{
		{"good-key-0123456789", []string{codeCustomCacheMiss, codeCustomInvoked, codeCustomSuccess}},
		{"good-key-0123456789", []string{codeCustomSuccess}},
		{"bad-key-0123456789", []string{codeCustomCacheMiss, codeCustomInvoked, codeCustomAuthFailed}},
	}
	for i, s := range steps {
		r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/l", http.Header{"X-Api-Key": {s.key}})
		if got := codesOf(t, gw.testGateway, r.id); !slices.Equal(got, s.want) {
			t.Errorf("request %d: codes %v, want %v", i, got, s.want)
		}
	}
	for _, l := range gw.log.lines(t) {
		if l["code"] == codeCustomSuccess && l["principal"] != "alice" {
			t.Errorf("successfulAuthentication line without the principal: %v", l)
		}
	}
	checkNoSecrets(t, gw.testGateway, "good-key-0123456789", "bad-key-0123456789")
}

func TestCustomAuthFailurePolicy(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, func(in map[string]any) (int, string) {
		if in["token"] == "boom" {
			return 500, ``
		}
		return 200, `{"active": false, "wwwAuthenticate": "ApiKey", "context": {"responseCode": "302", "location": "https://login.example.com/?from=api"}}`
	})
	auth := customAuth("X-Api-Key")
	auth["validationFailurePolicy"] = map[string]any{"type": "MODIFY_RESPONSE", "responseCode": "request.auth[responseCode]",
		"responseMessage": "Unfortunately, authentication failed.",
		"responseHeaderTransformations": map[string]any{
			"setHeaders":    map[string]any{"items": []any{map[string]any{"name": "location", "values": []any{"${request.auth[location]}"}}}},
			"filterHeaders": map[string]any{"type": "BLOCK", "items": []any{map[string]any{"name": "topSecret"}}}}}
	gw := startCustomGateway(t, authSpec(auth, tenantRoute("/p", backend.url(), nil)), fn, Options{})
	client := gw.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/p", http.Header{"X-Api-Key": {"nope"}})
	if r.resp.StatusCode != 302 || r.resp.Header.Get("Location") != "https://login.example.com/?from=api" ||
		r.body != "Unfortunately, authentication failed." {
		t.Errorf("got %d, Location %q, body %q; want 302 to the login page with the message", r.resp.StatusCode, r.resp.Header.Get("Location"), r.body)
	}
	// No token at all: the policy applies, without the function's context
	// the status is not a number, so 401 (OPEN).
	r = send(t, gw.testGateway, http.MethodGet, testPrefix+"/p", nil)
	if r.resp.StatusCode != 401 || r.body != "Unfortunately, authentication failed." {
		t.Errorf("no token: got %d %q, want 401 with the message", r.resp.StatusCode, r.body)
	}
	// A failing function is not a refused credential: 502 stays.
	r = send(t, gw.testGateway, http.MethodGet, testPrefix+"/p", http.Header{"X-Api-Key": {"boom"}})
	if r.resp.StatusCode != 502 {
		t.Errorf("function failure: status %d, want 502", r.resp.StatusCode)
	}
}

func TestCustomAuthCacheExpiry(t *testing.T) {
	start := time.Date(2030, 5, 30, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		answer  string
		fresh   time.Duration // still cached this long after the call
		expired time.Duration // called again this long after
	}{
		{"no expiresAt: 60s", `{"active": true}`, 59 * time.Second, 60 * time.Second},
		{"invalid expiresAt: 60s", `{"active": true, "expiresAt": "tomorrow"}`, 59 * time.Second, 60 * time.Second},
		{"expiresAt in 10 minutes", `{"active": true, "expiresAt": "2030-05-30T10:10:00+01:00"}`, 9*time.Minute + 59*time.Second, 10 * time.Minute},
		{"expiresAt in 5 hours: 1h", `{"active": true, "expiresAt": "2030-05-30T14:00:00Z"}`, 59 * time.Minute, time.Hour},
		{"expiresAt in 10s: 60s", `{"active": true, "expiresAt": "2030-05-30T09:00:10Z"}`, 59 * time.Second, 60 * time.Second},
		{"expiresAt past: 60s", `{"active": true, "expiresAt": "2020-01-01T00:00:00Z"}`, 59 * time.Second, 60 * time.Second},
		{"refusal cached alike", `{"active": false, "expiresAt": "2030-05-30T09:05:00Z"}`, 4*time.Minute + 59*time.Second, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := newBackend(t)
			fn := newTestAuthorizer(t, func(map[string]any) (int, string) { return 200, tt.answer })
			clock := &fakeClock{t: start}
			gw := startCustomGateway(t, authSpec(customAuth("X-Api-Key"), httpRoute("/e", nil, backend.url(), nil)), fn, Options{Now: clock.now})
			get := func() { send(t, gw.testGateway, http.MethodGet, testPrefix+"/e", http.Header{"X-Api-Key": {"k"}}) }
			get()
			clock.advance(tt.fresh)
			get()
			if got := fn.calls.Load(); got != 1 {
				t.Errorf("after %v: %d calls, want 1 (cached)", tt.fresh, got)
			}
			clock.advance(tt.expired - tt.fresh)
			get()
			if got := fn.calls.Load(); got != 2 {
				t.Errorf("after %v: %d calls, want 2 (expired)", tt.expired, got)
			}
		})
	}
}

func TestCustomAuthCacheIsBoundedAndDroppedOnReload(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, func(map[string]any) (int, string) { return 200, `{"active": true}` })
	spec := authSpec(customAuth("X-Api-Key"), httpRoute("/b", nil, backend.url(), nil))
	gw := startCustomGateway(t, spec, fn, Options{AuthorizerCacheEntries: 2})
	get := func(gw *customGateway, key string) {
		if r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/b", http.Header{"X-Api-Key": {key}}); r.resp.StatusCode != 200 {
			t.Fatalf("status %d", r.resp.StatusCode)
		}
	}
	for _, k := range []string{"a", "b", "a", "c"} { // c evicts b, the least recently used
		get(gw, k)
	}
	if got := fn.calls.Load(); got != 3 {
		t.Fatalf("calls = %d, want 3", got)
	}
	get(gw, "a")
	if got := fn.calls.Load(); got != 3 {
		t.Errorf("a was evicted: calls = %d, want 3", got)
	}
	get(gw, "b")
	if got := fn.calls.Load(); got != 4 {
		t.Errorf("b was not evicted: calls = %d, want 4", got)
	}
	if n := gw.g.deployments[0].auth.(*customAuthenticator).cache.len(); n != 2 {
		t.Errorf("cache holds %d verdicts, want 2", n)
	}
	// A reload compiles the configuration again: nothing cached survives.
	reloaded := startCustomGateway(t, spec, fn, Options{AuthorizerCacheEntries: 2})
	get(reloaded, "a")
	if got := fn.calls.Load(); got != 5 {
		t.Errorf("after a reload: calls = %d, want 5", got)
	}
}

func TestCustomAuthConcurrentRequestsMakeOneCall(t *testing.T) {
	backend := newBackend(t)
	release := make(chan struct{})
	fn := newTestAuthorizer(t, func(map[string]any) (int, string) {
		<-release
		return 200, `{"active": true, "context": {"tenant": "acme"}}`
	})
	gw := startCustomGateway(t, authSpec(customAuth("X-Api-Key"), tenantRoute("/s", backend.url(), nil)), fn, Options{})
	const n = 20
	statuses := make(chan int, 2*n)
	for i := range 2 * n {
		key := "same"
		if i >= n {
			key = "other"
		}
		go func() {
			resp, _ := gw.do(t, http.MethodGet, testPrefix+"/s", http.Header{"X-Api-Key": {key}})
			statuses <- resp.StatusCode
		}()
	}
	// Let every request reach the gateway and wait on its key's call.
	deadline := time.Now().Add(5 * time.Second)
	for fn.calls.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	close(release)
	for range 2 * n {
		if s := <-statuses; s != 200 {
			t.Errorf("status %d, want 200", s)
		}
	}
	if got := fn.calls.Load(); got != 2 {
		t.Errorf("%d concurrent requests with two keys made %d calls, want 2", 2*n, got)
	}
	if got := len(backend.requests()); got != 2*n {
		t.Errorf("backend got %d requests, want %d", got, 2*n)
	}
}

// TestCustomAuthDecide: Decide never calls the function unasked, and,
// asked, neither reads nor fills the cache.
func TestCustomAuthDecide(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, byToken(map[string]string{"k": `{"active": true, "scope": ["orders:read"], "context": {"tenant": "acme"}}`}))
	gw := startCustomGateway(t, authSpec(customAuth("X-Api-Key"), httpRoute("/d", nil, backend.url(), anyOf("orders:read"))), fn, Options{})
	req := func() *http.Request {
		r, _ := http.NewRequest(http.MethodGet, testPrefix+"/d", nil)
		r.Header.Set("X-Api-Key", "k")
		return r
	}
	d := gw.g.Decide(req())
	if d.Accepted || d.Status != 0 || len(d.Unchecked) != 1 || fn.calls.Load() != 0 {
		t.Errorf("offline Decide = accepted %v, status %d, unchecked %v, calls %d; want undecided, 1 unchecked, no call",
			d.Accepted, d.Status, d.Unchecked, fn.calls.Load())
	}
	for range 2 {
		d = gw.g.DecideWith(req(), DecideOptions{CallFunctions: true})
		if !d.Accepted || d.Authorizer == nil || !d.Authorizer.Active || d.Authorizer.Context["tenant"] != "acme" {
			t.Errorf("Decide with functions = %+v, want accepted with the authorizer's answer", d)
		}
	}
	if got := fn.calls.Load(); got != 2 {
		t.Errorf("two Decide calls made %d function calls, want 2 (no cache)", got)
	}
	if n := gw.g.deployments[0].auth.(*customAuthenticator).cache.len(); n != 0 {
		t.Errorf("Decide filled the cache: %d verdicts", n)
	}
	send(t, gw.testGateway, http.MethodGet, testPrefix+"/d", http.Header{"X-Api-Key": {"k"}})
	if got := fn.calls.Load(); got != 3 {
		t.Errorf("traffic after Decide made %d calls in all, want 3", got)
	}
}

func TestCustomAuthMetrics(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, byToken(map[string]string{"k": `{"active": true}`}))
	m := NewMetrics()
	gw := startCustomGateway(t, authSpec(customAuth("X-Api-Key"), httpRoute("/m", nil, backend.url(), nil)), fn, Options{Metrics: m})
	for _, key := range []string{"k", "k", "k", "bad"} {
		send(t, gw.testGateway, http.MethodGet, testPrefix+"/m", http.Header{"X-Api-Key": {key}})
	}
	fn.setAnswer(func(map[string]any) (int, string) { return 500, "" })
	send(t, gw.testGateway, http.MethodGet, testPrefix+"/m", http.Header{"X-Api-Key": {"other"}})
	fn.setAnswer(func(map[string]any) (int, string) { return 200, "garbage" })
	send(t, gw.testGateway, http.MethodGet, testPrefix+"/m", http.Header{"X-Api-Key": {"other2"}})

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	text := rec.Body.String()
	for _, want := range []string{
		`keygate_authorizer_cache_lookups_total{deployment="/test3",result="hit"} 2`,
		`keygate_authorizer_cache_lookups_total{deployment="/test3",result="miss"} 4`,
		`keygate_authorizer_invocations_total{deployment="/test3",result="success"} 2`,
		`keygate_authorizer_invocations_total{deployment="/test3",result="failed"} 1`,
		`keygate_authorizer_invocations_total{deployment="/test3",result="unexpected"} 1`,
		`keygate_authorizer_duration_seconds_count{deployment="/test3"} 4`,
		`keygate_auth_decisions_total{deployment="/test3",outcome="deny",reason="authorizer_refused",stage="authentication"} 1`,
		`keygate_auth_decisions_total{deployment="/test3",outcome="deny",reason="authorizer_failed",stage="authentication"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestCustomAuthBodyArgumentIsBounded: a request.body argument reads at
// most 1 MiB; a larger body is 413 without a call.
func TestCustomAuthBodyArgumentIsBounded(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, func(map[string]any) (int, string) { return 200, `{"active": true}` })
	auth := map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": testAuthorizerID,
		"parameters": map[string]any{"body": "request.body"}}
	gw := startCustomGateway(t, authSpec(auth, httpRoute("/b", nil, backend.url(), nil)), fn, Options{})
	for _, tt := range []struct {
		size   int
		status int
		calls  int64
	}{{authorizerBodyLimit, 200, 1}, {authorizerBodyLimit + 1, 413, 0}} {
		calls := fn.calls.Load()
		resp, err := gw.srv.Client().Post(gw.srv.URL+testPrefix+"/b", "text/plain", strings.NewReader(strings.Repeat("x", tt.size)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status || fn.calls.Load()-calls != tt.calls {
			t.Errorf("%d bytes: status %d, %d calls; want %d, %d", tt.size, resp.StatusCode, fn.calls.Load()-calls, tt.status, tt.calls)
		}
	}
	if got := backend.requests(); len(got) != 1 || len(got[0].Body) != authorizerBodyLimit {
		t.Errorf("the backend got %d requests, want the 1 MiB one whole", len(got))
	}
}

// TestCustomAuthUnderscoreSpelling: X_Api_Key is X-Api-Key to a backend
// that folds '_' into '-' (attack R11): beside the real header it is a
// second token (401, no call); alone it is the token, and the backend
// gets it under the header's own name only.
func TestCustomAuthUnderscoreSpelling(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, byToken(map[string]string{"good": `{"active": true}`}))
	gw := startCustomGateway(t, authSpec(customAuth("X-Api-Key"), httpRoute("/u", nil, backend.url(), nil)), fn, Options{})
	r, _ := gw.raw(t, http.MethodGet, testPrefix+"/u", "X-Api-Key: good", "X_Api_Key: evil")
	if r.StatusCode != 401 || fn.calls.Load() != 0 {
		t.Errorf("two spellings: status %d after %d calls, want 401 without a call", r.StatusCode, fn.calls.Load())
	}
	n := len(backend.requests())
	r, _ = gw.raw(t, http.MethodGet, testPrefix+"/u", "X_Api_Key: good")
	if r.StatusCode != 200 {
		t.Fatalf("underscore spelling alone: status %d, want 200", r.StatusCode)
	}
	got := onlyRequestSince(t, backend, n)
	if got.Header.Get("X-Api-Key") != "good" || len(got.Header["X_Api_Key"]) != 0 {
		t.Errorf("the backend got %v, want X-Api-Key only", got.Header)
	}
}

// TestCustomAuthContextSelectsTheBackend: dynamic routing reads the
// authorizer's context like any other ${request.auth[...]}: each tenant
// goes to its own backend.
func TestCustomAuthContextSelectsTheBackend(t *testing.T) {
	acme, globex := newBackend(t), newBackend(t)
	fn := newTestAuthorizer(t, byToken(map[string]string{
		"k-acme": `{"active": true, "context": {"tenant": "acme"}}`, "k-globex": `{"active": true, "context": {"tenant": "globex"}}`,
		"k-initech": `{"active": true, "context": {"tenant": "initech"}}`}))
	route := map[string]any{"path": "/t", "backend": map[string]any{"type": "DYNAMIC_ROUTING_BACKEND",
		"selectionSource": map[string]any{"type": "SINGLE", "selector": "request.auth[tenant]"},
		"routingBackends": []any{
			map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "acme", "values": []any{"acme"}},
				"backend": map[string]any{"type": "HTTP_BACKEND", "url": acme.url()}},
			map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "globex", "values": []any{"globex"}},
				"backend": map[string]any{"type": "HTTP_BACKEND", "url": globex.url()}},
		}}}
	gw := startCustomGateway(t, authSpec(customAuth("X-Api-Key"), route), fn, Options{})
	for _, tt := range []struct {
		key    string
		status int
		to     *testBackend
	}{{"k-acme", 200, acme}, {"k-globex", 200, globex}, {"k-initech", 404, nil}} {
		na, ng := len(acme.requests()), len(globex.requests())
		r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/t", http.Header{"X-Api-Key": {tt.key}})
		if r.resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.key, r.resp.StatusCode, tt.status)
		}
		gotA, gotG := len(acme.requests())-na, len(globex.requests())-ng
		switch {
		case tt.to == acme && (gotA != 1 || gotG != 0), tt.to == globex && (gotA != 0 || gotG != 1), tt.to == nil && gotA+gotG != 0:
			t.Errorf("%s: acme got %d, globex %d", tt.key, gotA, gotG)
		}
	}
}

// A CUSTOM_AUTHENTICATION server of dynamicAuthentication (§7) is selected
// and answers as the deployment's own authentication would: its context
// reaches the backend; the other server's tokens mean nothing to it.
func TestCustomAuthAsADynamicAuthenticationServer(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, byToken(map[string]string{
		"key-acme": `{"active": true, "scope": ["orders:read"], "context": {"tenant": "acme"}}`,
	}))
	key := newRSAKey(t, "static-1")
	spec := authSpec(nil, tenantRoute("/any", backend.url(), nil))
	spec["requestPolicies"] = map[string]any{"dynamicAuthentication": map[string]any{
		"selectionSource": map[string]any{"type": "SINGLE", "selector": "request.headers[X-Kind]"},
		"authenticationServers": []any{
			map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "apikey", "values": []any{"key"}},
				"authenticationServerDetail": customAuth("X-Api-Key")},
			map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "jwt", "values": []any{"jwt"}},
				"authenticationServerDetail": jwtAuth(key.staticJWK(t))},
		},
	}}
	gw := startCustomGateway(t, spec, fn, Options{})
	jwt := key.sign(t, validClaims(time.Now()))
	tests := []struct {
		name   string
		header http.Header
		status int
		calls  int64
		tenant string
	}{
		{"authorizer selected and accepting", http.Header{"X-Kind": {"key"}, "X-Api-Key": {"key-acme"}}, 200, 1, "acme"},
		{"authorizer selected and refusing", http.Header{"X-Kind": {"key"}, "X-Api-Key": {"key-other"}}, 401, 1, ""},
		{"authorizer selected, JWT given", http.Header{"X-Kind": {"key"}, "Authorization": {"Bearer " + jwt}}, 401, 0, ""},
		{"JWT server selected", http.Header{"X-Kind": {"jwt"}, "Authorization": {"Bearer " + jwt}}, 200, 0, ""},
		{"JWT server selected, API key given", http.Header{"X-Kind": {"jwt"}, "X-Api-Key": {"key-acme"}}, 401, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, reqs := fn.calls.Load(), len(backend.requests())
			r := send(t, gw.testGateway, http.MethodGet, testPrefix+"/any", tt.header)
			if r.resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", r.resp.StatusCode, tt.status, r.body)
			}
			if got := fn.calls.Load() - calls; got != tt.calls {
				t.Errorf("function calls = %d, want %d", got, tt.calls)
			}
			if tt.status != 200 {
				return
			}
			if got := onlyRequestSince(t, backend, reqs).Header.Get("X-Tenant"); got != tt.tenant {
				t.Errorf("backend's X-Tenant = %q, want %q", got, tt.tenant)
			}
		})
	}
}

// TestCustomAuthMultiArgumentUnderscoreSpelling: a multi-argument
// authorizer's header argument read under its own spelling only would let
// X_Api_Key reach a backend that folds '_' into '-' (CGI, WSGI) without the
// function seeing it (attack R11). The function is asked about every
// spelling's values, and the backend gets them under the argument's name.
func TestCustomAuthMultiArgumentUnderscoreSpelling(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, func(in map[string]any) (int, string) {
		data, _ := in["data"].(map[string]any)
		if data["xapikey"] == "k1" {
			return 200, `{"active": true}`
		}
		return 200, `{"active": false}`
	})
	auth := map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": testAuthorizerID,
		"parameters": map[string]any{"xapikey": "request.headers[X-Api-Key]"}}
	gw := startCustomGateway(t, authSpec(auth, httpRoute("/u", nil, backend.url(), nil)), fn, Options{})

	// Beside the verified spelling: the function sees both values and
	// refuses; nothing reaches the backend.
	n := len(backend.requests())
	r, _ := gw.raw(t, http.MethodGet, testPrefix+"/u", "X-Api-Key: k1", "X_Api_Key: victim")
	if r.StatusCode != 401 || len(backend.requests()) != n {
		t.Errorf("X-Api-Key k1 beside X_Api_Key victim: status %d, backend requests %d; want 401 and none",
			r.StatusCode, len(backend.requests())-n)
	}
	if got := fn.lastInput(t)["data"]; !reflect.DeepEqual(got, map[string]any{"xapikey": []any{"k1", "victim"}}) {
		t.Errorf("function input data = %v, want both spellings' values", got)
	}

	// Alone, the underscore spelling is the argument: what the function
	// accepted reaches the backend under the argument's own name.
	r, _ = gw.raw(t, http.MethodGet, testPrefix+"/u", "X_Api_Key: k1")
	if r.StatusCode != 200 {
		t.Fatalf("underscore spelling alone: status %d, want 200", r.StatusCode)
	}
	got := onlyRequestSince(t, backend, n)
	if got.Header.Get("X-Api-Key") != "k1" || len(got.Header["X_Api_Key"]) != 0 {
		t.Errorf("the backend got %v, want X-Api-Key k1 only", got.Header)
	}
}

// TestCustomAuthBodyInCacheKey: a function that checks a signature over
// the body is asked again for another body when cacheKey names the body
// argument (by default the body is no part of the key).
func TestCustomAuthBodyInCacheKey(t *testing.T) {
	backend := newBackend(t)
	fn := newTestAuthorizer(t, func(in map[string]any) (int, string) {
		data, _ := in["data"].(map[string]any)
		if data["sig"] == "sig-of-one" && data["body"] == "one" {
			return 200, `{"active": true}`
		}
		return 200, `{"active": false}`
	})
	auth := map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": testAuthorizerID,
		"parameters": map[string]any{"sig": "request.headers[X-Signature]", "body": "request.body"},
		"cacheKey":   []any{"sig", "body"}}
	gw := startCustomGateway(t, authSpec(auth, httpRoute("/s", nil, backend.url(), nil)), fn, Options{})
	for _, tc := range []struct {
		body   string
		status int
	}{{"one", 200}, {"one", 200}, {"two", 401}} {
		req, _ := http.NewRequest(http.MethodPost, gw.srv.URL+testPrefix+"/s", strings.NewReader(tc.body))
		req.Header.Set("X-Signature", "sig-of-one")
		resp, err := gw.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("body %q with one's signature: status %d, want %d", tc.body, resp.StatusCode, tc.status)
		}
	}
	if got := fn.calls.Load(); got != 2 {
		t.Errorf("the function was called %d times, want 2 (one per body)", got)
	}
}
