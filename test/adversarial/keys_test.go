package adversarial

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// The key rows of attacks.md: K1 and K2 as configuration errors (static
// keys) or skipped keys (a JWKS), K3 and K4 against a JWKS server.

func TestK1K2StaticKeysRefusedAtStart(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good := func() map[string]any { return gatewaytest.RSA("k").JWK(t) }
	ec := gatewaytest.EC("k").JWK(t)
	tests := []struct {
		name string
		key  map[string]any
	}{
		{"K1 RSA 1024 bits", gatewaytest.JWK(t, "k", "RS256", &weak.PublicKey)},
		{"K1 e = 3", with(good(), "e", "Aw")},
		{"K1 e = 1", with(good(), "e", "AQ")},
		{"K1 unknown curve", with(ec, "crv", "secp256k1")},
		{"K1 P-192", with(gatewaytest.EC("k").JWK(t), "crv", "P-192")},
		{"K2 use enc", with(good(), "use", "enc")},
		{"K2 key_ops without verify", with(good(), "key_ops", []any{"encrypt"})},
		{"K2 key_ops sign only", with(good(), "key_ops", []any{"sign"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := gatewaytest.Spec(gatewaytest.JWTAuth(gatewaytest.StaticKeys(tt.key)), gatewaytest.StockRoute("/r", 200, "ok", nil))
			if g, _, err := gatewaytest.Build(sp, gatewaytest.Options{}); err == nil || g != nil {
				t.Fatalf("gateway built with a bad key (err %v)", err)
			} else if !strings.Contains(err.Error(), "keys[0]") {
				t.Errorf("error %q does not name keys[0]", err)
			}
		})
	}
	t.Run("control: the good key builds", func(t *testing.T) {
		if _, _, err := gatewaytest.Build(gatewaytest.Spec(gatewaytest.JWTAuth(gatewaytest.StaticKeys(good())), gatewaytest.StockRoute("/r", 200, "ok", nil)), gatewaytest.Options{}); err != nil {
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
func startRemoteRig(t *testing.T, url string, loaded bool) (*gatewaytest.Gateway, *gatewaytest.Log) {
	t.Helper()
	b := gatewaytest.NewBackend(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	keyLog := gatewaytest.NewLog()
	ks := gateway.NewKeySets(keyLog.Logger(), nil)
	sp := gatewaytest.Spec(gatewaytest.JWTAuth(gatewaytest.RemoteJWKS(url)),
		gatewaytest.HTTPRoute("/r", b.URL+"/r", nil))
	g, logs, err := gatewaytest.Build(sp, gatewaytest.Options{Now: gatewaytest.FixedClock, KeySets: ks})
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
	return gatewaytest.Serve(t, g, logs, b, gatewaytest.Options{}), keyLog
}

func TestK1WeakKeyInJWKSSkipped(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	j := newJWKSServer(t, document(jwksOf(t,
		gatewaytest.JWK(t, "weak", "RS256", &weak.PublicKey),
		with(gatewaytest.RSA("enc").JWK(t), "use", "enc"),
		gatewaytest.RSA("good").JWK(t))))
	r, keyLog := startRemoteRig(t, j.srv.URL, true)
	r.Passes(t, "/test/r", gatewaytest.Bearer(gatewaytest.RSA("good").Sign(t, gatewaytest.Claims(nil))))
	skipped := 0
	for _, l := range keyLog.Lines(t) {
		if l["reason"] == "jwks_key_skipped" {
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("key set log has %d jwks_key_skipped lines, want 2 (the weak key, the enc key):\n%s", skipped, keyLog)
	}
	r.RefusedFor(t, "/test/r", gatewaytest.Bearer(gatewaytest.Sign(t, weak, "weak", "RS256", gatewaytest.Claims(nil))), 401, "unknown_kid")
	r.RefusedFor(t, "/test/r", gatewaytest.Bearer(gatewaytest.RSA("enc").Sign(t, gatewaytest.Claims(nil))), 401, "unknown_kid")
}

func TestK3HostileJWKS(t *testing.T) {
	good := gatewaytest.RSA("good").JWK(t)
	many := make([]map[string]any, 51)
	for i := range many {
		many[i] = gatewaytest.RSA(fmt.Sprintf("k%d", i)).JWK(t)
	}
	huge := append(jwksOf(t, good)[:0:0], `{"pad":"`+strings.Repeat("x", 300<<10)+`",`...)
	huge = append(huge, jwksOf(t, gatewaytest.RSA("good").JWK(t))[1:]...)
	var targetHits counter
	target := httptest.NewServer(targetHits.handler(document(jwksOf(t, gatewaytest.RSA("good").JWK(t)))))
	defer target.Close()

	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"larger than 256 KiB", document(huge)},
		{"51 keys", document(jwksOf(t, many...))},
		{"a redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target.URL, http.StatusFound) }},
	}
	tok := gatewaytest.RSA("good").Sign(t, gatewaytest.Claims(nil))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJWKSServer(t, tt.handler)
			r, keyLog := startRemoteRig(t, j.srv.URL, false)
			if !waitFor(5*time.Second, func() bool { return strings.Contains(keyLog.String(), "jwks_fetch_failed") }) {
				t.Fatalf("no failed fetch in the key set log:\n%s", keyLog)
			}
			r.RefusedFor(t, "/test/r", gatewaytest.Bearer(tok), http.StatusServiceUnavailable, "keys_unavailable")
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
		r.RefusedFor(t, "/test/r", gatewaytest.Bearer(gatewaytest.RSA("new").Sign(t, gatewaytest.Claims(nil))), 401, "unknown_kid")
		if n := j.fetches.Load(); n != 2 {
			t.Errorf("JWKS fetched %d times, want 2 (load, refresh)", n)
		}
		r.Passes(t, "/test/r", gatewaytest.Bearer(tok))
	})
}

// TestK3SlowJWKSBounded runs in parallel: a hung refresh is bounded by the
// fetch timeout (10 s), and this test shows that bound without adding it to
// the suite's time.
func TestK3SlowJWKSBounded(t *testing.T) {
	t.Parallel()
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
	tok := gatewaytest.RSA("good").Sign(t, gatewaytest.Claims(nil))

	t.Run("never answers: 503 at once", func(t *testing.T) {
		j := newJWKSServer(t, hang(t))
		r, _ := startRemoteRig(t, j.srv.URL, false)
		start := time.Now()
		r.RefusedFor(t, "/test/r", gatewaytest.Bearer(tok), http.StatusServiceUnavailable, "keys_unavailable")
		if d := time.Since(start); d > time.Second {
			t.Errorf("refused after %v, want at once", d)
		}
	})

	t.Run("hangs on refresh: known kids served, unknown ones bounded", func(t *testing.T) {
		j := newJWKSServer(t, document(jwksOf(t, gatewaytest.RSA("good").JWK(t))))
		r, _ := startRemoteRig(t, j.srv.URL, true)
		j.set(hang(t))
		type answer struct {
			status int
			took   time.Duration
		}
		done := make(chan answer, 1)
		unknown := gatewaytest.RSA("new").Sign(t, gatewaytest.Claims(nil))
		go func() {
			start := time.Now()
			req, _ := http.NewRequest(http.MethodGet, r.URL+"/test/r", nil)
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
		r.Passes(t, "/test/r", gatewaytest.Bearer(tok))
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
	j := newJWKSServer(t, document(jwksOf(t, gatewaytest.RSA("good").JWK(t))))
	r, _ := startRemoteRig(t, j.srv.URL, true)
	const storm = 200
	toks := make([]string, storm)
	for i := range toks {
		toks[i] = gatewaytest.EC(fmt.Sprintf("unknown-%d", i)).Sign(t, gatewaytest.Claims(nil))
	}
	before := r.Backend.Count()
	var wg sync.WaitGroup
	var wrong atomic.Int64
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < storm; i = next.Add(1) - 1 {
				req, _ := http.NewRequest(http.MethodGet, r.URL+"/test/r", nil)
				req.Header.Set("Authorization", "Bearer "+toks[i])
				resp, err := r.Client.Do(req)
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
	if n := r.Backend.Count() - before; n != 0 {
		t.Errorf("backend received %d storm requests, want none", n)
	}
	if n := j.fetches.Load(); n > 2 {
		t.Errorf("JWKS fetched %d times for a storm of %d unknown kids, want at most 2 (load + one refresh)", n, storm)
	}
}
