package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// rotationKey is a client key for the rotation tests (P-256: fast to make).
type rotationKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newRotationKey(t *testing.T, kid string) rotationKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return rotationKey{kid: kid, priv: priv}
}

func (k rotationKey) jwk(t *testing.T) keys.JWK {
	t.Helper()
	key, err := keys.NewKey(k.kid, "ES256", &k.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key.JWK()
}

func (k rotationKey) token(t *testing.T) string {
	t.Helper()
	now := time.Now()
	tok, err := token.Sign(k.priv, k.kid, "ES256", map[string]any{
		"iss": "rot-issuer", "aud": "rot-audience", "sub": "c", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rotationSpec is a spec whose only route answers with body; publicKeys is
// either static JWKs or a remote JWKS.
func rotationSpec(t *testing.T, body string, publicKeys map[string]any) []byte {
	t.Helper()
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"issuers": []string{"rot-issuer"}, "audiences": []string{"rot-audience"}, "publicKeys": publicKeys,
		}},
		"routes": []any{map[string]any{"path": "/r", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": body}}},
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func staticKeys(t *testing.T, ks ...rotationKey) map[string]any {
	t.Helper()
	var list []any
	for _, k := range ks {
		j := k.jwk(t)
		list = append(list, map[string]any{"format": "JSON_WEB_KEY", "kid": j.Kid, "kty": j.Kty, "alg": j.Alg, "crv": j.Crv, "x": j.X, "y": j.Y})
	}
	return map[string]any{"type": "STATIC_KEYS", "keys": list}
}

// get calls the route with tok and returns status and body.
func get(t *testing.T, url, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitStatus polls until the route answers want, for up to five seconds.
func waitStatus(t *testing.T, url, tok string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, body := get(t, url, tok)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status = %d (%s), want %d", got, body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeSpec(t *testing.T, file string, data []byte) {
	t.Helper()
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReloadRotatesStaticKeys(t *testing.T) {
	oldKey, newKey := newRotationKey(t, "old"), newRotationKey(t, "new")
	file := filepath.Join(t.TempDir(), "spec.json")
	writeSpec(t, file, rotationSpec(t, "v1", staticKeys(t, oldKey)))
	hup := make(chan os.Signal, 1)
	base, logs := startServeHUP(t, hup, "--spec", file, "--path-prefix", "/p", "--listen", "127.0.0.1:0")
	url := base + "/p/r"

	if got, _ := get(t, url, newKey.token(t)); got != http.StatusUnauthorized {
		t.Fatalf("new key before rotation: %d, want 401", got)
	}
	// Add the new kid: a file change reloads without restart.
	writeSpec(t, file, rotationSpec(t, "v1", staticKeys(t, oldKey, newKey)))
	waitStatus(t, url, newKey.token(t), http.StatusOK)
	if got, _ := get(t, url, oldKey.token(t)); got != http.StatusOK {
		t.Fatalf("old key during rotation: %d, want 200", got)
	}
	// An invalid edit keeps the running configuration.
	writeSpec(t, file, []byte(`{"routes": [{"path": "nope"}]}`))
	if !logs.waitForWithin("reload refused", 3*time.Second) {
		t.Fatalf("no refused reload in the log:\n%s", logs.String())
	}
	if got, _ := get(t, url, oldKey.token(t)); got != http.StatusOK {
		t.Fatalf("after an invalid edit: %d, want the old configuration's 200", got)
	}
	// Remove the old kid, and reload by SIGHUP this time.
	writeSpec(t, file, rotationSpec(t, "v1", staticKeys(t, newKey)))
	hup <- os.Interrupt
	waitStatus(t, url, oldKey.token(t), http.StatusUnauthorized)
	if got, _ := get(t, url, newKey.token(t)); got != http.StatusOK {
		t.Fatalf("new key after rotation: %d, want 200", got)
	}
	if !strings.Contains(logs.String(), `"message":"configuration reloaded"`) {
		t.Errorf("no reload line in the log")
	}
}

func TestReloadUnderLoad(t *testing.T) {
	k := newRotationKey(t, "k")
	file := filepath.Join(t.TempDir(), "spec.json")
	writeSpec(t, file, rotationSpec(t, "v1", staticKeys(t, k)))
	hup := make(chan os.Signal, 1)
	base, _ := startServeHUP(t, hup, "--spec", file, "--path-prefix", "/p", "--listen", "127.0.0.1:0", "--no-access-log")
	url, tok := base+"/p/r", k.token(t)

	var stop atomic.Bool
	var bad atomic.Int64
	var total atomic.Int64
	var seen sync.Map
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				total.Add(1)
				if err != nil {
					bad.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || (string(b) != "v1" && string(b) != "v2") {
					bad.Add(1)
				}
				seen.Store(string(b), true)
			}
		}()
	}
	for i := 0; i < 6; i++ {
		body := []string{"v2", "v1"}[i%2]
		writeSpec(t, file, rotationSpec(t, body, staticKeys(t, k)))
		hup <- os.Interrupt
		time.Sleep(150 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of %d requests failed or were neither the old nor the new behaviour", bad.Load(), total.Load())
	}
	if _, ok := seen.Load("v2"); !ok {
		t.Fatalf("no request saw the reloaded configuration (%d requests)", total.Load())
	}
}

func TestRemoteJWKSRotation(t *testing.T) {
	oldKey, newKey := newRotationKey(t, "old"), newRotationKey(t, "new")
	var mu sync.Mutex
	var published []keys.JWK
	var fetches atomic.Int64
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if published == nil {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(keys.JWKS{Keys: published})
	}))
	defer jwks.Close()
	publish := func(ks ...rotationKey) {
		mu.Lock()
		defer mu.Unlock()
		published = []keys.JWK{}
		for _, k := range ks {
			published = append(published, k.jwk(t))
		}
	}

	file := filepath.Join(t.TempDir(), "spec.json")
	writeSpec(t, file, rotationSpec(t, "ok", map[string]any{"type": "REMOTE_JWKS", "uri": jwks.URL, "maxCacheDurationInHours": 1}))
	base, logs := startServe(t, "--spec", file, "--path-prefix", "/p", "--listen", "127.0.0.1:0")
	url := base + "/p/r"

	// The key server is down: the deployment cannot check tokens yet.
	if got, _ := get(t, url, oldKey.token(t)); got != http.StatusServiceUnavailable {
		t.Fatalf("before the first load: %d, want 503", got)
	}
	if !logs.waitFor("jwtAuthentication.loadingJsonWebKeySet") {
		t.Errorf("the log does not name the JWKS loading failure")
	}
	publish(oldKey)
	waitStatus(t, url, oldKey.token(t), http.StatusOK)

	// A newly published key works on first use.
	publish(oldKey, newKey)
	if got, _ := get(t, url, newKey.token(t)); got != http.StatusOK {
		t.Fatalf("new key right after publication: %d, want 200", got)
	}
	// The key server goes down: verifiable tokens keep working.
	mu.Lock()
	published = nil
	mu.Unlock()
	if got, _ := get(t, url, newKey.token(t)); got != http.StatusOK {
		t.Fatalf("key server down: %d, want 200 with the last good keys", got)
	}
	// A storm of unknown kids refreshes at most once per 10 seconds.
	before := fetches.Load()
	for i := 0; i < 50; i++ {
		stranger := newRotationKey(t, "stranger")
		stranger.kid = "stranger-" + string(rune('a'+i%26))
		if got, _ := get(t, url, stranger.token(t)); got != http.StatusUnauthorized {
			t.Fatalf("unknown kid: %d, want 401", got)
		}
	}
	if got := fetches.Load() - before; got > 1 {
		t.Fatalf("50 unknown kids caused %d fetches, want at most 1", got)
	}
}

// waitForWithin is waitFor with a longer limit, for reloads.
func (l *lockedLog) waitForWithin(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(l.String(), s) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// TestReloadFollowsConfigMapSwap mimics how the kubelet updates a mounted
// ConfigMap: the files are symlinks through "..data", and an update renames
// a new "..data" symlink over the old one. The edit must go live.
func TestReloadFollowsConfigMapSwap(t *testing.T) {
	k := newRotationKey(t, "k")
	dir := t.TempDir()
	publish := func(version, body string) {
		t.Helper()
		data := filepath.Join(dir, "..v"+version)
		if err := os.Mkdir(data, 0o755); err != nil {
			t.Fatal(err)
		}
		writeSpec(t, filepath.Join(data, "spec.json"), rotationSpec(t, body, staticKeys(t, k)))
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(data), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("1", "v1")
	if err := os.Symlink(filepath.Join("..data", "spec.json"), filepath.Join(dir, "spec.json")); err != nil {
		t.Fatal(err)
	}
	base, logs := startServe(t, "--spec", filepath.Join(dir, "spec.json"), "--path-prefix", "/p", "--listen", "127.0.0.1:0")
	url, tok := base+"/p/r", k.token(t)
	if _, body := get(t, url, tok); body != "v1" {
		t.Fatalf("before the swap: body %q, want v1", body)
	}
	publish("2", "v2")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, body := get(t, url, tok); body == "v2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ConfigMap swap did not reach the gateway:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReloadKeepsRemoteKeys: a reload that only changes a JWKS's
// maxCacheDurationInHours keeps its loaded keys while the key server is
// down; a refused reload leaves no key set of its own fetching.
func TestReloadKeepsRemoteKeys(t *testing.T) {
	key := newRotationKey(t, "k")
	var down atomic.Bool
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(keys.JWKS{Keys: []keys.JWK{key.jwk(t)}})
	}))
	defer jwks.Close()
	var otherFetches atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherFetches.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer other.Close()

	file := filepath.Join(t.TempDir(), "spec.json")
	writeSpec(t, file, rotationSpec(t, "one", map[string]any{"type": "REMOTE_JWKS", "uri": jwks.URL, "maxCacheDurationInHours": 1}))
	base, logs := startServe(t, "--spec", file, "--path-prefix", "/p", "--listen", "127.0.0.1:0")
	url := base + "/p/r"
	waitStatus(t, url, key.token(t), http.StatusOK)
	down.Store(true)

	writeSpec(t, file, rotationSpec(t, "two", map[string]any{"type": "REMOTE_JWKS", "uri": jwks.URL, "maxCacheDurationInHours": 2}))
	if !logs.waitForWithin("configuration reloaded", 5*time.Second) {
		t.Fatalf("no reload:\n%s", logs.String())
	}
	if code, body := get(t, url, key.token(t)); code != http.StatusOK || body != "two" {
		t.Fatalf("after the reload: %d %q, want 200 \"two\" (the new configuration, with the keys it had)", code, body)
	}

	// A configuration naming another (failing) JWKS and a route that does
	// not compile is refused; its key set must stop fetching.
	var spec map[string]any
	if err := json.Unmarshal(rotationSpec(t, "three", map[string]any{"type": "REMOTE_JWKS", "uri": other.URL}), &spec); err != nil {
		t.Fatal(err)
	}
	spec["routes"] = []any{map[string]any{"path": "/r", "backend": map[string]any{"type": "HTTP_BACKEND", "url": "http://127.0.0.1:9/${request.path[nope]}"}}}
	refused, _ := json.Marshal(spec)
	writeSpec(t, file, refused)
	if !logs.waitForWithin("reload refused", 5*time.Second) {
		t.Fatalf("the broken configuration was not refused:\n%s", logs.String())
	}
	// The set's first fetch may still be under way when the refusal is
	// logged; its retries would come 1 s and then 2 s after it.
	time.Sleep(300 * time.Millisecond)
	settled := otherFetches.Load()
	time.Sleep(2500 * time.Millisecond)
	if got := otherFetches.Load(); got != settled {
		t.Errorf("the refused configuration's JWKS was fetched %d more times after the refusal, want 0", got-settled)
	}
	if _, body := get(t, url, key.token(t)); body != "two" {
		t.Errorf("after the refusal: body %q, want \"two\"", body)
	}
}
