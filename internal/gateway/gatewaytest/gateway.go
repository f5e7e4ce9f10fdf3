package gatewaytest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/function"
	"github.com/keygate/keygate/internal/gateway"
)

// Prefix is the path prefix Start serves a spec's deployment at; tests write
// their paths under it (/test/r).
const Prefix = "/test"

// drain is how long a stopping server lets requests finish: a test's
// requests are over by then, and a hung one should not hold the suite.
const drain = 2 * time.Second

// Options tune how a gateway is built and served.
type Options struct {
	// Prefix is the deployment's path prefix. Default: Prefix.
	Prefix string
	// Now is the gateway's clock. Default: time.Now.
	Now func() time.Time
	// KeySets holds the REMOTE_JWKS sets. Default: a registry that is never
	// started, so no JWKS is fetched.
	KeySets *gateway.KeySets
	// Backends are keygate's per-origin backend settings
	// (config.Gateway.Backends: keepAlive ...). Default: none. StartConfig
	// and BuildConfig take them from their configuration instead.
	Backends []config.BackendOrigin
	// TLS serves HTTPS (and so HTTP/2) with a certificate made for the test;
	// the Gateway's Client trusts it and offers HTTP/2. Default: plain HTTP.
	TLS bool
	// PlainServer serves with an http.Server of net/http's defaults (1 MiB of
	// headers, no timeouts) instead of gateway.NewServer, so that a request
	// keygate's server would refuse first (a 1 MB token: 431) reaches the
	// gateway's own limits. Default: gateway.NewServer, as keygate serves.
	PlainServer bool
	// Functions invokes the functions specs name (keygate's function
	// registry). Default nil: none.
	Functions function.Invoker
}

func (o Options) prefix() string {
	if o.Prefix == "" {
		return Prefix
	}
	return o.Prefix
}

// Gateway is a gateway running on a loopback listener until the test ends.
type Gateway struct {
	// Addr is the listener's host:port, for raw sockets.
	Addr string
	// URL is http://Addr (https with Options.TLS).
	URL string
	// Backend is the recording backend the spec's routes lead to, if the
	// test gave one: the hostile-case helpers assert that nothing reached it.
	Backend *Backend
	// Log holds every line the gateway and its server wrote.
	Log *Log
	// Client talks to the gateway: it follows no redirects (a 3xx is an
	// answer to check) and gives up after ExchangeTimeout.
	Client *http.Client
}

// Deployment decodes spec (a JSON-able map) into the deployment served at
// prefix, as keygate's loader would.
func Deployment(prefix string, spec map[string]any) (config.Deployment, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return config.Deployment{}, err
	}
	s, err := config.DecodeSpec("spec.json", data)
	if err != nil {
		return config.Deployment{}, err
	}
	return config.Deployment{PathPrefix: prefix, Specification: s, Source: config.Source{File: "spec.json"}}, nil
}

// Build compiles spec as the one deployment at o.Prefix into a gateway that
// logs to the returned Log. The error is gateway.New's (or the spec's), for
// tests of configurations that must not start.
func Build(spec map[string]any, o Options) (*gateway.Gateway, *Log, error) {
	d, err := Deployment(o.prefix(), spec)
	if err != nil {
		return nil, nil, err
	}
	return BuildConfig(&config.Gateway{Listen: "127.0.0.1:0", Deployments: []config.Deployment{d}, Backends: o.Backends}, o)
}

// BuildConfig compiles cfg (several deployments, backends ...) with o's
// clock and key sets into a gateway that logs to the returned Log, its
// access lines through gateway.AccessLog as keygate serve writes them.
func BuildConfig(cfg *config.Gateway, o Options) (*gateway.Gateway, *Log, error) {
	log := NewLog()
	g, err := gateway.New(cfg, gateway.Options{Logger: log.Logger(), Now: o.Now, KeySets: o.KeySets, Functions: o.Functions,
		AccessLog: gateway.NewAccessLog(log, gateway.AccessLogJSON)})
	return g, log, err
}

// Start compiles spec as the deployment at o.Prefix and serves it until the
// test ends. b is the backend its routes lead to (nil when they lead
// elsewhere).
func Start(t testing.TB, spec map[string]any, b *Backend, o Options) *Gateway {
	t.Helper()
	g, log, err := Build(spec, o)
	if err != nil {
		t.Fatalf("building the gateway: %v", err)
	}
	return Serve(t, g, log, b, o)
}

// StartConfig compiles cfg and serves it until the test ends.
func StartConfig(t testing.TB, cfg *config.Gateway, b *Backend, o Options) *Gateway {
	t.Helper()
	g, log, err := BuildConfig(cfg, o)
	if err != nil {
		t.Fatalf("building the gateway: %v", err)
	}
	return Serve(t, g, log, b, o)
}

// Serve runs h (a built gateway) behind gateway.NewServer, keygate's own
// limits included, on 127.0.0.1:0; the server logs to log. When the test
// ends it stops the server and waits for Serve to return, so no goroutine
// outlives the test.
func Serve(t testing.TB, h http.Handler, log *Log, b *Backend, o Options) *Gateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}
	g := &Gateway{Addr: ln.Addr().String(), URL: "http://" + ln.Addr().String(), Backend: b, Log: log,
		Client: &http.Client{Timeout: ExchangeTimeout, Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if o.PlainServer {
		servePlain(t, h, ln, transport)
		return g
	}
	srv := gateway.NewServer(h, log.Logger())
	if o.TLS {
		cert, pool := certificate(t)
		srv.UseTLS(&tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"},
			Certificates: []tls.Certificate{cert}})
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		transport.ForceAttemptHTTP2 = true
		g.URL = "https://" + g.Addr
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, drain) }()
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(drain + 8*time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return g
}

// servePlain serves h with net/http's defaults until the test ends.
func servePlain(t testing.TB, h http.Handler, ln net.Listener, client *http.Transport) {
	srv := &http.Server{Handler: h} //nolint:gosec // net/http's defaults are the point
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		client.CloseIdleConnections()
		_ = srv.Close()
		<-done
	})
}
