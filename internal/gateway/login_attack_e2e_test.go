package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// TestLoginLogout: the logout route forgets the session and sends the
// browser to the provider's end_session_endpoint with the ID token as
// hint, the post-logout URL (only a listed one: no open redirect) and the
// postLogoutState.
func TestLoginLogout(t *testing.T) {
	env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{})
	b := env.Browser(t)
	env.LogIn(t, b, "/app/home")

	for _, bad := range []string{"https://evil.example.com/", "//evil.example.com/x", "/\\evil.example.com", "/not-listed", "javascript:alert(1)"} {
		resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/logout?postLogoutUrl="+url.QueryEscape(bad), nil)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("postLogoutUrl %q: %d to %q, want 400", bad, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if env.Cookie(b, "KEYGATE_SESSION") == nil {
		t.Fatal("a refused logout forgot the session")
	}
	resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/logout?postLogoutUrl=%2Fbye&s=st4te", nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	to, _ := url.Parse(resp.Header.Get("Location"))
	if to.Scheme+"://"+to.Host+to.Path != env.OP.Issuer+oidctest.EndSessionPath {
		t.Fatalf("logout went to %s, want the end_session_endpoint", to)
	}
	q := to.Query()
	if q.Get("id_token_hint") == "" || q.Get("client_id") != gatewaytest.WebClientID || q.Get("post_logout_redirect_uri") != env.GW.URL+"/app/bye" || q.Get("state") != "st4te" {
		t.Errorf("end_session query %v", q)
	}
	if c := gatewaytest.SetCookies(resp)["KEYGATE_SESSION"]; c == nil || c.MaxAge >= 0 {
		t.Errorf("session cookie not deleted: %v", resp.Header["Set-Cookie"])
	}
	// The provider accepts the hint (it ends its own session).
	hint := url.Values{"id_token_hint": {q.Get("id_token_hint")}}
	if end, body := gatewaytest.Send(t, gatewaytest.PlainClient(), http.MethodGet, env.OP.Issuer+oidctest.EndSessionPath+"?"+hint.Encode(), nil); end.StatusCode != http.StatusFound {
		t.Errorf("the provider refused the id_token_hint: %d %q", end.StatusCode, body)
	}
	// Logged out: the next request logs in again.
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/home", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.OP.Issuer) {
		t.Errorf("after logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Without a session: straight to the post-logout URL, no state.
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/logout?postLogoutUrl=%2Fbye&s=x", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != env.GW.URL+"/app/bye" {
		t.Errorf("unauthenticated logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/logout?postLogoutUrl="+url.QueryEscape("https://app.example.com/signed-out"), nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://app.example.com/signed-out" {
		t.Errorf("listed absolute URL: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/logout", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "logged out") {
		t.Errorf("logout without a URL: %d %q", resp.StatusCode, body)
	}
}

// TestLoginMethods: a request other than GET or HEAD without a session
// goes to fallbackRedirectPath, or gets 401 without one; a token the
// validation policy accepts is not sent to login.
func TestLoginMethods(t *testing.T) {
	plainEnv := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{})
	resp, _ := gatewaytest.Send(t, gatewaytest.PlainClient(), http.MethodPost, plainEnv.GW.URL+"/app/api/items", nil)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("POST without fallbackRedirectPath: %d, want 401 with a challenge", resp.StatusCode)
	}
	fallback := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{OP: plainEnv.OP, ClientID: "keygate-web-fb",
		Policy: func(p map[string]any) { p["fallbackRedirectPath"] = "/home" }})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		resp, _ := gatewaytest.Send(t, gatewaytest.PlainClient(), m, fallback.GW.URL+"/app/api/items", nil)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app/home" {
			t.Errorf("%s: %d to %q, want 302 to /app/home", m, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if plainEnv.Backend.Count()+fallback.Backend.Count() != 0 {
		t.Error("a request without a session reached the backend")
	}
}

