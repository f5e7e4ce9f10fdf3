package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// TestLoginFlowEndToEnd logs a browser (a Go client with a cookie jar) in
// at a real provider: the first GET goes to the provider with PKCE, state
// and nonce, the login form is posted, the callback sets a sealed session
// cookie and sends the browser back to the URL it asked for, query and
// all; the backend sees who logged in and none of the login's cookies.
func TestLoginFlowEndToEnd(t *testing.T) {
	env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{})
	b := env.Browser(t)

	// The first answer: a redirect to the provider.
	first, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/home?tab=2&q=a%20b", nil)
	if first.StatusCode != http.StatusFound {
		t.Fatalf("first GET: %d, want 302", first.StatusCode)
	}
	to, err := url.Parse(first.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(to.String(), env.OP.Issuer+"/") {
		t.Fatalf("Location %q is not the provider's", first.Header.Get("Location"))
	}
	q := to.Query()
	for name, want := range map[string]string{
		"client_id": gatewaytest.WebClientID, "response_type": "code", "code_challenge_method": "S256",
		"redirect_uri": env.GW.URL + "/app/home", "scope": "openid profile email offline_access",
	} {
		if got := q.Get(name); got != want {
			t.Errorf("authorization request %s = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(name)) < 43 {
			t.Errorf("authorization request %s = %q: want 32 random bytes", name, q.Get(name))
		}
	}
	var flow *http.Cookie
	for _, c := range first.Cookies() {
		if strings.HasPrefix(c.Name, "KEYGATE_LOGIN_") {
			flow = c
		}
	}
	if flow == nil || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.Path != "/app" || flow.MaxAge != 600 {
		t.Fatalf("flow cookie %+v: want HttpOnly, SameSite=Lax, Path=/app, Max-Age=600", flow)
	}
	if strings.Contains(flow.Value, q.Get("nonce")) || strings.Contains(flow.Value, q.Get("state")) {
		t.Error("the flow cookie shows the nonce or state in clear")
	}

	resp, body := env.LogIn(t, b, "/app/home?tab=2&q=a%20b")
	if resp.StatusCode != http.StatusOK || body != "backend ok" {
		t.Fatalf("after login: %d %q at %s", resp.StatusCode, body, resp.Request.URL)
	}
	if got := resp.Request.URL.RawQuery; got != "tab=2&q=a%20b" {
		t.Errorf("came back to query %q, want the original", got)
	}
	if resp.Header.Get("X-Csrf-Token") == "" {
		t.Error("no X-CSRF-TOKEN on a cookie session's answer")
	}
	reqs := env.Backend.Since(0)
	if len(reqs) != 1 {
		t.Fatalf("backend got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.Header.Get("X-User") != oidctest.UserID || got.Header.Get("X-Id-Sub") != oidctest.UserID || got.Header.Get("X-Access") == "" {
		t.Errorf("backend X-User %q, X-Id-Sub %q, X-Access %q: want the ID token's sub twice and the access token",
			got.Header.Get("X-User"), got.Header.Get("X-Id-Sub"), got.Header.Get("X-Access"))
	}
	if c := got.Header.Get("Cookie"); strings.Contains(c, "KEYGATE_") {
		t.Errorf("backend received the login's cookies: %q", c)
	}
	if got.RawQuery != "tab=2&q=a%20b" {
		t.Errorf("backend query %q", got.RawQuery)
	}
	session := env.Cookie(b, "KEYGATE_SESSION")
	if session == nil {
		t.Fatal("no session cookie in the jar")
	}

	// The session serves later requests without the provider.
	authorizeCalls := env.OP.Requests("/auth")
	resp, body = gatewaytest.Send(t, b, http.MethodGet, env.GW.URL+"/app/api/items", nil)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Host != strings.TrimPrefix(env.GW.URL, "http://") {
		t.Fatalf("second request: %d %q at %s", resp.StatusCode, body, resp.Request.URL)
	}
	if n := env.OP.Requests("/auth"); n != authorizeCalls {
		t.Errorf("the provider was asked again (%d → %d)", authorizeCalls, n)
	}

	// A request that changes state needs the session's X-CSRF-TOKEN.
	csrf := resp.Header.Get("X-Csrf-Token")
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodPost, env.GW.URL+"/app/api/items", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST without X-CSRF-TOKEN: %d, want 403", resp.StatusCode)
	}
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodPost, env.GW.URL+"/app/api/items", http.Header{"X-Csrf-Token": {csrf + "x"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST with a wrong X-CSRF-TOKEN: %d, want 403", resp.StatusCode)
	}
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodPost, env.GW.URL+"/app/api/items", http.Header{"X-Csrf-Token": {csrf}})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST with the X-CSRF-TOKEN: %d, want 200", resp.StatusCode)
	}
	for _, line := range strings.Split(env.GW.Log.String(), "\n") {
		if strings.Contains(line, session.Value[:40]) || strings.Contains(line, flow.Value[:40]) {
			t.Errorf("a cookie value is in the log: %s", line)
		}
	}
}
