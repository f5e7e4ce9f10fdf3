package gatewaytest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// KeptBody is how many bytes of each request body a Backend keeps: enough to
// check a small body, while a 100 MB upload is counted, not held.
const KeptBody = 1 << 10

// Request is one request a Backend received, as it arrived.
type Request struct {
	Method string
	// Path is escaped, as it arrived: the canonical spelling the gateway
	// forwarded is what the path tests check.
	Path     string
	RawQuery string
	Host     string
	Header   http.Header
	// BodySize is the whole body's length; Body its first KeptBody bytes.
	BodySize int64
	Body     string
	// Conn numbers the connection the request came on, from 1 in the order
	// the backend accepted them: tests of connection reuse compare them.
	Conn int
	// ID is the opc-request-id the gateway sent, which ties the request to
	// the client's response and the gateway's log lines.
	ID string
}

// Backend is an HTTP server on loopback that records every request it
// receives and answers 200 "backend ok" (or what its answer function
// writes). A hostile case asserts on it that nothing arrived; a forwarded
// one, what arrived.
type Backend struct {
	// URL is the server's base URL, http://127.0.0.1:port.
	URL string

	answer http.HandlerFunc
	mu     sync.Mutex
	reqs   []Request
	conns  int
}

// connKey is the context key of a request's connection number.
type connKey struct{}

// NewBackend starts a backend answering 200 "backend ok" until the test ends.
func NewBackend(t testing.TB) *Backend { return NewBackendFunc(t, nil) }

// NewBackendFunc starts a backend whose answer is written by answer (nil:
// 200 "backend ok"). The request is recorded, body and all, before answer
// runs, so answer sees an empty body.
func NewBackendFunc(t testing.TB, answer http.HandlerFunc) *Backend {
	t.Helper()
	b := &Backend{answer: answer}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.conns++
		return context.WithValue(ctx, connKey{}, b.conns)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

func (b *Backend) serve(w http.ResponseWriter, r *http.Request) {
	kept := &prefixWriter{max: KeptBody}
	n, _ := io.Copy(kept, r.Body)
	conn, _ := r.Context().Value(connKey{}).(int)
	rec := Request{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Host: r.Host,
		Header: r.Header.Clone(), BodySize: n, Body: string(kept.buf), Conn: conn, ID: r.Header.Get("Opc-Request-Id")}
	b.mu.Lock()
	b.reqs = append(b.reqs, rec)
	b.mu.Unlock()
	if b.answer != nil {
		b.answer(w, r)
		return
	}
	_, _ = io.WriteString(w, "backend ok")
}

// Count returns how many requests arrived so far; Since(Count()) later
// returns those that arrived in between.
func (b *Backend) Count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.reqs)
}

// Since returns the requests that arrived after the first n.
func (b *Backend) Since(n int) []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Request(nil), b.reqs[n:]...)
}

// ByID returns the requests that carried opc-request-id id. Counting by id
// is immune to requests other tests left in flight (an upload the backend
// is still reading).
func (b *Backend) ByID(id string) []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Request
	for _, r := range b.reqs {
		if r.ID == id {
			out = append(out, r)
		}
	}
	return out
}

// prefixWriter keeps the first max bytes written to it and discards the
// rest, reporting every write as complete so io.Copy counts the whole body.
type prefixWriter struct {
	max int
	buf []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if room := p.max - len(p.buf); room > 0 {
		p.buf = append(p.buf, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

// ClosedAddr returns a loopback host:port nothing listens on: the backend of
// a route whose backend is down.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
