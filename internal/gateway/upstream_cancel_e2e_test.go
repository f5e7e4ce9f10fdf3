package gateway

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Cancelled requests on every upstream path: a flood of HTTP/2 streams
// reset while the backend works must not leave a TIME_WAIT socket on the
// gateway per reset (the ports would run out), whatever the method. Bodyless
// requests (GET, DELETE, POST without a body) take the inline path, which
// also keeps the connection once the backend answers; requests with a body
// go through http.Transport, whose connection is aborted with a reset.
func TestCancelledRequestsLeaveNoTimeWait(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts TIME_WAIT sockets in /proc/net/tcp")
	}
	// How many backend connections a flood opens is test/adversarial's
	// TestResetFloodKeepsUpstreamConnections; here every method must leave
	// no TIME_WAIT behind.
	tests := []struct {
		method string
		body   string
	}{
		{http.MethodGet, ""},
		{http.MethodDelete, ""},
		{http.MethodPost, ""},
		{http.MethodPost, "payload"},
		{http.MethodPut, "payload"},
	}
	for _, tt := range tests {
		name := tt.method
		if tt.body != "" {
			name += " with a body"
		}
		t.Run(name, func(t *testing.T) {
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(3 * time.Millisecond) // the client resets before this answer
				_, _ = w.Write([]byte("ok"))
			}))
			t.Cleanup(backend.Close)
			front := cancelFloodGateway(t, backend.URL)
			client := front.Client()
			t.Cleanup(client.CloseIdleConnections)

			const resets, workers = 1000, 32
			var next atomic.Int64
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= resets {
						ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
						var body io.Reader
						if tt.body != "" {
							body = strings.NewReader(tt.body)
						}
						req, _ := http.NewRequestWithContext(ctx, tt.method, front.URL+"/c/r", body)
						if resp, err := client.Do(req); err == nil {
							resp.Body.Close()
						}
						cancel()
					}
				}()
			}
			wg.Wait()
			resp, err := client.Get(front.URL + "/c/r")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("after the flood: %v %v", resp, err)
			}
			resp.Body.Close()
			port := backend.Listener.Addr().(*net.TCPAddr).Port
			// Measured: none with the aborts; 0-160 per 1,000 on the body
			// paths, about half the resets on the bodyless ones, without.
			if n := timeWaitTowards(t, port); n > 5 {
				t.Errorf("%d gateway sockets to the backend in TIME_WAIT after %d reset streams, want at most 5", n, resets)
			}
		})
	}
}

// cancelFloodGateway serves an open deployment /c routing /r to backendURL
// over TLS with HTTP/2.
func cancelFloodGateway(t *testing.T, backendURL string) *httptest.Server {
	t.Helper()
	g := compileSpec(t, "/c", map[string]any{"routes": []any{map[string]any{
		"path": "/r", "backend": map[string]any{"type": "HTTP_BACKEND", "url": backendURL + "/r"}}}}, nil, Options{})
	front := httptest.NewUnstartedServer(g)
	front.EnableHTTP2 = true
	front.StartTLS()
	t.Cleanup(front.Close)
	if tr, ok := front.Client().Transport.(*http.Transport); ok {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test's own server
		tr.ForceAttemptHTTP2 = true
	}
	return front
}

// timeWaitTowards counts the TCP sockets in TIME_WAIT whose remote port is
// port: the gateway's side of backend connections it closed first.
func timeWaitTowards(t *testing.T, port int) int {
	t.Helper()
	n := 0
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 || fields[3] != "06" {
				continue
			}
			_, remote, _ := strings.Cut(fields[2], ":")
			if p, err := strconv.ParseUint(remote, 16, 16); err == nil && int(p) == port {
				n++
			}
		}
	}
	return n
}
