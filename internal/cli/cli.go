// Package cli holds keygate's subcommands, their help texts and flag
// handling. It wires the other packages together; nothing else does.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes shared by every command.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// env is what a command gets from the outside world, injected so that tests
// run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// getenv reads an environment variable (os.Getenv in Main), for
	// --key env:VAR.
	getenv func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
}

func commands() []command {
	return []command{
		{"serve", "run the gateway", runServe},
		{"validate", "check a configuration or spec and summarise it", runValidate},
		{"demo", "run a ready demo: keys, spec, sample backend and gateway on loopback", runDemo},
		{"keys", "generate a client key pair (PKCS8 private key, SPKI public key)", runKeys},
		{"jwk", "print the public JWK of a PEM key, for a spec's static keys", runJWK},
		{"token", "sign, inspect or verify a JWT, offline", runToken},
		{"version", "print the version", runVersion},
	}
}

const mainUsage = `keygate: an API gateway for OCI API deployment specifications with JWT
authentication and scope authorization, and the client tools to go with it.

USAGE
  keygate <command> [flags]

COMMANDS
%s
Run "keygate <command> --help" for a command's flags and examples.

EXAMPLES
  keygate demo
  keygate serve --spec deployment.json --path-prefix /test3 --listen 127.0.0.1:8080
  keygate serve --config gateway.yaml
  keygate validate --spec deployment.json
  keygate keys generate --out client
  keygate jwk --oci --kid suitable_name client.pub
  keygate token sign --key client.key --kid suitable_name --iss suitable_issuer --aud suitable_audience --scope "a b"
  keygate token verify --spec deployment.json --path-prefix /test3 --request "POST /test3/1" TOKEN
`

// Main runs keygate with args (without the program name) and returns the
// process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText())
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usageText())
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(stderr, "keygate: unknown command %q; run keygate --help for the list\n", args[0])
	return exitUsage
}

func usageText() string {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	return fmt.Sprintf(mainUsage, b.String())
}

// newFlags returns a flag set whose errors and help follow one wording for
// every command: "keygate <cmd>: <problem>" and the usage on stderr.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("keygate "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args and reports what to do: a non-negative code means
// return it (help printed, or a usage error reported).
func parseFlags(e *env, fs *flag.FlagSet, usage string, args []string) (int, bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(e.stdout, usage)
		printDefaults(e.stdout, fs)
		return exitOK, false
	case err != nil:
		return usageError(e, fs.Name(), err.Error()), false
	}
	return 0, true
}

// usageError reports a flag or argument problem the one way all commands do.
func usageError(e *env, cmd, problem string) int {
	fmt.Fprintf(e.stderr, "%s: %s\nrun %s --help for usage\n", cmd, problem, cmd)
	return exitUsage
}

func printDefaults(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "\nFLAGS")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
