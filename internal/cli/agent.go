package cli

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keygate/keygate/internal/agent"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

const agentUsage = `keygate agent: keep a fresh signed assertion for an app that cannot sign, as a sidecar.

USAGE
  keygate agent --key PRIVATE.key|env:VAR|pkcs11:URI --kid NAME --iss ISSUER --aud AUDIENCE
                [--sub SUBJECT] [--scope "a b"] [--ttl 5m] [--jti] [--nbf] [--claim NAME=VALUE ...]
                [--out FILE] [--listen 127.0.0.1:PORT --upstream https://gateway/prefix]
                [--admin HOST:PORT] [--renew-before DURATION] [--shutdown-timeout 30s]

Signs tokens with the claims of keygate token sign (see its --help: the key,
the kid, the algorithm and every claim flag work the same) and renews each
--renew-before its expiry (default: half of its lifetime), so the token in
use always has time left. --jti gives every token its own random jti. The key
is read once at start; a pkcs11: URI keeps it in the HSM and signs there.

Give one or both ways to hand the token over:
  --out FILE      the token (and a newline) in FILE, replaced atomically
                  (temporary file + rename, mode 0600) at each renewal;
  --listen ADDR --upstream URL
                  a forward proxy: the app calls http://ADDR/PATH, the agent
                  sends the request to URL/PATH with Authorization: Bearer
                  TOKEN and changes nothing else. No token: 503 and nothing
                  sent; the upstream unreachable: 502. --listen must be a
                  loopback address (any app that reaches it acts as this
                  client) unless --insecure is given.

--admin ADDR serves /healthz, /readyz (200 while a valid token is held) and
/metrics (keygate_agent_tokens_signed_total, keygate_agent_sign_failures_total,
keygate_agent_token_expiry_seconds, keygate_agent_requests_total{code}).
The first token is signed before anything listens: a wrong key or PIN
stops the agent at once (exit 1). SIGINT or SIGTERM stops it; in-flight
requests finish (--shutdown-timeout). Tokens are never logged.

EXAMPLES
  keygate agent --key client.key --kid client --iss me --aud api --out /var/run/keygate/token
  keygate agent --key 'pkcs11:token=prod;object=client?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin' \
      --kid client --iss me --aud api --scope "orders:read" --ttl 5m --jti \
      --listen 127.0.0.1:8081 --upstream https://gateway.example.com/test3 --admin 127.0.0.1:9091
  curl http://127.0.0.1:8081/1    # reaches https://gateway.example.com/test3/1 with a fresh token
`

// agentFlags are agent's flags beyond those of token sign.
type agentFlags struct {
	out, listen, upstream, admin string
	upstreamURL                  *url.URL // parsed by check
	renewBefore, shutdownTimeout time.Duration
	logFormat, logLevel          string
}

func (a *agentFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.out, "out", "", "keep the current token in `FILE` (mode 0600, replaced atomically)")
	fs.StringVar(&a.listen, "listen", "", "`host:port` of the forward proxy (loopback only without --insecure)")
	fs.StringVar(&a.upstream, "upstream", "", "`URL` the proxy forwards to: http(s)://gateway[:port][/prefix]")
	fs.StringVar(&a.admin, "admin", "", "`host:port` of /healthz, /readyz and /metrics; off when empty")
	fs.DurationVar(&a.renewBefore, "renew-before", 0, "renew each token this long before it expires (`duration`; default: half its lifetime)")
	fs.DurationVar(&a.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on shutdown")
	fs.StringVar(&a.logFormat, "log-format", "json", "log `format`: json or text")
	fs.StringVar(&a.logLevel, "log-level", "info", "minimum log `level`: debug, info, warn or error")
}

func (a *agentFlags) check(s *signFlags) string {
	switch {
	case a.out == "" && a.listen == "":
		return "give --out FILE, --listen ADDR --upstream URL, or both: how should the app get its token?"
	case a.out == "-":
		return "--out - would print tokens; give a FILE"
	case (a.listen == "") != (a.upstream == ""):
		return "give --listen and --upstream together"
	case s.key == "-" || s.claimsFile == "-":
		return "the agent runs without stdin: give --key and --claims-file as files, env:VAR or a pkcs11: URI"
	case a.renewBefore < 0 || (a.renewBefore > 0 && a.renewBefore >= s.ttl):
		return fmt.Sprintf("--renew-before %s: want less than --ttl %s", a.renewBefore, s.ttl)
	}
	if a.upstream != "" {
		u, err := agent.ParseUpstream(a.upstream)
		if err != nil {
			return err.Error()
		}
		a.upstreamURL = u
	}
	if a.listen != "" && !s.insecure {
		host, _, err := net.SplitHostPort(a.listen)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return fmt.Sprintf("--listen %s: not a loopback address; anyone who reaches it calls the API as this client (allow it with --insecure)", a.listen)
		}
	}
	return ""
}

func runAgent(e *env, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return agentCommand(ctx, e, args)
}

