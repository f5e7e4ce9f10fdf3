package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/keygate/keygate/internal/gateway"
)

const serveUsage = `keygate serve: run the gateway on an OCI API deployment specification.

USAGE
  keygate serve --config FILE [flags]
  keygate serve --spec FILE [--path-prefix PREFIX] [--listen HOST:PORT] [flags]

The configuration is validated and compiled before the listener opens: on any
problem serve prints them all and exits 1. SIGINT or SIGTERM stops accepting
connections and lets in-flight requests finish (--shutdown-timeout).

EXAMPLES
  keygate serve --spec deployment.json --path-prefix /test3 --listen 127.0.0.1:8080
  keygate serve --config gateway.yaml
  keygate serve --config gateway.yaml --log-format text --no-access-log
`

func runServe(e *env, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, e, args)
}

// serve runs the gateway until ctx is done.
func serve(ctx context.Context, e *env, args []string) int {
	fs := newFlags("serve")
	var src sourceFlags
	src.register(fs)
	logFormat := fs.String("log-format", "json", "log `format`: json or text")
	logLevel := fs.String("log-level", "info", "minimum log `level`: debug, info, warn or error")
	noAccessLog := fs.Bool("no-access-log", false, "turn the per-request access log off")
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on shutdown")
	if code, ok := parseFlags(e, fs, serveUsage, args); !ok {
		return code
	}
	if problem := src.check(); problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	if fs.NArg() > 0 {
		return usageError(e, fs.Name(), fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	log, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return usageError(e, fs.Name(), err.Error())
	}
	cfg, g, err := src.load(log, time.Now, *noAccessLog)
	if err != nil {
		printProblems(e.stderr, fs.Name(), err)
		return exitFail
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: listen on %s: %v\n", fs.Name(), cfg.Listen, err)
		return exitFail
	}
	log.Info("listening", "address", ln.Addr().String(), "deployments", len(cfg.Deployments))
	if err := gateway.NewServer(g, log).Serve(ctx, ln, *shutdownTimeout); err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
		return exitFail
	}
	return exitOK
}
