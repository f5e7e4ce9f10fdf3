package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

func TestDynamicRouting(t *testing.T) {
	backend := newBackend(t)
	socket := fnSocket(t, fnEcho)
	routing := func(withDefault bool) map[string]any {
		rbs := []any{
			map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "v1", "values": []any{"v1", "Version-1"}},
				"backend": map[string]any{"type": "HTTP_BACKEND", "url": backend.url() + "/legacy"}},
			map[string]any{"key": map[string]any{"type": "WILDCARD", "name": "betas", "expression": "beta-*"},
				"backend": map[string]any{"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "fn-beta"}},
			map[string]any{"key": map[string]any{"type": "WILDCARD", "name": "labs", "expression": "+.lab"},
				"backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 203, "body": "lab"}},
		}
		if withDefault {
			rbs = append(rbs, map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "rest", "isDefault": true},
				"backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "default"}})
		}
		return map[string]any{"type": "DYNAMIC_ROUTING_BACKEND",
			"selectionSource": map[string]any{"type": "SINGLE", "selector": "request.headers[X-Version]"},
			"routingBackends": rbs}
	}
	spec := routesSpec(
		map[string]any{"path": "/d", "backend": routing(true)},
		map[string]any{"path": "/strict", "backend": routing(false)},
	)
	tg, g := functionGateway(t, spec, []config.Function{{ID: "fn-beta", Listener: "unix:" + socket, TimeoutMillis: 2000}})
	for _, tc := range []struct {
		path, version string
		status        int
		body, key     string
	}{
		{"/fn/d", "v1", 200, "backend ok", "v1"},
		{"/fn/d", "VERSION-1", 200, "backend ok", "v1"},
		{"/fn/d", "beta-2", 200, "", "betas"},
		{"/fn/d", "Beta-2", 200, "default", "rest (default)"},
		{"/fn/d", "x.lab", 203, "lab", "labs"},
		{"/fn/d", ".lab", 200, "default", "rest (default)"},
		{"/fn/d", "", 200, "default", "rest (default)"},
		{"/fn/strict", "v2", 404, "", ""},
		{"/fn/strict", "beta-", 200, "", "betas"},
	} {
		t.Run(tc.path+" "+tc.version, func(t *testing.T) {
			h := http.Header{}
			if tc.version != "" {
				h.Set("X-Version", tc.version)
			}
			resp, body := tg.do(t, "GET", tc.path, h)
			if resp.StatusCode != tc.status || tc.body != "" && body != tc.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if tc.key == "betas" && resp.Header.Get("X-Url") != tc.path {
				t.Errorf("the function got url %q, want %q", resp.Header.Get("X-Url"), tc.path)
			}
			req := httptest.NewRequest("GET", tc.path, nil)
			req.Header = h
			d := g.Decide(req)
			if d.RoutingKey != tc.key || d.Accepted != (tc.status != 404) {
				t.Errorf("Decide: accepted %v, key %q, want key %q", d.Accepted, d.RoutingKey, tc.key)
			}
			if tc.status == 404 && d.Code != "dynamicRouting.backendRejected" {
				t.Errorf("Decide code %q, want dynamicRouting.backendRejected", d.Code)
			}
		})
	}
	if got := backend.requests(); len(got) != 2 || got[0].Path != "/legacy" {
		t.Errorf("the HTTP backend got %+v, want two requests to /legacy", got)
	}
}
