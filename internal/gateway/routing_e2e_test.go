package gateway

import (
	"encoding/json"
	"net/http"
	"testing"
)

// Routing end to end: which route (and so which backend path) a request
// reaches, and the 404/405 answers when none does.

// routedPath sends method path to gw and returns the status and the path
// the backend received, "" when nothing was forwarded.
func routedPath(t *testing.T, gw *testGateway, b *testBackend, method, path string) (int, string) {
	t.Helper()
	before := len(b.requests())
	resp, _ := gw.do(t, method, path, nil)
	got := requestsSince(b, before)
	switch len(got) {
	case 0:
		return resp.StatusCode, ""
	case 1:
		if got[0].Method != method {
			t.Errorf("backend method = %q, want %q", got[0].Method, method)
		}
		return resp.StatusCode, got[0].Path
	}
	t.Fatalf("backend received %d requests for one call, want at most 1", len(got))
	return 0, ""
}

type routeCase struct {
	name, method, path string
	wantStatus         int
	wantBackend        string // "" for not forwarded
}

func runRouteCases(t *testing.T, gw *testGateway, b *testBackend, cases []routeCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			status, path := routedPath(t, gw, b, method, tt.path)
			if status != tt.wantStatus {
				t.Errorf("%s %s: status = %d, want %d", method, tt.path, status, tt.wantStatus)
			}
			if path != tt.wantBackend {
				t.Errorf("%s %s: backend path = %q, want %q", method, tt.path, path, tt.wantBackend)
			}
		})
	}
}

func TestRoutingParameters(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(
		httpRoute("/hello/{name}", nil, b.url()+"/h/${request.path[name]}", nil),
		httpRoute("/files/{rest*}", nil, b.url()+"/f/${request.path[rest]}", nil),
		httpRoute("/pair/{a}/{b}", nil, b.url()+"/p/${request.path[b]}/${request.path[a]}", nil),
	), nil)
	runRouteCases(t, gw, b, []routeCase{
		{name: "param one segment", path: "/test3/hello/world", wantStatus: 200, wantBackend: "/h/world"},
		{name: "param no segment", path: "/test3/hello", wantStatus: 404},
		{name: "param empty segment", path: "/test3/hello/", wantStatus: 404},
		{name: "param two segments", path: "/test3/hello/a/b", wantStatus: 404},
		{name: "two params", path: "/test3/pair/x/y", wantStatus: 200, wantBackend: "/p/y/x"},
		{name: "wildcard zero segments", path: "/test3/files", wantStatus: 200, wantBackend: "/f/"},
		{name: "wildcard zero segments trailing slash", path: "/test3/files/", wantStatus: 200, wantBackend: "/f/"},
		{name: "wildcard one segment", path: "/test3/files/a", wantStatus: 200, wantBackend: "/f/a"},
		{name: "wildcard many segments", path: "/test3/files/a/b/c", wantStatus: 200, wantBackend: "/f/a/b/c"},
		{name: "wildcard keeps trailing slash", path: "/test3/files/a/b/", wantStatus: 200, wantBackend: "/f/a/b/"},
		{name: "wildcard needs its literal", path: "/test3/filesx/a", wantStatus: 404},
	})
}

