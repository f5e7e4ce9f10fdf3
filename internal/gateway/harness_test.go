package gateway

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// The white-box end-to-end harness of the tests inside package gateway: a
// real backend that records what reaches it, real keys, real tokens, and a
// real gateway over loopback. These tests cannot import gatewaytest (it
// imports this package); a test that needs no unexported name belongs in
// package gateway_test with gatewaytest, and an attack belongs in
// test/adversarial, which runs every row of attacks.md once.

const (
	testIssuer   = "https://issuer.test"
	testAudience = "api://keygate-test"
	testPrefix   = "/test3"
)

// recordedRequest is what the backend received.
type recordedRequest struct {
	Method   string
	Path     string // escaped, as it arrived at the backend
	RawQuery string
	Host     string
	Header   http.Header
	Body     []byte
}

// testBackend records every request and answers 200 "backend ok", unless
// handler is set.
type testBackend struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []recordedRequest
	handler http.HandlerFunc
}

func newBackend(t *testing.T) *testBackend {
	t.Helper()
	b := &testBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.reqs = append(b.reqs, recordedRequest{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Host: r.Host, Header: r.Header.Clone(), Body: body})
		h := b.handler
		b.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.WriteString(w, "backend ok")
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *testBackend) requests() []recordedRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]recordedRequest(nil), b.reqs...)
}

func (b *testBackend) url() string { return b.srv.URL }

// testKey is a client key pair with the kid and algorithm the spec pins.
type testKey struct {
	kid    string
	alg    string
	signer crypto.Signer
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// sharedRSA generates one RSA-2048 key per test binary: generation is the
// slow part and the tests need many tokens, not many keys.
func sharedRSA(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func newRSAKey(t testing.TB, kid string) testKey {
	return testKey{kid: kid, alg: "RS256", signer: sharedRSA(t)}
}

func newECKey(t *testing.T, kid string) testKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: "ES256", signer: k}
}

// staticJWK is the key as a spec's JSON_WEB_KEY entry.
func (k testKey) staticJWK(t testing.TB) map[string]any {
	t.Helper()
	jwk, err := keys.PublicJWK(k.signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"format": "JSON_WEB_KEY", "kid": k.kid, "kty": jwk.Kty, "alg": k.alg, "use": "sig"}
	for name, v := range map[string]string{"n": jwk.N, "e": jwk.E, "crv": jwk.Crv, "x": jwk.X, "y": jwk.Y} {
		if v != "" {
			m[name] = v
		}
	}
	return m
}

// staticPEM is the key as a spec's PEM entry.
func (k testKey) staticPEM(t *testing.T) map[string]any {
	t.Helper()
	pem, err := keys.EncodePublicPEM(k.signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"format": "PEM", "kid": k.kid, "key": string(pem)}
}

// sign returns a compact JWT with the key's kid and algorithm.
func (k testKey) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	tok, err := token.Sign(k.signer, k.kid, k.alg, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// validClaims are the seed's claims, valid for an hour from now.
func validClaims(now time.Time) map[string]any {
	return map[string]any{
		"sub": "client-1", "iss": testIssuer, "aud": []any{testAudience},
		"scope": "orders:read profile", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// jwtAuth is a JWT_AUTHENTICATION policy in the seed's form (header
// Authorization, scheme Bearer) with the given static keys.
func jwtAuth(staticKeys ...map[string]any) map[string]any {
	ks := make([]any, len(staticKeys))
	for i, k := range staticKeys {
		ks[i] = k
	}
	return map[string]any{
		"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
		"issuers": []any{testIssuer}, "audiences": []any{testAudience},
		"publicKeys": map[string]any{"type": "STATIC_KEYS", "keys": ks},
	}
}

// httpRoute is a route to the backend url + backendPath.
func httpRoute(path string, methods []string, url string, authorization map[string]any) map[string]any {
	r := map[string]any{"path": path, "backend": map[string]any{"type": "HTTP_BACKEND", "url": url}}
	if methods != nil {
		r["methods"] = methods
	}
	if authorization != nil {
		r["requestPolicies"] = map[string]any{"authorization": authorization}
	}
	return r
}

// syncBuffer is a log sink the gateway writes to concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// lines decodes the JSON log lines written so far.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.String()), "\n") {
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

// testGateway is a running gateway with its log.
type testGateway struct {
	srv *httptest.Server
	log *syncBuffer
}

// startGateway compiles spec (a JSON-able map) as one deployment under
// prefix and serves it on loopback. now may be nil.
func startGateway(t *testing.T, prefix string, spec map[string]any, now func() time.Time) *testGateway {
	t.Helper()
	g, logs, err := buildGateway(prefix, spec, now)
	if err != nil {
		t.Fatalf("building the gateway: %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return &testGateway{srv: srv, log: logs}
}

func buildGateway(prefix string, spec map[string]any, now func() time.Time) (*Gateway, *syncBuffer, error) {
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
	}}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := New(cfg, Options{Logger: log, Now: now})
	return g, logs, err
}

// do sends a request with optional headers and returns the response and
// its body.
func (tg *testGateway) do(t *testing.T, method, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, tg.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := tg.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// bearer is an Authorization header with a Bearer token.
func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}
