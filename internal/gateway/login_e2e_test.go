package gateway_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway/gatewaytest"
	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// The browser login's test client at the provider.
const (
	webClientID     = "keygate-web"
	webClientSecret = "keygate-web-secret"
	webSecretID     = "ocid1.vaultsecret.oc1..web"
	loginPrefix     = "/app"
)

// loginClock is the gateway's clock in the login tests: real time plus
// what the test skipped.
type loginClock struct {
	mu   sync.Mutex
	skip time.Duration
}

func (c *loginClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skip)
}

func (c *loginClock) advance(d time.Duration) {
	c.mu.Lock()
	c.skip += d
	c.mu.Unlock()
}

// loginEnv is a gateway logging browsers in at a real OpenID provider.
type loginEnv struct {
	op      *oidctest.OP
	gw      *gatewaytest.Gateway
	backend *gatewaytest.Backend
	clock   *loginClock
	dir     string
	keys    map[string]string // session key id → file
}

// loginSetup tunes the spec of a loginEnv.
type loginSetup struct {
	// policy changes the OAUTH2 policy (a JSON-able map).
	policy func(map[string]any)
	// keys are the session key ids, first the sealing one. Default: k1.
	keys []string
	// op reuses a provider (a second gateway of the same test).
	op *oidctest.OP
	// jar: key files of another env, to share session keys.
	keyFiles map[string]string
	// routes are added to the spec.
	routes []map[string]any
	// tls serves the gateway over HTTPS.
	tls bool
	// clientID is the gateway's client at the provider. Default
	// webClientID; gateways sharing a provider need their own (each has
	// its redirect URIs).
	clientID string
}

