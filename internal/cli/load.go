package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
)

// sourceFlags are the flags that say which configuration to load, shared by
// serve and validate.
type sourceFlags struct {
	config     string
	spec       string
	pathPrefix string
	listen     string
}

func (s *sourceFlags) register(fs interface {
	StringVar(p *string, name, value, usage string)
}) {
	fs.StringVar(&s.config, "config", "", "keygate config `file` (YAML or JSON) listing deployments")
	fs.StringVar(&s.spec, "spec", "", "one OCI API deployment specification `file` (JSON or YAML), instead of --config")
	fs.StringVar(&s.pathPrefix, "path-prefix", "", "the deployment's path `prefix` with --spec, e.g. /test3 (default /)")
	fs.StringVar(&s.listen, "listen", "", "`host:port` to listen on (default: the config's listen, else "+config.DefaultListen+")")
}

// check reports a usage problem with the combination of source flags.
func (s *sourceFlags) check() string {
	switch {
	case s.config == "" && s.spec == "":
		return "give --config FILE or --spec FILE"
	case s.config != "" && s.spec != "":
		return "give either --config or --spec, not both"
	case s.config != "" && s.pathPrefix != "":
		return "--path-prefix applies to --spec only; a config file gives each deployment its pathPrefix"
	}
	return ""
}

// prefix is the --spec deployment's path prefix: --path-prefix, default /.
func (s *sourceFlags) prefix() string {
	if s.pathPrefix == "" {
		return "/"
	}
	return s.pathPrefix
}

// load reads and validates the configuration, then compiles it, so that
// every problem (structure, keys, routes) is reported at once.
func (s *sourceFlags) load(opts gateway.Options) (*config.Gateway, *gateway.Gateway, error) {
	var (
		cfg *config.Gateway
		err error
	)
	if s.config != "" {
		cfg, err = config.LoadGateway(s.config, config.WithSpecCheck(gateway.CheckSpec))
	} else {
		cfg, err = config.LoadSpecGateway(s.spec, s.prefix(), s.listen, config.WithSpecCheck(gateway.CheckSpec))
	}
	if err != nil {
		return nil, nil, err
	}
	if s.listen != "" {
		cfg.Listen = s.listen
	}
	g, err := gateway.New(cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	return cfg, g, nil
}

// files lists the files a loaded configuration was read from: the config
// or spec file given, and every specification file it names.
func (s *sourceFlags) files(cfg *config.Gateway) []string {
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
	add(s.config)
	add(s.spec)
	for _, d := range cfg.Deployments {
		add(d.Source.File)
	}
	return out
}

// configVersion is a short hash of the loaded configuration (specs
// included), logged so an operator can tell which version is live.
func configVersion(cfg *config.Gateway) string {
	b, err := json.Marshal(cfg)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// printProblems writes each configuration problem on its own line, or the
// error as it is when it is not a list of problems.
func printProblems(w io.Writer, cmd string, err error) {
	var problems config.Problems
	if errors.As(err, &problems) {
		fmt.Fprintf(w, "%s: the configuration has %d problem(s):\n", cmd, len(problems))
		for _, p := range problems {
			fmt.Fprintf(w, "  %s\n", p.Error())
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", cmd, err)
}
