package gatewaytest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Raw HTTP/1.1 over a bare socket, for what Go's client would clean up or
// refuse to send: dot segments, bytes that are no URL, duplicate or '_'
// spelled headers, bodies on HEAD, several requests on one connection.

// Host is the Host raw requests name, and so the X-Forwarded-Host a backend
// receives for them.
const Host = "gateway.test"

// ExchangeTimeout bounds every exchange of the harness, so a gateway that
// hangs fails the test instead of stalling the suite.
const ExchangeTimeout = 5 * time.Second

// RawRequest is an HTTP/1.1 request head written byte for byte: target as it
// is, Host, then lines as extra header lines ("Name: value"). Append a body
// to the result yourself, with the framing header among lines.
func RawRequest(method, target string, lines ...string) string {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: " + Host + "\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// RawDo sends raw (one whole request) to addr on a new connection and reads
// the response to method. The write runs beside the read, so a gateway that
// answers before reading everything (431, 413) is seen answering.
func RawDo(t testing.TB, addr, method, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(ExchangeTimeout))
	go func() { _, _ = io.WriteString(conn, raw) }()
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

// Raw sends method and target byte for byte to the gateway, with extra
// header lines, on a new connection.
func (g *Gateway) Raw(t testing.TB, method, target string, lines ...string) (*http.Response, string) {
	t.Helper()
	return RawDo(t, g.Addr, method, RawRequest(method, target, lines...))
}

// Pipeline writes raw (several requests) on one connection to addr and reads
// one response per method in methods until the connection ends, returning
// the statuses read: a smuggled request shows as a status too many.
func Pipeline(t testing.TB, addr, raw string, methods ...string) []int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(ExchangeTimeout))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var statuses []int
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			break // the connection ended
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	return statuses
}
