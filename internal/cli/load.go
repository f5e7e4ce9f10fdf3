package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/serve"
)

// sourceFlags are the flags that say which configuration to load, shared by
// serve and validate.
type sourceFlags struct {
	config     string
	spec       string
	pathPrefix string
	listen     string
	clientCA   string
}

func (s *sourceFlags) register(fs interface {
	StringVar(p *string, name, value, usage string)
}) {
	fs.StringVar(&s.config, "config", "", "keygate config `file` (YAML or JSON) listing deployments")
	fs.StringVar(&s.spec, "spec", "", "one OCI API deployment specification `file` (JSON or YAML), instead of --config")
	fs.StringVar(&s.pathPrefix, "path-prefix", "", "the deployment's path `prefix` with --spec, e.g. /test3 (default /)")
	fs.StringVar(&s.listen, "listen", "", "`host:port` to listen on (default: the config's listen, else "+config.DefaultListen+")")
	fs.StringVar(&s.clientCA, "tls-client-ca", "", "PEM `file` of the CA certificates client certificates must chain to on deployments with mutualTls on (default: the config's tls.clientCA); reread when it changes")
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

// source is the configuration the flags name.
func (s *sourceFlags) source() serve.Source {
	return serve.Source{ConfigFile: s.config, SpecFile: s.spec, PathPrefix: s.pathPrefix, Listen: s.listen, ClientCA: s.clientCA}
}

// load reads, validates and compiles the configuration the flags name.
func (s *sourceFlags) load(opts gateway.Options) (*config.Gateway, *gateway.Gateway, error) {
	return s.source().Load(opts)
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
