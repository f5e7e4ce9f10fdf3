package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/console"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/token"
)

// Settings are how the gateway is run, beyond its configuration.
type Settings struct {
	// DisableAccessLog turns the per-request access line off. Default false.
	DisableAccessLog bool
	// ShutdownTimeout bounds how long in-flight requests may take to
	// finish once the listener closed. Default 0: they are cut at once.
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long readiness answers 503 before the listener
	// closes, so load balancers stop sending first. Default 0.
	ShutdownDelay time.Duration
	// Admin is the host:port of the admin listener (/metrics, /healthz,
	// /readyz). Default "": none, and no metrics are kept.
	Admin string
	// Pprof serves /debug/pprof/ on the admin listener. Default false.
	Pprof bool
	// TLSCert and TLSKey are the main listener's certificate and key files,
	// reloaded when they change. Default "": plain HTTP.
	TLSCert, TLSKey string
	// TokenCacheSize is how many verified tokens are remembered. Default 0:
	// every request is verified in full.
	TokenCacheSize int
	// ConsoleTokenFile holds the token the console on the admin listener
	// asks for. Default "": none, and the console answers only when the
	// admin listener is bound to a loopback address.
	ConsoleTokenFile string
}

// minConsoleToken is the shortest console token accepted, in bytes.
const minConsoleToken = 16

// Run loads the configuration, opens the listeners and serves until ctx is
// done, reloading on hup and on configuration file changes; then readiness
// turns false, and after ShutdownDelay the listener stops accepting and
// in-flight requests drain. A configuration that does not load is returned
// as the error (config.Problems) before anything listens.
func Run(ctx context.Context, src Source, set Settings, log *slog.Logger, hup <-chan os.Signal) error {
	var metrics *gateway.Metrics   // nil: nothing to serve them on, so none are kept
	var activity *gateway.Activity // the same for the console's counters
	var history *gateway.ConfigHistory
	consoleToken, err := readConsoleToken(set.ConsoleTokenFile)
	if err != nil {
		return err
	}
	if set.Admin != "" {
		metrics = gateway.NewMetrics()
		activity = gateway.NewActivity(time.Now)
		history = gateway.NewConfigHistory()
	}
	keySets := gateway.NewKeySets(log, metrics.ObserveJWKS)
	keySets.ObserveIDP(metrics.ObserveIDP)
	metrics.WatchKeySets(keySets)
	keySets.Start(ctx)
	cache := token.NewCache(set.TokenCacheSize)
	metrics.WatchTokenCache(cache)
	limits := gateway.NewLimits()
	metrics.WatchLimits(limits)
	opts := gateway.Options{Logger: log, Now: time.Now, DisableAccessLog: set.DisableAccessLog, KeySets: keySets,
		Metrics: metrics, TokenCache: cache, Limits: limits, Activity: activity}
	src.PlainHTTP = set.TLSCert == "" // mutual TLS cannot work then: refused at load and reload
	cfg, g, err := src.Load(opts)
	if err != nil {
		return err
	}
	if s := cfg.SharedState; s != nil && s.Redis != nil {
		client, err := redisClient(s.Redis)
		if err != nil {
			return err
		}
		defer client.Close()
		limits.UseRedis(client, time.Duration(s.Redis.TimeoutMillis)*time.Millisecond, log)
		log.Info("rate limits are shared in Redis", "addr", client.Options().Addr, "db", client.Options().DB)
	}
	keySets.Retain(g) // each set at the shortest refresh its deployments ask
	live := gateway.NewLive(g)
	r := newReloader(src, opts, cfg, live, metrics, history)
	server := gateway.NewServer(live, log)
	if set.TLSCert != "" {
		certs, err := gateway.NewCertReloader(set.TLSCert, set.TLSKey, log)
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
	admin := gateway.NewAdmin(live, metrics, set.Pprof)
	if set.Admin != "" {
		c := console.Options{Live: live, KeySets: keySets, Activity: activity, History: history, Token: consoleToken}
		adminServer, err := startAdmin(set.Admin, admin, c, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer adminServer.Close()
	}
	// The watcher is stopped and awaited before Run returns: it logs, and
	// the caller closes the log's output after Run.
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		r.watch(watchCtx, hup)
	}()
	defer func() {
		stopWatch()
		<-watchDone
	}()
	attrs := []any{"address", ln.Addr().String(), "tls", set.TLSCert != "", "deployments", len(cfg.Deployments), "version", r.version}
	if cfg.ClientCA != nil {
		attrs = append(attrs, "clientCA", cfg.ClientCA.File)
	}
	log.Info("listening", attrs...)
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	go func() {
		<-ctx.Done()
		admin.Drain()
		log.Info("shutdown requested; readiness is off", "delay", set.ShutdownDelay.String())
		time.Sleep(set.ShutdownDelay)
		stopServing()
	}()
	return server.Serve(serveCtx, ln, set.ShutdownTimeout)
}

// startAdmin serves the admin endpoints and the console on addr. It stays
// up through the drain, so probes see readiness turn off; the caller closes
// it at the end.
func startAdmin(addr string, admin *gateway.Admin, opts console.Options, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listen on %s: %w", addr, err)
	}
	tcp, ok := ln.Addr().(*net.TCPAddr)
	opts.Loopback = ok && tcp.IP.IsLoopback()
	c, err := console.New(opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	admin.ServeConsole(c.Handler())
	srv := &http.Server{Handler: admin.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	access := "off (give --console-token-file, or bind the admin listener to loopback)"
	switch {
	case opts.Token != "":
		access = "token"
	case opts.Loopback:
		access = "loopback, no token"
	}
	log.Info("admin listening", "address", ln.Addr().String(), "console", access)
	return srv, nil
}

// readConsoleToken reads the console token from file ("" for none).
func readConsoleToken(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("console token: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if len(token) < minConsoleToken {
		return "", fmt.Errorf("console token file %s: the token has %d bytes, want at least %d (e.g. openssl rand -hex 32)", file, len(token), minConsoleToken)
	}
	return token, nil
}
