package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDuplicateKeysInOneRun: a file's duplicate keys come out in the same
// run as its unknown fields, its validation problems and what the spec
// check (the gateway's compile step) finds, each with its path.
func TestDuplicateKeysInOneRun(t *testing.T) {
	check := func(spec *Spec, src Source) Problems {
		return Problems{src.Problem("routes[1].path", "found by the spec check")}
	}
	tests := []struct {
		name, file, text string
	}{
		{"json", "spec.json", `{"routes": [
			{"path": "/a", "path": "/b", "backend": {"type": "HTTP_BACKEND", "url": "https://a.example.com", "bogus": 1}},
			{"path": "/c", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 99}}]}`},
		{"yaml", "spec.yaml", `
routes:
  - path: /a
    path: /b
    backend: {type: HTTP_BACKEND, url: "https://a.example.com", bogus: 1}
  - path: /c
    backend: {type: STOCK_RESPONSE_BACKEND, status: 99}
`},
	}
	want := []string{
		"routes[0].path: duplicate key; keep only one (keygate reads the last)",
		"routes[0].backend.bogus: unknown field",
		"routes[1].backend.status: 99 is not an HTTP status",
		"routes[1].path: found by the spec check",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(file, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadSpecGateway(file, "/p", "", WithSpecCheck(check))
			probs, _ := err.(Problems)
			if len(probs) != len(want) {
				t.Fatalf("got %d problems; want %d:\n%v", len(probs), len(want), err)
			}
			for i, p := range probs {
				if got := p.Path + ": " + p.Message; !strings.HasPrefix(got, want[i]) {
					t.Errorf("problem %d = %q; want it to start with %q", i, got, want[i])
				}
			}
		})
	}
}