func TestRoutingPrecedence(t *testing.T) {
	wildcard := func(url string) map[string]any { return httpRoute("/items/{rest*}", nil, url+"/wildcard", nil) }
	param := func(url string) map[string]any { return httpRoute("/items/{id}", nil, url+"/param", nil) }
	literal := func(url string) map[string]any { return httpRoute("/items/special", nil, url+"/literal", nil) }
	orders := []struct {
		name  string
		build func(url string) []map[string]any
	}{
		{"least specific first", func(u string) []map[string]any { return []map[string]any{wildcard(u), param(u), literal(u)} }},
		{"most specific first", func(u string) []map[string]any { return []map[string]any{literal(u), param(u), wildcard(u)} }},
		{"mixed", func(u string) []map[string]any { return []map[string]any{param(u), wildcard(u), literal(u)} }},
	}
	for _, order := range orders {
		t.Run(order.name, func(t *testing.T) {
			b := newBackend(t)
			routes := append(order.build(b.url()),
				httpRoute("/tie/{first}", nil, b.url()+"/first", nil),
				httpRoute("/tie/{second}", nil, b.url()+"/second", nil),
				httpRoute("/deep/{x}/c", nil, b.url()+"/param-then-literal", nil),
				httpRoute("/deep/b/{y*}", nil, b.url()+"/literal-then-wildcard", nil),
			)
			gw := startGateway(t, testPrefix, routesSpec(routes...), nil)
			runRouteCases(t, gw, b, []routeCase{
				{name: "literal wins", path: "/test3/items/special", wantStatus: 200, wantBackend: "/literal"},
				{name: "param over wildcard", path: "/test3/items/42", wantStatus: 200, wantBackend: "/param"},
				{name: "wildcard for many segments", path: "/test3/items/special/more", wantStatus: 200, wantBackend: "/wildcard"},
				{name: "wildcard for no segment", path: "/test3/items", wantStatus: 200, wantBackend: "/wildcard"},
				{name: "tie goes to the first", path: "/test3/tie/x", wantStatus: 200, wantBackend: "/first"},
				{name: "earlier literal segment wins", path: "/test3/deep/b/c", wantStatus: 200, wantBackend: "/literal-then-wildcard"},
				{name: "param route where only it matches", path: "/test3/deep/z/c", wantStatus: 200, wantBackend: "/param-then-literal"},
			})
		})
	}
}

func TestRoutingMethods(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(
		httpRoute("/m", []string{"get", "Post"}, b.url()+"/m-get-post", nil),
		httpRoute("/m", []string{"DELETE"}, b.url()+"/m-delete", nil),
		httpRoute("/any", []string{"ANY"}, b.url()+"/any", nil),
		httpRoute("/any-lower", []string{"any"}, b.url()+"/any-lower", nil),
		httpRoute("/absent", nil, b.url()+"/absent", nil),
	), nil)
	cases := []routeCase{
		{name: "lower-case spec method", method: "GET", path: "/test3/m", wantStatus: 200, wantBackend: "/m-get-post"},
		{name: "mixed-case spec method", method: "POST", path: "/test3/m", wantStatus: 200, wantBackend: "/m-get-post"},
		{name: "second route same path", method: "DELETE", path: "/test3/m", wantStatus: 200, wantBackend: "/m-delete"},
	}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		cases = append(cases,
			routeCase{name: "ANY " + m, method: m, path: "/test3/any", wantStatus: 200, wantBackend: "/any"},
			routeCase{name: "lower-case any " + m, method: m, path: "/test3/any-lower", wantStatus: 200, wantBackend: "/any-lower"},
			routeCase{name: "absent methods " + m, method: m, path: "/test3/absent", wantStatus: 200, wantBackend: "/absent"},
		)
	}
	runRouteCases(t, gw, b, cases)

	notAllowed := []struct {
		name, method, path, wantAllow string
	}{
		{"union of the matching routes", "PUT", "/test3/m", "DELETE, GET, POST"},
		{"HEAD is not GET", "HEAD", "/test3/m", "DELETE, GET, POST"},
		{"TRACE is not in ANY", "TRACE", "/test3/any", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"},
		{"request methods are case-sensitive", "get", "/test3/any", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"},
	}
	for _, tt := range notAllowed {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.requests())
			resp, body := gw.raw(t, tt.method, tt.path)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("%s %s: status = %d, want 405", tt.method, tt.path, resp.StatusCode)
			}
			if got := resp.Header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			if tt.method != "HEAD" {
				assertErrorBody(t, body, 405)
			}
			if got := requestsSince(b, before); len(got) != 0 {
				t.Errorf("backend received %d requests, want 0", len(got))
			}
		})
	}
	assertLogReason(t, gw, "method_not_allowed")
}

