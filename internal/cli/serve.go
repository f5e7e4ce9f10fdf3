package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/token"
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
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return serve(ctx, e, args, hup)
}

// serveFlags are serve's flags beyond the configuration source.
type serveFlags struct {
	logFormat, logLevel string
	noAccessLog         bool
	shutdownTimeout     time.Duration
	shutdownDelay       time.Duration
	admin               string
	pprof               bool
	tlsCert, tlsKey     string
	tokenCacheSize      int
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.logFormat, "log-format", "json", "log `format`: json or text")
	fs.StringVar(&f.logLevel, "log-level", "info", "minimum log `level`: debug, info, warn or error")
	fs.BoolVar(&f.noAccessLog, "no-access-log", false, "turn the per-request access log off")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on shutdown")
	fs.DurationVar(&f.shutdownDelay, "shutdown-delay", 0, "on shutdown, how long /readyz answers 503 before the listener closes (let load balancers notice)")
	fs.StringVar(&f.admin, "admin", "", "`host:port` of the admin listener (/metrics, /healthz, /readyz); off when empty")
	fs.BoolVar(&f.pprof, "pprof", false, "serve /debug/pprof/ on the admin listener")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate `file` (PEM) for the main listener; reloaded when it changes")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key `file` (PEM) for the main listener")
	fs.IntVar(&f.tokenCacheSize, "token-cache-size", 100000, "verified tokens remembered across requests (`entries`); 0 verifies every request in full")
}

func (f *serveFlags) check() string {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return "give both --tls-cert and --tls-key, or neither"
	}
	if f.tokenCacheSize < 0 {
		return fmt.Sprintf("--token-cache-size %d: want 0 (no cache) or more", f.tokenCacheSize)
	}
	if f.pprof && f.admin == "" {
		return "--pprof needs --admin"
	}
	return ""
}

// serve runs the gateway until ctx is done, reloading on hup and on
// configuration file changes.
func serve(ctx context.Context, e *env, args []string, hup <-chan os.Signal) int {
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
	if err := run(ctx, src, sf, log, hup); err != nil {
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

// run loads the configuration, opens the listeners and serves until ctx is
// done; then readiness turns false, and after --shutdown-delay the listener
// stops accepting and in-flight requests drain.
func run(ctx context.Context, src sourceFlags, sf serveFlags, log *slog.Logger, hup <-chan os.Signal) error {
	var metrics *gateway.Metrics // nil: nothing to serve them on, so none are kept
	if sf.admin != "" {
		metrics = gateway.NewMetrics()
	}
	keySets := gateway.NewKeySets(log, metrics.ObserveJWKS)
	metrics.WatchKeySets(keySets)
	keySets.Start(ctx)
	cache := token.NewCache(sf.tokenCacheSize)
	metrics.WatchTokenCache(cache)
	opts := gateway.Options{Logger: log, Now: time.Now, DisableAccessLog: sf.noAccessLog, KeySets: keySets,
		Metrics: metrics, TokenCache: cache}
	cfg, g, err := src.load(opts)
	if err != nil {
		return err
	}
	keySets.Retain(g) // each set at the shortest refresh its deployments ask
	live := gateway.NewLive(g)
	r := newReloader(src, opts, cfg, live, metrics)
	server := gateway.NewServer(live, log)
	if sf.tlsCert != "" {
		certs, err := gateway.NewCertReloader(sf.tlsCert, sf.tlsKey, log)
		if err != nil {
			return err
		}
		go certs.Run(ctx, 2*time.Second)
		server.UseTLS(certs.Config())
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	admin := gateway.NewAdmin(live, metrics, sf.pprof)
	if sf.admin != "" {
		adminServer, err := startAdmin(sf.admin, admin, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer adminServer.Close()
	}
	go r.watch(ctx, hup)
	log.Info("listening", "address", ln.Addr().String(), "tls", sf.tlsCert != "",
		"deployments", len(cfg.Deployments), "version", r.version)
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	go func() {
		<-ctx.Done()
		admin.Drain()
		log.Info("shutdown requested; readiness is off", "delay", sf.shutdownDelay.String())
		time.Sleep(sf.shutdownDelay)
		stopServing()
	}()
	return server.Serve(serveCtx, ln, sf.shutdownTimeout)
}

// startAdmin serves the admin endpoints on addr. It stays up through the
// drain, so probes see readiness turn off; the caller closes it at the end.
func startAdmin(addr string, admin *gateway.Admin, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: admin.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("admin listening", "address", ln.Addr().String())
	return srv, nil
}
