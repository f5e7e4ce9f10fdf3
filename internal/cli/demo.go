package cli

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

const demoUsage = `keygate demo: a ready demo of the seed's flow on loopback.

USAGE
  keygate demo [--listen HOST:PORT] [--dir DIR]

Generates an RSA key pair (PKCS8 PEM), writes an OCI deployment spec with an
open, an authenticated and a scoped route, starts a sample backend on
127.0.0.1 and the gateway in front of it, and prints curl lines to paste:
one with a freshly signed token (200), one without a token (401) and one
whose token lacks the route's scope (403). Ctrl-C stops it.

EXAMPLES
  keygate demo
  keygate demo --listen 127.0.0.1:9090 --dir ./keygate-demo
`

const (
	demoPrefix   = "/demo"
	demoKID      = "demo-client"
	demoIssuer   = "https://client.demo.keygate"
	demoAudience = "keygate-demo"
	demoScope    = "orders:read"
)

func runDemo(e *env, args []string) int {
	fs := newFlags("demo")
	listen := fs.String("listen", "127.0.0.1:8080", "`host:port` for the gateway")
	dir := fs.String("dir", "", "`directory` for the generated keys and spec (default: a new temporary directory)")
	if code, ok := parseFlags(e, fs, demoUsage, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(e, fs.Name(), fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if err := demo(e, *listen, *dir); err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
		return exitFail
	}
	return exitOK
}

func demo(e *env, listen, dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if dir == "" {
		d, err := os.MkdirTemp("", "keygate-demo-")
		if err != nil {
			return err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	key, err := writeDemoKeys(dir)
	if err != nil {
		return err
	}
	backendLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start the sample backend: %w", err)
	}
	backend := &http.Server{Handler: http.HandlerFunc(echo), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = backend.Serve(backendLn) }()
	defer backend.Close()

	specFile := filepath.Join(dir, "deployment.json")
	if err := writeDemoSpec(specFile, key.Public(), "http://"+backendLn.Addr().String()); err != nil {
		return err
	}
	log, err := newLogger(e.stderr, "json", "info")
	if err != nil {
		return err
	}
	cfg, err := config.LoadSpecGateway(specFile, demoPrefix, listen)
	if err != nil {
		return err
	}
	g, err := gateway.New(cfg, gateway.Options{Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another with --listen)", cfg.Listen, err)
	}
	if err := printDemo(e, dir, "http://"+ln.Addr().String()+demoPrefix, key); err != nil {
		return err
	}
	return gateway.NewServer(g, log).Serve(ctx, ln, 5*time.Second)
}

// writeDemoKeys makes the client's key pair the way the seed's openssl
// commands do: private_key.key (PKCS8) and public_key.crt (SPKI).
func writeDemoKeys(dir string) (crypto.Signer, error) {
	key, err := keys.Generate("rsa", 2048, "")
	if err != nil {
		return nil, err
	}
	priv, err := keys.EncodePrivatePEM(key)
	if err != nil {
		return nil, err
	}
	pub, err := keys.EncodePublicPEM(key.Public())
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "private_key.key"), priv, 0o600); err != nil {
		return nil, err
	}
	return key, os.WriteFile(filepath.Join(dir, "public_key.crt"), pub, 0o644)
}

// writeDemoSpec writes the demo's OCI deployment specification: the public
// key as a static JWK, an open route, an authenticated one and a scoped one.
func writeDemoSpec(file string, pub crypto.PublicKey, backendURL string) error {
	jwk, err := keys.PublicJWK(pub)
	if err != nil {
		return err
	}
	key := map[string]any{"format": "JSON_WEB_KEY", "kid": demoKID, "kty": jwk.Kty, "n": jwk.N, "e": jwk.E, "alg": "RS256", "use": "sig"}
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "JWT_AUTHENTICATION", "isAnonymousAccessAllowed": true,
			"tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"issuers": []string{demoIssuer}, "audiences": []string{demoAudience},
			"publicKeys": map[string]any{"type": "STATIC_KEYS", "keys": []any{key}},
		}},
		"routes": []any{
			map[string]any{"path": "/health", "methods": []string{"GET"},
				"backend":         map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": `{"status":"ok"}`, "headers": []any{map[string]string{"name": "Content-Type", "value": "application/json"}}},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"}}},
			map[string]any{"path": "/hello/{name}", "methods": []string{"GET"},
				"backend": map[string]any{"type": "HTTP_BACKEND", "url": backendURL + "/hello/${request.path[name]}"}},
			map[string]any{"path": "/orders", "methods": []string{"GET", "POST"},
				"backend":         map[string]any{"type": "HTTP_BACKEND", "url": backendURL + "/orders"},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANY_OF", "allowedScope": []string{demoScope}}}},
		},
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(data, '\n'), 0o644)
}

func printDemo(e *env, dir, base string, key crypto.Signer) error {
	now := time.Now()
	claims := func(scope string) map[string]any {
		return map[string]any{"sub": "demo-user", "iss": demoIssuer, "aud": []string{demoAudience},
			"scope": scope, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	good, err := token.Sign(key, demoKID, "", claims(demoScope+" profile"))
	if err != nil {
		return err
	}
	noScope, err := token.Sign(key, demoKID, "", claims("profile"))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, `keygate demo is running (Ctrl-C stops it).
Files in %s: private_key.key, public_key.crt, deployment.json

# 200: a token signed with the client's private key, with scope %s
curl -i -H "Authorization: Bearer %s" %s/orders

# 401: no token
curl -i %s/orders

# 403: a valid token without the route's scope
curl -i -H "Authorization: Bearer %s" %s/orders

# open route, and an authenticated route with a path parameter
curl -i %s/health
curl -i -H "Authorization: Bearer %s" %s/hello/world

The execution log (JSON lines on stderr) names the reason of every rejection.
`, dir, demoScope, good, base, base, noScope, base, base, good, base)
	return nil
}

// echo is the demo's sample backend: it answers with what it received, so
// the caller sees what the gateway forwarded.
func echo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"backend":      "keygate demo backend",
		"method":       r.Method,
		"path":         r.URL.EscapedPath(),
		"query":        r.URL.RawQuery,
		"forwardedFor": r.Header.Get("X-Forwarded-For"),
		"requestId":    r.Header.Get("opc-request-id"),
	})
}
