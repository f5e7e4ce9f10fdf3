package browser

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// startLoginGateway serves /app logged in at op (OAUTH2 policy, cookie
// session): /app/home is a page that greets the user the gateway names in
// X-User, /app/api/items answers any method, /app/logout logs out.
func startLoginGateway(t *testing.T, op *oidctest.OP) string {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/home" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprintf(w, `<!DOCTYPE html><html><body><h1 id="greeting">hello %s</h1><p id="cookies">%s</p></body></html>`,
				html.EscapeString(r.Header.Get("X-User")), html.EscapeString(r.Header.Get("Cookie")))
			return
		}
		_, _ = fmt.Fprintf(w, "%s ok", r.Method)
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	var key [32]byte
	_, _ = rand.Read(key[:])
	write := func(name, value string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("web.secret", "browser-secret")
	write("session.key", base64.StdEncoding.EncodeToString(key[:]))
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"validationPolicy": map[string]any{"type": "REMOTE_DISCOVERY",
				"clientDetails":    map[string]any{"type": "CUSTOM", "clientId": "browser-web", "clientSecretId": "ocid1.vaultsecret.web", "clientSecretVersionNumber": 1},
				"sourceUriDetails": map[string]any{"type": "DISCOVERY_URI", "uri": op.DiscoveryURI}},
			"validationFailurePolicy": map[string]any{"type": "OAUTH2",
				"clientDetails": map[string]any{"type": "VALIDATION_BLOCK"}, "sourceUriDetails": map[string]any{"type": "VALIDATION_BLOCK"},
				"scopes": []string{"openid", "profile", "offline_access"}, "responseType": "code", "logoutPath": "/logout"},
		}},
		"routes": []any{
			map[string]any{"path": "/home", "methods": []string{"GET"}, "backend": map[string]any{"type": "HTTP_BACKEND", "url": backend.URL + "/home"},
				"requestPolicies": map[string]any{"headerTransformations": map[string]any{"setHeaders": map[string]any{"items": []any{
					map[string]any{"name": "X-User", "values": []string{"${request.auth[sub]}"}}}}}}},
			map[string]any{"path": "/api/items", "backend": map[string]any{"type": "HTTP_BACKEND", "url": backend.URL + "/items"}},
			map[string]any{"path": "/logout", "methods": []string{"GET"}, "backend": map[string]any{"type": "OAUTH2_LOGOUT_BACKEND"}},
		},
	}
	gw := map[string]any{
		"secrets":     []any{map[string]any{"id": "ocid1.vaultsecret.web", "file": "web.secret"}, map[string]any{"id": "session-key", "file": "session.key"}},
		"sessions":    map[string]any{"keys": []string{"session-key"}},
		"deployments": []any{map[string]any{"pathPrefix": "/app", "specification": spec}},
	}
	data, _ := json.Marshal(gw)
	file := filepath.Join(dir, "gateway.json")
	write("gateway.json", string(data))
	cfg, err := config.LoadGateway(file)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	op.RegisterWebClient("browser-web", "browser-secret", false, srv.URL+"/app/home", srv.URL+"/app/api/items")
	return srv.URL
}

// TestLoginInABrowser logs headless Chromium in through a real OpenID
// provider's login form: the page the browser asked for comes back with
// the user's name, the session cookie is HttpOnly and SameSite=Lax and
// scoped to the deployment (the page's script cannot read it), the page's
// script needs the X-CSRF-TOKEN for a POST, and logging out sends the
// browser back to the provider's login on the next visit.
func TestLoginInABrowser(t *testing.T) {
	browser := startBrowser(t)
	op := oidctest.Start(t)
	base := startLoginGateway(t, op)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/app/home"), chromedp.WaitVisible("#username")); err != nil {
		t.Fatalf("the gateway did not lead to the provider's login form: %v", err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.origin`)); loc != op.Issuer {
		t.Fatalf("the login form is at %s, want the provider %s", loc, op.Issuer)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys("#username", oidctest.Username), chromedp.SendKeys("#password", oidctest.Password),
		chromedp.Click(`button[type="submit"]`), chromedp.WaitVisible("#greeting")); err != nil {
		t.Fatalf("after the login form: %v", err)
	}
	greeting, _ := chromedp.Run(ctx, chromedp.Text("#greeting"))
	if greeting != "hello "+oidctest.UserID {
		t.Errorf("page says %q, want hello %s", greeting, oidctest.UserID)
	}
	if at, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`)); at != base+"/app/home" {
		t.Errorf("the browser is at %s, want back at /app/home", at)
	}
	if backendCookies, _ := chromedp.Run(ctx, chromedp.Text("#cookies")); strings.Contains(backendCookies, "KEYGATE") {
		t.Errorf("the backend received the login's cookies: %q", backendCookies)
	}
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/app/home"}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range res.Cookies {
		if c.Name == "KEYGATE_SESSION" {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteLax || session.Path != "/app" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/app", session)
	}
	if jsCookies, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`)); strings.Contains(jsCookies, "KEYGATE") {
		t.Errorf("the page's script reads the session cookie: %q", jsCookies)
	}

	// The page's script: a POST without the CSRF token is refused, with
	// the token from a GET's X-CSRF-TOKEN header it passes.
	const script = `(async () => {
		const bare = await fetch("/app/api/items", {method: "POST"});
		const get = await fetch("/app/api/items");
		const token = get.headers.get("X-CSRF-TOKEN") || "";
		const withToken = await fetch("/app/api/items", {method: "POST", headers: {"X-CSRF-TOKEN": token}});
		return [bare.status, get.status, token.length > 20 ? 1 : 0, withToken.status].join(" ");
	})()`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	if err != nil || got != "403 200 1 200" {
		t.Errorf("POST without / GET / token seen / POST with the CSRF token: %q (%v), want \"403 200 1 200\"", got, err)
	}

	// Logging out ends at the provider's end_session_endpoint; the next
	// visit goes to the login form again.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/app/logout")); err != nil {
		t.Fatal(err)
	}
	if at, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.origin`)); at != op.Issuer {
		t.Errorf("logout led to %s, want the provider", at)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/app/home"), chromedp.WaitVisible("#username")); err != nil {
		t.Fatalf("after logout the page did not ask for a login: %v", err)
	}
	if n := op.Requests(oidctest.EndSessionPath); n != 1 {
		t.Errorf("end_session_endpoint called %d times, want 1", n)
	}
}