func newSessionKeyFile(t *testing.T, dir, id string) string {
	t.Helper()
	var k [32]byte
	_, _ = rand.Read(k[:])
	file := filepath.Join(dir, id+".key")
	if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(k[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// startLoginEnv serves /app: /home (GET), /api/{item} (any method), /logout
// (OAUTH2_LOGOUT_BACKEND) and /bye (anonymous), logged in at a provider,
// with the session key ring s.keys; the provider knows the gateway's
// URLs as redirect URIs.
func startLoginEnv(t *testing.T, s loginSetup) *loginEnv {
	t.Helper()
	env := &loginEnv{op: s.op, clock: &loginClock{}, dir: t.TempDir(), keys: map[string]string{}}
	if s.clientID == "" {
		s.clientID = webClientID
	}
	if env.op == nil {
		env.op = oidctest.Start(t)
	}
	env.backend = gatewaytest.NewBackend(t)
	if len(s.keys) == 0 {
		s.keys = []string{"k1"}
	}
	secrets := []map[string]any{{"id": webSecretID, "file": "web.secret"}}
	if err := os.WriteFile(filepath.Join(env.dir, "web.secret"), []byte(webClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range s.keys {
		file, ok := s.keyFiles[id]
		if !ok {
			file = newSessionKeyFile(t, env.dir, id)
		}
		env.keys[id] = file
		secrets = append(secrets, map[string]any{"id": "session-" + id, "file": file})
	}
	sessionKeys := make([]string, len(s.keys))
	for i, id := range s.keys {
		sessionKeys[i] = "session-" + id
	}
	policy := map[string]any{
		"type":             "OAUTH2",
		"clientDetails":    map[string]any{"type": "VALIDATION_BLOCK"},
		"sourceUriDetails": map[string]any{"type": "VALIDATION_BLOCK"},
		"scopes":           []string{"openid", "profile", "email", "offline_access"},
		"responseType":     "code",
		"logoutPath":       "/logout",
	}
	if s.policy != nil {
		s.policy(policy)
	}
	echo := map[string]any{"type": "HTTP_BACKEND", "url": env.backend.URL + "/${request.path[item]}"}
	routes := []map[string]any{
		{"path": "/home", "methods": []string{"GET"}, "backend": map[string]any{"type": "HTTP_BACKEND", "url": env.backend.URL + "/home"},
			"requestPolicies": map[string]any{"headerTransformations": map[string]any{"setHeaders": map[string]any{"items": []map[string]any{
				{"name": "X-User", "values": []string{"${request.auth[sub]}"}},
				{"name": "X-Access", "values": []string{"${request.auth[access_token]}"}},
				{"name": "X-Id-Sub", "values": []string{"${request.auth[id_token_claims][sub]}"}},
			}}}}},
		{"path": "/api/{item}", "backend": echo},
		{"path": "/logout", "methods": []string{"GET"}, "backend": map[string]any{"type": "OAUTH2_LOGOUT_BACKEND",
			"allowedPostLogoutUris": []string{"/bye", "https://app.example.com/signed-out"}, "postLogoutState": "${request.query[s]}"}},
		{"path": "/bye", "methods": []string{"GET"}, "requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"}},
			"backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "signed out"}},
	}
	routes = append(routes, s.routes...)
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"isAnonymousAccessAllowed": true,
			"validationPolicy": map[string]any{"type": "REMOTE_DISCOVERY",
				"clientDetails":    map[string]any{"type": "CUSTOM", "clientId": s.clientID, "clientSecretId": webSecretID, "clientSecretVersionNumber": 1},
				"sourceUriDetails": map[string]any{"type": "DISCOVERY_URI", "uri": env.op.DiscoveryURI}},
			"validationFailurePolicy": policy,
		}},
		"routes": routes,
	}
	gw := map[string]any{
		"secrets":     secrets,
		"sessions":    map[string]any{"keys": sessionKeys},
		"deployments": []map[string]any{{"pathPrefix": loginPrefix, "specification": spec}},
	}
	data, _ := json.Marshal(gw)
	file := filepath.Join(env.dir, "gateway.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadGateway(file)
	if err != nil {
		t.Fatalf("loading the gateway file: %v", err)
	}
	env.gw = gatewaytest.StartConfig(t, cfg, env.backend, gatewaytest.Options{Now: env.clock.now, TLS: s.tls})
	base := env.gw.URL + loginPrefix
	env.op.RegisterWebClient(s.clientID, webClientSecret, false,
		base+"/home", base+"/api/items", base+"/api/other", base+"/callback")
	return env
}

// browser is a Go client with a cookie jar that follows redirects: what a
// browser does, short of JavaScript.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 15 * time.Second}
}

// browserFor is a browser that trusts e's gateway certificate.
func (e *loginEnv) browserFor(t *testing.T) *http.Client {
	b := browser(t)
	b.Transport = e.gw.Client.Transport
	return b
}

// noFollow is c without following redirects (same jar).
func noFollow(c *http.Client) *http.Client {
	return &http.Client{Jar: c.Jar, Timeout: c.Timeout, Transport: c.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp, string(body)
}

// login logs b in by asking for path: the gateway sends it to the
// provider, the test user fills in the form, and b comes back to path.
func (e *loginEnv) login(t *testing.T, b *http.Client, path string) (*http.Response, string) {
	t.Helper()
	form, _ := do(t, b, http.MethodGet, e.gw.URL+path, nil)
	if form.Request.URL.Path != oidctest.LoginFormPath {
		t.Fatalf("GET %s ended at %s (%d), not the provider's login form", path, form.Request.URL, form.StatusCode)
	}
	resp, err := e.op.SubmitLogin(b, form, oidctest.Password)
	if err != nil {
		t.Fatalf("login form: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// cookie returns b's cookie name for the gateway, or nil.
func (e *loginEnv) cookie(b *http.Client, name string) *http.Cookie {
	u, _ := url.Parse(e.gw.URL + loginPrefix + "/")
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func setCookies(resp *http.Response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		out[c.Name] = c
	}
	return out
}

// cookieHeader is the Cookie header b sends to the gateway.
func (e *loginEnv) cookieHeader(b *http.Client) http.Header {
	u, _ := url.Parse(e.gw.URL + loginPrefix + "/")
	var parts []string
	for _, c := range b.Jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return http.Header{"Cookie": {strings.Join(parts, "; ")}}
}

// plain is a client without cookies that follows no redirects.
func plain() *http.Client {
	return &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
