package gateway

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/internal/config"
)

// Helpers for the authentication, authorization, response and execution log
// end-to-end tests. They sit beside harness_test.go and reuse its backend,
// keys and gateway type.

// fixedNow is the clock of tests that check exact boundaries (exp == now).
var fixedNow = time.Unix(1_700_000_000, 0).UTC()

func fixedClock() time.Time { return fixedNow }

// newEdKey is an Ed25519 client key (keygate extension, alg EdDSA).
func newEdKey(t *testing.T, kid string) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: "EdDSA", signer: priv}
}

// newPSKey is the shared RSA key pinned to PS256 instead of RS256.
func newPSKey(t *testing.T, kid string) testKey {
	return testKey{kid: kid, alg: "PS256", signer: sharedRSA(t)}
}

// b64 is unpadded base64url, the JWS segment encoding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// mustJSON marshals v for a token segment.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// signRaw signs header and payload JSON texts (as given, duplicates and all)
// with key using alg, whatever the header says: the forger's view. key is a
// private key, or []byte for the HMAC algorithms.
func signRaw(t *testing.T, alg string, key any, header, payload string) string {
	t.Helper()
	input := b64([]byte(header)) + "." + b64([]byte(payload))
	return input + "." + b64(signInput(t, alg, key, input))
}

// signInput signs a JWS signing input with key using alg.
func signInput(t *testing.T, alg string, key any, input string) []byte {
	t.Helper()
	method := jwt.GetSigningMethod(alg)
	if method == nil {
		t.Fatalf("no signing method %q", alg)
	}
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatalf("signing %s: %v", alg, err)
	}
	return sig
}

// signature returns the signature segment of a compact token.
func signature(tok string) string {
	return tok[strings.LastIndexByte(tok, '.')+1:]
}

// claimsAt are validClaims at the fixed clock, with changes applied: a nil
// value deletes the claim.
func claimsAt(changes map[string]any) map[string]any {
	c := validClaims(fixedNow)
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// authSpec is a spec with the authentication policy auth (nil: none) and routes.
func authSpec(auth map[string]any, routes ...map[string]any) map[string]any {
	rs := make([]any, len(routes))
	for i, r := range routes {
		rs[i] = r
	}
	spec := map[string]any{"routes": rs}
	if auth != nil {
		spec["requestPolicies"] = map[string]any{"authentication": auth}
	}
	return spec
}

// anyOf is an ANY_OF authorization with the given scopes.
func anyOf(scopes ...string) map[string]any {
	s := make([]any, len(scopes))
	for i, v := range scopes {
		s[i] = v
	}
	return map[string]any{"type": "ANY_OF", "allowedScope": s}
}

// withLogLevel sets loggingPolicies.executionLog.logLevel on a spec or route map.
func withLogLevel(m map[string]any, level string) map[string]any {
	m["loggingPolicies"] = map[string]any{"executionLog": map[string]any{"logLevel": level}}
	return m
}

// startOCIGateway is startGateway with the log shaped as keygate's serve
// command writes it (the text under "message", as cli.newLogger does), and,
// when realServer is set, served by NewServer with keygate's own limits
// instead of httptest's defaults.
func startOCIGateway(t *testing.T, prefix string, spec map[string]any, now func() time.Time, realServer bool) *testGateway {
	t.Helper()
	gw, _ := startOCIGatewayWith(t, prefix, spec, Options{Now: now}, realServer)
	return gw
}

// startOCIGatewayWith is startOCIGateway with opts (its Logger is the
// test's) and the Gateway it serves.
func startOCIGatewayWith(t *testing.T, prefix string, spec map[string]any, opts Options, realServer bool) (*testGateway, *Gateway) {
	t.Helper()
	cfg := &config.Gateway{Listen: "127.0.0.1:0", Deployments: []config.Deployment{
		{PathPrefix: prefix, Specification: decodeTestSpec(t, spec), Source: config.Source{File: "spec.json"}},
	}}
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.MessageKey {
				a.Key = "message"
			}
			return a
		}}))
	g, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("building the gateway: %v", err)
	}
	var srv *httptest.Server
	if realServer {
		srv = httptest.NewUnstartedServer(nil)
		srv.Config = NewServer(g, opts.Logger).http
		srv.Start()
	} else {
		srv = httptest.NewServer(g)
	}
	t.Cleanup(srv.Close)
	return &testGateway{srv: srv, log: logs}, g
}

// result is one request through the gateway with what it left in the log.
type result struct {
	resp *http.Response
	body string
	id   string // the response's opc-request-id
}

