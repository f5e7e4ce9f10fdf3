package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/token"
)

// loginBenchGateway compiles a deployment at benchPrefix whose
// authentication is REMOTE_DISCOVERY with an OAUTH2 failure policy: /anon
// (ANONYMOUS) and /session (AUTHENTICATION_ONLY), stock responses. The
// provider is never asked: a request with a valid session does not need
// it.
func loginBenchGateway(b testing.TB) *Gateway {
	b.Helper()
	dir := b.TempDir()
	var key [32]byte
	_, _ = rand.Read(key[:])
	_ = os.WriteFile(filepath.Join(dir, "client.secret"), []byte("secret"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "session.key"), []byte(base64.StdEncoding.EncodeToString(key[:])), 0o600)
	stock := map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"}
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer", "isAnonymousAccessAllowed": true,
			"validationPolicy": map[string]any{"type": "REMOTE_DISCOVERY",
				"clientDetails":    map[string]any{"type": "CUSTOM", "clientId": "web", "clientSecretId": "client", "clientSecretVersionNumber": 1},
				"sourceUriDetails": map[string]any{"type": "DISCOVERY_URI", "uri": "http://127.0.0.1:1/.well-known/openid-configuration"}},
			"validationFailurePolicy": map[string]any{"type": "OAUTH2", "clientDetails": map[string]any{"type": "VALIDATION_BLOCK"},
				"sourceUriDetails": map[string]any{"type": "VALIDATION_BLOCK"}, "scopes": []string{"openid"}, "responseType": "CODE"},
		}},
		"routes": []any{
			map[string]any{"path": "/anon", "methods": []any{"GET"}, "backend": stock,
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"}}},
			map[string]any{"path": "/session", "methods": []any{"GET"}, "backend": stock},
		},
	}
	gw := map[string]any{
		"secrets":     []any{map[string]any{"id": "client", "file": "client.secret"}, map[string]any{"id": "k", "file": "session.key"}},
		"sessions":    map[string]any{"keys": []string{"k"}},
		"deployments": []any{map[string]any{"pathPrefix": benchPrefix, "specification": spec}},
	}
	data, _ := json.Marshal(gw)
	file := filepath.Join(dir, "gateway.json")
	_ = os.WriteFile(file, data, 0o600)
	cfg, err := config.LoadGateway(file)
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(cfg, Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), DisableAccessLog: true})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkChainLogin measures a request authenticated by an OAUTH2 session
// cookie, found in the opened-session cache or (uncached) decrypted and
// decoded with the ID token's claims, against two rows of the same run: the
// ANONYMOUS route of the same gateway (baseline) and a cached JWT
// (BenchmarkChainJWTCached's route).
func BenchmarkChainLogin(b *testing.B) {
	g := loginBenchGateway(b)
	b.Run("baseline-anonymous", func(b *testing.B) { runChain(b, g, "/anon", "") })
	b.Run("jwt-cached", func(b *testing.B) {
		runChain(b, benchGateway(b, "", token.NewCache(1000), accessLogOff), "/jwt", benchToken(b))
	})
	b.Run("oauth2-session-cookie", func(b *testing.B) { runSession(b, g, false) })
	b.Run("oauth2-session-cookie-uncached", func(b *testing.B) { runSession(b, g, true) })
}

// runSession serves /session with a sealed session cookie; uncached empties
// the opened-session cache before each request, so each one decrypts and
// decodes (a browser's first request after a login or at another replica).
func runSession(b *testing.B, g *Gateway, uncached bool) {
	l := g.deployments[0].auth.(*oauth2Login)
	now := time.Now()
	s := &session{Issued: now.Unix(), Expires: now.Add(time.Hour).Unix(), AccessToken: "opaque-access-token-3f2d1e0b9a86b9e2c6f4",
		AccessExpiry: now.Add(time.Hour).Unix(), RefreshToken: "opaque-refresh-token-1d3a4e8b", IDToken: benchToken(b),
		Scope: "openid profile", CSRF: randomToken(), Subject: "user-7f3c2a91"}
	sealed := l.sealSession(s)
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+benchPrefix+"/session", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	cookie := []string{sessionCookie + "=" + sealed}
	// The chain removes the login's cookies from the request before
	// the backend: each iteration sends them again.
	req.Header["Cookie"] = cookie
	w := &benchWriter{header: http.Header{}}
	g.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		b.Fatalf("status %d", w.status)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		req.Header["Cookie"] = cookie
		if uncached {
			l.opened.mu.Lock()
			clear(l.opened.entries)
			l.opened.mu.Unlock()
		}
		g.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

// TestLoginDecide: an offline Decide on an OAUTH2 deployment says a
// browser without a session would be sent to login, and asks the
// provider nothing (its discovery URI is closed here).
func TestLoginDecide(t *testing.T) {
	g := loginBenchGateway(t)
	for _, c := range []struct {
		method string
		status int
	}{{http.MethodGet, http.StatusFound}} {
		d := g.Decide(httptest.NewRequest(c.method, "http://127.0.0.1:8080"+benchPrefix+"/session", nil))
		if d.Accepted || d.Status != c.status || d.Code != codeOAuthLogin {
			t.Errorf("%s: accepted %v status %d code %q, want %d %s", c.method, d.Accepted, d.Status, d.Code, c.status, codeOAuthLogin)
		}
	}
	l := g.deployments[0].auth.(*oauth2Login)
	now := time.Now()
	s := &session{Issued: now.Unix(), Expires: now.Add(time.Hour).Unix(), AccessToken: "a", CSRF: "x", Scope: "openid", Subject: "u"}
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+benchPrefix+"/session", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: l.sealSession(s)})
	if d := g.Decide(r); !d.Accepted {
		t.Errorf("with a session: %+v, want accepted", d)
	}
}
