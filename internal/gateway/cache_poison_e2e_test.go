package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// TestCachePoisoning: an attacker's request fills the cache first; the
// victim's plain request afterwards must not get a response shaped by
// anything the attacker sent that the key does not hold.
func TestCachePoisoning(t *testing.T) {
	rig := newCacheRig(t)
	tests := []struct {
		name string
		// attacker's path and headers; the victim asks victim (default
		// the attacker's path) without headers.
		path   string
		header http.Header
		victim string
		// shared: the gateway drops what the attacker added before the
		// backend, so the victim may get the attacker's entry (it is what
		// the victim's own request would have got); else it must not.
		shared bool
	}{
		{"X-Forwarded-Host", "/c/pub/p1", http.Header{"X-Forwarded-Host": {"evil.example"}}, "", true},
		{"X-Original-URL", "/c/pub/p2", http.Header{"X-Original-Url": {"/evil"}, "X-Rewrite-Url": {"/evil"}}, "", true},
		{"X-Forwarded-Prefix and -Proto", "/c/pub/p3", http.Header{"X-Forwarded-Prefix": {"/evil"}, "X-Forwarded-Proto": {"evil"}}, "", true},
		{"underscore spelling", "/c/pub/p4", http.Header{"X_Forwarded_Host": {"evil.example"}}, "", true},
		{"Host", "/c/pub/p5", http.Header{"Host": {"evil.example"}}, "", false},
		{"Host with port", "/c/pub/p6", http.Header{"Host": {"evil.example:80"}}, "", false},
		{"path case", "/c/pub/P7", nil, "/c/pub/p7", false},
		{"trailing slash", "/c/pub/p8/", nil, "/c/pub/p8", false},
		{"encoded letter", "/c/pub/%70%39", nil, "/c/pub/p9", false},
		{"encoded slash", "/c/pub/x%2Fy", nil, "/c/pub/x/y", false},
		{"double slash", "/c/pub//p10", nil, "/c/pub/p10", false},
		{"dot segment", "/c/pub/evil/../p11", nil, "/c/pub/p11", false},
		{"encoded dot segment", "/c/pub/evil/%2e%2e/p12", nil, "/c/pub/p12", false},
		{"query order", "/c/pub/q1?b=2&a=1", nil, "/c/pub/q1?a=1&b=2", false},
		{"duplicate parameter", "/c/pub/q2?a=1&a=evil", nil, "/c/pub/q2?a=1", false},
		{"query encoding", "/c/pub/q3?a=%31", nil, "/c/pub/q3?a=1", false},
		{"parameter the backend reads", "/c/pub/q4?debug=evil", nil, "/c/pub/q4", false},
		{"empty query", "/c/pub/q5?", nil, "/c/pub/q5", false},
		{"key addition", "/c/lang?k=1", http.Header{"Accept-Language": {"evil"}}, "", false},
		{"key addition with '_'", "/c/lang?k=2", http.Header{"Accept_Language": {"evil"}}, "", false},
		{"key addition twice", "/c/lang?k=3", http.Header{"Accept-Language": {"", "evil"}}, "", false},
		{"vary", "/c/pub/vary", http.Header{"Accept-Language": {"evil"}}, "", false},
		{"compressed body without Vary", "/c/pub/gzip", http.Header{"Accept-Encoding": {"gzip"}}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attack := rig.send(t, "GET", tc.path, tc.header)
			victimPath := tc.victim
			if victimPath == "" {
				victimPath = tc.path
			}
			victim := rig.send(t, "GET", victimPath, nil)
			if victim.state == "HIT" && !tc.shared || strings.Contains(victim.body, "evil") {
				t.Errorf("victim GET %s after attacker %s %v (%d %q): %q %q, want a fresh response without the attacker's values",
					victimPath, tc.path, tc.header, attack.status, attack.state, victim.state, victim.body)
			}
			if again := rig.send(t, "GET", victimPath, nil); victim.status == 200 && (again.state != "HIT" || again.body != victim.body) {
				t.Errorf("victim's second request: %q %q, want a HIT of %q", again.state, again.body, victim.body)
			}
		})
	}
}

// TestCacheRequestBodyBypasses: a GET with a body (a search a backend
// reads) is answered by the backend and stored for no one.
func TestCacheRequestBodyBypasses(t *testing.T) {
	rig := newCacheRig(t)
	expect(t, "GET with a body", rig.sendBody(t, "GET", "/c/pub/search", nil, `{"q": "evil"}`), 200, "BYPASS", `body={"q": "evil"}`)
	plain := rig.send(t, "GET", "/c/pub/search", nil)
	expect(t, "GET without", plain, 200, "MISS", "")
	if !strings.HasSuffix(plain.body, " body=") {
		t.Errorf("GET without a body got %q, an answer to another's body", plain.body)
	}
	expect(t, "GET with a body after", rig.sendBody(t, "GET", "/c/pub/search", nil, `{"q": "x"}`), 200, "BYPASS", `body={"q": "x"}`)
	if !strings.Contains(rig.metricsText(), `keygate_response_cache_bypasses_total{deployment="/c",reason="body"} 2`) {
		t.Error("/metrics does not count 2 bypasses for a body")
	}
}
