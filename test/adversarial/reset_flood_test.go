package adversarial

import (
	"context"
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

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// An HTTP/2 client that resets every stream soon after opening it (rapid
// reset) makes the gateway start and abandon one backend exchange per
// stream. Closing the upstream connection of each abandoned exchange used
// to open a new backend connection per reset and leave one TIME_WAIT socket
// per reset on the gateway (8k of them after 50k resets): enough of them
// exhaust the ephemeral ports, and the gateway can no longer reach its
// backends. The gateway now lets the backend finish an abandoned exchange
// and keeps the connection, and aborts (no TIME_WAIT) those it cannot keep.
func TestResetFloodKeepsUpstreamConnections(t *testing.T) {
	var accepted atomic.Int64
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * time.Millisecond) // the client resets before this answer
		_, _ = w.Write([]byte("backend ok"))
	}))
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	backend.Start()
	t.Cleanup(backend.Close)
	backendPort := backend.Listener.Addr().(*net.TCPAddr).Port

	g := gatewaytest.Start(t, gatewaytest.Spec(nil, gatewaytest.HTTPRoute("/r", backend.URL+"/r", nil)), nil,
		gatewaytest.Options{TLS: true})
	client := g.Client

	// Warm up: one HTTP/2 connection, and the check that it is HTTP/2.
	resp, err := client.Get(g.URL + "/test/r")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("client spoke HTTP/%d.%d to the gateway, want HTTP/2", resp.ProtoMajor, resp.ProtoMinor)
	}

	const resets, workers = 2000, 32
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= resets {
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"/test/r", nil)
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
				cancel()
			}
		}()
	}
	wg.Wait()

	// The gateway still serves normally afterwards.
	resp, err = client.Get(g.URL + "/test/r")
	if err != nil {
		t.Fatalf("after the flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the flood: status %d, want 200", resp.StatusCode)
	}

	// Measured on 2 cores: 1,183-1,535 connections and 478-945 TIME_WAIT
	// sockets before, 430-520 connections and none in TIME_WAIT after (the
	// rest are dials that requests cancelled meanwhile still complete, and
	// that go to the pool).
	if n := accepted.Load(); n > resets*2/5 {
		t.Errorf("backend accepted %d connections for %d reset streams, want at most %d", n, resets, resets*2/5)
	}
	if runtime.GOOS == "linux" {
		if n := timeWaitTo(t, backendPort); n > 100 {
			t.Errorf("%d sockets to the backend in TIME_WAIT after %d reset streams, want at most 100", n, resets)
		}
	}
}

// timeWaitTo counts this machine's TCP sockets in TIME_WAIT whose remote
// port is port (the gateway's side of backend connections it closed).
func timeWaitTo(t *testing.T, port int) int {
	t.Helper()
	n := 0
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 || fields[3] != "06" { // 06: TIME_WAIT
				continue
			}
			_, remotePort, _ := strings.Cut(fields[2], ":")
			if p, err := strconv.ParseUint(remotePort, 16, 16); err == nil && int(p) == port {
				n++
			}
		}
	}
	return n
}
