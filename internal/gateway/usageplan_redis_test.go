package gateway

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestUsagePlanSharedAcrossReplicas: two gateways sharing one Redis admit
// a subscriber's quota once between them, whichever of its clients calls
// which replica.
func TestUsagePlanSharedAcrossReplicas(t *testing.T) {
	rs := startRedis(t, "")
	clk := newClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	var replicas []*httptest.Server
	for range 2 {
		g := usageGateway(t, usagePlanConfig(0, 5, "WEEK", "REJECT"), Options{Now: clk.now,
			Limits: sharedLimitsFor(t, rs.addr, slog.New(slog.DiscardHandler))})
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		replicas = append(replicas, srv)
	}
	admitted := 0
	for i := range 12 {
		tok := []string{tokAcmeWeb, tokAcmeBatch, tokAcmeBatch}[i%3]
		switch got := call(t, replicas[i%2], "/orders/ok", tok).StatusCode; got {
		case 200:
			admitted++
		case 429:
		default:
			t.Fatalf("request %d: %d", i, got)
		}
	}
	if admitted != 5 {
		t.Errorf("two replicas admitted %d of 12 requests, want 5 (one WEEK quota between them)", admitted)
	}
	// Wednesday 2026-03-04: the week began Monday 03-02, the next begins 03-09.
	resp := call(t, replicas[0], "/orders/ok", tokAcmeWeb)
	if want := "396000"; resp.Header.Get("Retry-After") != want {
		t.Errorf("Retry-After %q, want %s (Wednesday 10:00 to Monday 00:00 UTC)", resp.Header.Get("Retry-After"), want)
	}
}

// TestUsagePlanRedisOutage: with Redis stopped under concurrent load every
// request is still answered by the replica's own counters (no 5xx, no
// transport error), the outage is logged once and counted; once Redis is
// back the counters are shared again, and no goroutine is left behind.
func TestUsagePlanRedisOutage(t *testing.T) {
	rs := startRedis(t, "")
	logs := &syncBuffer{}
	limits := sharedLimitsFor(t, rs.addr, slog.New(slog.NewJSONHandler(logs, nil)))
	before := countGoroutines()
	g := usageGateway(t, usagePlanConfig(100000, 1000000, "DAY", "REJECT"), Options{Limits: limits})
	srv := httptest.NewServer(g)
	var wg sync.WaitGroup
	var bad atomic.Int64
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			tok := []string{tokAcmeWeb, tokGlobex}[w%2]
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders/ok", nil)
				req.Header.Set("client-id", tok)
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					bad.Add(1)
				}
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	rs.stop()
	time.Sleep(300 * time.Millisecond)
	errorsDuringOutage := limits.SharedUsageErrors()
	port := rs.addr[strings.LastIndexByte(rs.addr, ':')+1:]
	startRedis(t, port)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "usagePlans.sharedStateRestored") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	srv.Close()
	if n := bad.Load(); n != 0 {
		t.Errorf("%d requests failed or were refused; the outage must not refuse traffic", n)
	}
	if n := strings.Count(logs.String(), "usagePlans.sharedStateFailed"); n != 1 {
		t.Errorf("the outage was logged %d times, want once", n)
	}
	if !strings.Contains(logs.String(), "usagePlans.sharedStateRestored") {
		t.Error("no sharedStateRestored after Redis came back")
	}
	if errorsDuringOutage == 0 {
		t.Error("SharedUsageErrors did not count the outage")
	}
	waitGoroutines(t, before)
}

// countGoroutines counts the goroutines now running.
func countGoroutines() int { return runtime.NumGoroutine() }

// waitGoroutines fails if, after a grace period, more goroutines run than
// before (plus a few the runtime and the Redis client's pool may keep).
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		now := countGoroutines()
		if now <= before+3 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines before the load, %d after: a leak", before, now)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOutageOrdering: decisions finish in any order; only a failure newer
// than every success starts an outage, and only a success newer than every
// failure ends it.
func TestOutageOrdering(t *testing.T) {
	var o outage
	n1, n2, n3 := o.begin(), o.begin(), o.begin()
	if !o.failed(n2, time.Now()) {
		t.Fatal("the first failure does not start the outage")
	}
	if o.succeeded(n1) {
		t.Error("a decision begun before the failure ended the outage")
	}
	if o.failed(n3, time.Now()) {
		t.Error("a second failure started the outage again")
	}
	if n4 := o.begin(); !o.succeeded(n4) {
		t.Error("a decision begun after the failures did not end the outage")
	}
	n5, n6 := o.begin(), o.begin()
	o.succeeded(n6)
	if o.failed(n5, time.Now()) {
		t.Error("a decision begun before the latest success started an outage")
	}
	if got := o.errors.Load(); got != 3 {
		t.Errorf("errors = %d, want 3", got)
	}
}

// TestUsagePlanWithoutLimitsAsksNothing: an entitlement with neither rate
// limit nor quota gives access without a round trip to Redis.
func TestUsagePlanWithoutLimitsAsksNothing(t *testing.T) {
	limits := sharedLimitsFor(t, closedAddr(t), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(usageGateway(t, usagePlanConfig(1, 0, "", ""), Options{Limits: limits}))
	t.Cleanup(srv.Close)
	for range 3 {
		if got := call(t, srv, "/other/ok", tokInitech).StatusCode; got != 200 {
			t.Fatalf("status %d, want 200", got)
		}
	}
	if n := limits.SharedUsageErrors(); n != 0 {
		t.Errorf("%d decisions were asked of Redis for an entitlement without limits", n)
	}
	call(t, srv, "/orders/ok", tokGlobex) // a rate limit: asked, and failing
	if limits.SharedUsageErrors() == 0 {
		t.Error("the test's Redis address answered; it must not")
	}
}

// blackhole is a TCP server that accepts connections and never answers, as
// a Redis on a dead host or behind a partition looks.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestRedisThatNeverAnswers: when Redis accepts connections but never
// answers, a replica waits for it once per probe (a second), not once per
// request: the rest decide alone at once, counted as decisions Redis did
// not make. Rate limiting and usage plans alike.
func TestRedisThatNeverAnswers(t *testing.T) {
	for _, kind := range []string{"rateLimiting", "usagePlans"} {
		t.Run(kind, func(t *testing.T) {
			limits := sharedLimitsFor(t, blackhole(t), slog.New(slog.DiscardHandler)) // 200 ms per decision
			var g *Gateway
			path, tok := "/rl/a", ""
			if kind == "rateLimiting" {
				g = rateLimitGateway(t, 1000, "TOTAL", nil, limits)
			} else {
				g = usageGateway(t, usagePlanConfig(1000, 0, "", ""), Options{Limits: limits})
				path, tok = "/orders/ok", tokGlobex
			}
			srv := httptest.NewServer(g)
			t.Cleanup(srv.Close)
			begin := time.Now()
			for i := range 20 {
				if got := call(t, srv, path, tok).StatusCode; got != 200 {
					t.Fatalf("request %d: %d, want 200", i, got)
				}
			}
			// Asking Redis every time would take 20 × 200 ms = 4 s.
			if took := time.Since(begin); took > 2*time.Second {
				t.Errorf("20 requests took %v; each waited for Redis", took)
			}
			errs := limits.SharedErrors() + limits.SharedUsageErrors()
			if errs != 20 {
				t.Errorf("%d decisions counted as not made by Redis, want 20", errs)
			}
		})
	}
}
