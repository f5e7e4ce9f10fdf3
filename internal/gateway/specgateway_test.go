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
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	s, err := config.DecodeSpec("spec.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		cfg = &config.Gateway{}
	}
	cfg.Deployments = []config.Deployment{{PathPrefix: prefix, Specification: s}}
	g, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
