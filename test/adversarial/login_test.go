package adversarial

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// Attacks on the browser login (attacks.md L1-L6): a real OpenID provider
// (the zitadel example OP), a real gateway loaded from a gateway file, and
// browsers with cookie jars.

// TestLoginCallbackAttacks: the callback accepts only the authorization
// response of a login this browser started, from the provider it went to.
func TestLoginCallbackAttacks(t *testing.T) {
	env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{})

	t.Run("login CSRF: another browser's callback", func(t *testing.T) {
		defer nothingReached(t, env.Backend, env.Backend.Count())
		attacker := env.Browser(t)
		back := env.CallbackFor(t, env.StartFlow(t, attacker, "/app/home"))
		victim := env.Browser(t)
		resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(victim), http.MethodGet, back.String(), nil)
		if resp.StatusCode != http.StatusBadRequest || env.Cookie(victim, "KEYGATE_SESSION") != nil {
			t.Fatalf("victim: %d, session %v; want 400 and no session", resp.StatusCode, env.Cookie(victim, "KEYGATE_SESSION"))
		}
	})
	t.Run("state of another login of the same browser", func(t *testing.T) {
		defer nothingReached(t, env.Backend, env.Backend.Count())
		b := env.Browser(t)
		first := env.StartFlow(t, b, "/app/home")
		second := env.StartFlow(t, b, "/app/home")
		back := env.CallbackFor(t, second)
		// The code of the second login with the state of the first: the
		// first's flow cookie opens, and PKCE binds the code to the second.
		resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, gatewaytest.WithParam(back, "state", first.Query().Get("state")), nil)
		if resp.StatusCode != http.StatusUnauthorized || env.Cookie(b, "KEYGATE_SESSION") != nil {
			t.Fatalf("code injection: %d, want 401 and no session", resp.StatusCode)
		}
	})
	t.Run("forged state", func(t *testing.T) {
		defer nothingReached(t, env.Backend, env.Backend.Count())
		b := env.Browser(t)
		back := env.CallbackFor(t, env.StartFlow(t, b, "/app/home"))
		resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, gatewaytest.WithParam(back, "state", "forged"), nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("forged state: %d, want 400", resp.StatusCode)
		}
	})
	t.Run("mix-up: another issuer", func(t *testing.T) {
		defer nothingReached(t, env.Backend, env.Backend.Count())
		b := env.Browser(t)
		back := env.CallbackFor(t, env.StartFlow(t, b, "/app/home"))
		resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, gatewaytest.WithParam(back, "iss", "https://idp.attacker.example"), nil)
		if resp.StatusCode != http.StatusBadRequest || env.Cookie(b, "KEYGATE_SESSION") != nil {
			t.Fatalf("mix-up: %d, want 400 and no session", resp.StatusCode)
		}
	})
	t.Run("replayed callback", func(t *testing.T) {
		b := env.Browser(t)
		back := env.CallbackFor(t, env.StartFlow(t, b, "/app/home"))
		resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, back.String(), nil)
		if resp.StatusCode != http.StatusFound || env.Cookie(b, "KEYGATE_SESSION") == nil {
			t.Fatalf("the genuine callback: %d", resp.StatusCode)
		}
		other := env.Browser(t)
		env.StartFlow(t, other, "/app/home")
		if resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, back.String(), nil); resp.StatusCode != http.StatusOK {
			// With a session the callback's parameters are the route's own.
			t.Fatalf("a logged-in browser on the old callback URL: %d", resp.StatusCode)
		}
		fresh := env.Browser(t)
		if resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(fresh), http.MethodGet, back.String(), nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("the callback again in another browser: %d, want 400", resp.StatusCode)
		}
	})
	t.Run("provider error", func(t *testing.T) {
		defer nothingReached(t, env.Backend, env.Backend.Count())
		b := env.Browser(t)
		auth := env.StartFlow(t, b, "/app/home")
		u := env.GW.URL + "/app/home?error=access_denied&state=" + url.QueryEscape(auth.Query().Get("state"))
		if resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, u, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("error=access_denied: %d, want 401", resp.StatusCode)
		}
	})
}

// TestLoginNonceChecked: without PKCE the code of one login redeemed with
// another's state still fails, on the ID token's nonce.
func TestLoginNonceChecked(t *testing.T) {
	env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{Policy: func(p map[string]any) { p["usePkce"] = false }})
	b := env.Browser(t)
	first := env.StartFlow(t, b, "/app/home")
	if first.Query().Has("code_challenge") {
		t.Fatal("usePkce false still sends a code challenge")
	}
	second := env.StartFlow(t, b, "/app/home")
	back := env.CallbackFor(t, second)
	resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, gatewaytest.WithParam(back, "state", first.Query().Get("state")), nil)
	if resp.StatusCode != http.StatusUnauthorized || env.Cookie(b, "KEYGATE_SESSION") != nil {
		t.Fatalf("nonce mismatch: %d, want 401 and no session", resp.StatusCode)
	}
	if !strings.Contains(env.GW.Log.String(), "nonce_mismatch") {
		t.Error("no nonce_mismatch in the log")
	}
	// The attempt spent the code: the provider refuses it now, so the
	// second login's own callback fails too (no session from an attack).
	if resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, back.String(), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the spent code's own callback: %d, want 401", resp.StatusCode)
	}
}

// TestLoginTamperedSession: a session cookie that does not open (one byte
// changed, cut short, another deployment's, garbage) sends the browser
// back to login and deletes the cookie; never a 500.
func TestLoginTamperedSession(t *testing.T) {
	env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{})
	b := env.Browser(t)
	env.LogIn(t, b, "/app/home")
	good := env.Cookie(b, "KEYGATE_SESSION").Value
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
			env.ReplaceCookie(b, "KEYGATE_SESSION", value)
			resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/home", nil)
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.OP.Issuer) {
				t.Fatalf("%d to %q, want 302 to the provider", resp.StatusCode, resp.Header.Get("Location"))
			}
			if c := gatewaytest.SetCookies(resp)["KEYGATE_SESSION"]; c == nil || c.MaxAge >= 0 {
				t.Errorf("the bad session cookie was not deleted: %v", resp.Header["Set-Cookie"])
			}
		})
	}
	if strings.Contains(env.GW.Log.String(), good[:32]) {
		t.Error("the session cookie is in the log")
	}
}

// nothingReached fails t if b received a request after it had before.
func nothingReached(t *testing.T, b *gatewaytest.Backend, before int) {
	t.Helper()
	if n := b.Count(); n != before {
		t.Errorf("the backend received %d requests from a refused login", n-before)
	}
}
