package cli

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleAuthorizer runs examples/authorizer as its README says: the
// Node authorizer behind keygate serve --config gateway.yaml, the tenant
// reaching the backend as X-Tenant, then keygate token verify asking the
// function. The example's files are used as written, copied to a short
// directory (unix socket paths are short) with two changes only: the
// listen address and the backend address become free loopback ports.
func TestExampleAuthorizer(t *testing.T) {
	example, err := filepath.Abs("../../examples/authorizer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(example, "node_modules/@fnproject/fdk/fn-fdk.js")); err != nil {
		nodeFunctionDir(t, "node-authorizer") // skips or fails the same way
		t.Fatalf("examples/authorizer has no node_modules: run scripts/test.sh (it runs npm ci there): %v", err)
	}
	backend := newRecordingBackend(t)
	u, _ := url.Parse(backend.srv.URL)
	dir := socketDir(t, "kgex")
	for _, name := range []string{"func.js", "keys.json", "package.json", "spec.json", "gateway.yaml"} {
		data, err := os.ReadFile(filepath.Join(example, name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		switch name {
		case "spec.json":
			text = mustReplace(t, text, "http://127.0.0.1:8081", "http://"+u.Host)
		case "gateway.yaml":
			text = mustReplace(t, text, "listen: 127.0.0.1:8080", "listen: 127.0.0.1:0")
		}
		writeTestFile(t, filepath.Join(dir, name), text)
	}
	if err := os.Symlink(filepath.Join(example, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	gatewayFile := filepath.Join(dir, "gateway.yaml")

	p := startServeProcess(t, nil, "--config", gatewayFile)
	const acme, globex = "demo-acme-5b4e4d1a9c3e", "demo-globex-2f8b6a1d0e47"
	tests := []struct {
		name, method, key string
		status            int
		tenant, challenge string
	}{
		{"acme reads its orders", "GET", acme, 200, "acme", ""},
		{"acme writes", "POST", acme, 200, "acme", ""},
		{"globex reads", "GET", globex, 200, "globex", ""},
		{"globex may not write", "POST", globex, 403, "", ""},
		{"unknown key", "GET", "demo-nobody", 401, "", `ApiKey realm="shop", error="invalid_key"`},
		{"no key", "GET", "", 401, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{}
			if tt.key != "" {
				header["X-Api-Key"] = tt.key
			}
			got := callFunction(t, tt.method, p.base+"/shop/orders", "", header)
			if got.status != tt.status {
				t.Fatalf("status %d, want %d: %s\n%s", got.status, tt.status, got.body, p.logs.String())
			}
			if tt.challenge != "" && got.header.Get("WWW-Authenticate") != tt.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got.header.Get("WWW-Authenticate"), tt.challenge)
			}
			if tt.status == 200 {
				h := backend.last(t)
				if h.Get("X-Tenant") != tt.tenant || h.Get("X-Api-Key") != "" {
					t.Errorf("the backend got X-Tenant %q, X-Api-Key %q; want %q and no key", h.Get("X-Tenant"), h.Get("X-Api-Key"), tt.tenant)
				}
			}
		})
	}
	if strings.Contains(p.logs.String(), acme) {
		t.Error("keygate's log holds an API key")
	}
	if code := p.stop(); code != exitOK {
		t.Fatalf("serve exited %d", code)
	}

	out, errOut, code := runCLI(t, "", "token", "verify", "--config", gatewayFile, "--request", "GET /shop/orders", "--call-functions", acme)
	if code != exitOK || !strings.Contains(out, `context tenant="acme"`) {
		t.Errorf("token verify --call-functions: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = runCLI(t, "", "token", "verify", "--config", gatewayFile, "--request", "GET /shop/orders", acme)
	if code != exitFail || !strings.HasPrefix(out, "UNDECIDED") {
		t.Errorf("token verify offline: exit %d\n%s", code, out)
	}
}

// mustReplace replaces old in s, failing when s does not hold it.
func mustReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("the example no longer holds %q", old)
	}
	return strings.ReplaceAll(s, old, new)
}
