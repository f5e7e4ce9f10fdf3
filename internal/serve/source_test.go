package serve

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
)

const stockSpec = `{"routes": [{"path": "/r", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200}}]}`

func TestSourceLoadAndFiles(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(spec, []byte(stockSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(gw, []byte("listen: 127.0.0.1:9999\ndeployments:\n  - pathPrefix: /a\n    specificationFile: spec.json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A client token in a file: watched like the specs.
	token := filepath.Join(dir, "acme.token")
	if err := os.WriteFile(token, []byte("acme-token-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(plan, []byte(`{"data": {"id": "p", "entitlements": []}, "etag": "1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	plans := filepath.Join(dir, "plans.yaml")
	if err := os.WriteFile(plans, []byte("deployments:\n  - pathPrefix: /a\n    specificationFile: spec.json\n"+
		"usagePlans: [{file: plan.json}]\n"+
		"subscribers: [{displayName: Acme, clients: [{name: c, tokenFile: acme.token}], usagePlans: [p]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		src        Source
		wantListen string
		wantFiles  []string
	}{
		{"config file", Source{ConfigFile: gw}, "127.0.0.1:9999", []string{gw, spec}},
		{"config file with usage plan and client token files", Source{ConfigFile: plans}, config.DefaultListen, []string{plans, spec, plan, token}},
		{"config file, listen overridden", Source{ConfigFile: gw, Listen: "127.0.0.1:1"}, "127.0.0.1:1", []string{gw, spec}},
		{"spec file", Source{SpecFile: spec, PathPrefix: "/p"}, config.DefaultListen, []string{spec}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, g, err := tt.src.Load(gateway.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if g == nil || cfg.Listen != tt.wantListen {
				t.Errorf("listen %q, want %q", cfg.Listen, tt.wantListen)
			}
			files := tt.src.Files(cfg)
			if len(files) != len(tt.wantFiles) {
				t.Fatalf("files %q, want %q", files, tt.wantFiles)
			}
			for i := range files {
				if files[i] != tt.wantFiles[i] {
					t.Errorf("files %q, want %q", files, tt.wantFiles)
				}
			}
			if v := Version(cfg); len(v) != 12 {
				t.Errorf("version %q, want 12 hex digits", v)
			}
		})
	}
}

func TestSourceLoadReportsProblems(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(spec, []byte(`{"routes": [{"path": "r"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := Source{SpecFile: spec}.Load(gateway.Options{})
	var problems config.Problems
	if !errors.As(err, &problems) || len(problems) < 2 {
		t.Fatalf("Load = %v, want config.Problems naming the path and the missing backend", err)
	}
}

// A secret file is watched like the specs; a rotated secret changes the
// values a reload compares, never the logged version.
func TestSecretFilesAreWatchedAndCompared(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	spec := write("spec.json", stockSpec)
	secret := write("client-secret", "first\n")
	gw := write("gateway.yaml", "deployments:\n  - pathPrefix: /a\n    specificationFile: spec.json\n"+
		"secrets:\n  - {id: ocid1.vaultsecret.oc1..x, file: client-secret}\n")
	src := Source{ConfigFile: gw}
	load := func() *config.Gateway {
		t.Helper()
		cfg, err := src.LoadConfig()
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	first := load()
	files := src.Files(first)
	if len(files) != 3 || files[0] != gw || files[1] != spec || files[2] != secret {
		t.Errorf("files %q, want %q", files, []string{gw, spec, secret})
	}
	write("client-secret", "second\n")
	rotated := load()
	if Version(rotated) != Version(first) {
		t.Error("the version changed with a secret: it would let a log reader test guesses")
	}
	if maps.Equal(secretValues(rotated), secretValues(first)) {
		t.Error("a rotated secret compares equal: the reload would keep the old value")
	}
}
