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
