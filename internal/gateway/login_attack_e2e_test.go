package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// startFlow asks for path without a session and returns the provider URL
// the gateway sends b to (b keeps the flow cookie).
func (e *loginEnv) startFlow(t *testing.T, b *http.Client, path string) *url.URL {
	t.Helper()
	resp, _ := do(t, noFollow(b), http.MethodGet, e.gw.URL+path, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET %s: %d, want 302", path, resp.StatusCode)
	}
	u, _ := url.Parse(resp.Header.Get("Location"))
	return u
}

// callbackFor logs the test user in at the provider for the authorization
// request at authURL and returns the redirect back to the gateway, not
// following it: what an attacker holds after logging in himself.
func (e *loginEnv) callbackFor(t *testing.T, authURL *url.URL) *url.URL {
	t.Helper()
	var back *url.URL
	gwHost := strings.TrimPrefix(e.gw.URL, "http://")
	b := browser(t)
	b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == gwHost {
			back = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	form, _ := do(t, b, http.MethodGet, authURL.String(), nil)
	if _, err := e.op.SubmitLogin(b, form, oidctest.Password); err != nil {
		t.Fatal(err)
	}
	if back == nil {
		t.Fatal("the provider did not redirect back to the gateway")
	}
	return back
}

// withParam returns u with its query parameter name set to value.
func withParam(u *url.URL, name, value string) string {
	c := *u
	q := c.Query()
	q.Set(name, value)
	c.RawQuery = q.Encode()
	return c.String()
}

// TestLoginCallbackAttacks: the callback accepts only the authorization
// response of a login this browser started, from the provider it went to.
func TestLoginCallbackAttacks(t *testing.T) {
	env := startLoginEnv(t, loginSetup{})

	t.Run("login CSRF: another browser's callback", func(t *testing.T) {
		attacker := browser(t)
		back := env.callbackFor(t, env.startFlow(t, attacker, "/app/home"))
		victim := browser(t)
		resp, _ := do(t, noFollow(victim), http.MethodGet, back.String(), nil)
		if resp.StatusCode != http.StatusBadRequest || env.cookie(victim, "KEYGATE_SESSION") != nil {
			t.Fatalf("victim: %d, session %v; want 400 and no session", resp.StatusCode, env.cookie(victim, "KEYGATE_SESSION"))
		}
	})
	t.Run("state of another login of the same browser", func(t *testing.T) {
		b := browser(t)
		first := env.startFlow(t, b, "/app/home")
		second := env.startFlow(t, b, "/app/home")
		back := env.callbackFor(t, second)
		// The code of the second login with the state of the first: the
		// first's flow cookie opens, and PKCE binds the code to the second.
		resp, _ := do(t, noFollow(b), http.MethodGet, withParam(back, "state", first.Query().Get("state")), nil)
		if resp.StatusCode != http.StatusUnauthorized || env.cookie(b, "KEYGATE_SESSION") != nil {
			t.Fatalf("code injection: %d, want 401 and no session", resp.StatusCode)
		}
	})
	t.Run("forged state", func(t *testing.T) {
		b := browser(t)
		back := env.callbackFor(t, env.startFlow(t, b, "/app/home"))
		resp, _ := do(t, noFollow(b), http.MethodGet, withParam(back, "state", "forged"), nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("forged state: %d, want 400", resp.StatusCode)
		}
	})
	t.Run("mix-up: another issuer", func(t *testing.T) {
		b := browser(t)
		back := env.callbackFor(t, env.startFlow(t, b, "/app/home"))
		resp, _ := do(t, noFollow(b), http.MethodGet, withParam(back, "iss", "https://idp.attacker.example"), nil)
		if resp.StatusCode != http.StatusBadRequest || env.cookie(b, "KEYGATE_SESSION") != nil {
			t.Fatalf("mix-up: %d, want 400 and no session", resp.StatusCode)
		}
	})
	t.Run("replayed callback", func(t *testing.T) {
		b := browser(t)
		back := env.callbackFor(t, env.startFlow(t, b, "/app/home"))
		resp, _ := do(t, noFollow(b), http.MethodGet, back.String(), nil)
		if resp.StatusCode != http.StatusFound || env.cookie(b, "KEYGATE_SESSION") == nil {
			t.Fatalf("the genuine callback: %d", resp.StatusCode)
		}
		other := browser(t)
		env.startFlow(t, other, "/app/home")
		if resp, _ := do(t, noFollow(b), http.MethodGet, back.String(), nil); resp.StatusCode != http.StatusOK {
			// With a session the callback's parameters are the route's own.
			t.Fatalf("a logged-in browser on the old callback URL: %d", resp.StatusCode)
		}
		fresh := browser(t)
		if resp, _ := do(t, noFollow(fresh), http.MethodGet, back.String(), nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("the callback again in another browser: %d, want 400", resp.StatusCode)
		}
	})
	t.Run("provider error", func(t *testing.T) {
		b := browser(t)
		auth := env.startFlow(t, b, "/app/home")
		u := env.gw.URL + "/app/home?error=access_denied&state=" + url.QueryEscape(auth.Query().Get("state"))
		if resp, _ := do(t, noFollow(b), http.MethodGet, u, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("error=access_denied: %d, want 401", resp.StatusCode)
		}
	})
}

// TestLoginNonceChecked: without PKCE the code of one login redeemed with
// another's state still fails, on the ID token's nonce.
func TestLoginNonceChecked(t *testing.T) {
	env := startLoginEnv(t, loginSetup{policy: func(p map[string]any) { p["usePkce"] = false }})
	b := browser(t)
	first := env.startFlow(t, b, "/app/home")
	if first.Query().Has("code_challenge") {
		t.Fatal("usePkce false still sends a code challenge")
	}
	second := env.startFlow(t, b, "/app/home")
	back := env.callbackFor(t, second)
	resp, _ := do(t, noFollow(b), http.MethodGet, withParam(back, "state", first.Query().Get("state")), nil)
	if resp.StatusCode != http.StatusUnauthorized || env.cookie(b, "KEYGATE_SESSION") != nil {
		t.Fatalf("nonce mismatch: %d, want 401 and no session", resp.StatusCode)
	}
	if !strings.Contains(env.gw.Log.String(), "nonce_mismatch") {
		t.Error("no nonce_mismatch in the log")
	}
	// The attempt spent the code: the provider refuses it now, so the
	// second login's own callback fails too (no session from an attack).
	if resp, _ := do(t, noFollow(b), http.MethodGet, back.String(), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the spent code's own callback: %d, want 401", resp.StatusCode)
	}
}

// TestLoginLogout: the logout route forgets the session and sends the
// browser to the provider's end_session_endpoint with the ID token as
// hint, the post-logout URL (only a listed one: no open redirect) and the
// postLogoutState.
func TestLoginLogout(t *testing.T) {
	env := startLoginEnv(t, loginSetup{})
	b := browser(t)
	env.login(t, b, "/app/home")

	for _, bad := range []string{"https://evil.example.com/", "//evil.example.com/x", "/\\evil.example.com", "/not-listed", "javascript:alert(1)"} {
		resp, _ := do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/logout?postLogoutUrl="+url.QueryEscape(bad), nil)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("postLogoutUrl %q: %d to %q, want 400", bad, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if env.cookie(b, "KEYGATE_SESSION") == nil {
		t.Fatal("a refused logout forgot the session")
	}
	resp, _ := do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/logout?postLogoutUrl=%2Fbye&s=st4te", nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	to, _ := url.Parse(resp.Header.Get("Location"))
	if to.Scheme+"://"+to.Host+to.Path != env.op.Issuer+oidctest.EndSessionPath {
		t.Fatalf("logout went to %s, want the end_session_endpoint", to)
	}
	q := to.Query()
	if q.Get("id_token_hint") == "" || q.Get("client_id") != webClientID || q.Get("post_logout_redirect_uri") != env.gw.URL+"/app/bye" || q.Get("state") != "st4te" {
		t.Errorf("end_session query %v", q)
	}
	if c := setCookies(resp)["KEYGATE_SESSION"]; c == nil || c.MaxAge >= 0 {
		t.Errorf("session cookie not deleted: %v", resp.Header["Set-Cookie"])
	}
	// The provider accepts the hint (it ends its own session).
	hint := url.Values{"id_token_hint": {q.Get("id_token_hint")}}
	if end, body := do(t, plain(), http.MethodGet, env.op.Issuer+oidctest.EndSessionPath+"?"+hint.Encode(), nil); end.StatusCode != http.StatusFound {
		t.Errorf("the provider refused the id_token_hint: %d %q", end.StatusCode, body)
	}
	// Logged out: the next request logs in again.
	resp, _ = do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.op.Issuer) {
		t.Errorf("after logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Without a session: straight to the post-logout URL, no state.
	resp, _ = do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/logout?postLogoutUrl=%2Fbye&s=x", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != env.gw.URL+"/app/bye" {
		t.Errorf("unauthenticated logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/logout?postLogoutUrl="+url.QueryEscape("https://app.example.com/signed-out"), nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://app.example.com/signed-out" {
		t.Errorf("listed absolute URL: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/logout", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "logged out") {
		t.Errorf("logout without a URL: %d %q", resp.StatusCode, body)
	}
}

// TestLoginMethods: a request other than GET or HEAD without a session
// goes to fallbackRedirectPath, or gets 401 without one; a token the
// validation policy accepts is not sent to login.
func TestLoginMethods(t *testing.T) {
	plainEnv := startLoginEnv(t, loginSetup{})
	resp, _ := do(t, plain(), http.MethodPost, plainEnv.gw.URL+"/app/api/items", nil)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("POST without fallbackRedirectPath: %d, want 401 with a challenge", resp.StatusCode)
	}
	fallback := startLoginEnv(t, loginSetup{op: plainEnv.op, clientID: "keygate-web-fb",
		policy: func(p map[string]any) { p["fallbackRedirectPath"] = "/home" }})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		resp, _ := do(t, plain(), m, fallback.gw.URL+"/app/api/items", nil)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app/home" {
			t.Errorf("%s: %d to %q, want 302 to /app/home", m, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if plainEnv.backend.Count()+fallback.backend.Count() != 0 {
		t.Error("a request without a session reached the backend")
	}
}

// TestLoginModes runs the flow in the policy's other modes: the session
// as X-APIGW-TOKEN (the original GET resumed in place), the login in
// progress kept in the gateway, the provider's redirect to loginPath.
func TestLoginModes(t *testing.T) {
	op := oidctest.Start(t)
	t.Run("useCookiesForSession false", func(t *testing.T) {
		env := startLoginEnv(t, loginSetup{op: op, clientID: "keygate-hdr", policy: func(p map[string]any) { p["useCookiesForSession"] = false }})
		b := browser(t)
		resp, body := env.login(t, b, "/app/home?tab=1")
		token := resp.Header.Get("X-Apigw-Token")
		if resp.StatusCode != http.StatusOK || body != "backend ok" || token == "" {
			t.Fatalf("after login: %d %q, X-APIGW-TOKEN %d bytes", resp.StatusCode, body, len(token))
		}
		if got := env.backend.Since(0)[0]; got.RawQuery != "tab=1" || got.Header.Get("X-User") != oidctest.UserID {
			t.Errorf("resumed request: query %q, X-User %q; want the original query and the user", got.RawQuery, got.Header.Get("X-User"))
		}
		if env.cookie(b, "KEYGATE_SESSION") != nil {
			t.Error("a session cookie in X-APIGW-TOKEN mode")
		}
		resp, _ = do(t, plain(), http.MethodPost, env.gw.URL+"/app/api/items", http.Header{"X-Apigw-Token": {token}})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("with X-APIGW-TOKEN: %d", resp.StatusCode)
		}
		if h := env.backend.Since(1)[0].Header; h.Get("X-Apigw-Token") != "" {
			t.Error("the backend received X-APIGW-TOKEN")
		}
	})
	t.Run("useCookiesForIntermediateSteps false", func(t *testing.T) {
		env := startLoginEnv(t, loginSetup{op: op, clientID: "keygate-mem", policy: func(p map[string]any) { p["useCookiesForIntermediateSteps"] = false }})
		b := browser(t)
		if resp, body := env.login(t, b, "/app/home"); resp.StatusCode != http.StatusOK {
			t.Fatalf("after login: %d %q", resp.StatusCode, body)
		}
		back := env.callbackFor(t, env.startFlow(t, browser(t), "/app/home"))
		if resp, _ := do(t, noFollow(browser(t)), http.MethodGet, back.String(), nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("another browser's callback: %d, want 400", resp.StatusCode)
		}
	})
	t.Run("loginPath", func(t *testing.T) {
		env := startLoginEnv(t, loginSetup{op: op, clientID: "keygate-lp",
			policy: func(p map[string]any) { p["loginPath"] = "/callback" },
			routes: []map[string]any{{"path": "/callback", "methods": []string{"GET"}, "backend": map[string]any{"type": "OAUTH2_LOGIN_BACKEND"}}}})
		b := browser(t)
		auth := env.startFlow(t, b, "/app/api/items?x=1")
		if got := auth.Query().Get("redirect_uri"); got != env.gw.URL+"/app/callback" {
			t.Errorf("redirect_uri %q, want the loginPath", got)
		}
		resp, body := env.login(t, b, "/app/api/items?x=1")
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/app/api/items" || resp.Request.URL.RawQuery != "x=1" {
			t.Fatalf("after login: %d %q at %s", resp.StatusCode, body, resp.Request.URL)
		}
		if resp, _ := do(t, noFollow(b), http.MethodGet, env.gw.URL+"/app/callback", nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("the login route called directly: %d, want 400", resp.StatusCode)
		}
	})
}

// TestLoginProviderChanges: a provider that rotated its signing key still
// logs browsers in (the new key is fetched for the unknown kid); one that
// is down when the code is exchanged gives 503, not a login loop, and the
// browser's sessions keep working without it.
func TestLoginProviderChanges(t *testing.T) {
	env := startLoginEnv(t, loginSetup{})
	first := browser(t)
	env.login(t, first, "/app/home")

	env.op.RotateKey(false)
	b := browser(t)
	if resp, body := env.login(t, b, "/app/home"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login after the provider's key rotation: %d %q", resp.StatusCode, body)
	}

	late := browser(t)
	back := env.callbackFor(t, env.startFlow(t, late, "/app/home"))
	env.op.Stop()
	resp, _ := do(t, noFollow(late), http.MethodGet, back.String(), nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("code exchange with the provider down: %d, want 503", resp.StatusCode)
	}
	if resp, _ := do(t, noFollow(first), http.MethodGet, env.gw.URL+"/app/home", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("an existing session with the provider down: %d, want 200", resp.StatusCode)
	}
	env.op.Restart()
}
