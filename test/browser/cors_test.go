// Package browser runs keygate's CORS policy against a real browser:
// headless Chromium (Debian's chromium package, which scripts/test.sh
// installs), driven by chromedp. A page served from one origin calls a
// gateway on another, as a web application would; what the page's script
// can read is what the browser's own CORS enforcement allows.
package browser

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/keys"
)

// chromium finds the browser; in CI a missing one is a failure (the test
// script installs it), elsewhere the test is skipped.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; scripts/test.sh installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// startBrowser starts headless Chromium with a fresh profile, with the flags
// it needs as root on a machine without network.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// The first run starts the browser, which lives as long as ctx: no
	// timeout on it (each page gets its own below).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// startGateway serves a deployment /api whose cors policy allows origin
// with credentials and the X-Custom header, in front of a backend that
// echoes what it got; /api/echo is ANONYMOUS, /api/private needs a token
// (the page sends none, so the gateway itself answers 401).
func startGateway(t *testing.T, origin string) string {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "yes")
		_, _ = fmt.Fprintf(w, "backend got %s with X-Custom=%q and cookie=%q", r.Method, r.Header.Get("X-Custom"), r.Header.Get("Cookie"))
	}))
	t.Cleanup(backend.Close)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := keys.PublicJWK(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]any{
		"requestPolicies": map[string]any{
			"authentication": map[string]any{
				"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
				"issuers": []any{"https://issuer.example.com"}, "audiences": []any{"api"}, "isAnonymousAccessAllowed": true,
				"publicKeys": map[string]any{"type": "STATIC_KEYS", "keys": []any{map[string]any{
					"format": "JSON_WEB_KEY", "kid": "k", "kty": "EC", "crv": jwk.Crv, "x": jwk.X, "y": jwk.Y, "alg": "ES256"}}},
			},
			"cors": map[string]any{
				"allowedOrigins": []any{origin}, "allowedMethods": []any{"GET", "PUT"},
				"allowedHeaders": []any{"X-Custom", "Content-Type"}, "exposedHeaders": []any{"X-Backend"},
				"isAllowCredentialsEnabled": true,
			}},
		"routes": []any{
			map[string]any{"path": "/echo", "methods": []any{"GET", "PUT"},
				"backend":         map[string]any{"type": "HTTP_BACKEND", "url": backend.URL + "/echo"},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"}}},
			map[string]any{"path": "/private", "backend": map[string]any{"type": "HTTP_BACKEND", "url": backend.URL + "/private"}},
		},
	}
	data, _ := json.Marshal(spec)
	s, err := config.DecodeSpec("spec.json", data)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(&config.Gateway{Deployments: []config.Deployment{{PathPrefix: "/api", Specification: s}}}, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv.URL
}

// startPage serves an empty page: the origin the browser's scripts run in.
func startPage(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html><title>app</title><p>app</p>")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fetchResult is what a page's script learned from one fetch.
type fetchResult struct {
	OK     bool   `json:"ok"` // the fetch resolved (the browser let the script see the response)
	Status int    `json:"status"`
	Body   string `json:"body"`
	Header string `json:"header"` // X-Backend, readable only when exposed
	Error  string `json:"error"`
}

// pageFetch runs fetch(url, init) in the page at pageURL and returns what
// the script could read.
func pageFetch(t *testing.T, ctx context.Context, pageURL, url, init string) fetchResult {
	t.Helper()
	script := fmt.Sprintf(`(async () => {
  try {
    const r = await fetch(%q, %s);
    return {ok: true, status: r.status, body: await r.text(), header: r.headers.get("X-Backend") || ""};
  } catch (e) {
    return {ok: false, error: String(e)};
  }
})()`, url, init)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("opening %s: %v", pageURL, err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[fetchResult](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running the page's fetch: %v", err)
	}
	return res
}

func TestCORSInABrowser(t *testing.T) {
	ctx := startBrowser(t)
	app := startPage(t)
	other := startPage(t) // another origin, not allowed
	gw := startGateway(t, app.URL)

	t.Run("an allowed origin reads the backend's answer and the exposed header", func(t *testing.T) {
		res := pageFetch(t, ctx, app.URL, gw+"/api/echo", `{}`)
		if !res.OK || res.Status != 200 || res.Header != "yes" {
			t.Fatalf("got %+v, want a readable 200 with X-Backend: yes", res)
		}
	})
	t.Run("an allowed origin reads the gateway's 401 and its body", func(t *testing.T) {
		res := pageFetch(t, ctx, app.URL, gw+"/api/private", `{}`)
		if !res.OK || res.Status != 401 || res.Body != "{\"code\":401,\"message\":\"Unauthorized\"}\n" {
			t.Fatalf("got %+v, want a readable 401 with its JSON body", res)
		}
	})
	t.Run("a preflighted PUT with a custom header and credentials passes", func(t *testing.T) {
		res := pageFetch(t, ctx, app.URL, gw+"/api/echo",
			`{method: "PUT", credentials: "include", headers: {"X-Custom": "from-page", "Content-Type": "application/json"}, body: "{}"}`)
		if !res.OK || res.Status != 200 || res.Body != `backend got PUT with X-Custom="from-page" and cookie=""` {
			t.Fatalf("got %+v, want the backend's answer to the PUT", res)
		}
	})
	t.Run("a header the policy does not allow fails the preflight", func(t *testing.T) {
		res := pageFetch(t, ctx, app.URL, gw+"/api/echo", `{method: "PUT", headers: {"X-Other": "1"}}`)
		if res.OK {
			t.Fatalf("got %+v, want the browser to block the request", res)
		}
	})
	t.Run("another origin is blocked", func(t *testing.T) {
		res := pageFetch(t, ctx, other.URL, gw+"/api/echo", `{}`)
		if res.OK {
			t.Fatalf("got %+v, want the browser to block the response", res)
		}
	})
}
