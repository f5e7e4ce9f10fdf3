package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The upstream transport (upstream.go) against real backends: net/http
// servers, and raw TCP ones for what a net/http server never does.

// rawBackend serves each connection with serve, which gets the connection,
// a reader on it, and the connection's index (0 for the first).
type rawBackend struct {
	ln       net.Listener
	conns    atomic.Int32
	requests atomic.Int32 // request heads read by readRequest
}

func newRawBackend(t *testing.T, serve func(rb *rawBackend, c net.Conn, br *bufio.Reader, index int)) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rb := &rawBackend{ln: ln}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open { // the gateway may hold them idle
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			index := int(rb.conns.Add(1)) - 1
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				serve(rb, c, bufio.NewReader(c), index)
			}()
		}
	}()
	return rb
}

// readRequest reads one request head (these tests send no bodies).
func (rb *rawBackend) readRequest(br *bufio.Reader) bool {
	req, err := http.ReadRequest(br)
	if err != nil {
		return false
	}
	req.Body.Close()
	rb.requests.Add(1)
	return true
}

func (rb *rawBackend) url() string { return "http://" + rb.ln.Addr().String() }

// countingBackend is a net/http backend that counts the connections it
// accepted and closed.
func countingBackend(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32, *atomic.Int32) {
	t.Helper()
	var opened, closed atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			closed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &opened, &closed
}

func TestUpstreamReusesOneConnection(t *testing.T) {
	var posted atomic.Value
	srv, opened, _ := countingBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			posted.Store(string(b))
		}
		w.Header().Set("Content-Length", "2")
		_, _ = io.WriteString(w, "ok")
	})
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", []string{"ANY"}, srv.URL+"/r", nil)), nil)

	for i := 0; i < 20; i++ {
		// HEAD is not among them: its connection is never reused (R14).
		method := []string{http.MethodGet, http.MethodOptions, http.MethodDelete}[i%3]
		resp, body := gw.do(t, method, "/test3/r", nil)
		want := "ok"
		if resp.StatusCode != http.StatusOK || body != want {
			t.Fatalf("%s #%d: %d %q, want 200 %q", method, i, resp.StatusCode, body, want)
		}
	}
	// Sequential requests without a body share one pooled connection (the
	// DELETEs go through http.Transport, which keeps its own).
	if n := opened.Load(); n > 2 {
		t.Errorf("backend accepted %d connections for 20 sequential requests, want at most 2", n)
	}

	// A request with a body takes http.Transport's path and still arrives whole.
	req, _ := http.NewRequest(http.MethodPost, gw.srv.URL+"/test3/r", strings.NewReader("payload"))
	resp, err := gw.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || posted.Load() != "payload" {
		t.Errorf("POST: status %d, backend got %v, want 200 and \"payload\"", resp.StatusCode, posted.Load())
	}
}