func TestRoutingNotFound(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(
		httpRoute("/hello", nil, b.url()+"/hello", nil),
	), nil)
	for _, path := range []string{
		"/test3/nope",
		"/test3/hello/more",
		"/other/hello",
		"/",
		"/test3extra/hello", // the prefix ends on a segment boundary
		"/TEST3/hello",      // prefixes are case-sensitive
		"/test3/HELLO",      // literals are case-sensitive
	} {
		t.Run(path, func(t *testing.T) {
			resp, body := gw.do(t, http.MethodGet, path, nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status = %d, want 404", resp.StatusCode)
			}
			assertErrorBody(t, body, 404)
			if resp.Header.Get("Allow") != "" {
				t.Errorf("a 404 carries Allow %q", resp.Header.Get("Allow"))
			}
		})
	}
	if got := len(b.requests()); got != 0 {
		t.Errorf("backend received %d requests, want 0", got)
	}
	assertLogReason(t, gw, "no_route")
}

func TestRoutingNestedDeployments(t *testing.T) {
	b := newBackend(t)
	// /api is listed first: the longer prefix must still win.
	gw := startDeployments(t,
		deploymentSpec{"/api", routesSpec(httpRoute("/{p*}", nil, b.url()+"/api-dep/${request.path[p]}", nil))},
		deploymentSpec{"/api/v2", routesSpec(
			httpRoute("/known/{p*}", nil, b.url()+"/v2-dep/${request.path[p]}", nil),
			httpRoute("/", nil, b.url()+"/v2-root", nil),
		)},
	)
	runRouteCases(t, gw, b, []routeCase{
		{name: "longest prefix wins", path: "/api/v2/known/x", wantStatus: 200, wantBackend: "/v2-dep/x"},
		{name: "the prefix itself", path: "/api/v2", wantStatus: 200, wantBackend: "/v2-root"},
		{name: "the prefix with slash", path: "/api/v2/", wantStatus: 200, wantBackend: "/v2-root"},
		{name: "no fallback to the shorter prefix", path: "/api/v2/unknown", wantStatus: 404},
		{name: "prefix only on a segment boundary", path: "/api/v2x/known", wantStatus: 200, wantBackend: "/api-dep/v2x/known"},
		{name: "shorter prefix", path: "/api/v1/x", wantStatus: 200, wantBackend: "/api-dep/v1/x"},
		{name: "shorter prefix itself", path: "/api", wantStatus: 200, wantBackend: "/api-dep/"},
		{name: "outside every deployment", path: "/apis/x", wantStatus: 404},
	})
}

func TestRoutingTrailingSlash(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(
		httpRoute("/hello/", nil, b.url()+"/slash", nil),
		httpRoute("/hello", nil, b.url()+"/no-slash", nil),
		httpRoute("/only", nil, b.url()+"/only", nil),
		httpRoute("/dir/", nil, b.url()+"/dir", nil),
	), nil)
	runRouteCases(t, gw, b, []routeCase{
		{name: "without slash", path: "/test3/hello", wantStatus: 200, wantBackend: "/no-slash"},
		{name: "with slash", path: "/test3/hello/", wantStatus: 200, wantBackend: "/slash"},
		{name: "slash route absent", path: "/test3/only/", wantStatus: 404},
		{name: "plain route absent", path: "/test3/dir", wantStatus: 404},
		{name: "slash route", path: "/test3/dir/", wantStatus: 200, wantBackend: "/dir"},
	})
}

// assertErrorBody checks the generic JSON error body.
func assertErrorBody(t *testing.T, body string, wantCode int) {
	t.Helper()
	var got struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	if got.Code != wantCode || got.Message != http.StatusText(wantCode) {
		t.Errorf("error body = %+v, want code %d message %q", got, wantCode, http.StatusText(wantCode))
	}
}

// assertLogReason checks that some execution log line carries reason.
func assertLogReason(t *testing.T, gw *testGateway, reason string) {
	t.Helper()
	for _, line := range gw.log.lines(t) {
		if line["reason"] == reason {
			return
		}
	}
	t.Errorf("no log line with reason %q in:\n%s", reason, gw.log.String())
}
