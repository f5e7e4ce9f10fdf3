package gateway

import (
	"context"

	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server the test started on a free loopback port.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
}

// startRedis starts redis-server (Debian's package, which scripts/test.sh
// installs; in CI a missing one fails the test) on port ("" for a free
// one), without persistence, and stops it when the test ends.
func startRedis(t testing.TB, port string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed; scripts/test.sh installs it")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	if port == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ = net.SplitHostPort(ln.Addr().String())
		ln.Close()
	}
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &redisServer{addr: "127.0.0.1:" + port, cmd: cmd}
	t.Cleanup(s.stop)
	client := redis.NewClient(&redis.Options{Addr: s.addr})
	defer client.Close()
	deadline := time.Now().Add(5 * time.Second)
	for client.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func (s *redisServer) stop() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// sharedLimitsFor is a Limits deciding in the Redis at addr.
func sharedLimitsFor(t testing.TB, addr string, log *slog.Logger) *Limits {
	t.Helper()
	// As serve makes it: every step bounded by the decision's timeout.
	const timeout = 200 * time.Millisecond
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ContextTimeoutEnabled: true,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout})
	t.Cleanup(func() { client.Close() })
	l := NewLimits()
	l.UseRedis(client, timeout, log)
	return l
}

// TestSharedRateLimitAcrossReplicas: two replicas sharing one Redis admit
// one deployment's burst together, not each.
func TestSharedRateLimitAcrossReplicas(t *testing.T) {
	rs := startRedis(t, "")
	discard := slog.New(slog.DiscardHandler)
	var replicas []*httptest.Server
	for range 2 {
		srv := httptest.NewServer(rateLimitGateway(t, 4, "TOTAL", nil, sharedLimitsFor(t, rs.addr, discard)))
		t.Cleanup(srv.Close)
		replicas = append(replicas, srv)
	}
	allowed := 0
	for i := range 8 {
		switch code := hit(t, replicas[i%2], "/rl/a", "").StatusCode; code {
		case http.StatusOK:
			allowed++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("status %d", code)
		}
	}
	// The clock is Redis's: within the test's few milliseconds it refills
	// at most a fraction of a request.
	if allowed != 4 {
		t.Errorf("two replicas admitted %d of 8 requests, want 4 (one burst of rate 4 between them)", allowed)
	}
}

// TestRedisOutageFailsOpen: with Redis gone each replica limits on its own
// (requests are served, the outage is logged once and counted); when Redis
// is back the limits are shared again.
func TestRedisOutageFailsOpen(t *testing.T) {
	rs := startRedis(t, "")
	logs := &syncBuffer{}
	limits := sharedLimitsFor(t, rs.addr, slog.New(slog.NewJSONHandler(logs, nil)))
	srv := httptest.NewServer(rateLimitGateway(t, 100, "TOTAL", nil, limits))
	t.Cleanup(srv.Close)
	if code := hit(t, srv, "/rl/a", "").StatusCode; code != 200 {
		t.Fatalf("with Redis: %d", code)
	}
	rs.stop()
	for i := range 5 {
		if code := hit(t, srv, "/rl/a", "").StatusCode; code != 200 {
			t.Fatalf("request %d with Redis down: %d, want 200 (the local limit)", i, code)
		}
	}
	if n := strings.Count(logs.String(), "rateLimiting.sharedStateFailed"); n != 1 {
		t.Errorf("the outage was logged %d times, want once", n)
	}
	if limits.SharedErrors() < 5 {
		t.Errorf("SharedErrors = %d, want at least 5", limits.SharedErrors())
	}
	_, port, _ := net.SplitHostPort(rs.addr)
	startRedis(t, port)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "rateLimiting.sharedStateRestored") {
		if time.Now().After(deadline) {
			t.Fatal("no sharedStateRestored after Redis came back")
		}
		hit(t, srv, "/rl/a", "")
		time.Sleep(50 * time.Millisecond)
	}
}
