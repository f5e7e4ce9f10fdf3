package gatewaytest

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
	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// The browser login's client at the provider, and where StartLogin serves.
const (
	// WebClientID is the gateway's default client id at the provider.
	WebClientID     = "keygate-web"
	webClientSecret = "keygate-web-secret"
	webSecretID     = "ocid1.vaultsecret.oc1..web"
	// LoginPrefix is the path prefix of StartLogin's deployment.
	LoginPrefix = "/app"
)

// LoginClock is a login gateway's clock: real time (the provider's) plus
// what the test skipped.
type LoginClock struct {
	mu   sync.Mutex
	skip time.Duration
}

// Now is the gateway's time.
func (c *LoginClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skip)
}

// Advance moves the gateway's clock by d (negative: back).
func (c *LoginClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.skip += d
	c.mu.Unlock()
}

// Login is a gateway logging browsers in at a real OpenID provider (an
// OAUTH2 validation failure policy on REMOTE_DISCOVERY), loaded from a
// gateway file as keygate loads it.
type Login struct {
	OP      *oidctest.OP
	GW      *Gateway
	Backend *Backend
	Clock   *LoginClock
	// Keys maps each session key id to its file, for another gateway that
	// shares them (LoginSetup.KeyFiles).
	Keys map[string]string
	dir  string
}

// LoginSetup tunes StartLogin.
type LoginSetup struct {
	// Policy changes the OAUTH2 policy (a JSON-able map). Default: none.
	Policy func(map[string]any)
	// Keys are the session key ids, first the sealing one. Default: k1.
	Keys []string
	// KeyFiles are the files of Keys made by another Login (rotation);
	// a key not in it gets a new file.
	KeyFiles map[string]string
	// OP is the provider; default a new one.
	OP *oidctest.OP
	// Routes are added to the spec.
	Routes []map[string]any
	// TLS serves the gateway over HTTPS.
	TLS bool
	// ClientID is the gateway's client at the provider. Default
	// WebClientID; gateways sharing a provider need their own (each has its
	// redirect URIs).
	ClientID string
}