// send makes one request and returns it with its request id.
func send(t *testing.T, gw *testGateway, method, path string, header http.Header) result {
	t.Helper()
	resp, body := gw.do(t, method, path, header)
	return result{resp: resp, body: body, id: resp.Header.Get(requestIDHeader)}
}

// linesOf returns the log lines with opcRequestId id, waiting briefly for the
// access line, which the gateway writes once the response is done.
func linesOf(t *testing.T, gw *testGateway, id string) []map[string]any {
	t.Helper()
	if id == "" {
		t.Fatal("response has no opc-request-id")
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		var out []map[string]any
		access := false
		for _, l := range gw.log.lines(t) {
			if l["opcRequestId"] == id {
				out = append(out, l)
				access = access || isAccessLine(l)
			}
		}
		if access || time.Now().After(deadline) {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isAccessLine(l map[string]any) bool { return l["message"] == "request" }

// execLines returns the execution log lines (all but the access line) of id.
func execLines(t *testing.T, gw *testGateway, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range linesOf(t, gw, id) {
		if !isAccessLine(l) {
			out = append(out, l)
		}
	}
	return out
}

// rejectionLine returns the one execution log line of id, failing the test
// unless there is exactly one.
func rejectionLine(t *testing.T, gw *testGateway, id string) map[string]any {
	t.Helper()
	lines := execLines(t, gw, id)
	if len(lines) != 1 {
		t.Fatalf("request %s left %d execution log lines, want 1: %v", id, len(lines), lines)
	}
	return lines[0]
}

// accessLine returns the one access line of id.
func accessLine(t *testing.T, gw *testGateway, id string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range linesOf(t, gw, id) {
		if isAccessLine(l) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("request %s left %d access lines, want 1", id, len(found))
	}
	return found[0]
}

// checkErrorBody requires body to be exactly {"code": status, "message": message}.
func checkErrorBody(t *testing.T, body string, status int, message string) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	want := map[string]any{"code": float64(status), "message": message}
	if len(got) != len(want) || got["code"] != want["code"] || got["message"] != want["message"] {
		t.Errorf("body = %s, want exactly {\"code\":%d,\"message\":%q}", strings.TrimSpace(body), status, message)
	}
}

// checkNoSecrets fails if the whole log text holds any of secrets; empty and
// short strings (which any text may hold by chance) are skipped.
func checkNoSecrets(t *testing.T, gw *testGateway, secrets ...string) {
	t.Helper()
	text := gw.log.String()
	for _, s := range secrets {
		if len(s) < 16 {
			continue
		}
		if strings.Contains(text, s) {
			t.Errorf("log holds a secret (%.24s...)", s)
		}
	}
}

// outcome is what a request should end in: a status, and for a rejection
// the execution log's code and reason.
type outcome struct {
	status int
	code   string // "" for a request that reaches the backend
	reason string
}

// reached is a request that reaches the backend.
var reached = outcome{status: http.StatusOK}

// jwtFail is a JWT_AUTHENTICATION rejection with reason.
func jwtFail(reason string) outcome {
	return outcome{status: http.StatusUnauthorized, code: codeJWTAuthFailed, reason: reason}
}

// sendAndCheck sends one request and checks its outcome: the status, that
// the backend got exactly one request (success) or none (rejection), and
// for a rejection the one execution log line's code and reason.
func sendAndCheck(t *testing.T, gw *testGateway, backend *testBackend, method, path string, header http.Header, want outcome) result {
	t.Helper()
	before := len(backend.requests())
	r := send(t, gw, method, path, header)
	if r.resp.StatusCode != want.status {
		t.Errorf("status = %d, want %d (body %s)", r.resp.StatusCode, want.status, strings.TrimSpace(r.body))
	}
	got := len(backend.requests()) - before
	if want.code == "" {
		if got != 1 {
			t.Errorf("backend received %d requests, want 1", got)
		}
		if lines := execLines(t, gw, r.id); len(lines) != 0 {
			t.Errorf("accepted request left execution log lines %v, want none", lines)
		}
		return r
	}
	if got != 0 {
		t.Errorf("backend received %d requests, want none", got)
	}
	line := rejectionLine(t, gw, r.id)
	if line["code"] != want.code || line["reason"] != want.reason {
		t.Errorf("log code, reason = %v, %v; want %s, %s (message %q)", line["code"], line["reason"], want.code, want.reason, line["message"])
	}
	return r
}

// tamperSignature changes the first character of tok's signature, keeping
// it valid base64url, so only the signature check can refuse it.
func tamperSignature(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 1
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}
