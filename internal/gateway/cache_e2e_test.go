package gateway

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keygate/keygate/internal/keys"
)

// cacheBackend answers every request with what it saw (a counter, the
// path and query, the forwarding headers, a digest of the credential),
// and with the response headers the path asks for.
type cacheBackend struct {
	srv   *httptest.Server
	count atomic.Int64
}

func newCacheBackend(t testing.TB) *cacheBackend {
	b := &cacheBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := b.count.Add(1)
		h := w.Header()
		h.Set("Content-Type", "text/plain")
		if strings.Contains(r.URL.Path, "own-status") {
			h.Set(cacheStatusHeader, "HIT") // a backend's own never reaches the client of a caching route
		}
		status := http.StatusOK
		path := r.URL.Path
		switch {
		case strings.Contains(path, "setcookie"):
			h.Set("Set-Cookie", "session=s3ss10n; HttpOnly")
		case strings.Contains(path, "nostore"):
			h.Set("Cache-Control", "no-cache, no-store, max-age=0")
		case strings.Contains(path, "private"):
			h.Set("Cache-Control", "private, max-age=60")
		case strings.Contains(path, "varystar"):
			h.Set("Vary", "*")
		case strings.Contains(path, "vary"):
			h.Set("Vary", "Accept-Language")
		case strings.Contains(path, "teapot"):
			status = http.StatusTeapot
		case strings.Contains(path, "gone"):
			status = http.StatusGone
		case strings.Contains(path, "big"):
			w.WriteHeader(status)
			chunk := strings.Repeat("x", 64<<10)
			for range 32 { // 2 MiB, over the 1 MiB bound, streamed
				_, _ = io.WriteString(w, chunk)
			}
			return
		}
		if strings.Contains(path, "gzip") && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip") // and no Vary, as many backends do
			w.WriteHeader(status)
			zw := gzip.NewWriter(w)
			fmt.Fprintf(zw, "n=%d compressed", n)
			_ = zw.Close()
			return
		}
		cred := "none"
		if a := r.Header.Get("Authorization"); a != "" {
			sum := sha256.Sum256([]byte(a))
			cred = hex.EncodeToString(sum[:4])
		}
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			reqBody, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "n=%d method=%s uri=%s xfh=%s cred=%s cookie=%s lang=%s v=%s body=%s",
				n, r.Method, r.URL.RequestURI(), r.Header.Get("X-Forwarded-Host"), cred,
				r.Header.Get("Cookie"), r.Header.Get("Accept-Language"), r.Header.Get("X-Version"), reqBody)
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// cacheRig is a gateway whose routes cache in a real redis-server, in
// front of a cacheBackend.
type cacheRig struct {
	srv     *httptest.Server
	g       *Gateway
	backend *cacheBackend
	redis   *redisServer
	client  *redis.Client
	cache   *ResponseCache
	metrics *Metrics
	logs    *syncBuffer
	key     testKey
}

// cachedRoute is a route to the backend's echo with lookup and store
// policies; lookup nil means none.
func cachedRoute(path, backendURL string, authorization, lookup map[string]any) map[string]any {
	r := map[string]any{"path": path, "backend": map[string]any{"type": "HTTP_BACKEND", "url": backendURL}}
	rq := map[string]any{}
	if authorization != nil {
		rq["authorization"] = authorization
	}
	if lookup != nil {
		rq["responseCacheLookup"] = lookup
		r["responsePolicies"] = map[string]any{"responseCacheStore": map[string]any{
			"type": "FIXED_TTL_STORE_POLICY", "timeToLiveInSeconds": 60}}
	}
	r["requestPolicies"] = rq
	return r
}

func lookupPolicy(private bool, additions ...string) map[string]any {
	l := map[string]any{"type": "SIMPLE_LOOKUP_POLICY", "isPrivateCachingEnabled": private}
	if len(additions) > 0 {
		l["cacheKeyAdditions"] = additions
	}
	return l
}

var anonymous = map[string]any{"type": "ANONYMOUS"}

