package cli

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// loginGatewayFile writes a gateway file serving /app/home (body) behind an
// OAUTH2 login at op, with the session keys named by keys (files in dir).
func loginGatewayFile(t *testing.T, dir, file, discovery, body string, keys ...string) {
	t.Helper()
	secrets := []any{map[string]any{"id": "ocid1.vaultsecret.web", "file": "web.secret"}}
	ids := make([]string, len(keys))
	for i, k := range keys {
		secrets = append(secrets, map[string]any{"id": "session-" + k, "file": k + ".key"})
		ids[i] = "session-" + k
	}
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"validationPolicy": map[string]any{"type": "REMOTE_DISCOVERY",
				"clientDetails":    map[string]any{"type": "CUSTOM", "clientId": "reload-web", "clientSecretId": "ocid1.vaultsecret.web", "clientSecretVersionNumber": 1},
				"sourceUriDetails": map[string]any{"type": "DISCOVERY_URI", "uri": discovery}},
			"validationFailurePolicy": map[string]any{"type": "OAUTH2", "clientDetails": map[string]any{"type": "VALIDATION_BLOCK"},
				"sourceUriDetails": map[string]any{"type": "VALIDATION_BLOCK"}, "scopes": []string{"openid"}, "responseType": "code"},
		}},
		"routes": []any{map[string]any{"path": "/home", "methods": []string{"GET"},
			"backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": body}}},
	}
	data, _ := json.Marshal(map[string]any{"listen": "127.0.0.1:0", "secrets": secrets,
		"sessions": map[string]any{"keys": ids}, "deployments": []any{map[string]any{"pathPrefix": "/app", "specification": spec}}})
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeLoginKeyRotationByReload: keygate serve logs a browser in; a
// reload that puts a new session key first keeps it logged in; a reload
// that drops the old key sends it back to login.
func TestServeLoginKeyRotationByReload(t *testing.T) {
	op := oidctest.Start(t)
	dir := t.TempDir()
	for _, k := range []string{"k1", "k2"} {
		var key [32]byte
		_, _ = rand.Read(key[:])
		if err := os.WriteFile(filepath.Join(dir, k+".key"), []byte(base64.StdEncoding.EncodeToString(key[:])), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "web.secret"), []byte("reload-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "gateway.json")
	loginGatewayFile(t, dir, file, op.DiscoveryURI, "v1", "k1")
	hup := make(chan os.Signal, 1)
	base, _ := startServeHUP(t, hup, "--config", file)
	op.RegisterWebClient("reload-web", "reload-secret", false, base+"/app/home")

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := browser.Get(base + "/app/home")
	if err != nil {
		t.Fatal(err)
	}
	resp, err = op.SubmitLogin(browser, resp, oidctest.Password)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "v1" {
		t.Fatalf("after login: %d %q", resp.StatusCode, body)
	}
	noFollow := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	waitFor := func(what string, ok func(int, string) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			resp, err := noFollow.Get(base + "/app/home")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ok(resp.StatusCode, string(b)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: last answer %d %q", what, resp.StatusCode, b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	loginGatewayFile(t, dir, file, op.DiscoveryURI, "v2", "k2", "k1")
	hup <- os.Interrupt
	waitFor("new key first: the session kept", func(status int, body string) bool { return status == http.StatusOK && body == "v2" })

	loginGatewayFile(t, dir, file, op.DiscoveryURI, "v3", "k2")
	hup <- os.Interrupt
	waitFor("old key dropped: back to login", func(status int, body string) bool {
		return status == http.StatusFound && strings.Contains(body, "Found")
	})
}
