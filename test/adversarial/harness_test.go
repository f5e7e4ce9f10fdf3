// Package adversarial throws hostile input at a real keygate over loopback:
// every row of attacks.md (../shared/reference/attacks.md), published JWS
// test vectors, a table of mutated tokens and resource abuse. It uses only
// the exported API, as an outside attacker's test would: config.DecodeSpec,
// gateway.New, gateway.NewServer and Serve on a 127.0.0.1:0 listener, in
// front of a backend that records every request it receives.
//
// Every hostile case asserts two things: the status the client gets, and
// that the backend received nothing.
package adversarial

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

const (
	issuer   = "https://issuer.adversarial.test"
	audience = "api://keygate-adversarial"
	prefix   = "/adv"
	// exchangeTimeout bounds every client exchange, so a gateway that hangs
	// fails the test instead of stalling CI.
	exchangeTimeout = 5 * time.Second
)

// fixedNow is the gateway's clock in every test that signs tokens.
var fixedNow = time.Unix(1_750_000_000, 0).UTC()

func fixedClock() time.Time { return fixedNow }

// signers are generated once per test binary: RSA generation is the slow part.
var signers = sync.OnceValue(func() struct {
	rsa      *rsa.PrivateKey
	ec       *ecdsa.PrivateKey
	attacker *ecdsa.PrivateKey
} {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	a, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return struct {
		rsa      *rsa.PrivateKey
		ec       *ecdsa.PrivateKey
		attacker *ecdsa.PrivateKey
	}{r, e, a}
})

// recorded is one request the backend received.
type recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   int64
}

// backend is an echo server that records everything it receives.
type backend struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		b.mu.Lock()
		b.reqs = append(b.reqs, recorded{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: n})
		b.mu.Unlock()
		_, _ = io.WriteString(w, "backend ok")
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.reqs)
}

func (b *backend) since(n int) []recorded {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]recorded(nil), b.reqs[n:]...)
}

// logBuffer is the gateway's log sink, written concurrently.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines decodes the JSON log lines written so far.
func (l *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// rig is a running gateway with its backend and log.
type rig struct {
	addr    string
	base    string // http://addr
	backend *backend
	log     *logBuffer
	client  *http.Client
}

// options tune startRig.
type options struct {
	// now is the gateway's clock. Default: time.Now.
	now func() time.Time
	// keySets holds REMOTE_JWKS sets. Default: a registry never started.
	keySets *gateway.KeySets
	// backends are keygate's per-origin backend settings
	// (config.Gateway.Backends). Default: none.
	backends []config.BackendOrigin
}

// startRig compiles spec as the deployment at prefix and serves it with
// gateway.NewServer on a loopback listener until the test ends.
func startRig(t *testing.T, spec map[string]any, b *backend, o options) *rig {
	t.Helper()
	g, logs, err := build(spec, o)
	if err != nil {
		t.Fatalf("building the gateway: %v", err)
	}
	return serve(t, g, logs, b)
}

// build decodes spec and compiles it into a gateway that logs JSON.
func build(spec map[string]any, o options) (*gateway.Gateway, *logBuffer, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, nil, err
	}
	s, err := config.DecodeSpec("spec.json", data)
	if err != nil {
		return nil, nil, err
	}
	cfg := &config.Gateway{Listen: "127.0.0.1:0", Deployments: []config.Deployment{
		{PathPrefix: prefix, Specification: s, Source: config.Source{File: "spec.json"}},
	}, Backends: o.backends}
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := gateway.New(cfg, gateway.Options{Logger: log, Now: o.now, KeySets: o.keySets})
	return g, logs, err
}