// newCacheRig starts redis-server, a backend and a gateway with the
// routes the cache tests use under /c; extra routes are added as given.
func newCacheRig(t testing.TB, extra ...func(backend string) map[string]any) *cacheRig {
	t.Helper()
	rig := &cacheRig{backend: newCacheBackend(t), redis: startRedis(t, ""), metrics: NewMetrics(), logs: &syncBuffer{}}
	rig.key = testKey{kid: "cache-key", alg: "RS256", signer: sharedRSA(t)}
	log := slog.New(slog.NewJSONHandler(rig.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rig.client = redis.NewClient(&redis.Options{Addr: rig.redis.addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, PoolTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rig.client.Close() })
	rig.cache = NewResponseCache(rig.client, ResponseCacheOptions{Logger: log, Timeout: time.Second})
	rig.metrics.WatchResponseCache(rig.cache)
	b := rig.backend.srv.URL
	echo := b + "/echo/${request.path[p]}"
	routes := []map[string]any{
		cachedRoute("/pub/{p*}", echo, anonymous, lookupPolicy(false)),
		cachedRoute("/priv/{p*}", echo, nil, lookupPolicy(true)),
		cachedRoute("/admin/{p*}", echo, anyOf("admin"), lookupPolicy(true)),
		cachedRoute("/lang", b+"/echo/lang", anonymous, lookupPolicy(false, "request.headers[Accept-Language]")),
		cachedRoute("/none/{p*}", echo, anonymous, nil),
		cachedRoute("/off/{p*}", echo, anonymous, map[string]any{"type": "SIMPLE_LOOKUP_POLICY", "isEnabled": false}),
	}
	for _, f := range extra {
		routes = append(routes, f(b))
	}
	jwk, err := keys.PublicJWK(rig.key.signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	auth := jwtAuth(map[string]any{"format": "JSON_WEB_KEY", "kid": rig.key.kid, "kty": jwk.Kty, "alg": "RS256", "use": "sig", "n": jwk.N, "e": jwk.E})
	auth["isAnonymousAccessAllowed"] = true
	rig.g = compileSpec(t, "/c", authSpec(auth, routes...), nil,
		Options{Logger: log, Now: fixedClock, Metrics: rig.metrics, ResponseCache: rig.cache})
	rig.srv = httptest.NewServer(rig.g)
	t.Cleanup(rig.srv.Close)
	return rig
}

// cached is one response through the rig.
type cached struct {
	status int
	state  string // X-Cache-Status, "" when absent
	states []string
	body   string
	header http.Header
}

func (rig *cacheRig) send(t testing.TB, method, path string, header http.Header) cached {
	t.Helper()
	return rig.sendBody(t, method, path, header, "")
}

func (rig *cacheRig) sendBody(t testing.TB, method, path string, header http.Header, body string) cached {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rig.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	// Go's client would ask for gzip by itself and hide the encoding: ask
	// for none unless the test does.
	req.Header.Set("Accept-Encoding", "identity")
	for name, values := range header {
		if name == "Host" {
			req.Host = values[0]
			continue
		}
		req.Header[name] = values
	}
	resp, err := rig.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return cached{status: resp.StatusCode, state: resp.Header.Get(cacheStatusHeader), states: resp.Header.Values(cacheStatusHeader),
		body: string(got), header: resp.Header}
}

func (rig *cacheRig) token(t *testing.T, sub string, scopes string) http.Header {
	return bearer(rig.key.sign(t, claimsAt(map[string]any{"sub": sub, "scope": scopes})))
}

// metricsText is the rig's /metrics, the response cache's lines.
func (rig *cacheRig) metricsText() string {
	rec := httptest.NewRecorder()
	rig.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	var lines []string
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "keygate_response_cache") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

func (rig *cacheRig) keys(t testing.TB) int64 {
	t.Helper()
	n, err := rig.client.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// expect checks one response's status, cache state and, when want is
// not "", that the body contains it.
func expect(t *testing.T, what string, got cached, status int, state, want string) {
	t.Helper()
	if got.status != status || got.state != state || len(got.states) > 1 {
		t.Errorf("%s: %d X-Cache-Status %q, want %d %q (body %q)", what, got.status, got.states, status, state, got.body)
	}
	if want != "" && !strings.Contains(got.body, want) {
		t.Errorf("%s: body %q lacks %q", what, got.body, want)
	}
}

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
