package adversarial

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/gateway"
)

// The key rows of attacks.md: K1 and K2 as configuration errors (static
// keys) or skipped keys (a JWKS), K3 and K4 against a JWKS server.

func TestK1K2StaticKeysRefusedAtStart(t *testing.T) {
	s := signers()
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good := func() map[string]any { return jwkEntry(t, "k", "RS256", &s.rsa.PublicKey) }
	ec := jwkEntry(t, "k", "ES256", &s.ec.PublicKey)
	tests := []struct {
		name string
		key  map[string]any
	}{
		{"K1 RSA 1024 bits", jwkEntry(t, "k", "RS256", &weak.PublicKey)},
		{"K1 e = 3", with(good(), "e", "Aw")},
		{"K1 e = 1", with(good(), "e", "AQ")},
		{"K1 unknown curve", with(ec, "crv", "secp256k1")},
		{"K1 P-192", with(jwkEntry(t, "k", "ES256", &s.ec.PublicKey), "crv", "P-192")},
		{"K2 use enc", with(good(), "use", "enc")},
		{"K2 key_ops without verify", with(good(), "key_ops", []any{"encrypt"})},
		{"K2 key_ops sign only", with(good(), "key_ops", []any{"sign"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := spec(jwtAuth(staticKeys(tt.key)), stockRoute("/r", "ok"))
			if g, _, err := build(sp, options{}); err == nil || g != nil {
				t.Fatalf("gateway built with a bad key (err %v)", err)
			} else if !strings.Contains(err.Error(), "keys[0]") {
				t.Errorf("error %q does not name keys[0]", err)
			}
		})
	}
	t.Run("control: the good key builds", func(t *testing.T) {
		if _, _, err := build(spec(jwtAuth(staticKeys(good())), stockRoute("/r", "ok")), options{}); err != nil {
			t.Fatal(err)
		}
	})
}

func with(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}

// jwksServer serves a JWKS document that a test can swap, counting fetches.
type jwksServer struct {
	srv     *httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	handler http.HandlerFunc
}

func newJWKSServer(t *testing.T, h http.HandlerFunc) *jwksServer {
	t.Helper()
	j := &jwksServer{handler: h}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		j.mu.Lock()
		h := j.handler
		j.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jwksServer) set(h http.HandlerFunc) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.handler = h
}

// document serves body as the JWKS.
func document(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

// jwksOf is a JWKS document holding the given key entries.
func jwksOf(t *testing.T, members ...map[string]any) []byte {
	t.Helper()
	for _, m := range members {
		delete(m, "format")
	}
	data, err := json.Marshal(map[string]any{"keys": members})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// startRemoteRig serves a gateway whose one deployment verifies with the
// JWKS at url through a started KeySets registry; with loaded set, it
// waits for the first successful fetch.
// The second result is the key sets' own log (fetches, skipped keys).
func startRemoteRig(t *testing.T, url string, loaded bool) (*rig, *logBuffer) {
	t.Helper()
	b := newBackend(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	keyLog := &logBuffer{}
	ks := gateway.NewKeySets(slog.New(slog.NewJSONHandler(keyLog, nil)), nil)
	sp := spec(jwtAuth(map[string]any{"type": "REMOTE_JWKS", "uri": url, "maxCacheDurationInHours": 1}),
		httpRoute("/r", b.srv.URL+"/r", nil))
	g, logs, err := build(sp, options{now: fixedClock, keySets: ks})
	if err != nil {
		t.Fatalf("building the gateway: %v", err)
	}
	ks.Start(ctx)
	if loaded {
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		defer wcancel()
		if !g.WaitReady(wctx) {
			t.Fatal("the JWKS never loaded")
		}
	}
	return serve(t, g, logs, b), keyLog
}

func TestK1WeakKeyInJWKSSkipped(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	s := signers()
	j := newJWKSServer(t, document(jwksOf(t,
		jwkEntry(t, "weak", "RS256", &weak.PublicKey),
		with(jwkEntry(t, "enc", "RS256", &s.rsa.PublicKey), "use", "enc"),
		jwkEntry(t, "good", "RS256", &s.rsa.PublicKey))))
	r, keyLog := startRemoteRig(t, j.srv.URL, true)
	r.passes(t, prefix+"/r", bearer(sign(t, s.rsa, "good", "RS256", claims(nil))))
	skipped := 0
	for _, l := range keyLog.lines(t) {
		if l["reason"] == "jwks_key_skipped" {
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("key set log has %d jwks_key_skipped lines, want 2 (the weak key, the enc key):\n%s", skipped, keyLog)
	}
	r.refusedFor(t, prefix+"/r", bearer(sign(t, weak, "weak", "RS256", claims(nil))), 401, "unknown_kid")
	r.refusedFor(t, prefix+"/r", bearer(sign(t, s.rsa, "enc", "RS256", claims(nil))), 401, "unknown_kid")
}

func TestK3HostileJWKS(t *testing.T) {
	s := signers()
	good := jwkEntry(t, "good", "RS256", &s.rsa.PublicKey)
	many := make([]map[string]any, 51)
	for i := range many {
		many[i] = jwkEntry(t, fmt.Sprintf("k%d", i), "RS256", &s.rsa.PublicKey)
	}
	huge := append(jwksOf(t, good)[:0:0], `{"pad":"`+strings.Repeat("x", 300<<10)+`",`...)
	huge = append(huge, jwksOf(t, jwkEntry(t, "good", "RS256", &s.rsa.PublicKey))[1:]...)
	var targetHits counter
	target := httptest.NewServer(targetHits.handler(document(jwksOf(t, jwkEntry(t, "good", "RS256", &s.rsa.PublicKey)))))
	defer target.Close()

	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"larger than 256 KiB", document(huge)},
		{"51 keys", document(jwksOf(t, many...))},
		{"a redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target.URL, http.StatusFound) }},
	}
	tok := sign(t, s.rsa, "good", "RS256", claims(nil))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJWKSServer(t, tt.handler)
			r, keyLog := startRemoteRig(t, j.srv.URL, false)
			if !waitFor(5*time.Second, func() bool { return strings.Contains(keyLog.String(), "jwks_fetch_failed") }) {
				t.Fatalf("no failed fetch in the key set log:\n%s", keyLog)
			}
			r.refusedFor(t, prefix+"/r", bearer(tok), http.StatusServiceUnavailable, "keys_unavailable")
		})
	}
	if n := targetHits.n.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests, want none", n)
	}

	t.Run("last good set kept", func(t *testing.T) {
		j := newJWKSServer(t, document(jwksOf(t, good)))
		r, _ := startRemoteRig(t, j.srv.URL, true)
		j.set(document(huge))
		// An unknown kid makes the gateway refetch; the refetch fails.
		r.refusedFor(t, prefix+"/r", bearer(sign(t, s.rsa, "new", "RS256", claims(nil))), 401, "unknown_kid")
		if n := j.fetches.Load(); n != 2 {
			t.Errorf("JWKS fetched %d times, want 2 (load, refresh)", n)
		}
		r.passes(t, prefix+"/r", bearer(tok))
	})
}

