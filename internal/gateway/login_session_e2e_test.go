package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// replaceCookie puts c with value into b's jar for the gateway.
func (e *loginEnv) replaceCookie(b *http.Client, name, value string) {
	u, _ := url.Parse(e.gw.URL + loginPrefix + "/")
	b.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: loginPrefix}})
}

// TestLoginTamperedSession: a session cookie that does not open (one byte
// changed, cut short, another deployment's, garbage) sends the browser
// back to login and deletes the cookie; never a 500.
func TestLoginTamperedSession(t *testing.T) {
	env := startLoginEnv(t, loginSetup{})
	b := browser(t)
	env.login(t, b, "/app/home")
	good := env.cookie(b, "KEYGATE_SESSION").Value
	flip := []byte(good)
	flip[len(flip)/2] ^= 0x01
	if flip[len(flip)/2] == '.' || flip[len(flip)/2] > 'z' {
		flip[len(flip)/2] = 'A'
	}
	for name, value := range map[string]string{
		"flipped":   string(flip),
		"truncated": good[:len(good)-10],
		"garbage":   "bm90IGEgc2Vzc2lvbg",
	} {
		t.Run(name, func(t *testing.T) {
			env.replaceCookie(b, "KEYGATE_SESSION", value)
			resp, _ := do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/home", nil)
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.op.Issuer) {
				t.Fatalf("%d to %q, want 302 to the provider", resp.StatusCode, resp.Header.Get("Location"))
			}
			if c := setCookies(resp)["KEYGATE_SESSION"]; c == nil || c.MaxAge >= 0 {
				t.Errorf("the bad session cookie was not deleted: %v", resp.Header["Set-Cookie"])
			}
		})
	}
	if strings.Contains(env.gw.Log.String(), good[:32]) {
		t.Error("the session cookie is in the log")
	}
}

// TestLoginRefresh: once the access token is about to expire, the next
// request refreshes it with the refresh token at the provider, and the
// browser gets the new session; once maxExpiryDurationInHours has passed
// since the login, it logs in again whatever the tokens say.
func TestLoginRefresh(t *testing.T) {
	env := startLoginEnv(t, loginSetup{})
	b := browser(t)
	env.login(t, b, "/app/home")
	before := env.backend.Since(0)[0].Header.Get("X-Access")
	tokenCalls := env.op.Requests(oidctest.TokenPath)

	// The example provider's access tokens last 5 minutes; 4m40s later one
	// is within the 30 s refresh margin.
	env.clock.advance(4*time.Minute + 40*time.Second)
	resp, body := do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after 5 minutes: %d %q, want 200 with a refreshed session", resp.StatusCode, body)
	}
	if n := env.op.Requests(oidctest.TokenPath); n != tokenCalls+1 {
		t.Errorf("token endpoint calls %d → %d, want one refresh", tokenCalls, n)
	}
	if c := setCookies(resp)["KEYGATE_SESSION"]; c == nil || c.Value == "" {
		t.Fatal("no new session cookie after the refresh")
	}
	after := env.backend.Since(1)[0].Header.Get("X-Access")
	if after == "" || after == before {
		t.Errorf("the backend got the same access token after the refresh")
	}
	// The refreshed session serves without another refresh (back at the
	// provider's time, as its new token was issued then).
	env.clock.advance(-(4*time.Minute + 40*time.Second))
	resp, _ = do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusOK || env.op.Requests(oidctest.TokenPath) != tokenCalls+1 {
		t.Errorf("next request: %d, token calls %d", resp.StatusCode, env.op.Requests(oidctest.TokenPath))
	}

	env.clock.advance(time.Hour) // an hour since the login: maxExpiryDurationInHours 1
	resp, _ = do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.op.Issuer) {
		t.Errorf("after maxExpiryDurationInHours: %d to %q, want a new login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestLoginRefreshRefused: a refresh token the provider no longer accepts
// (the user ended the session at the provider) logs the browser in again.
func TestLoginRefreshRefused(t *testing.T) {
	env := startLoginEnv(t, loginSetup{})
	b := browser(t)
	env.login(t, b, "/app/home")
	// Log out in another tab whose cookies this browser keeps (a copy of
	// them): the provider ends its session and drops the user's tokens.
	resp, _ := do(t, plain(), http.MethodGet, env.gw.URL+"/app/logout", env.cookieHeader(b))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.op.Issuer+oidctest.EndSessionPath) {
		t.Fatalf("logout: %d to %q, want the provider's end_session_endpoint", resp.StatusCode, resp.Header.Get("Location"))
	}
	if end, body := do(t, plain(), http.MethodGet, resp.Header.Get("Location"), nil); end.StatusCode != http.StatusFound {
		t.Fatalf("end_session: %d %q", end.StatusCode, body)
	}
	// The session still opens until its access token needs a refresh,
	// which the provider now refuses: back to login.
	if resp, _ := do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/home", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("before the refresh: %d", resp.StatusCode)
	}
	env.clock.advance(4*time.Minute + 40*time.Second)
	resp, _ = do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.op.Issuer) {
		t.Fatalf("refresh refused: %d to %q, want a new login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := setCookies(resp)["KEYGATE_SESSION"]; c == nil || c.MaxAge >= 0 {
		t.Errorf("the refused session was not deleted: %v", resp.Header["Set-Cookie"])
	}
}

