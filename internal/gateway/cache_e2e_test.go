package gateway

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keygate/keygate/internal/keys"
)

func TestCacheHitMissAndMethods(t *testing.T) {
	rig := newCacheRig(t)
	expect(t, "backend's own X-Cache-Status", rig.send(t, "GET", "/c/pub/own-status", nil), 200, "MISS", "n=1")
	expect(t, "backend's own X-Cache-Status again", rig.send(t, "GET", "/c/pub/own-status", nil), 200, "HIT", "n=1")
	rig.backend.count.Store(0)
	expect(t, "first GET", rig.send(t, "GET", "/c/pub/a", nil), 200, "MISS", "n=1 method=GET uri=/echo/a")
	hit := rig.send(t, "GET", "/c/pub/a", nil)
	expect(t, "second GET", hit, 200, "HIT", "n=1 method=GET")
	if hit.header.Get("Age") == "" || hit.header.Get("Content-Type") != "text/plain" || hit.header.Get(requestIDHeader) == "" {
		t.Errorf("HIT headers: %v", hit.header)
	}
	// HEAD has its own entry: it is never answered with a GET's body, nor
	// a GET with a HEAD's empty one.
	expect(t, "first HEAD", rig.send(t, "HEAD", "/c/pub/a", nil), 200, "MISS", "")
	if got := rig.send(t, "HEAD", "/c/pub/a", nil); got.state != "HIT" || got.body != "" {
		t.Errorf("second HEAD: %q body %q, want HIT and no body", got.state, got.body)
	}
	expect(t, "OPTIONS", rig.send(t, "OPTIONS", "/c/pub/a", nil), 200, "MISS", "method=OPTIONS")
	expect(t, "OPTIONS again", rig.send(t, "OPTIONS", "/c/pub/a", nil), 200, "HIT", "method=OPTIONS")
	// Other methods reach the backend without a word from the cache.
	expect(t, "POST", rig.send(t, "POST", "/c/pub/a", nil), 200, "", "method=POST")
	expect(t, "GET after POST", rig.send(t, "GET", "/c/pub/a", nil), 200, "HIT", "n=1 method=GET")
	// Routes without (or with disabled) caching say nothing of it.
	expect(t, "route without cache", rig.send(t, "GET", "/c/none/a", nil), 200, "", "")
	expect(t, "isEnabled false", rig.send(t, "GET", "/c/off/a", nil), 200, "", "")
	if n := rig.backend.count.Load(); n != 6 {
		t.Errorf("the backend saw %d requests, want 6", n)
	}
	m := rig.metricsText()
	for _, want := range []string{
		`keygate_response_cache_lookups_total{deployment="/c",result="hit"} 5`,
		`keygate_response_cache_lookups_total{deployment="/c",result="miss"} 4`,
		`keygate_response_cache_stores_total{deployment="/c",result="stored"} 4`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(rig.logs.String(), `"cache":"HIT"`) || !strings.Contains(rig.logs.String(), codeCacheStored) {
		t.Error("the access log or the debug log does not say HIT / stored")
	}
}

// TestCacheNeverServesARefusedCaller: the lookup comes after
// authentication and authorization, so a cached response does not reach
// a caller the route refuses.
func TestCacheNeverServesARefusedCaller(t *testing.T) {
	rig := newCacheRig(t)
	admin := rig.token(t, "alice", "admin")
	expect(t, "admin stores", rig.send(t, "GET", "/c/admin/report", admin), 200, "MISS", "")
	expect(t, "admin hits", rig.send(t, "GET", "/c/admin/report", admin), 200, "HIT", "")
	for name, h := range map[string]http.Header{
		"no token":         nil,
		"expired token":    bearer(rig.key.sign(t, claimsAt(map[string]any{"sub": "alice", "scope": "admin", "exp": fixedNow.Add(-time.Hour).Unix()}))),
		"tampered token":   bearer(tamperSignature(admin.Get("Authorization")[len("Bearer "):])),
		"other scope":      rig.token(t, "bob", "orders:read"),
		"same sub, no scp": rig.token(t, "alice", "orders:read"),
	} {
		got := rig.send(t, "GET", "/c/admin/report", h)
		if got.status != http.StatusUnauthorized && got.status != http.StatusForbidden || got.state != "" || strings.Contains(got.body, "n=") {
			t.Errorf("%s: %d %q %q, want 401/403 without the cached response", name, got.status, got.state, got.body)
		}
	}
	if n := rig.backend.count.Load(); n != 1 {
		t.Errorf("the backend saw %d requests, want 1", n)
	}
}

// TestCachePrivateNoCrossPrincipalLeak: with private caching each
// credential has its entries; without it, a request with any credential
// bypasses the cache both ways.
func TestCachePrivateNoCrossPrincipalLeak(t *testing.T) {
	rig := newCacheRig(t)
	alice, bob := rig.token(t, "alice", "orders:read"), rig.token(t, "bob", "orders:read")
	a1 := rig.send(t, "GET", "/c/priv/me", alice)
	b1 := rig.send(t, "GET", "/c/priv/me", bob)
	expect(t, "alice first", a1, 200, "MISS", "n=1")
	expect(t, "bob first", b1, 200, "MISS", "n=2")
	expect(t, "alice again", rig.send(t, "GET", "/c/priv/me", alice), 200, "HIT", a1.body)
	expect(t, "bob again", rig.send(t, "GET", "/c/priv/me", bob), 200, "HIT", b1.body)
	// Another token of the same subject is another credential.
	alice2 := bearer(rig.key.sign(t, claimsAt(map[string]any{"sub": "alice", "scope": "orders:read", "jti": "2"})))
	expect(t, "alice's other token", rig.send(t, "GET", "/c/priv/me", alice2), 200, "MISS", "n=3")

	// A non-private route: an anonymous entry is never served to a caller
	// with a credential, nor is a credentialed response stored for others.
	expect(t, "alice on a public route", rig.send(t, "GET", "/c/pub/me", alice), 200, "BYPASS", "n=4")
	expect(t, "anonymous after alice", rig.send(t, "GET", "/c/pub/me", nil), 200, "MISS", "cred=none")
	expect(t, "anonymous again", rig.send(t, "GET", "/c/pub/me", nil), 200, "HIT", "cred=none")
	expect(t, "bob after anonymous", rig.send(t, "GET", "/c/pub/me", bob), 200, "BYPASS", "n=6")
	expect(t, "cookie", rig.send(t, "GET", "/c/pub/me", http.Header{"Cookie": {"session=bob"}}), 200, "BYPASS", "cookie=session=bob")
	// A credential the deployment's authentication does not take never
	// reaches the backend (it is scrubbed), so the anonymous entry is right.
	expect(t, "basic credentials", rig.send(t, "GET", "/c/pub/me", http.Header{"Authorization": {"Basic Ym9iOnB3"}}), 200, "HIT", "cred=none")
	if !strings.Contains(rig.metricsText(), `keygate_response_cache_bypasses_total{deployment="/c",reason="credential"} 3`) {
		t.Error("/metrics does not count 3 bypasses for a credential")
	}
}

// TestCacheStoresOnlyWhatItMay: statuses, cookies, the backend's
// Cache-Control no-store and private, Vary: * and bodies over the bound.
func TestCacheStoresOnlyWhatItMay(t *testing.T) {
	rig := newCacheRig(t)
	tests := []struct {
		path, second, why string
		status            int
	}{
		{"/c/pub/setcookie", "MISS", notStoredSetCookie, 200},
		{"/c/pub/nostore", "MISS", notStoredNoStore, 200},
		{"/c/pub/private", "MISS", notStoredNoStore, 200},
		{"/c/pub/varystar", "MISS", notStoredVary, 200},
		{"/c/pub/teapot", "MISS", notStoredStatus, http.StatusTeapot},
		{"/c/pub/big", "MISS", notStoredTooLarge, 200},
		{"/c/pub/gone", "HIT", "", http.StatusGone},
	}
	for _, tc := range tests {
		first := rig.send(t, "GET", tc.path, nil)
		expect(t, tc.path, first, tc.status, "MISS", "")
		second := rig.send(t, "GET", tc.path, nil)
		expect(t, tc.path+" again", second, tc.status, tc.second, "")
		if tc.why != "" && !strings.Contains(rig.metricsText(), `keygate_response_cache_stores_total{deployment="/c",result="`+tc.why+`"}`) {
			t.Errorf("%s: no stores_total result %q", tc.path, tc.why)
		}
		if strings.Contains(tc.path, "big") && (len(first.body) != 2<<20 || len(second.body) != 2<<20) {
			t.Errorf("big: bodies of %d and %d bytes, want 2 MiB each", len(first.body), len(second.body))
		}
		if strings.Contains(tc.path, "setcookie") && second.header.Get("Set-Cookie") == "" {
			t.Error("setcookie: the backend's cookie did not reach its own client")
		}
	}
}

// TestCacheHitPassesResponseTransformations: a HIT goes through the
// route's response header transformations like a MISS (which may remove
// X-Cache-Status), and the key is that of the request as transformed.
func TestCacheHitPassesResponseTransformations(t *testing.T) {
	rig := newCacheRig(t, func(b string) map[string]any {
		r := cachedRoute("/xform", b+"/echo/xform", anonymous, lookupPolicy(false))
		r["requestPolicies"].(map[string]any)["headerTransformations"] = map[string]any{
			"setHeaders": map[string]any{"items": []any{map[string]any{"name": "X-Version", "values": []any{"${request.query[v]}"}}}}}
		r["responsePolicies"].(map[string]any)["headerTransformations"] = map[string]any{
			"setHeaders":    map[string]any{"items": []any{map[string]any{"name": "X-Served-By", "values": []any{"keygate"}}}},
			"filterHeaders": map[string]any{"type": "BLOCK", "items": []any{map[string]any{"name": "X-Cache-Status"}}}}
		return r
	})
	for i, want := range []string{"n=1 ", "n=1 "} {
		got := rig.send(t, "GET", "/c/xform?v=1", nil)
		if got.state != "" || got.header.Get("X-Served-By") != "keygate" || !strings.Contains(got.body, want) || !strings.Contains(got.body, "v=1") {
			t.Errorf("request %d: X-Cache-Status %q, X-Served-By %q, body %q", i, got.state, got.header.Get("X-Served-By"), got.body)
		}
	}
	if got := rig.send(t, "GET", "/c/xform?v=2", nil); !strings.Contains(got.body, "n=2 ") || !strings.Contains(got.body, "v=2") {
		t.Errorf("another v: %q, want the backend's answer for v=2", got.body)
	}
}

// TestCacheDecideNeitherReadsNorFills: an offline Decide is a question:
// no key is written, and it runs the route as if the cache were not there.
func TestCacheDecideNeitherReadsNorFills(t *testing.T) {
	rig := newCacheRig(t)
	d := rig.g.Decide(httptest.NewRequest(http.MethodGet, "/c/pub/d", nil))
	if !d.Accepted || rig.keys(t) != 0 {
		t.Fatalf("Decide: accepted %v, %d keys in Redis, want accepted and none", d.Accepted, rig.keys(t))
	}
	expect(t, "GET after Decide", rig.send(t, "GET", "/c/pub/d", nil), 200, "MISS", "")
	// On the same connection the next request is read once the first's
	// handler (and its store) is done.
	expect(t, "GET again", rig.send(t, "GET", "/c/pub/d", nil), 200, "HIT", "")
	before := rig.metricsText()
	d = rig.g.Decide(httptest.NewRequest(http.MethodGet, "/c/pub/d", nil))
	if !d.Accepted || d.Forward == nil || rig.keys(t) != 1 || rig.metricsText() != before {
		t.Errorf("Decide on a cached path: accepted %v, forward %v, %d keys, metrics changed %v", d.Accepted, d.Forward, rig.keys(t), rig.metricsText() != before)
	}
}

// TestCacheWithoutResponseCacheConfig: without keygate's responseCache
// (OCI's type NONE) the route policies have no effect, and say so once.
func TestCacheWithoutResponseCacheConfig(t *testing.T) {
	logs := &syncBuffer{}
	b := newCacheBackend(t)
	g := compileSpec(t, "/c", map[string]any{"routes": []any{cachedRoute("/a", b.srv.URL+"/echo", nil, lookupPolicy(false))}}, nil,
		Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + "/c/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(cacheStatusHeader) != "" || strings.Count(logs.String(), "no responseCache") != 1 {
		t.Errorf("X-Cache-Status %q, log %s", resp.Header.Get(cacheStatusHeader), logs.String())
	}
}

// TestCacheSharedAcrossReplicas: two gateways built from the same spec,
// each with its own connection to one redis-server, share entries (the
// key does not depend on the process), and private entries stay private
// across them.
func TestCacheSharedAcrossReplicas(t *testing.T) {
	rig := newCacheRig(t)
	client := redis.NewClient(&redis.Options{Addr: rig.redis.addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { client.Close() })
	jwk, err := keys.PublicJWK(rig.key.signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	auth := jwtAuth(map[string]any{"format": "JSON_WEB_KEY", "kid": rig.key.kid, "kty": jwk.Kty, "alg": "RS256", "use": "sig", "n": jwk.N, "e": jwk.E})
	auth["isAnonymousAccessAllowed"] = true
	echo := rig.backend.srv.URL + "/echo/${request.path[p]}"
	spec := authSpec(auth, cachedRoute("/pub/{p*}", echo, anonymous, lookupPolicy(false)),
		cachedRoute("/priv/{p*}", echo, nil, lookupPolicy(true)))
	replica := func() *cacheRig {
		g := compileSpec(t, "/c", spec, nil, Options{Now: fixedClock, ResponseCache: NewResponseCache(client, ResponseCacheOptions{})})
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		return &cacheRig{srv: srv}
	}
	a, b := replica(), replica()
	// Behind a load balancer every replica gets the public Host.
	host := func(h http.Header) http.Header {
		h = h.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Host", "api.example.com")
		return h
	}
	// A MISS's client has its answer before the store is done: wait for
	// it before asking the other replica.
	stored := func(n int64) {
		for deadline := time.Now().Add(2 * time.Second); rig.keys(t) < n && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	expect(t, "replica A stores", a.send(t, "GET", "/c/pub/shared", host(nil)), 200, "MISS", "n=1")
	stored(1)
	expect(t, "replica B hits", b.send(t, "GET", "/c/pub/shared", host(nil)), 200, "HIT", "n=1")
	alice, bob := rig.token(t, "alice", "x"), rig.token(t, "bob", "x")
	expect(t, "alice on A", a.send(t, "GET", "/c/priv/me", host(alice)), 200, "MISS", "n=2")
	expect(t, "bob on B", b.send(t, "GET", "/c/priv/me", host(bob)), 200, "MISS", "n=3")
	stored(3)
	expect(t, "alice on B", b.send(t, "GET", "/c/priv/me", host(alice)), 200, "HIT", "n=2")
	expect(t, "bob on A", a.send(t, "GET", "/c/priv/me", host(bob)), 200, "HIT", "n=3")
}
