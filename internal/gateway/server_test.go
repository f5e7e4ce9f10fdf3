package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The server around the gateway: its limits, graceful shutdown, and the
// opc-request-id every response carries.

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestNewServerLimits(t *testing.T) {
	s := NewServer(http.NotFoundHandler(), discardLogger())
	h := s.http
	if h.ReadHeaderTimeout != readHeaderTimeout || h.ReadHeaderTimeout <= 0 || h.ReadHeaderTimeout > 30*time.Second {
		t.Errorf("ReadHeaderTimeout = %v, want %v (set, at most 30s)", h.ReadHeaderTimeout, readHeaderTimeout)
	}
	// A token may be 16 KiB; the header block must fit one and stay small.
	if h.MaxHeaderBytes != maxHeaderBytes || h.MaxHeaderBytes < 16<<10 || h.MaxHeaderBytes >= http.DefaultMaxHeaderBytes {
		t.Errorf("MaxHeaderBytes = %d, want %d (over 16 KiB, under Go's 1 MiB default)", h.MaxHeaderBytes, maxHeaderBytes)
	}
	if h.IdleTimeout != idleTimeout || h.IdleTimeout <= 0 {
		t.Errorf("IdleTimeout = %v, want %v", h.IdleTimeout, idleTimeout)
	}
	if h.Handler == nil || h.ErrorLog == nil {
		t.Errorf("Handler %v, ErrorLog %v: want both set", h.Handler, h.ErrorLog)
	}
}

// runningServer is a Server.Serve on a loopback listener.
type runningServer struct {
	srv    *Server
	addr   string
	cancel context.CancelFunc
	done   chan error // receives what Serve returned
}

