// Package cli holds keygate's subcommands, their help texts and flag
// handling. It wires the other packages together; nothing else does.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
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
		{"import", "turn oci api-gateway deployment output into a keygate configuration", runImport},
		{"demo", "run a ready demo: keys, spec, sample backend and gateway on loopback", runDemo},
		{"keys", "generate a client key pair (PKCS8 private key, SPKI public key)", runKeys},
		{"jwk", "print the public JWK of a PEM key, for a spec's static keys", runJWK},
		{"token", "sign, inspect or verify a JWT, offline", runToken},
		{"agent", "keep a fresh token for an app: in a file, or as a local proxy that adds it", runAgent},
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
  keygate import --out gw deployment.json
  keygate keys generate --out client
  keygate jwk --oci --kid suitable_name client.pub
  keygate token sign --key client.key --kid suitable_name --iss suitable_issuer --aud suitable_audience --scope "a b"
  keygate token verify --spec deployment.json --path-prefix /test3 --request "POST /test3/1" TOKEN
  keygate agent --key client.key --kid suitable_name --iss suitable_issuer --aud suitable_audience --listen 127.0.0.1:8081 --upstream https://gateway/test3
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
// return it (help printed, or a usage error reported). Flags may follow
// the positional arguments (keygate jwk a.pub --kid x); after "--"
// everything is positional.
func parseFlags(e *env, fs *flag.FlagSet, usage string, args []string) (int, bool) {
	var positional []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			fmt.Fprint(e.stdout, usage)
			printDefaults(e.stdout, fs)
			return exitOK, false
		case err != nil:
			return usageError(e, fs.Name(), flagProblem(fs, err)), false
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	// Leave the positional arguments where fs.Args finds them.
	_ = fs.Parse(append([]string{"--"}, positional...))
	return 0, true
}

// flagProblem words the flag package's errors the way keygate's own flag
// messages read: "--NAME VALUE: want ...".
func flagProblem(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "--" + name + " needs a value"
	}
	// invalid value "V" for flag -NAME: DETAIL
	// invalid boolean value "V" for -NAME: DETAIL
	rest, ok := strings.CutPrefix(msg, "invalid value ")
	if !ok {
		if rest, ok = strings.CutPrefix(msg, "invalid boolean value "); !ok {
			return msg
		}
	}
	quoted, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return msg
	}
	rest = strings.TrimPrefix(strings.TrimPrefix(rest[len(quoted):], " for flag -"), " for -")
	name, detail, _ := strings.Cut(rest, ": ")
	f := fs.Lookup(name)
	if f == nil {
		return msg
	}
	want := detail // a keygate flag type's own message
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case time.Duration:
			want = "want a duration such as 90s, 10m or 1h"
		case bool:
			want = "want true or false"
		case int, int64, uint, uint64:
			want = "want a whole number"
		}
	}
	return fmt.Sprintf("--%s %s: %s", name, quoted, want)
}

// usageError reports a flag or argument problem the one way all commands do.
func usageError(e *env, cmd, problem string) int {
	fmt.Fprintf(e.stderr, "%s: %s\nrun %s --help for usage\n", cmd, problem, cmd)
	return exitUsage
}

// printDefaults lists the flags with two dashes, the way the usage lines
// and messages write them.
func printDefaults(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintln(w, "\nFLAGS")
			first = false
		}
		argName, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if argName != "" {
			line += " " + argName
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
		if def := flagDefault(f); def != "" {
			fmt.Fprintf(w, " (default %s)", def)
		}
		fmt.Fprintln(w)
	})
}

// flagDefault is f's default as help shows it, or "" for a zero value.
func flagDefault(f *flag.Flag) string {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return ""
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if _, isString := g.Get().(string); isString {
			return strconv.Quote(f.DefValue)
		}
	}
	return f.DefValue
}
