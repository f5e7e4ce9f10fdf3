package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// oidcConfig writes a gateway file with one REMOTE_DISCOVERY deployment at
// /p on op, introspecting as clientID, and returns its path.
func oidcConfig(t *testing.T, op *oidctest.OP, clientID string) string {
	t.Helper()
	dir := t.TempDir()
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"validationPolicy": map[string]any{"type": "REMOTE_DISCOVERY",
				"clientDetails": map[string]any{"type": "CUSTOM", "clientId": clientID,
					"clientSecretId": "ocid1.vaultsecret.oc1..idp", "clientSecretVersionNumber": 1},
				"sourceUriDetails": map[string]any{"type": "DISCOVERY_URI", "uri": op.DiscoveryURI}},
		}},
		"routes": []any{map[string]any{"path": "/any", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200}}},
	}
	data, _ := json.Marshal(spec)
	for name, content := range map[string]string{
		"spec.json":     string(data),
		"client-secret": oidctest.ClientSecret,
		"keygate.yaml": "deployments:\n- pathPrefix: /p\n  specificationFile: spec.json\n" +
			"secrets:\n- id: ocid1.vaultsecret.oc1..idp\n  file: client-secret\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "keygate.yaml")
}

func TestTokenVerifyExplainsDiscoveryAndIntrospection(t *testing.T) {
	op := oidctest.Start(t)
	opaqueCfg := oidcConfig(t, op, oidctest.ClientID)
	jwtCfg := oidcConfig(t, op, oidctest.JWTClientID)
	opaque := op.AccessToken("openid", "email")
	revoked := op.AccessToken("openid")
	op.Revoke(oidctest.ClientID, revoked)
	jwt := op.JWTAccessToken("openid")
	foreign := oidctest.Start(t).JWTAccessToken("openid")

	tests := []struct {
		name, cfg, tok string
		introspect     bool
		code           int
		want           []string
	}{
		{"opaque, offline", opaqueCfg, opaque, false, exitFail,
			[]string{"UNDECIDED", "introspection at " + op.Issuer + "/oauth/introspect", "rerun with --introspect"}},
		{"opaque, introspected", opaqueCfg, opaque, true, exitOK,
			[]string{"ACCEPT", `introspected: active, sub "id1", scope "openid email"`, "asked the provider now"}},
		{"revoked, introspected", opaqueCfg, revoked, true, exitFail,
			[]string{"REJECT 401 token_inactive", "not active"}},
		{"JWT, offline", jwtCfg, jwt, false, exitFail,
			[]string{"UNDECIDED", "checked without the provider", "signature, kid and algorithm"}},
		{"JWT, introspected", jwtCfg, jwt, true, exitOK, []string{"ACCEPT", "introspected: active"}},
		{"forged JWT, offline", jwtCfg, foreign, false, exitFail, []string{"REJECT 401 bad_signature"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"token", "verify", "--config", tt.cfg, "--request", "GET /p/any"}
			if tt.introspect {
				args = append(args, "--introspect")
			}
			before := op.Requests(oidctest.IntrospectionPath)
			out, errOut, code := runCLI(t, "", append(args, tt.tok)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, tt.tok) || strings.Contains(out, oidctest.ClientSecret) {
				t.Errorf("output shows the token or the client secret:\n%s", out)
			}
			if calls := op.Requests(oidctest.IntrospectionPath) - before; !tt.introspect && calls != 0 {
				t.Errorf("%d introspection calls without --introspect", calls)
			}
		})
	}
}

func TestTokenVerifyProviderDown(t *testing.T) {
	op := oidctest.Start(t)
	cfg := oidcConfig(t, op, oidctest.JWTClientID)
	jwt := op.JWTAccessToken("openid")
	op.Stop()
	out, _, code := runCLI(t, "", "token", "verify", "--config", cfg, "--request", "GET /p/any", "--introspect", jwt)
	if code != exitFail || !strings.Contains(out, "UNDECIDED") || !strings.Contains(out, "could not be fetched") || !strings.Contains(out, "refused") {
		t.Errorf("exit %d, want UNDECIDED naming the unreachable provider:\n%s", code, out)
	}
}