// agentCommand runs the agent until ctx is done.
func agentCommand(ctx context.Context, e *env, args []string) int {
	fs := newFlags("agent")
	var s signFlags
	var a agentFlags
	s.register(fs, 5*time.Minute)
	a.register(fs)
	if code, ok := parseFlags(e, fs, agentUsage, args); !ok {
		return code
	}
	problem := s.check(fs.Args())
	if problem == "" {
		problem = a.check(&s)
	}
	if problem == "" && (len(s.aud) == 0 || s.iss == "") {
		problem = "give --iss and --aud: the gateway checks them against the deployment's lists"
	}
	if problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	log, err := newLogger(e.stderr, a.logFormat, a.logLevel)
	if err != nil {
		return usageError(e, fs.Name(), err.Error())
	}
	if s.insecure && a.listen != "" {
		log.Warn("--insecure: the proxy may listen beyond loopback and a pin-value PIN is accepted")
	}
	signer, closeKey, err := openSigner(e, fs.Name(), s.key, s.insecure)
	defer closeKey()
	if err != nil {
		return failure(e, fs.Name(), fmt.Errorf("--key %s: %w", keySourceName(s.key), err))
	}
	mint, err := newMinter(e, &s, signer)
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	reg := prometheus.NewRegistry()
	metrics := agent.NewMetrics(reg)
	src, err := startSource(&a, mint, metrics, log)
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	if err := serveAgent(ctx, &a, src, reg, metrics, log); err != nil {
		return failure(e, fs.Name(), err)
	}
	return exitOK
}

// startSource makes the token source and its first token, before anything
// listens: a wrong key, PIN or claim, or a token file that cannot be
// written (a missing directory), stops the agent here rather than at the
// app's first call. Later a failed write is logged and counted.
func startSource(a *agentFlags, mint agent.Minter, metrics *agent.Metrics, log *slog.Logger) (*agent.Source, error) {
	cfg := agent.Config{Mint: mint, RenewBefore: a.renewBefore, Metrics: metrics, Logger: log}
	if a.out != "" {
		cfg.OnToken = func(tok string, _ time.Time) error { return agent.WriteFile(a.out, tok) }
	}
	src, err := agent.NewSource(cfg)
	if err != nil {
		return nil, err
	}
	if err := src.Refresh(); err != nil {
		return nil, err
	}
	if a.out != "" {
		tok, err := src.Token()
		if err == nil {
			err = agent.WriteFile(a.out, tok)
		}
		if err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
	}
	log.Info("token signed", "expires", src.Expiry().UTC().Format(time.RFC3339), "out", a.out)
	return src, nil
}

// serveAgent renews the token and serves the admin and proxy listeners
// until ctx is done, then lets in-flight requests finish.
func serveAgent(ctx context.Context, a *agentFlags, src *agent.Source, reg *prometheus.Registry, metrics *agent.Metrics, log *slog.Logger) error {
	renewCtx, stopRenew := context.WithCancel(ctx)
	defer stopRenew()
	go src.Run(renewCtx)
	// The admin listener starts first and stops last: /healthz answers
	// while the proxy's requests finish. (Its address is logged before
	// the proxy's "listening", as serve does.)
	var servers []*http.Server
	if a.admin != "" {
		srv, err := listenAndServe(a.admin, "admin listening", agent.AdminHandler(src, reg), log)
		if err != nil {
			return fmt.Errorf("--admin %s: %w", a.admin, err)
		}
		servers = append(servers, srv)
	}
	if a.listen != "" {
		srv, err := listenAndServe(a.listen, "listening", agent.NewProxy(a.upstreamURL, src, nil, metrics, log), log)
		if err != nil {
			_ = shutdown(servers, 0)
			return fmt.Errorf("--listen %s: %w", a.listen, err)
		}
		servers = append([]*http.Server{srv}, servers...)
	}
	<-ctx.Done()
	log.Info("shutting down", "timeout", a.shutdownTimeout.String())
	if err := shutdown(servers, a.shutdownTimeout); err != nil {
		return fmt.Errorf("shutdown incomplete: %w", err)
	}
	log.Info("stopped")
	return nil
}

// listenAndServe listens on addr, logs msg with the address it got, and
// serves h in the background.
func listenAndServe(addr, msg string, h http.Handler, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Info(msg, "address", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("server stopped", "address", ln.Addr().String(), "error", err.Error())
		}
	}()
	return srv, nil
}

// shutdown stops the servers in order, letting in-flight requests finish
// within timeout (0: close at once).
func shutdown(servers []*http.Server, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if timeout == 0 {
			errs = append(errs, srv.Close())
			continue
		}
		errs = append(errs, srv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// newMinter resolves the kid, the algorithm and the claims file once and
// returns the function that signs each token.
func newMinter(e *env, s *signFlags, signer crypto.Signer) (agent.Minter, error) {
	alg, err := token.SigningAlgorithm(signer, s.alg)
	if err != nil {
		return nil, fmt.Errorf("--alg %s: %w", s.alg, err)
	}
	if _, err := keys.NewKey("", alg, signer.Public()); err != nil {
		return nil, fmt.Errorf("--key %s: %w", keySourceName(s.key), err)
	}
	kid := s.kid
	if kid == "" {
		if kid, err = keys.Thumbprint(signer.Public()); err != nil {
			return nil, err
		}
	}
	file, err := s.readClaimsFile(e)
	if err != nil {
		return nil, err
	}
	// The agent owns the time claims and the jti: a fixed exp would stop
	// renewal from helping, a fixed jti would be replayed.
	given := map[string]bool{}
	for name := range file {
		given[name] = true
	}
	for _, c := range s.claims {
		name, _, _ := strings.Cut(c, "=")
		given[name] = true
	}
	for _, owned := range []string{"iat", "exp", "nbf", "jti"} {
		if given[owned] {
			return nil, fmt.Errorf("claim %s: the agent sets it on every token (from the clock, --ttl, --nbf, --jti); drop it from --claim and --claims-file", owned)
		}
	}
	return func(now time.Time) (string, time.Time, error) {
		claims := s.claimsAt(file, now)
		exp := claims["exp"].(int64)
		tok, err := token.Sign(signer, kid, alg, claims)
		if err != nil {
			return "", time.Time{}, err
		}
		return tok, time.Unix(exp, 0), nil
	}, nil
}
