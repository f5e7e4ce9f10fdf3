package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCacheHeadersSetByTransformations: the key is that of the request
// the backend receives, so a header a transformation sets (from a client
// header) or renames is part of it: tenant a's entry never answers tenant
// b, whose backend request differs only in that header.
func TestCacheHeadersSetByTransformations(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "tenant="+r.Header.Get("X-Backend-Tenant")+" region="+r.Header.Get("X-Backend-Region"))
	}))
	t.Cleanup(echo.Close)
	rig := newCacheRig(t, func(string) map[string]any {
		r := cachedRoute("/transformed", echo.URL, anonymous, lookupPolicy(false))
		r["requestPolicies"].(map[string]any)["headerTransformations"] = map[string]any{
			"setHeaders":    map[string]any{"items": []any{map[string]any{"name": "X-Backend-Tenant", "values": []any{"t-${request.headers[X-Tenant]}"}}}},
			"renameHeaders": map[string]any{"items": []any{map[string]any{"from": "X-Region", "to": "X-Backend-Region"}}},
			"filterHeaders": map[string]any{"type": "BLOCK", "items": []any{map[string]any{"name": "X-Tenant"}}},
		}
		return r
	})
	expect(t, "tenant a", rig.send(t, "GET", "/c/transformed", http.Header{"X-Tenant": {"a"}, "X-Region": {"eu"}}), 200, "MISS", "tenant=t-a region=eu")
	expect(t, "tenant a again", rig.send(t, "GET", "/c/transformed", http.Header{"X-Tenant": {"a"}, "X-Region": {"eu"}}), 200, "HIT", "tenant=t-a region=eu")
	for _, h := range []http.Header{
		{"X-Tenant": {"b"}, "X-Region": {"eu"}},
		{"X-Tenant": {"a"}, "X-Region": {"us"}},
		{"X-Tenant": {"a"}},
	} {
		got := rig.send(t, "GET", "/c/transformed", h)
		if got.state == "HIT" || strings.Contains(got.body, "t-a region=eu") {
			t.Errorf("%v after tenant a in eu: %q %q, want the request's own answer", h, got.state, got.body)
		}
	}
}