// TestLoginKeyRotation: a session sealed with the old key opens at a
// gateway whose ring has a new key first and the old one second, and is
// resealed with the new key when it is next refreshed; a gateway without
// the old key sends the browser to login.
func TestLoginKeyRotation(t *testing.T) {
	old := startLoginEnv(t, loginSetup{keys: []string{"k1"}})
	b := browser(t)
	old.login(t, b, "/app/home")

	// The jar sends cookies by host, not port: the same browser reaches
	// the next gateways with its session.
	rotated := startLoginEnv(t, loginSetup{op: old.op, keys: []string{"k2", "k1"}, keyFiles: old.keys, clientID: "keygate-web-2"})
	resp, body := do(t, noFollow(b), http.MethodGet, rotated.gw.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusOK || body != "backend ok" {
		t.Fatalf("after rotation: %d %q, want the session kept", resp.StatusCode, body)
	}
	retired := startLoginEnv(t, loginSetup{op: old.op, keys: []string{"k2"}, keyFiles: rotated.keys, clientID: "keygate-web-3"})
	resp, _ = do(t, noFollow(b), http.MethodGet, retired.gw.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), old.op.Issuer) {
		t.Fatalf("old key retired: %d to %q, want a login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A session sealed by the rotated gateway opens at the retired one.
	b2 := browser(t)
	rotated.login(t, b2, "/app/home")
	resp, _ = do(t, noFollow(b2), http.MethodGet, retired.gw.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a session sealed with the new key: %d at the gateway with only the new key", resp.StatusCode)
	}
}

// TestLoginOverTLS: over HTTPS every login cookie is Secure, and the
// redirect URI is the https URL.
func TestLoginOverTLS(t *testing.T) {
	env := startLoginEnv(t, loginSetup{tls: true})
	b := env.browserFor(t)
	first, _ := do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/home", nil)
	auth, _ := url.Parse(first.Header.Get("Location"))
	if got := auth.Query().Get("redirect_uri"); !strings.HasPrefix(got, "https://") {
		t.Errorf("redirect_uri %q, want https", got)
	}
	for _, c := range first.Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s without Secure over TLS", c.Name)
		}
	}
	resp, body := env.login(t, b, "/app/home")
	if resp.StatusCode != http.StatusOK || body != "backend ok" {
		t.Fatalf("after login over TLS: %d %q", resp.StatusCode, body)
	}
	if c := env.cookie(b, "KEYGATE_SESSION"); c == nil {
		t.Fatal("no session cookie over TLS")
	}
}
