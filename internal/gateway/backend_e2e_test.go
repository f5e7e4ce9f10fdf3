package gateway

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Backends end to end: what an HTTP_BACKEND answers reaches the client
// unchanged, failures become 502/504, TLS is verified unless disabled,
// stock responses are served by the gateway, and request bodies are bounded.

func TestHTTPBackendPassThrough(t *testing.T) {
	tests := []struct {
		status int
		body   string
	}{
		{http.StatusCreated, `{"ok":true}`},
		{http.StatusNotFound, "backend says no"},
		{http.StatusInternalServerError, "backend broke"},
		{http.StatusServiceUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			b := newBackend(t)
			b.mu.Lock()
			b.handler = func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-test")
				w.Header().Add("X-Backend", "one")
				w.Header().Add("X-Backend", "two")
				w.Header().Add("Set-Cookie", "s=1; HttpOnly")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}
			b.mu.Unlock()
			gw := startGateway(t, testPrefix, routesSpec(httpRoute("/r", nil, b.url()+"/api/r", nil)), nil)
			req, err := http.NewRequest(http.MethodPut, gw.srv.URL+"/test3/r?x=1", strings.NewReader("payload"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := gw.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Errorf("response = %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			for name, want := range map[string]string{"Content-Type": "application/x-test", "X-Backend": "one,two", "Set-Cookie": "s=1; HttpOnly"} {
				if got := strings.Join(resp.Header.Values(name), ","); got != want {
					t.Errorf("response %s = %q, want %q", name, got, want)
				}
			}
			if resp.Header.Get("opc-request-id") == "" {
				t.Error("response has no opc-request-id")
			}
			got := onlyRequestSince(t, b, 0)
			if got.Method != http.MethodPut || got.Path != "/api/r" || got.RawQuery != "x=1" || string(got.Body) != "payload" {
				t.Errorf("backend got %s %s?%s %q, want PUT /api/r?x=1 %q", got.Method, got.Path, got.RawQuery, got.Body, "payload")
			}
			if want := strings.TrimPrefix(b.url(), "http://"); got.Host != want {
				t.Errorf("backend Host = %q, want its own %q", got.Host, want)
			}
		})
	}
}

func TestHTTPBackendDown(t *testing.T) {
	gw := startGateway(t, testPrefix, routesSpec(
		httpRoute("/r", nil, "http://"+closedAddr(t)+"/r", nil),
	), nil)
	resp, body := gw.do(t, http.MethodGet, "/test3/r", nil)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status = %d, want 502", resp.StatusCode)
	}
	assertErrorBody(t, body, http.StatusBadGateway)
	assertLogReason(t, gw, "backend_unavailable")
}

func TestHTTPBackendReadTimeout(t *testing.T) {
	b := newBackend(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the backend closes
	b.mu.Lock()
	b.handler = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(1500 * time.Millisecond):
		}
		_, _ = io.WriteString(w, "too late")
	}
	b.mu.Unlock()
	gw := startGateway(t, testPrefix, routesSpec(
		withBackendFields(httpRoute("/slow", nil, b.url()+"/slow", nil), map[string]any{"readTimeoutInSeconds": 1}),
	), nil)
	start := time.Now()
	resp, body := gw.do(t, http.MethodGet, "/test3/slow", nil)
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status = %d body %q, want 504", resp.StatusCode, body)
	}
	assertErrorBody(t, body, http.StatusGatewayTimeout)
	if elapsed < 900*time.Millisecond {
		t.Errorf("504 after %v, want it from the 1s read timeout", elapsed)
	}
	assertLogReason(t, gw, "backend_timeout")
}