// TestK3SlowJWKSBounded runs in parallel: a hung refresh is bounded by the
// fetch timeout (10 s), and this test shows that bound without adding it to
// the suite's time.
func TestK3SlowJWKSBounded(t *testing.T) {
	t.Parallel()
	s := signers()
	// hang is a JWKS server that never answers until the test ends.
	hang := func(t *testing.T) http.HandlerFunc {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		return func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}
	tok := sign(t, s.rsa, "good", "RS256", claims(nil))

	t.Run("never answers: 503 at once", func(t *testing.T) {
		j := newJWKSServer(t, hang(t))
		r, _ := startRemoteRig(t, j.srv.URL, false)
		start := time.Now()
		r.refusedFor(t, prefix+"/r", bearer(tok), http.StatusServiceUnavailable, "keys_unavailable")
		if d := time.Since(start); d > time.Second {
			t.Errorf("refused after %v, want at once", d)
		}
	})

	t.Run("hangs on refresh: known kids served, unknown ones bounded", func(t *testing.T) {
		j := newJWKSServer(t, document(jwksOf(t, jwkEntry(t, "good", "RS256", &s.rsa.PublicKey))))
		r, _ := startRemoteRig(t, j.srv.URL, true)
		j.set(hang(t))
		type answer struct {
			status int
			took   time.Duration
		}
		done := make(chan answer, 1)
		unknown := sign(t, s.rsa, "new", "RS256", claims(nil))
		go func() {
			start := time.Now()
			req, _ := http.NewRequest(http.MethodGet, r.base+prefix+"/r", nil)
			req.Header.Set("Authorization", "Bearer "+unknown)
			client := &http.Client{Timeout: 20 * time.Second}
			resp, err := client.Do(req)
			if err != nil {
				done <- answer{0, time.Since(start)}
				return
			}
			resp.Body.Close()
			done <- answer{resp.StatusCode, time.Since(start)}
		}()
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		r.passes(t, prefix+"/r", bearer(tok))
		if d := time.Since(start); d > time.Second {
			t.Errorf("known kid served after %v during a hung refresh, want at once", d)
		}
		a := <-done
		if a.status != http.StatusUnauthorized || a.took > 12*time.Second {
			t.Errorf("unknown kid answered %d after %v, want 401 within the 10 s fetch timeout", a.status, a.took)
		}
		t.Logf("unknown kid during a hung refresh: %d after %v", a.status, a.took.Round(time.Millisecond))
	})
}

func TestK4UnknownKidStorm(t *testing.T) {
	s := signers()
	j := newJWKSServer(t, document(jwksOf(t, jwkEntry(t, "good", "RS256", &s.rsa.PublicKey))))
	r, _ := startRemoteRig(t, j.srv.URL, true)
	const storm = 200
	toks := make([]string, storm)
	for i := range toks {
		toks[i] = sign(t, s.ec, fmt.Sprintf("unknown-%d", i), "ES256", claims(nil))
	}
	before := r.backend.count()
	var wg sync.WaitGroup
	var wrong atomic.Int64
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < storm; i = next.Add(1) - 1 {
				req, _ := http.NewRequest(http.MethodGet, r.base+prefix+"/r", nil)
				req.Header.Set("Authorization", "Bearer "+toks[i])
				resp, err := r.client.Do(req)
				if err != nil || resp.StatusCode != http.StatusUnauthorized {
					wrong.Add(1)
				}
				if err == nil {
					resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d of %d storm requests did not end in 401", n, storm)
	}
	if n := r.backend.count() - before; n != 0 {
		t.Errorf("backend received %d storm requests, want none", n)
	}
	if n := j.fetches.Load(); n > 2 {
		t.Errorf("JWKS fetched %d times for a storm of %d unknown kids, want at most 2 (load + one refresh)", n, storm)
	}
}
