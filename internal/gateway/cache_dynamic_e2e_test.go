package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// TestCacheDynamicRoutingSelector: a DYNAMIC_ROUTING_BACKEND whose
// selector is a request header picks the backend per request, so the
// header is part of the key (as a header in a backend url is): one
// tenant's cached response never answers another tenant's request, nor
// one the default backend would answer.
func TestCacheDynamicRoutingSelector(t *testing.T) {
	rig := newCacheRig(t, func(b string) map[string]any {
		r := cachedRoute("/tenant", b, anonymous, lookupPolicy(false))
		r["backend"] = map[string]any{"type": "DYNAMIC_ROUTING_BACKEND",
			"selectionSource": map[string]any{"type": "SINGLE", "selector": "request.headers[X-Tenant]"},
			"routingBackends": []any{
				map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "a", "values": []any{"a"}},
					"backend": map[string]any{"type": "HTTP_BACKEND", "url": b + "/echo/tenant-a"}},
				map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "b", "values": []any{"b"}},
					"backend": map[string]any{"type": "HTTP_BACKEND", "url": b + "/echo/tenant-b/${request.headers[X-Region]}"}},
				map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "rest", "isDefault": true},
					"backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "default"}},
			}}
		return r
	})
	expect(t, "tenant a", rig.send(t, "GET", "/c/tenant", http.Header{"X-Tenant": {"a"}}), 200, "MISS", "tenant-a")
	expect(t, "tenant a again", rig.send(t, "GET", "/c/tenant", http.Header{"X-Tenant": {"a"}}), 200, "HIT", "tenant-a")
	for _, h := range []http.Header{
		{"X-Tenant": {"b"}, "X-Region": {"eu"}},
		{"X-Tenant": {"b"}, "X-Region": {"us"}},
		{},
		{"X-Tenant": {"A"}}, // ANY_OF matches case-insensitively: tenant a's backend, its own key
	} {
		got := rig.send(t, "GET", "/c/tenant", h)
		if got.state == "HIT" {
			t.Errorf("%v after tenant a: a HIT (%q), want the request's own backend", h, got.body)
		}
		if region := h.Get("X-Region"); region != "" && !strings.Contains(got.body, "tenant-b/"+region) {
			t.Errorf("%v: body %q, want tenant b's backend for %s", h, got.body, region)
		}
	}
}