func TestHTTPBackendTLSVerification(t *testing.T) {
	tlsBackend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "tls ok")
	}))
	tlsBackend.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsBackend.StartTLS()
	t.Cleanup(tlsBackend.Close)
	gw := startGateway(t, testPrefix, routesSpec(
		httpRoute("/verified", nil, tlsBackend.URL+"/v", nil),
		withBackendFields(httpRoute("/unverified", nil, tlsBackend.URL+"/u", nil), map[string]any{"isSslVerifyDisabled": false}),
		withBackendFields(httpRoute("/insecure", nil, tlsBackend.URL+"/i", nil), map[string]any{"isSslVerifyDisabled": true}),
	), nil)
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/test3/verified", http.StatusBadGateway, ""},
		{"/test3/unverified", http.StatusBadGateway, ""},
		{"/test3/insecure", http.StatusOK, "tls ok"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := gw.do(t, http.MethodGet, tt.path, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestStockResponse(t *testing.T) {
	gw := startGateway(t, testPrefix, routesSpec(
		stockResponseRoute("/stock", []string{"GET", "HEAD"}, 201, "created", "X-Stock", "yes", "Content-Type", "text/plain"),
		stockResponseRoute("/teapot", nil, 418, `{"short":"stout"}`, "Content-Type", "application/json"),
		stockResponseRoute("/empty", nil, 204, ""),
	), nil)
	tests := []struct {
		method, path string
		wantStatus   int
		wantBody     string
		wantHeaders  map[string]string
	}{
		{"GET", "/test3/stock", 201, "created", map[string]string{"X-Stock": "yes", "Content-Type": "text/plain", "Content-Length": "7"}},
		{"POST", "/test3/teapot", 418, `{"short":"stout"}`, map[string]string{"Content-Type": "application/json"}},
		{"DELETE", "/test3/empty", 204, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp, body := gw.do(t, tt.method, tt.path, nil)
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Errorf("response = %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			for name, want := range tt.wantHeaders {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if resp.Header.Get("opc-request-id") == "" {
				t.Error("response has no opc-request-id")
			}
		})
	}
	t.Run("HEAD has no body", func(t *testing.T) {
		conn, err := net.Dial("tcp", gw.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(rawTimeout))
		_, _ = io.WriteString(conn, rawRequest("HEAD", "/test3/stock", "Connection: close"))
		all, err := io.ReadAll(conn)
		if err != nil {
			t.Fatal(err)
		}
		head, rest, found := strings.Cut(string(all), "\r\n\r\n")
		if !found || rest != "" {
			t.Fatalf("HEAD response = %q, want a head and no body", all)
		}
		if !strings.HasPrefix(head, "HTTP/1.1 201 ") || !strings.Contains(head, "\r\nX-Stock: yes") {
			t.Errorf("HEAD response head = %q, want 201 with X-Stock", head)
		}
	})
}

// bodyCountingBackend discards request bodies and counts their bytes, so a
// 20 MiB upload is never held in memory.
func bodyCountingBackend(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got.Store(n)
		_, _ = io.WriteString(w, "received "+strconv.FormatInt(n, 10))
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

// upload streams a body of size bytes (chunked when chunked is set) to the
// gateway on a raw connection while it reads the response, so an early
// answer is seen even though the upload is cut.
func upload(t *testing.T, addr, target string, size int64, chunked bool) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	framing := "Content-Length: " + strconv.FormatInt(size, 10)
	if chunked {
		framing = "Transfer-Encoding: chunked"
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := bufio.NewWriterSize(conn, 64<<10)
		_, _ = io.WriteString(w, rawRequest(http.MethodPost, target, framing))
		chunk := make([]byte, 32<<10)
		for sent := int64(0); sent < size; {
			n := min(int64(len(chunk)), size-sent)
			if chunked {
				_, _ = fmt.Fprintf(w, "%x\r\n", n)
			}
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			if chunked {
				_, _ = io.WriteString(w, "\r\n")
			}
			sent += n
		}
		if chunked {
			_, _ = io.WriteString(w, "0\r\n\r\n")
		}
		_ = w.Flush()
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	return resp
}

func TestRequestBodyLimit(t *testing.T) {
	backend, received := bodyCountingBackend(t)
	gw := startGateway(t, testPrefix, routesSpec(
		httpRoute("/upload", []string{"POST"}, backend.URL+"/upload", nil),
	), nil)
	addr := gw.srv.Listener.Addr().String()
	tests := []struct {
		name       string
		size       int64
		chunked    bool
		wantStatus int
	}{
		{"at the limit", maxRequestBody, false, http.StatusOK},
		{"one byte over", maxRequestBody + 1, false, http.StatusRequestEntityTooLarge},
		{"chunked over", maxRequestBody + 1<<20, true, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			received.Store(-1)
			resp := upload(t, addr, "/test3/upload", tt.size, tt.chunked)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK {
				if got := received.Load(); got != tt.size {
					t.Errorf("backend received %d bytes, want %d", got, tt.size)
				}
			}
		})
	}
	assertLogReason(t, gw, "body_too_large")
}

func TestStockRouteLargeBody(t *testing.T) {
	gw := startGateway(t, testPrefix, routesSpec(
		stockResponseRoute("/stock", nil, 200, "stock ok"),
	), nil)
	addr := gw.srv.Listener.Addr().String()
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			start := time.Now()
			resp := upload(t, addr, "/test3/stock", 64<<20, chunked)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "stock ok" {
				t.Errorf("response = %d %q, want 200 %q", resp.StatusCode, body, "stock ok")
			}
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("answered after %v: the gateway waited for the upload", elapsed)
			}
		})
	}
	// The gateway still serves after the cut uploads.
	if resp, _ := gw.do(t, http.MethodGet, "/test3/stock", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("later request: status = %d, want 200", resp.StatusCode)
	}
}
