package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// TestLoginRefresh: once the access token is about to expire, the next
// request refreshes it with the refresh token at the provider, and the
// browser gets the new session; once maxExpiryDurationInHours has passed
// since the login, it logs in again whatever the tokens say.
func TestLoginRefresh(t *testing.T) {
	env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{})
	b := env.Browser(t)
	env.LogIn(t, b, "/app/home")
	before := env.Backend.Since(0)[0].Header.Get("X-Access")
	tokenCalls := env.OP.Requests(oidctest.TokenPath)

	// The example provider's access tokens last 5 minutes; 4m40s later one
	// is within the 30 s refresh margin.
	env.Clock.Advance(4*time.Minute + 40*time.Second)
	resp, body := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after 5 minutes: %d %q, want 200 with a refreshed session", resp.StatusCode, body)
	}
	if n := env.OP.Requests(oidctest.TokenPath); n != tokenCalls+1 {
		t.Errorf("token endpoint calls %d → %d, want one refresh", tokenCalls, n)
	}
	if c := gatewaytest.SetCookies(resp)["KEYGATE_SESSION"]; c == nil || c.Value == "" {
		t.Fatal("no new session cookie after the refresh")
	}
	after := env.Backend.Since(1)[0].Header.Get("X-Access")
	if after == "" || after == before {
		t.Errorf("the backend got the same access token after the refresh")
	}
	// The refreshed session serves without another refresh (back at the
	// provider's time, as its new token was issued then).
	env.Clock.Advance(-(4*time.Minute + 40*time.Second))
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusOK || env.OP.Requests(oidctest.TokenPath) != tokenCalls+1 {
		t.Errorf("next request: %d, token calls %d", resp.StatusCode, env.OP.Requests(oidctest.TokenPath))
	}

	env.Clock.Advance(time.Hour) // an hour since the login: maxExpiryDurationInHours 1
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.OP.Issuer) {
		t.Errorf("after maxExpiryDurationInHours: %d to %q, want a new login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestLoginRefreshRefused: a refresh token the provider no longer accepts
// (the user ended the session at the provider) logs the browser in again.
func TestLoginRefreshRefused(t *testing.T) {
	env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{})
	b := env.Browser(t)
	env.LogIn(t, b, "/app/home")
	// Log out in another tab whose cookies this browser keeps (a copy of
	// them): the provider ends its session and drops the user's tokens.
	resp, _ := gatewaytest.Send(t, gatewaytest.PlainClient(), http.MethodGet, env.GW.URL+"/app/logout", env.CookieHeader(b))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.OP.Issuer+oidctest.EndSessionPath) {
		t.Fatalf("logout: %d to %q, want the provider's end_session_endpoint", resp.StatusCode, resp.Header.Get("Location"))
	}
	if end, body := gatewaytest.Send(t, gatewaytest.PlainClient(), http.MethodGet, resp.Header.Get("Location"), nil); end.StatusCode != http.StatusFound {
		t.Fatalf("end_session: %d %q", end.StatusCode, body)
	}
	// The session still opens until its access token needs a refresh,
	// which the provider now refuses: back to login.
	if resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/home", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("before the refresh: %d", resp.StatusCode)
	}
	env.Clock.Advance(4*time.Minute + 40*time.Second)
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.OP.Issuer) {
		t.Fatalf("refresh refused: %d to %q, want a new login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := gatewaytest.SetCookies(resp)["KEYGATE_SESSION"]; c == nil || c.MaxAge >= 0 {
		t.Errorf("the refused session was not deleted: %v", resp.Header["Set-Cookie"])
	}
}

// TestLoginKeyRotation: a session sealed with the old key opens at a
// gateway whose ring has a new key first and the old one second, and is
// resealed with the new key when it is next refreshed; a gateway without
// the old key sends the browser to login.
func TestLoginKeyRotation(t *testing.T) {
	old := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{Keys: []string{"k1"}})
	b := old.Browser(t)
	old.LogIn(t, b, "/app/home")

	// The jar sends cookies by host, not port: the same browser reaches
	// the next gateways with its session.
	rotated := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{OP: old.OP, Keys: []string{"k2", "k1"}, KeyFiles: old.Keys, ClientID: "keygate-web-2"})
	resp, body := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, rotated.GW.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusOK || body != "backend ok" {
		t.Fatalf("after rotation: %d %q, want the session kept", resp.StatusCode, body)
	}
	retired := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{OP: old.OP, Keys: []string{"k2"}, KeyFiles: rotated.Keys, ClientID: "keygate-web-3"})
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, retired.GW.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), old.OP.Issuer) {
		t.Fatalf("old key retired: %d to %q, want a login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A session sealed by the rotated gateway opens at the retired one.
	b2 := rotated.Browser(t)
	rotated.LogIn(t, b2, "/app/home")
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b2), http.MethodGet, retired.GW.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a session sealed with the new key: %d at the gateway with only the new key", resp.StatusCode)
	}
}

// TestLoginOverTLS: over HTTPS every login cookie is Secure, and the
// redirect URI is the https URL.
func TestLoginOverTLS(t *testing.T) {
	env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{TLS: true})
	b := env.Browser(t)
	first, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/home", nil)
	auth, _ := url.Parse(first.Header.Get("Location"))
	if got := auth.Query().Get("redirect_uri"); !strings.HasPrefix(got, "https://") {
		t.Errorf("redirect_uri %q, want https", got)
	}
	for _, c := range first.Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s without Secure over TLS", c.Name)
		}
	}
	resp, body := env.LogIn(t, b, "/app/home")
	if resp.StatusCode != http.StatusOK || body != "backend ok" {
		t.Fatalf("after login over TLS: %d %q", resp.StatusCode, body)
	}
	if c := env.Cookie(b, "KEYGATE_SESSION"); c == nil {
		t.Fatal("no session cookie over TLS")
	}
}
