// Package serve is keygate's serving runtime: it loads a configuration,
// runs the gateway on its listeners, reloads it on SIGHUP and file changes,
// serves the admin endpoints and shuts down gracefully. The CLI only turns
// flags into a Source and Settings.
package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
)

// Source says which configuration to load: a keygate config file, or one
// specification file served under a path prefix.
type Source struct {
	// ConfigFile is keygate's config file (YAML or JSON). Default "".
	ConfigFile string
	// SpecFile is one OCI specification, used when ConfigFile is "".
	// Default "".
	SpecFile string
	// PathPrefix is SpecFile's deployment prefix. Default "/".
	PathPrefix string
	// Listen overrides the configuration's listen address. Default "".
	Listen string
	// ClientCA is the client CA file of mutual TLS (--tls-client-ca); it
	// replaces the config file's tls.clientCA. Default "": the config
	// file's, if any.
	ClientCA string
	// PlainHTTP says the listener serves plain HTTP, so a deployment with
	// mutual TLS on is a configuration problem. Default false: the listener
	// serves TLS, or is not known (validate).
	PlainHTTP bool
}

// Load reads and validates the configuration, then compiles it, so that
// every problem (structure, keys, routes) is reported at once.
func (s Source) Load(opts gateway.Options) (*config.Gateway, *gateway.Gateway, error) {
	cfg, err := s.LoadConfig()
	if err != nil {
		return nil, nil, err
	}
	g, err := gateway.New(cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	return cfg, g, nil
}

// LoadConfig reads and validates the configuration without compiling it
// (Load does both).
func (s Source) LoadConfig() (*config.Gateway, error) {
	var (
		cfg *config.Gateway
		err error
	)
	options := []config.Option{config.WithSpecCheck(gateway.CheckSpec)}
	if s.ClientCA != "" {
		options = append(options, config.WithClientCA(s.ClientCA))
	}
	if s.PlainHTTP {
		options = append(options, config.WithPlainHTTP())
	}
	if s.ConfigFile != "" {
		cfg, err = config.LoadGateway(s.ConfigFile, options...)
	} else {
		prefix := s.PathPrefix
		if prefix == "" {
			prefix = "/"
		}
		cfg, err = config.LoadSpecGateway(s.SpecFile, prefix, s.Listen, options...)
	}
	if err != nil {
		return nil, err
	}
	if s.Listen != "" {
		cfg.Listen = s.Listen
	}
	return cfg, nil
}

// Files lists the files a loaded configuration was read from: the config
// or spec file given, every specification file it names, and the client CA
// file (so a renewed CA is picked up like an edited spec), and the files of
// usage plans, subscribers and client tokens.
func (s Source) Files(cfg *config.Gateway) []string {
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if name == "" {
			return
		}
		if abs, err := filepath.Abs(name); err == nil {
			name = abs
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	add(s.ConfigFile)
	add(s.SpecFile)
	for _, d := range cfg.Deployments {
		add(d.Source.File)
	}
	if cfg.ClientCA != nil {
		add(cfg.ClientCA.File)
	}
	for _, f := range cfg.ResourceFiles {
		add(f)
	}
	for _, sub := range cfg.Subscribers {
		for _, c := range sub.Clients {
			add(c.TokenFile)
		}
	}
	for _, sec := range cfg.Secrets {
		add(sec.File)
	}
	return out
}

// secretValues are the values of cfg's secrets list by id: a reload
// compares them, since Version, which is logged, holds none of them.
func secretValues(cfg *config.Gateway) map[string]string {
	values := make(map[string]string, len(cfg.Secrets))
	for _, s := range cfg.Secrets {
		values[s.ID] = s.Value.Reveal()
	}
	return values
}

// Version is a short hash of the loaded configuration (specs and the client
// CA's certificates included), logged so an operator can tell which
// version is live.
func Version(cfg *config.Gateway) string {
	b, err := json.Marshal(cfg)
	if err != nil {
		return "unknown"
	}
	h := sha256.New()
	h.Write(b)
	if cfg.ClientCA != nil {
		for _, c := range cfg.ClientCA.Certificates {
			h.Write(c.Raw)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}