// StartLogin serves LoginPrefix: /home (GET, X-User and X-Id-Sub set from
// the ID token's sub, X-Access from the access token), /api/{item} (any
// method), /logout (OAUTH2_LOGOUT_BACKEND allowing /bye and
// https://app.example.com/signed-out, postLogoutState from the query's s)
// and /bye (ANONYMOUS), logged in at a provider that knows the gateway's
// URLs as redirect URIs.
func StartLogin(t *testing.T, s LoginSetup) *Login {
	t.Helper()
	env := &Login{OP: s.OP, Clock: &LoginClock{}, dir: t.TempDir(), Keys: map[string]string{}}
	if env.OP == nil {
		env.OP = oidctest.Start(t)
	}
	if s.ClientID == "" {
		s.ClientID = WebClientID
	}
	env.Backend = NewBackend(t)
	if len(s.Keys) == 0 {
		s.Keys = []string{"k1"}
	}
	secrets := []map[string]any{{"id": webSecretID, "file": "web.secret"}}
	if err := os.WriteFile(filepath.Join(env.dir, "web.secret"), []byte(webClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	sessionKeys := make([]string, len(s.Keys))
	for i, id := range s.Keys {
		file, ok := s.KeyFiles[id]
		if !ok {
			file = newSessionKeyFile(t, env.dir, id)
		}
		env.Keys[id] = file
		secrets = append(secrets, map[string]any{"id": "session-" + id, "file": file})
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
	if s.Policy != nil {
		s.Policy(policy)
	}
	echo := map[string]any{"type": "HTTP_BACKEND", "url": env.Backend.URL + "/${request.path[item]}"}
	routes := []map[string]any{
		{"path": "/home", "methods": []string{"GET"}, "backend": map[string]any{"type": "HTTP_BACKEND", "url": env.Backend.URL + "/home"},
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
	routes = append(routes, s.Routes...)
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"isAnonymousAccessAllowed": true,
			"validationPolicy": map[string]any{"type": "REMOTE_DISCOVERY",
				"clientDetails":    map[string]any{"type": "CUSTOM", "clientId": s.ClientID, "clientSecretId": webSecretID, "clientSecretVersionNumber": 1},
				"sourceUriDetails": map[string]any{"type": "DISCOVERY_URI", "uri": env.OP.DiscoveryURI}},
			"validationFailurePolicy": policy,
		}},
		"routes": routes,
	}
	gw := map[string]any{
		"secrets":     secrets,
		"sessions":    map[string]any{"keys": sessionKeys},
		"deployments": []map[string]any{{"pathPrefix": LoginPrefix, "specification": spec}},
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
	env.GW = StartConfig(t, cfg, env.Backend, Options{Now: env.Clock.Now, TLS: s.TLS})
	base := env.GW.URL + LoginPrefix
	env.OP.RegisterWebClient(s.ClientID, webClientSecret, false,
		base+"/home", base+"/api/items", base+"/api/other", base+"/callback")
	return env
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

// Browser is a Go client with a cookie jar that follows redirects: what a
// browser does, short of JavaScript; it trusts e's certificate.
func (e *Login) Browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 15 * time.Second, Transport: e.GW.Client.Transport}
}

// NoFollow is c (same jar) without following redirects.
func NoFollow(c *http.Client) *http.Client {
	return &http.Client{Jar: c.Jar, Timeout: c.Timeout, Transport: c.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// PlainClient has no cookies and follows no redirects.
func PlainClient() *http.Client {
	return &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Send makes a request with c and returns the response with its body read.
func Send(t *testing.T, c *http.Client, method, u string, header http.Header) (*http.Response, string) {
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

// LogIn logs b in by asking for path: the gateway sends it to the
// provider, the test user fills in the form, and b comes back to path.
func (e *Login) LogIn(t *testing.T, b *http.Client, path string) (*http.Response, string) {
	t.Helper()
	form, _ := Send(t, b, http.MethodGet, e.GW.URL+path, nil)
	if form.Request.URL.Path != oidctest.LoginFormPath {
		t.Fatalf("GET %s ended at %s (%d), not the provider's login form", path, form.Request.URL, form.StatusCode)
	}
	resp, err := e.OP.SubmitLogin(b, form, oidctest.Password)
	if err != nil {
		t.Fatalf("login form: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// Cookie returns b's cookie name for the gateway, or nil.
func (e *Login) Cookie(b *http.Client, name string) *http.Cookie {
	u, _ := url.Parse(e.GW.URL + LoginPrefix + "/")
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ReplaceCookie puts cookie name with value into b's jar for the gateway.
func (e *Login) ReplaceCookie(b *http.Client, name, value string) {
	u, _ := url.Parse(e.GW.URL + LoginPrefix + "/")
	b.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: LoginPrefix}})
}

// CookieHeader is the Cookie header b sends to the gateway.
func (e *Login) CookieHeader(b *http.Client) http.Header {
	u, _ := url.Parse(e.GW.URL + LoginPrefix + "/")
	var parts []string
	for _, c := range b.Jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return http.Header{"Cookie": {strings.Join(parts, "; ")}}
}

// SetCookies returns a response's Set-Cookie cookies by name.
func SetCookies(resp *http.Response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		out[c.Name] = c
	}
	return out
}

// StartFlow asks for path without a session and returns the provider URL
// the gateway sends b to (b keeps the flow cookie).
func (e *Login) StartFlow(t *testing.T, b *http.Client, path string) *url.URL {
	t.Helper()
	resp, _ := Send(t, NoFollow(b), http.MethodGet, e.GW.URL+path, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET %s: %d, want 302", path, resp.StatusCode)
	}
	u, _ := url.Parse(resp.Header.Get("Location"))
	return u
}

// CallbackFor logs the test user in at the provider for the authorization
// request at authURL and returns the redirect back to the gateway, not
// following it: what an attacker holds after logging in himself.
func (e *Login) CallbackFor(t *testing.T, authURL *url.URL) *url.URL {
	t.Helper()
	var back *url.URL
	gwHost := strings.TrimPrefix(strings.TrimPrefix(e.GW.URL, "http://"), "https://")
	b := e.Browser(t)
	b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == gwHost {
			back = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	form, _ := Send(t, b, http.MethodGet, authURL.String(), nil)
	if _, err := e.OP.SubmitLogin(b, form, oidctest.Password); err != nil {
		t.Fatal(err)
	}
	if back == nil {
		t.Fatal("the provider did not redirect back to the gateway")
	}
	return back
}

// WithParam returns u with its query parameter name set to value.
func WithParam(u *url.URL, name, value string) string {
	c := *u
	q := c.Query()
	q.Set(name, value)
	c.RawQuery = q.Encode()
	return c.String()
}
