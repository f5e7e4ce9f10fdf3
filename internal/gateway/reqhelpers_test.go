package gateway

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// Helpers for the routing, hygiene, backend and server tests: raw HTTP/1.1
// for request targets the Go client would clean up, several deployments in
// one gateway, and spec builders.

// rawTimeout bounds every raw exchange, so a gateway that hangs fails the
// test instead of stalling it.
const rawTimeout = 5 * time.Second

// rawRequest is an HTTP/1.1 request head written byte for byte: target is
// sent as it is, and lines are extra header lines ("Name: value").
func rawRequest(method, target string, lines ...string) string {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: gateway.test\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// rawDo sends raw (a complete request) to addr on a new connection and
// returns the response with its body.
func rawDo(t *testing.T, addr, method, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(rawTimeout))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatalf("writing the request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return resp, string(body)
}

// raw sends method and target byte for byte to the gateway, with extra
// header lines.
func (tg *testGateway) raw(t *testing.T, method, target string, lines ...string) (*http.Response, string) {
	t.Helper()
	return rawDo(t, tg.srv.Listener.Addr().String(), method, rawRequest(method, target, lines...))
}

// deploymentSpec is one deployment for startDeployments.
type deploymentSpec struct {
	prefix string
	spec   map[string]any
}

// startDeployments serves several deployments in one gateway on loopback.
func startDeployments(t *testing.T, deps ...deploymentSpec) *testGateway {
	t.Helper()
	g, logs := buildDeployments(t, deps...)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return &testGateway{srv: srv, log: logs}
}

// buildDeployments compiles deployments into a Gateway that logs JSON.
func buildDeployments(t *testing.T, deps ...deploymentSpec) (*Gateway, *syncBuffer) {
	t.Helper()
	cfg := &config.Gateway{Listen: "127.0.0.1:0"}
	for _, d := range deps {
		data, err := json.Marshal(d.spec)
		if err != nil {
			t.Fatal(err)
		}
		s, err := config.DecodeSpec("spec.json", data)
		if err != nil {
			t.Fatalf("spec for %s: %v", d.prefix, err)
		}
		cfg.Deployments = append(cfg.Deployments, config.Deployment{
			PathPrefix: d.prefix, Specification: s, Source: config.Source{File: "spec.json"}})
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := New(cfg, Options{Logger: log})
	if err != nil {
		t.Fatalf("building the gateway: %v", err)
	}
	return g, logs
}

// routesSpec is a spec without authentication holding routes.
func routesSpec(routes ...map[string]any) map[string]any {
	rs := make([]any, len(routes))
	for i, r := range routes {
		rs[i] = r
	}
	return map[string]any{"routes": rs}
}

// stockResponseRoute is a STOCK_RESPONSE_BACKEND route; headers alternate
// name, value.
func stockResponseRoute(path string, methods []string, status int, body string, headers ...string) map[string]any {
	backend := map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": status}
	if body != "" {
		backend["body"] = body
	}
	var hs []any
	for i := 0; i+1 < len(headers); i += 2 {
		hs = append(hs, map[string]any{"name": headers[i], "value": headers[i+1]})
	}
	if hs != nil {
		backend["headers"] = hs
	}
	r := map[string]any{"path": path, "backend": backend}
	if methods != nil {
		r["methods"] = methods
	}
	return r
}

// withBackendFields sets extra fields (timeouts, isSslVerifyDisabled) on a
// route's backend and returns the route.
func withBackendFields(route map[string]any, fields map[string]any) map[string]any {
	b := route["backend"].(map[string]any)
	for k, v := range fields {
		b[k] = v
	}
	return route
}

// requestsSince returns what the backend received after its first n
// requests.
func requestsSince(b *testBackend, n int) []recordedRequest {
	return b.requests()[n:]
}

// onlyRequestSince returns the one request the backend received after its
// first n, failing the test if there is not exactly one.
func onlyRequestSince(t *testing.T, b *testBackend, n int) recordedRequest {
	t.Helper()
	got := requestsSince(b, n)
	if len(got) != 1 {
		t.Fatalf("backend received %d requests, want 1", len(got))
	}
	return got[0]
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
