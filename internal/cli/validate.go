package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/serve"
)

const validateUsage = `keygate validate: check a configuration or spec as serve would, and summarise it.

USAGE
  keygate validate --config FILE [--tls-client-ca FILE]
  keygate validate --spec FILE [--path-prefix PREFIX] [--tls-client-ca FILE]

Prints every problem, each with its file and JSON path, and exits 1; or prints
a summary of deployments, mutual TLS, routes (with their CORS, validation and
transformation policies), authentication and keys and exits 0. Run it before a
reload: it checks exactly what serve checks, and with the same flags its
version is the one serve logs when that configuration goes live. The one thing
it cannot know is serve's listener: mutual TLS also needs serve's --tls-cert
and --tls-key.

EXAMPLES
  keygate validate --spec deployment.json
  keygate validate --spec deployment.yaml --path-prefix /test3
  keygate validate --config gateway.yaml
  keygate validate --spec partners.json --tls-client-ca partners-ca.pem
`

func runValidate(e *env, args []string) int {
	fs := newFlags("validate")
	var src sourceFlags
	src.register(fs)
	if code, ok := parseFlags(e, fs, validateUsage, args); !ok {
		return code
	}
	if problem := src.check(); problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	if fs.NArg() > 0 {
		return usageError(e, fs.Name(), fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	cfg, g, err := src.load(gateway.Options{Logger: slog.New(slog.DiscardHandler), DisableAccessLog: true})
	if err != nil {
		printProblems(e.stderr, fs.Name(), err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "configuration is valid: listen %s, %d deployment(s), version %s\n",
		cfg.Listen, len(cfg.Deployments), serve.Version(cfg))
	for _, d := range cfg.Deployments {
		for _, w := range d.Specification.Warnings {
			fmt.Fprintf(e.stderr, "%s: warning: %s\n", fs.Name(), w.Error())
		}
	}
	for _, d := range g.Summary() {
		printDeployment(e.stdout, d)
	}
	return exitOK
}

func printDeployment(w io.Writer, d gateway.DeploymentSummary) {
	fmt.Fprintf(w, "\ndeployment %s\n", d.PathPrefix)
	printMutualTLS(w, d.MutualTLS)
	if a := d.Auth; a != nil && len(a.Servers) > 0 {
		fmt.Fprintf(w, "  authentication %s\n", a.Type)
		for _, s := range a.Servers {
			fmt.Fprintf(w, "    server %s\n", s)
		}
	} else if a != nil {
		fmt.Fprintf(w, "  authentication %s, token from %s\n", a.Type, a.TokenFrom)
		if a.Discovery != "" {
			fmt.Fprintf(w, "    OpenID provider %s: every token introspected, a JWT also checked against its keys\n", a.Discovery)
		}
		fmt.Fprintf(w, "    issuers   %s\n", listOrAny(a.Issuers))
		aud := listOrAny(a.Audiences)
		if len(a.Audiences) == 0 {
			// RFC 8725 §3.9: a token for another service would be accepted.
			aud += "; any service's token is accepted, add audiences"
		}
		fmt.Fprintf(w, "    audiences %s\n", aud)
		if a.MaxClockSkew > 0 {
			fmt.Fprintf(w, "    clock skew %s allowed on exp and nbf\n", a.MaxClockSkew)
		}
		for _, c := range a.VerifyClaims {
			fmt.Fprintf(w, "    claim %s\n", c)
		}
		if a.Anonymous {
			fmt.Fprintln(w, "    anonymous access allowed on ANONYMOUS routes")
		}
		if a.JWKS != "" {
			fmt.Fprintf(w, "    keys from the JWKS at %s\n", a.JWKS)
		}
		for _, k := range a.Keys {
			fmt.Fprintf(w, "    key kid=%q %s %s %d bits\n", k.KID, k.Algorithm, k.Type, k.Bits)
		}
	} else {
		fmt.Fprintln(w, "  no authentication: every route is open")
	}
	for _, r := range d.Routes {
		fmt.Fprintf(w, "  route %-8s %-24s %-22s -> %s\n", strings.Join(r.Methods, ","), r.Path, r.Authorization, r.Backend)
		if r.CORS != "" {
			fmt.Fprintf(w, "    cors %s\n", r.CORS)
		}
		for _, v := range r.Validations {
			fmt.Fprintf(w, "    %s\n", v)
		}
		for _, line := range r.Transforms {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
}

// printMutualTLS says what a deployment's mutualTls asks of clients.
func printMutualTLS(w io.Writer, m *gateway.MutualTLSSummary) {
	switch {
	case m == nil:
		return
	case !m.Required && len(m.AllowedSans) > 0:
		fmt.Fprintf(w, "  mutual TLS off: client certificates are ignored, and so is allowedSans %s\n", strings.Join(m.AllowedSans, ", "))
		return
	case !m.Required:
		fmt.Fprintln(w, "  mutual TLS off: client certificates are ignored")
		return
	}
	fmt.Fprintf(w, "  mutual TLS required: a client certificate for clientAuth, chained (at most 3 deep) to %s\n", m.ClientCA)
	for _, ca := range m.CAs {
		fmt.Fprintf(w, "    client CA %s\n", ca)
	}
	if len(m.AllowedSans) == 0 {
		fmt.Fprintln(w, "    allowed names: any (allowedSans is empty)")
		return
	}
	fmt.Fprintf(w, "    allowed names %s (DNS, email or URI SAN, or CN)\n", strings.Join(m.AllowedSans, ", "))
}

func listOrAny(values []string) string {
	if len(values) == 0 {
		return "(not checked)"
	}
	return strings.Join(values, ", ")
}