// TestLoginModes runs the flow in the policy's other modes: the session
// as X-APIGW-TOKEN (the original GET resumed in place), the login in
// progress kept in the gateway, the provider's redirect to loginPath.
func TestLoginModes(t *testing.T) {
	op := oidctest.Start(t)
	t.Run("useCookiesForSession false", func(t *testing.T) {
		env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{OP: op, ClientID: "keygate-hdr", Policy: func(p map[string]any) { p["useCookiesForSession"] = false }})
		b := env.Browser(t)
		resp, body := env.LogIn(t, b, "/app/home?tab=1")
		token := resp.Header.Get("X-Apigw-Token")
		if resp.StatusCode != http.StatusOK || body != "backend ok" || token == "" {
			t.Fatalf("after login: %d %q, X-APIGW-TOKEN %d bytes", resp.StatusCode, body, len(token))
		}
		if got := env.Backend.Since(0)[0]; got.RawQuery != "tab=1" || got.Header.Get("X-User") != oidctest.UserID {
			t.Errorf("resumed request: query %q, X-User %q; want the original query and the user", got.RawQuery, got.Header.Get("X-User"))
		}
		if env.Cookie(b, "KEYGATE_SESSION") != nil {
			t.Error("a session cookie in X-APIGW-TOKEN mode")
		}
		resp, _ = gatewaytest.Send(t, gatewaytest.PlainClient(), http.MethodPost, env.GW.URL+"/app/api/items", http.Header{"X-Apigw-Token": {token}})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("with X-APIGW-TOKEN: %d", resp.StatusCode)
		}
		if h := env.Backend.Since(1)[0].Header; h.Get("X-Apigw-Token") != "" {
			t.Error("the backend received X-APIGW-TOKEN")
		}
	})
	t.Run("useCookiesForIntermediateSteps false", func(t *testing.T) {
		env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{OP: op, ClientID: "keygate-mem", Policy: func(p map[string]any) { p["useCookiesForIntermediateSteps"] = false }})
		b := env.Browser(t)
		if resp, body := env.LogIn(t, b, "/app/home"); resp.StatusCode != http.StatusOK {
			t.Fatalf("after login: %d %q", resp.StatusCode, body)
		}
		back := env.CallbackFor(t, env.StartFlow(t, env.Browser(t), "/app/home"))
		if resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(env.Browser(t)), http.MethodGet, back.String(), nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("another browser's callback: %d, want 400", resp.StatusCode)
		}
	})
	t.Run("loginPath", func(t *testing.T) {
		env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{OP: op, ClientID: "keygate-lp",
			Policy: func(p map[string]any) { p["loginPath"] = "/callback" },
			Routes: []map[string]any{{"path": "/callback", "methods": []string{"GET"}, "backend": map[string]any{"type": "OAUTH2_LOGIN_BACKEND"}}}})
		b := env.Browser(t)
		auth := env.StartFlow(t, b, "/app/api/items?x=1")
		if got := auth.Query().Get("redirect_uri"); got != env.GW.URL+"/app/callback" {
			t.Errorf("redirect_uri %q, want the loginPath", got)
		}
		resp, body := env.LogIn(t, b, "/app/api/items?x=1")
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/app/api/items" || resp.Request.URL.RawQuery != "x=1" {
			t.Fatalf("after login: %d %q at %s", resp.StatusCode, body, resp.Request.URL)
		}
		if resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(b), http.MethodGet, env.GW.URL+"/app/callback", nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("the login route called directly: %d, want 400", resp.StatusCode)
		}
	})
}

// TestLoginProviderChanges: a provider that rotated its signing key still
// logs browsers in (the new key is fetched for the unknown kid); one that
// is down when the code is exchanged gives 503, not a login loop, and the
// browser's sessions keep working without it.
func TestLoginProviderChanges(t *testing.T) {
	env := gatewaytest.StartLogin(t, gatewaytest.LoginSetup{})
	first := env.Browser(t)
	env.LogIn(t, first, "/app/home")

	env.OP.RotateKey(false)
	b := env.Browser(t)
	if resp, body := env.LogIn(t, b, "/app/home"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login after the provider's key rotation: %d %q", resp.StatusCode, body)
	}

	late := env.Browser(t)
	back := env.CallbackFor(t, env.StartFlow(t, late, "/app/home"))
	env.OP.Stop()
	resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(late), http.MethodGet, back.String(), nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("code exchange with the provider down: %d, want 503", resp.StatusCode)
	}
	if resp, _ := gatewaytest.Send(t, gatewaytest.NoFollow(first), http.MethodGet, env.GW.URL+"/app/home", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("an existing session with the provider down: %d, want 200", resp.StatusCode)
	}
	env.OP.Restart()
}
