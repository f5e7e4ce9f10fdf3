package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/serve"
)

const serveUsage = `keygate serve: run the gateway on an OCI API deployment specification.

USAGE
  keygate serve --config FILE [flags]
  keygate serve --spec FILE [--path-prefix PREFIX] [--listen HOST:PORT] [flags]

The configuration is validated and compiled before the listener opens: on any
problem serve prints them all and exits 1. SIGINT or SIGTERM stops accepting
connections and lets in-flight requests finish (--shutdown-timeout).

Mutual TLS (a deployment's mutualTls) needs --tls-cert and --tls-key, and the
CA that issues the client certificates: --tls-client-ca or the config file's
tls.clientCA. The listener asks clients for a certificate and each deployment
checks it: a missing or refused one is a 401 whose log line says why.

EXAMPLES
  keygate serve --spec deployment.json --path-prefix /test3 --listen 127.0.0.1:8080
  keygate serve --config gateway.yaml
  keygate serve --config gateway.yaml --log-format text --no-access-log
  keygate serve --config gateway.yaml --tls-cert tls.crt --tls-key tls.key --tls-client-ca partners-ca.pem
  keygate serve --config gateway.yaml --admin 127.0.0.1:9901        # console at http://127.0.0.1:9901/
  keygate serve --config gateway.yaml --admin 0.0.0.0:9901 --console-token-file /run/secrets/console-token
`

func runServe(e *env, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return serveCommand(ctx, e, args, hup)
}

// serveFlags are serve's flags beyond the configuration source.
type serveFlags struct {
	logFormat, logLevel string
	noAccessLog         bool
	noInlineUpstream    bool
	shutdownTimeout     time.Duration
	shutdownDelay       time.Duration
	admin               string
	pprof               bool
	tlsCert, tlsKey     string
	tokenCacheSize      int
	authorizerCacheSize int
	consoleTokenFile    string
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.logFormat, "log-format", "json", "log `format`: json or text")
	fs.StringVar(&f.logLevel, "log-level", "info", "minimum log `level`: debug, info, warn or error")
	fs.BoolVar(&f.noAccessLog, "no-access-log", false, "turn the per-request access log off")
	fs.BoolVar(&f.noInlineUpstream, "no-inline-upstream", false, "send every backend exchange through Go's http.Transport (bodyless requests to http:// backends otherwise go inline)")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on shutdown")
	fs.DurationVar(&f.shutdownDelay, "shutdown-delay", 0, "on shutdown, how long /readyz answers 503 before the listener closes (let load balancers notice)")
	fs.StringVar(&f.admin, "admin", "", "`host:port` of the admin listener (/metrics, /healthz, /readyz, and the console at /); off when empty")
	fs.BoolVar(&f.pprof, "pprof", false, "serve /debug/pprof/ on the admin listener")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate `file` (PEM) for the main listener; reloaded when it changes")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key `file` (PEM) for the main listener")
	fs.StringVar(&f.consoleTokenFile, "console-token-file", "", "`file` holding the token the console on the admin listener asks for; without it the console answers only on a loopback --admin")
	fs.IntVar(&f.tokenCacheSize, "token-cache-size", 100000, "verified tokens remembered across requests (`entries`); 0 verifies every request in full")
	fs.IntVar(&f.authorizerCacheSize, "authorizer-cache-size", gateway.DefaultAuthorizerCacheEntries, "authorizer function verdicts each CUSTOM_AUTHENTICATION deployment remembers (`entries`, least recently used out first)")
}

// settings are the serve runtime's settings the flags give.
func (f *serveFlags) settings() serve.Settings {
	return serve.Settings{DisableAccessLog: f.noAccessLog, DisableInlineUpstream: f.noInlineUpstream,
		ShutdownTimeout: f.shutdownTimeout, ShutdownDelay: f.shutdownDelay, Admin: f.admin, Pprof: f.pprof,
		TLSCert: f.tlsCert, TLSKey: f.tlsKey, TokenCacheSize: f.tokenCacheSize,
		AuthorizerCacheSize: f.authorizerCacheSize, ConsoleTokenFile: f.consoleTokenFile}
}

func (f *serveFlags) check() string {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return "give both --tls-cert and --tls-key, or neither"
	}
	if f.tokenCacheSize < 0 {
		return fmt.Sprintf("--token-cache-size %d: want 0 (no cache) or more", f.tokenCacheSize)
	}
	if f.authorizerCacheSize < 1 {
		return fmt.Sprintf("--authorizer-cache-size %d: want 1 or more (OCI always caches an authorizer's verdicts)", f.authorizerCacheSize)
	}
	if f.pprof && f.admin == "" {
		return "--pprof needs --admin"
	}
	if f.consoleTokenFile != "" && f.admin == "" {
		return "--console-token-file needs --admin: the console is on the admin listener"
	}
	return ""
}

// serveCommand runs the gateway until ctx is done, reloading on hup and on
// configuration file changes.
func serveCommand(ctx context.Context, e *env, args []string, hup <-chan os.Signal) int {
	fs := newFlags("serve")
	var src sourceFlags
	var sf serveFlags
	src.register(fs)
	sf.register(fs)
	if code, ok := parseFlags(e, fs, serveUsage, args); !ok {
		return code
	}
	problem := src.check()
	if problem == "" {
		problem = sf.check()
	}
	if problem == "" && fs.NArg() > 0 {
		problem = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	}
	if problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	logOut := newAsyncWriter(e.stderr)
	defer logOut.Close()
	log, err := newLogger(logOut, sf.logFormat, sf.logLevel)
	if err != nil {
		return usageError(e, fs.Name(), err.Error())
	}
	set := sf.settings()
	if !set.DisableAccessLog && log.Enabled(ctx, slog.LevelInfo) {
		// newLogger accepted the format, so this cannot fail.
		format, _ := gateway.ParseAccessLogFormat(sf.logFormat)
		set.AccessLog = gateway.NewAccessLog(logOut, format)
	}
	if err := serve.Run(ctx, src.source(), set, log, hup); err != nil {
		var problems config.Problems
		if errors.As(err, &problems) {
			printProblems(e.stderr, fs.Name(), err)
		} else {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
		}
		return exitFail
	}
	return exitOK
}
