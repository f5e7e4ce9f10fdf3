package browser

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/serve"
	"github.com/keygate/keygate/internal/token"
)

// Names the console test's configuration uses.
const (
	consoleIssuer   = "https://login.example.com"
	consoleAudience = "orders-api"
	partnerIssuer   = "https://partner.example.net"
)

// keygateEnv is keygate's serve runtime running a configuration of two
// deployments: /api with a static EC key in front of a backend, and
// /partner with a remote JWKS (one usable key and one it skips).
type keygateEnv struct {
	dir                string
	gatewayURL         string
	adminURL           string
	apiKey, partnerKey crypto.Signer
	specFile           string
	spec               []byte
	client             *http.Client
}

// freeAddr returns a loopback address nothing listens on (the runtime
// listens on it right after).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func writeJSON(t *testing.T, path string, v any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

// startKeygate runs serve.Run until the test ends; consoleToken, if not
// "", goes to --console-token-file.
func startKeygate(t *testing.T, consoleToken string) *keygateEnv {
	t.Helper()
	env := &keygateEnv{dir: t.TempDir(), client: &http.Client{Timeout: 10 * time.Second}}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	env.apiKey, env.partnerKey = ec, rk

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"orders":[]}`)
	}))
	t.Cleanup(backend.Close)
	ecJWK, err := keys.PublicJWK(ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaJWK, err := keys.PublicJWK(rk.Public())
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(map[string]any{"keys": []any{
		map[string]any{"kty": "RSA", "kid": "partner-2026", "alg": "RS256", "use": "sig", "n": rsaJWK.N, "e": rsaJWK.E},
		map[string]any{"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0"},
	}})
	jwksServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(jwksServer.Close)

	env.specFile = filepath.Join(env.dir, "api.json")
	env.spec = writeJSON(t, env.specFile, map[string]any{
		"requestPolicies": map[string]any{
			"authentication": map[string]any{
				"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
				"issuers": []any{consoleIssuer}, "audiences": []any{consoleAudience}, "isAnonymousAccessAllowed": true,
				"maxClockSkewInSeconds": 30,
				"publicKeys": map[string]any{"type": "STATIC_KEYS", "keys": []any{map[string]any{
					"format": "JSON_WEB_KEY", "kid": "client-2026", "kty": "EC", "crv": ecJWK.Crv, "x": ecJWK.X, "y": ecJWK.Y, "alg": "ES256"}}},
			},
			"cors": map[string]any{"allowedOrigins": []any{"https://shop.example.com"}, "allowedMethods": []any{"GET", "POST"}},
		},
		"routes": []any{
			map[string]any{"path": "/orders", "methods": []any{"GET"},
				"backend": map[string]any{"type": "HTTP_BACKEND", "url": backend.URL + "/orders"},
				"requestPolicies": map[string]any{
					"authorization": map[string]any{"type": "ANY_OF", "allowedScope": []any{"orders:read"}},
					"headerTransformations": map[string]any{"setHeaders": map[string]any{"items": []any{
						map[string]any{"name": "X-Client-Sub", "values": []any{"${request.auth[sub]}"}}}}},
				}},
			map[string]any{"path": "/orders", "methods": []any{"POST"},
				"backend": map[string]any{"type": "HTTP_BACKEND", "url": backend.URL + "/orders"},
				"requestPolicies": map[string]any{
					"authorization": map[string]any{"type": "ANY_OF", "allowedScope": []any{"orders:write"}},
					"headerValidations": map[string]any{"validationMode": "ENFORCING",
						"headers": []any{map[string]any{"name": "Idempotency-Key", "required": true}}},
				}},
			map[string]any{"path": "/health",
				"backend":         map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"}}},
		},
	})
	writeJSON(t, filepath.Join(env.dir, "partner.json"), map[string]any{
		"requestPolicies": map[string]any{
			"rateLimiting": map[string]any{"rateInRequestsPerSecond": 2, "rateKey": "TOTAL"},
			"authentication": map[string]any{
				"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
				"issuers": []any{partnerIssuer}, "audiences": []any{consoleAudience},
				"publicKeys": map[string]any{"type": "REMOTE_JWKS", "uri": jwksServer.URL + "/jwks", "maxCacheDurationInHours": 1},
			}},
		"routes": []any{map[string]any{"path": "/reports",
			"backend":         map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "reports"},
			"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANY_OF", "allowedScope": []any{"reports:read"}}}}},
	})
	listen, admin := freeAddr(t), freeAddr(t)
	cfgFile := filepath.Join(env.dir, "gateway.json")
	writeJSON(t, cfgFile, map[string]any{"listen": listen, "deployments": []any{
		map[string]any{"pathPrefix": "/api", "specificationFile": "api.json"},
		map[string]any{"pathPrefix": "/partner", "specificationFile": "partner.json"},
	}})
	set := serve.Settings{Admin: admin, TokenCacheSize: 1000, ShutdownTimeout: time.Second}
	if consoleToken != "" {
		set.ConsoleTokenFile = filepath.Join(env.dir, "console-token")
		if err := os.WriteFile(set.ConsoleTokenFile, []byte(consoleToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve.Run(ctx, serve.Source{ConfigFile: cfgFile}, set, slog.New(slog.DiscardHandler), make(chan os.Signal))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve.Run: %v", err)
		}
	})
	env.gatewayURL, env.adminURL = "http://"+listen, "http://"+admin
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := env.client.Get(env.adminURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return env
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve.Run returned: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("keygate not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sign returns a token of the /api deployment's client, valid now, with
// claims changed by edits (a nil value deletes the claim).
func (env *keygateEnv) sign(t *testing.T, key crypto.Signer, kid, iss string, edits map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{"iss": iss, "aud": []any{consoleAudience}, "sub": "alice", "scope": "orders:read reports:read",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range edits {
		if v == nil {
			delete(claims, k)
			continue
		}
		claims[k] = v
	}
	alg := "ES256"
	if _, ok := key.(*rsa.PrivateKey); ok {
		alg = "RS256"
	}
	tok, err := token.Sign(key, kid, alg, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// apiToken is a token /api accepts for GET /orders.
func (env *keygateEnv) apiToken(t *testing.T, edits map[string]any) string {
	return env.sign(t, env.apiKey, "client-2026", consoleIssuer, edits)
}

// refusal is a request the gateway refused, as its client saw it.
type refusal struct {
	requestID, reason string
	status            int
}

// call sends method path with token ("" for none) and returns the
// status and request id.
func (env *keygateEnv) call(t *testing.T, method, path, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, env.gatewayURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := env.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("opc-request-id")
}

// traffic sends accepted and refused requests and returns how many it
// sent and the refusals, each with the reason the gateway must give.
func (env *keygateEnv) traffic(t *testing.T) (sent int, refused []refusal) {
	t.Helper()
	good := env.apiToken(t, nil)
	partner := env.sign(t, env.partnerKey, "partner-2026", partnerIssuer, nil)
	for range 6 {
		if status, _ := env.call(t, "GET", "/api/orders", good); status != 200 {
			t.Fatalf("GET /api/orders with a good token: got %d", status)
		}
	}
	for range 2 {
		if status, _ := env.call(t, "GET", "/partner/reports", partner); status != 200 {
			t.Fatalf("GET /partner/reports with the partner's token: got %d", status)
		}
	}
	if status, _ := env.call(t, "GET", "/api/health", ""); status != 200 {
		t.Fatalf("GET /api/health: got %d", status)
	}
	sent = 9
	for _, c := range []struct {
		method, path, token, reason string
		status                      int
	}{
		{"GET", "/api/orders", "", "missing_token", 401},
		{"GET", "/api/orders", "", "missing_token", 401},
		{"GET", "/api/orders", env.apiToken(t, map[string]any{"aud": "someone-else", "sub": "mallory"}), "wrong_audience", 401},
		{"GET", "/api/orders", env.apiToken(t, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), "token_expired", 401},
		{"GET", "/api/orders", env.apiToken(t, map[string]any{"scope": "profile"}), "insufficient_scope", 403},
		{"POST", "/api/orders", good, "insufficient_scope", 403},
		{"GET", "/api/nope", good, "no_route", 404},
		{"GET", "/partner/reports", good, "unknown_kid", 401},
	} {
		if c.reason == "unknown_kid" {
			time.Sleep(1100 * time.Millisecond) // the partner's rate limit (2/s) has room again
		}
		status, id := env.call(t, c.method, c.path, c.token)
		if status != c.status || id == "" {
			t.Fatalf("%s %s (%s): got %d, id %q; want %d", c.method, c.path, c.reason, status, id, c.status)
		}
		refused = append(refused, refusal{requestID: id, reason: c.reason, status: status})
		sent++
	}
	// Beyond the partner's 2 requests a second: refused before its token
	// is looked at.
	for i := 0; ; i++ {
		status, id := env.call(t, "GET", "/partner/reports", partner)
		sent++
		if status == 429 {
			refused = append(refused, refusal{requestID: id, reason: "rate_limited", status: status})
			break
		}
		if status != 200 || i > 10 {
			t.Fatalf("GET /partner/reports in a burst: got %d after %d requests, want a 429", status, i+1)
		}
	}
	return sent, refused
}

// reloadRefused writes an invalid api.json, waits for the reload that
// refuses it, and puts the good one back.
func (env *keygateEnv) reloadRefused(t *testing.T) {
	t.Helper()
	bad := strings.Replace(string(env.spec), `"path": "/health"`, `"path": "health"`, 1)
	if bad == string(env.spec) {
		t.Fatal("the spec has no /health route to break")
	}
	if err := os.WriteFile(env.specFile, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	env.waitForText(t, "/config", `<span class="state refused">`)
	if err := os.WriteFile(env.specFile, env.spec, 0o600); err != nil {
		t.Fatal(err)
	}
	env.waitForText(t, "/config", `<span class="state unchanged">`)
}

// waitForText polls the console page at path until it holds text.
func (env *keygateEnv) waitForText(t *testing.T, path, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := env.client.Get(env.adminURL + path)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), text) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never showed %q", path, text)
}

var decisionLine = regexp.MustCompile(`(?m)^keygate_auth_decisions_total\{([^}]*)\} (\d+)$`)

// deniedByReason reads keygate_auth_decisions_total's deny counts from
// /metrics, summed over deployments and stages.
func (env *keygateEnv) deniedByReason(t *testing.T) map[string]int {
	t.Helper()
	resp, err := env.client.Get(env.adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]int{}
	for _, m := range decisionLine.FindAllStringSubmatch(string(body), -1) {
		if !strings.Contains(m[1], `outcome="deny"`) {
			continue
		}
		reason := regexp.MustCompile(`reason="([^"]*)"`).FindStringSubmatch(m[1])
		n, _ := strconv.Atoi(m[2])
		if reason != nil {
			out[reason[1]] += n
		}
	}
	if len(out) == 0 {
		t.Fatal(errors.New("no deny decisions in /metrics"))
	}
	return out
}

// screenshot writes the page's full-size PNG to docs/console/name.png when
// KEYGATE_SCREENSHOTS is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("KEYGATE_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedpFullScreenshot(ctx)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "wrote docs/console/%s.png\n", name)
}