func TestUpstreamReplacesConnectionsTheBackendClosed(t *testing.T) {
	// Answers one request per connection, then closes it without saying so
	// (no Connection: close): the pooled connection is dead when reused.
	rb := newRawBackend(t, func(rb *rawBackend, c net.Conn, br *bufio.Reader, _ int) {
		if rb.readRequest(br) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", nil, rb.url()+"/r", nil)), nil)
	for i := 0; i < 5; i++ {
		resp, body := gw.do(t, http.MethodGet, "/test3/r", nil)
		if resp.StatusCode != http.StatusOK || body != "ok" {
			t.Fatalf("request %d: %d %q, want 200 \"ok\"", i, resp.StatusCode, body)
		}
		// Let the backend's close reach the gateway's idle connection.
		time.Sleep(20 * time.Millisecond)
	}
	if got := rb.requests.Load(); got != 5 {
		t.Errorf("backend read %d requests, want 5 (each exactly once)", got)
	}
}

func TestUpstreamNeverReadsUnsolicitedBytesAsAResponse(t *testing.T) {
	// After answering, the backend writes a 408 on the idle connection (as
	// some servers do before closing one). Sent on that connection, the next
	// request would get the 408 as its answer.
	unsolicited := make(chan struct{}, 8)
	rb := newRawBackend(t, func(rb *rawBackend, c net.Conn, br *bufio.Reader, _ int) {
		for first := true; rb.readRequest(br); first = false {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			if first {
				time.Sleep(10 * time.Millisecond)
				_, _ = io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
				unsolicited <- struct{}{}
			}
		}
	})
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", nil, rb.url()+"/r", nil)), nil)
	for i := 0; i < 3; i++ {
		resp, body := gw.do(t, http.MethodGet, "/test3/r", nil)
		if resp.StatusCode != http.StatusOK || body != "ok" {
			t.Fatalf("request %d: %d %q, want 200 \"ok\"", i, resp.StatusCode, body)
		}
		// The next request goes out only once the 408 sits on the idle
		// connection (on loopback, written is delivered).
		select {
		case <-unsolicited:
		case <-time.After(5 * time.Second):
			t.Fatal("the backend never wrote its unsolicited 408")
		}
	}
}

func TestUpstreamRetriesOnlyBeforeAnyResponseByte(t *testing.T) {
	// The first connection answers /fast and then, for the next request,
	// stalls past the read timeout: that request must not be sent again.
	var slowSeen atomic.Int32
	rb := newRawBackend(t, func(rb *rawBackend, c net.Conn, br *bufio.Reader, _ int) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			rb.requests.Add(1)
			if strings.HasSuffix(req.URL.Path, "/slow") {
				slowSeen.Add(1)
				time.Sleep(1500 * time.Millisecond)
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	timeouts := map[string]any{"readTimeoutInSeconds": 1}
	gw := startGateway(t, testPrefix, routesSpec(
		withBackendFields(httpRoute("/fast", nil, rb.url()+"/fast", nil), timeouts),
		withBackendFields(httpRoute("/slow", nil, rb.url()+"/slow", nil), map[string]any{"readTimeoutInSeconds": 1}),
	), nil)
	if resp, body := gw.do(t, http.MethodGet, "/test3/fast", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("/fast: %d %q", resp.StatusCode, body)
	}
	resp, body := gw.do(t, http.MethodGet, "/test3/slow", nil)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("/slow: %d %q, want 504", resp.StatusCode, body)
	}
	time.Sleep(700 * time.Millisecond) // a retry would have arrived by now
	if n := slowSeen.Load(); n != 1 {
		t.Errorf("backend got /slow %d times, want once", n)
	}
}

func TestUpstreamRefusesOversizedResponseHeads(t *testing.T) {
	rb := newRawBackend(t, func(rb *rawBackend, c net.Conn, br *bufio.Reader, _ int) {
		for rb.readRequest(br) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("a", maxResponseHeader+1)+"\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", []string{"GET", "POST"}, rb.url()+"/r", nil)), nil)
	resp, body := gw.do(t, http.MethodGet, "/test3/r", nil)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("GET: %d %q, want 502", resp.StatusCode, body)
	}
	// The http.Transport path has the same bound.
	req, _ := http.NewRequest(http.MethodPost, gw.srv.URL+"/test3/r", strings.NewReader("x"))
	presp, err := gw.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if presp.StatusCode != http.StatusBadGateway {
		t.Errorf("POST: %d, want 502", presp.StatusCode)
	}
}

func TestUpstreamInformationalResponses(t *testing.T) {
	tests := []struct {
		name       string
		head       string // what the backend writes before the final response
		wantStatus int
		want1xx    []int // informational statuses the client sees
	}{
		{"early hints are forwarded", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", http.StatusOK, []int{103}},
		// Forwarded 1xx are not counted against a limit, as with http.Transport:
		// a backend may send 102 Processing during a long operation.
		{"many 1xx, all forwarded", strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", max1xxResponses+2), http.StatusOK,
			[]int{102, 102, 102, 102, 102, 102, 102}},
		{"status under 100", "HTTP/1.1 099 Weird\r\nContent-Length: 2\r\n\r\nok", http.StatusBadGateway, nil},
		{"101 nobody asked for", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: Upgrade\r\n\r\n", http.StatusBadGateway, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := newRawBackend(t, func(rb *rawBackend, c net.Conn, br *bufio.Reader, _ int) {
				for rb.readRequest(br) {
					_, _ = io.WriteString(c, tt.head+"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			})
			gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", nil, rb.url()+"/r", nil)), nil)
			var got1xx []int
			trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
				got1xx = append(got1xx, code)
				return nil
			}}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
				http.MethodGet, gw.srv.URL+"/test3/r", nil)
			resp, err := gw.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK && string(body) != "ok" {
				t.Errorf("body %q, want \"ok\"", body)
			}
			if !slices.Equal(got1xx, tt.want1xx) {
				t.Errorf("client saw 1xx %v, want %v", got1xx, tt.want1xx)
			}
		})
	}
}

func TestUpstreamCloseDelimitedBody(t *testing.T) {
	payload := strings.Repeat("0123456789", 10_000)
	rb := newRawBackend(t, func(rb *rawBackend, c net.Conn, br *bufio.Reader, _ int) {
		if rb.readRequest(br) {
			// No Content-Length, not chunked: the body ends when the connection does.
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n"+payload)
		}
	})
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", nil, rb.url()+"/r", nil)), nil)
	for i := 0; i < 3; i++ {
		resp, body := gw.do(t, http.MethodGet, "/test3/r", nil)
		if resp.StatusCode != http.StatusOK || body != payload {
			t.Fatalf("request %d: %d, %d bytes, want 200 and %d bytes", i, resp.StatusCode, len(body), len(payload))
		}
	}
	if n := rb.conns.Load(); n != 3 {
		t.Errorf("backend saw %d connections, want 3 (a close-delimited connection is never reused)", n)
	}
}