// serve runs g behind gateway.NewServer on 127.0.0.1:0 and stops it, waiting
// for Serve to return, when the test ends.
func serve(t *testing.T, g http.Handler, logs *logBuffer, b *backend) *rig {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.NewServer(g, slog.New(slog.NewJSONHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, 2*time.Second) }()
	transport := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}
	r := &rig{addr: ln.Addr().String(), base: "http://" + ln.Addr().String(), backend: b, log: logs,
		client: &http.Client{Timeout: exchangeTimeout, Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return r
}

// response is what the client got.
type response struct {
	status int
	header http.Header
	body   string
	id     string // opc-request-id
}

// do sends one request through the gateway.
func (r *rig) do(t *testing.T, method, path string, header http.Header, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, r.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return response{status: resp.StatusCode, header: resp.Header, body: string(data), id: resp.Header.Get("opc-request-id")}
}

// refused sends a request that must end in status without the backend
// seeing anything (the two assertions of every hostile case), and returns
// the rejection's log reason ("" when there is none).
func (r *rig) refused(t *testing.T, method, path string, header http.Header, status int) string {
	t.Helper()
	before := r.backend.count()
	res := r.do(t, method, path, header, nil)
	if res.status != status {
		t.Errorf("status = %d, want %d (body %s)", res.status, status, strings.TrimSpace(res.body))
	}
	if got := r.backend.since(before); len(got) != 0 {
		t.Errorf("backend received %d requests, want none (first: %s %s)", len(got), got[0].Method, got[0].Path)
	}
	return r.reason(t, res.id)
}

// refusedFor is refused with the log reason required too.
func (r *rig) refusedFor(t *testing.T, path string, header http.Header, status int, reason string) {
	t.Helper()
	if got := r.refused(t, http.MethodGet, path, header, status); got != reason {
		t.Errorf("log reason = %q, want %q", got, reason)
	}
}

// passes sends a request that must reach the backend exactly once.
func (r *rig) passes(t *testing.T, path string, header http.Header) recorded {
	t.Helper()
	before := r.backend.count()
	res := r.do(t, http.MethodGet, path, header, nil)
	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s; log reason %q)", res.status, strings.TrimSpace(res.body), r.reason(t, res.id))
	}
	if res.id == "" {
		t.Fatal("response has no opc-request-id")
	}
	// Count by request id: a request an earlier test left in flight (an
	// upload the backend is still draining) may be recorded meanwhile.
	var got []recorded
	for _, rec := range r.backend.since(before) {
		if rec.Header.Get("Opc-Request-Id") == res.id {
			got = append(got, rec)
		}
	}
	if len(got) != 1 {
		t.Fatalf("backend received request %s %d times, want once", res.id, len(got))
	}
	return got[0]
}

// reason returns the reason of the execution log line of request id: the
// line the gateway writes when it refuses a request.
func (r *rig) reason(t *testing.T, id string) string {
	t.Helper()
	if id == "" {
		return ""
	}
	for _, line := range strings.Split(r.log.String(), "\n") {
		if !strings.Contains(line, id) {
			continue // decode only the lines that can be this request's
		}
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["opcRequestId"] == id {
			if reason, ok := l["reason"].(string); ok {
				return reason
			}
		}
	}
	return ""
}

// noSecrets fails if the log holds any of secrets (tokens, signatures).
func (r *rig) noSecrets(t *testing.T, secrets ...string) {
	t.Helper()
	text := r.log.String()
	for _, s := range secrets {
		if len(s) >= 16 && strings.Contains(text, s) {
			t.Errorf("log holds a secret (%.24s...)", s)
		}
	}
}