// serveGateway runs NewServer(g) on 127.0.0.1:0 until the test ends or
// stop is called. adjust, if set, changes the server before it starts.
func serveGateway(t *testing.T, g http.Handler, drain time.Duration, adjust func(*Server)) *runningServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(g, discardLogger())
	if adjust != nil {
		adjust(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningServer{srv: s, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { rs.done <- s.Serve(ctx, ln, drain) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rs.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return rs
}

// stop cancels Serve's context and returns what Serve returned.
func (rs *runningServer) stop(t *testing.T) error {
	t.Helper()
	rs.cancel()
	select {
	case err := <-rs.done:
		rs.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
		return nil
	}
}

func TestServerHeaderLimit(t *testing.T) {
	g, _ := buildDeployments(t, deploymentSpec{testPrefix, routesSpec(stockResponseRoute("/r", nil, 200, "ok"))})
	rs := serveGateway(t, g, time.Second, nil)
	tests := []struct {
		name       string
		size       int
		wantStatus int
	}{
		{"a 16 KiB token fits", 16 << 10, http.StatusOK},
		{"over the limit", maxHeaderBytes + 8<<10, http.StatusRequestHeaderFieldsTooLarge},
		{"far over the limit", 1 << 20, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := rawRequest(http.MethodGet, "/test3/r", "X-Big: "+strings.Repeat("a", tt.size))
			resp, _ := rawDoEarly(t, rs.addr, raw)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}

// rawDoEarly is rawDo for a request the server may answer before it has
// read all of it: the request is written concurrently with the read.
func rawDoEarly(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(rawTimeout))
	go func() { _, _ = io.WriteString(conn, raw) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// halfRequests opens n connections to addr, each with half a request head
// that is never finished.
func halfRequests(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /test3/r HTTP/1.1\r\nHost: gateway.test\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	return conns
}

func TestServerSlowloris(t *testing.T) {
	g, _ := buildDeployments(t, deploymentSpec{testPrefix, routesSpec(stockResponseRoute("/r", nil, 200, "ok"))})

	t.Run("a normal client is served", func(t *testing.T) {
		rs := serveGateway(t, g, time.Second, nil) // keygate's 10s ReadHeaderTimeout
		halfRequests(t, rs.addr, 16)
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get("http://" + rs.addr + "/test3/r")
		if err != nil {
			t.Fatalf("a normal client next to slow ones: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "ok" {
			t.Errorf("normal client got %d %q, want 200 %q", resp.StatusCode, body, "ok")
		}
	})

	t.Run("ReadHeaderTimeout ends the slow ones", func(t *testing.T) {
		const shortTimeout = 200 * time.Millisecond
		rs := serveGateway(t, g, time.Second, func(s *Server) { s.http.ReadHeaderTimeout = shortTimeout })
		start := time.Now()
		for i, c := range halfRequests(t, rs.addr, 4) {
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			// An answer or EOF ends the wait; only our own deadline fails.
			_, err := c.Read(make([]byte, 512))
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("slow connection %d still open after %v", i, time.Since(start))
			}
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("slow connections closed after %v, want about %v", elapsed, shortTimeout)
		}
	})
}

func TestServerGracefulShutdown(t *testing.T) {
	const inFlight = 5
	arrived := make(chan struct{}, inFlight)
	b := newBackend(t)
	b.mu.Lock()
	b.handler = func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "finished")
	}
	b.mu.Unlock()
	g, _ := buildDeployments(t, deploymentSpec{testPrefix, routesSpec(httpRoute("/slow", nil, b.url()+"/slow", nil))})
	rs := serveGateway(t, g, 5*time.Second, nil)

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	type result struct {
		status int
		body   string
		err    error
	}
	results := make(chan result, inFlight)
	var wg sync.WaitGroup
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get("http://" + rs.addr + "/test3/slow")
			if err != nil {
				results <- result{err: err}
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{status: resp.StatusCode, body: string(body), err: err}
		}()
	}
	for range inFlight {
		select {
		case <-arrived:
		case <-time.After(5 * time.Second):
			t.Fatal("requests did not reach the backend")
		}
	}

	err := rs.stop(t) // every request is now inside the 300 ms backend call
	wg.Wait()
	close(results)
	if err != nil {
		t.Errorf("Serve returned %v, want nil after a clean drain", err)
	}
	n := 0
	for r := range results {
		n++
		if r.err != nil || r.status != http.StatusOK || r.body != "finished" {
			t.Errorf("in-flight request: %d %q %v, want 200 %q", r.status, r.body, r.err, "finished")
		}
	}
	if n != inFlight {
		t.Errorf("%d results, want %d", n, inFlight)
	}
	if c, err := net.DialTimeout("tcp", rs.addr, time.Second); err == nil {
		c.Close()
		t.Error("the listener still accepts after shutdown")
	}
}

func TestServerDrainTimeout(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	b := newBackend(t)
	t.Cleanup(func() { close(release) })
	b.mu.Lock()
	b.handler = func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}
	b.mu.Unlock()
	g, _ := buildDeployments(t, deploymentSpec{testPrefix, routesSpec(httpRoute("/stuck", nil, b.url()+"/stuck", nil))})
	rs := serveGateway(t, g, 100*time.Millisecond, nil)
	go func() {
		client := &http.Client{Timeout: 5 * time.Second}
		if resp, err := client.Get("http://" + rs.addr + "/test3/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("request did not reach the backend")
	}
	if err := rs.stop(t); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve returned %v, want the drain deadline", err)
	}
}

var generatedID = regexp.MustCompile(`^[0-9A-F]{32}$`)

func TestRequestID(t *testing.T) {
	b := newBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", nil, b.url()+"/r", nil)), nil)
	valid := "abc-123_DEF.4/5:6"
	longest := strings.Repeat("a", 128)
	tests := []struct {
		name   string
		path   string
		lines  []string
		wantID string // "" for a generated one
	}{
		{"valid id echoed", "/test3/r", []string{"opc-request-id: " + valid}, valid},
		{"128 bytes echoed", "/test3/r", []string{"Opc-Request-Id: " + longest}, longest},
		{"echoed on a 404", "/test3/nope", []string{"opc-request-id: " + valid}, valid},
		{"echoed on a 400", "/test3/a/../b", []string{"opc-request-id: " + valid}, valid},
		{"none", "/test3/r", nil, ""},
		{"empty", "/test3/r", []string{"opc-request-id: "}, ""},
		{"too long", "/test3/r", []string{"opc-request-id: " + longest + "a"}, ""},
		{"space", "/test3/r", []string{"opc-request-id: a b"}, ""},
		{"markup", "/test3/r", []string{"opc-request-id: <script>"}, ""},
		{"quote", "/test3/r", []string{`opc-request-id: a"b`}, ""},
		{"non-ASCII", "/test3/r", []string{"opc-request-id: caf\xc3\xa9"}, ""},
		{"two ids", "/test3/r", []string{"opc-request-id: one", "opc-request-id: two"}, ""},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.requests())
			resp, _ := gw.raw(t, http.MethodGet, tt.path, tt.lines...)
			ids := resp.Header.Values("opc-request-id")
			if len(ids) != 1 {
				t.Fatalf("response opc-request-id = %q, want exactly one", ids)
			}
			id := ids[0]
			switch {
			case tt.wantID != "" && id != tt.wantID:
				t.Errorf("opc-request-id = %q, want the caller's %q", id, tt.wantID)
			case tt.wantID == "" && !generatedID.MatchString(id):
				t.Errorf("opc-request-id = %q, want a new 32-hex id", id)
			case tt.wantID == "" && seen[id]:
				t.Errorf("opc-request-id %q was generated twice", id)
			}
			seen[id] = true
			if got := requestsSince(b, before); len(got) == 1 {
				if v := got[0].Header.Values("Opc-Request-Id"); len(v) != 1 || v[0] != id {
					t.Errorf("backend opc-request-id = %q, want [%q]", v, id)
				}
			}
			if !logHasRequestID(t, gw, id) {
				t.Errorf("no log line with opcRequestId %q", id)
			}
		})
	}
}

func logHasRequestID(t *testing.T, gw *testGateway, id string) bool {
	t.Helper()
	for _, line := range gw.log.lines(t) {
		if line["opcRequestId"] == id {
			return true
		}
	}
	return false
}
