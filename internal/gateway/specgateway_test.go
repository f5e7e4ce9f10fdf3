package gateway

import (
	"encoding/json"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// compileSpec decodes spec (a JSON-able map) as keygate loads a spec and
// compiles it as the one deployment at prefix of cfg (nil: a config with
// only that deployment), with opts.
func compileSpec(t testing.TB, prefix string, spec map[string]any, cfg *config.Gateway, opts Options) *Gateway {
	t.Helper()
	if cfg == nil {
		cfg = &config.Gateway{}
	}
	cfg.Deployments = []config.Deployment{{PathPrefix: prefix, Specification: decodeTestSpec(t, spec)}}
	g, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// decodeTestSpec decodes spec (a JSON-able map) as keygate loads a spec
// file named spec.json.
func decodeTestSpec(t testing.TB, spec map[string]any) *config.Spec {
	t.Helper()
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	s, err := config.DecodeSpec("spec.json", data)
	if err != nil {
		t.Fatalf("decoding the spec: %v", err)
	}
	return s
}