// bearer is an Authorization header carrying tok.
func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// b64 is unpadded base64url.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// claims are valid claims at the fixed clock, changed by edits (a nil value
// deletes the claim).
func claims(edits map[string]any) map[string]any {
	c := map[string]any{
		"sub": "client-1", "iss": issuer, "aud": []any{audience}, "scope": "orders:read profile",
		"iat": fixedNow.Add(-time.Minute).Unix(), "exp": fixedNow.Add(time.Hour).Unix(),
	}
	for k, v := range edits {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// signRaw signs the header and payload JSON texts as given (duplicates and
// all) with key using alg, whatever the header says: the forger's view.
func signRaw(t testing.TB, alg string, key any, header, payload string) string {
	t.Helper()
	input := b64([]byte(header)) + "." + b64([]byte(payload))
	method := jwt.GetSigningMethod(alg)
	if method == nil {
		t.Fatalf("no signing method %q", alg)
	}
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatalf("signing %s: %v", alg, err)
	}
	return input + "." + b64(sig)
}

// sign is a token as an honest client makes it.
func sign(t testing.TB, key crypto.Signer, kid, alg string, c map[string]any) string {
	t.Helper()
	tok, err := token.Sign(key, kid, alg, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// jwkEntry is pub as a spec's JSON_WEB_KEY entry.
func jwkEntry(t testing.TB, kid, alg string, pub crypto.PublicKey) map[string]any {
	t.Helper()
	j, err := keys.PublicJWK(pub)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"format": "JSON_WEB_KEY", "kid": kid, "kty": j.Kty, "alg": alg, "use": "sig"}
	for name, v := range map[string]string{"n": j.N, "e": j.E, "crv": j.Crv, "x": j.X, "y": j.Y} {
		if v != "" {
			m[name] = v
		}
	}
	return m
}

// jwtAuth is a JWT_AUTHENTICATION policy with the bearer header and publicKeys.
func jwtAuth(publicKeys map[string]any) map[string]any {
	return map[string]any{
		"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
		"issuers": []any{issuer}, "audiences": []any{audience}, "publicKeys": publicKeys,
	}
}

// staticKeys is a STATIC_KEYS publicKeys value.
func staticKeys(entries ...map[string]any) map[string]any {
	ks := make([]any, len(entries))
	for i, e := range entries {
		ks[i] = e
	}
	return map[string]any{"type": "STATIC_KEYS", "keys": ks}
}

// spec is a deployment with auth (nil: none) and routes.
func spec(auth map[string]any, routes ...map[string]any) map[string]any {
	rs := make([]any, len(routes))
	for i, r := range routes {
		rs[i] = r
	}
	s := map[string]any{"routes": rs}
	if auth != nil {
		s["requestPolicies"] = map[string]any{"authentication": auth}
	}
	return s
}

// httpRoute is a route to url; authorization may be nil.
func httpRoute(path, url string, authorization map[string]any) map[string]any {
	r := map[string]any{"path": path, "backend": map[string]any{"type": "HTTP_BACKEND", "url": url}}
	if authorization != nil {
		r["requestPolicies"] = map[string]any{"authorization": authorization}
	}
	return r
}

// stockRoute is a STOCK_RESPONSE_BACKEND route answering 200 body.
func stockRoute(path, body string) map[string]any {
	return map[string]any{"path": path, "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": body}}
}

// tokenRig is the standard target: an RSA key "rsa" (RS256) and an EC key
// "ec" (ES256), at the fixed clock, with routes
//
//	/r           AUTHENTICATION_ONLY to the backend
//	/scoped      ANY_OF orders:write to the backend
//	/p/{name}    to the backend at /items/${request.path[name]}
//	/open        ANONYMOUS to the backend
type tokenRig struct {
	*rig
	rsa, ec *keys.Key
}

func newTokenRig(t *testing.T) *tokenRig {
	t.Helper()
	s := signers()
	b := newBackend(t)
	auth := jwtAuth(staticKeys(jwkEntry(t, "rsa", "RS256", &s.rsa.PublicKey), jwkEntry(t, "ec", "ES256", &s.ec.PublicKey)))
	auth["isAnonymousAccessAllowed"] = true
	sp := spec(auth,
		httpRoute("/r", b.srv.URL+"/r", nil),
		httpRoute("/scoped", b.srv.URL+"/scoped", map[string]any{"type": "ANY_OF", "allowedScope": []any{"orders:write"}}),
		httpRoute("/p/{name}", b.srv.URL+"/items/${request.path[name]}", nil),
		httpRoute("/open", b.srv.URL+"/open", map[string]any{"type": "ANONYMOUS"}),
	)
	return &tokenRig{rig: startRig(t, sp, b, options{now: fixedClock})}
}

// valid is a valid RS256 token for the rig.
func (tr *tokenRig) valid(t testing.TB) string {
	return sign(t, signers().rsa, "rsa", "RS256", claims(nil))
}

// waitFor polls cond every 10ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// counter is an atomic hit counter for servers an attack must not reach.
type counter struct{ n atomic.Int64 }

func (c *counter) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		next.ServeHTTP(w, r)
	})
}