func TestUpstreamClientGoneClosesTheBackendConnection(t *testing.T) {
	backendDone := make(chan struct{})
	srv, _, closed := countingBackend(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(backendDone)
		f := w.(http.Flusher)
		for i := 0; i < 500; i++ {
			if _, err := io.WriteString(w, strings.Repeat("x", 1024)); err != nil {
				return
			}
			f.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	gw := startGateway(t, testPrefix, routesSpec(httpRoute("/stream", nil, srv.URL+"/stream", nil)), nil)
	resp, err := gw.srv.Client().Get(gw.srv.URL + "/test3/stream")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 2048)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // unread body: the client drops its connection
	gw.srv.Client().CloseIdleConnections()
	select {
	case <-backendDone:
	case <-time.After(3 * time.Second):
		t.Fatal("the backend kept streaming 3 s after the client went away")
	}
	deadline := time.Now().Add(2 * time.Second)
	for closed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if closed.Load() == 0 {
		t.Error("the gateway kept the half-read backend connection open")
	}
}

func TestUpstreamIdleConnectionsExpire(t *testing.T) {
	srv, opened, closed := countingBackend(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	key := transportKey{connect: time.Second, read: time.Second, send: time.Second}
	fallback := newTransport(key)
	fallback.IdleConnTimeout = 100 * time.Millisecond
	tr := newSyncTransport(key, fallback)
	t.Cleanup(tr.CloseIdleConnections)
	get := func() {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get()
	get()
	if n := opened.Load(); n != 1 {
		t.Fatalf("two requests opened %d connections, want 1", n)
	}
	// The reaper closes it once idle for longer than IdleConnTimeout, with
	// no request needed to notice.
	deadline := time.Now().Add(3 * time.Second)
	for closed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if closed.Load() != 1 {
		t.Fatalf("idle connection still open after %v", 3*time.Second)
	}
	get()
	if n := opened.Load(); n != 2 {
		t.Errorf("after expiry: %d connections opened, want 2", n)
	}
	tr.CloseIdleConnections()
	deadline = time.Now().Add(3 * time.Second)
	for closed.Load() != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if closed.Load() != 2 {
		t.Errorf("CloseIdleConnections left a connection open")
	}
}

// TestUpstreamDirectRoundTrips: without ReverseProxy's 1xx hook the number of
// informational responses is bounded, and a response whose body nobody
// closes frees its connection when the request's context ends.
func TestUpstreamDirectRoundTrips(t *testing.T) {
	var closedByPeer atomic.Int32
	rb := newRawBackend(t, func(rb *rawBackend, c net.Conn, br *bufio.Reader, _ int) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		rb.requests.Add(1)
		if req.URL.Path == "/1xx" {
			_, _ = io.WriteString(c, strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", max1xxResponses+1)+"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return
		}
		// A long body, then wait for the gateway side to hang up.
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"+strings.Repeat("x", 1000))
		if _, err := br.ReadByte(); err != nil {
			closedByPeer.Add(1)
		}
	})
	key := transportKey{connect: time.Second, read: time.Second, send: time.Second}
	tr := newSyncTransport(key, newTransport(key))
	t.Cleanup(tr.CloseIdleConnections)

	req, _ := http.NewRequest(http.MethodGet, rb.url()+"/1xx", nil)
	if resp, err := tr.RoundTrip(req); err == nil || !errors.Is(err, errTooMany1xx) {
		if resp != nil {
			resp.Body.Close()
		}
		t.Errorf("%d informational responses without a hook: err = %v, want errTooMany1xx", max1xxResponses+1, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, rb.url()+"/long", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp // its body is never read or closed
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for closedByPeer.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if closedByPeer.Load() != 1 {
		t.Error("the connection of a response nobody closed stayed open after its request ended")
	}
}

// TestUpstreamAccessLogRecordsTheFinalStatus: an early 103 is not the
// status the access log and metrics report, and the final response still
// carries the gateway's request id, once (ReverseProxy clears the headers
// after a 1xx; the backend's own id is dropped).
func TestUpstreamAccessLogRecordsTheFinalStatus(t *testing.T) {
	rb := newRawBackend(t, func(rb *rawBackend, c net.Conn, br *bufio.Reader, _ int) {
		for rb.readRequest(br) {
			_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"+
				"HTTP/1.1 404 Not Found\r\nOpc-Request-Id: the-backends-own\r\nContent-Length: 4\r\n\r\nnope")
		}
	})
	gw := startOCIGateway(t, testPrefix, routesSpec(httpRoute("/r", nil, rb.url()+"/r", nil)), nil, false)
	resp, _ := gw.do(t, http.MethodGet, "/test3/r", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want the backend's 404", resp.StatusCode)
	}
	if ids := resp.Header.Values(requestIDHeader); len(ids) != 1 || ids[0] == "the-backends-own" {
		t.Fatalf("opc-request-id = %q, want the gateway's, once", ids)
	}
	if got := accessLine(t, gw, resp.Header.Get(requestIDHeader))["status"]; got != 404.0 {
		t.Errorf("access log status = %v, want 404", got)
	}
}
