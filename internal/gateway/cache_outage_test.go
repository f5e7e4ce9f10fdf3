package gateway

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCacheRedisOutageUnderLoad: redis-server is killed while clients
// keep asking, then started again. No request fails (each is answered
// from the cache or the backend), the outage is logged once when it
// starts and once when it ends, counted, and leaves no goroutine behind.
func TestCacheRedisOutageUnderLoad(t *testing.T) {
	rig := newCacheRig(t)
	client := rig.srv.Client()
	get := func(path string) (int, string, error) {
		resp, err := client.Get(rig.srv.URL + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && !strings.Contains(string(body), "uri=/echo/") {
			err = fmt.Errorf("body %q is not the backend's", body)
		}
		return resp.StatusCode, resp.Header.Get(cacheStatusHeader), err
	}
	if code, state, err := get("/c/pub/load"); err != nil || code != 200 || state != "MISS" {
		t.Fatalf("warm-up: %d %q %v", code, state, err)
	}
	// The gateway keeps idle connections to the backend, as many as the
	// load's concurrency: open them before counting.
	var warm sync.WaitGroup
	for range 8 {
		warm.Add(1)
		go func() {
			defer warm.Done()
			for range 20 {
				_, _, _ = get("/c/none/warm")
			}
		}()
	}
	warm.Wait()
	// Idle connections (client to gateway, gateway to backend) each hold
	// a server goroutine: close them before each count.
	closeIdle := func() {
		client.CloseIdleConnections()
		rig.backend.srv.CloseClientConnections()
		time.Sleep(100 * time.Millisecond)
	}
	closeIdle()
	before := runtime.NumGoroutine()

	var sent, failed atomic.Int64
	var mu sync.Mutex
	states := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := "/c/pub/load"
				if i%4 == 0 {
					path = "/c/pub/load-" + string(rune('a'+w)) // misses that store
				}
				code, state, err := get(path)
				sent.Add(1)
				if err != nil || code != http.StatusOK {
					failed.Add(1)
					t.Errorf("%s: %d %v", path, code, err)
					continue
				}
				mu.Lock()
				states[state]++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	rig.redis.stop()
	time.Sleep(1500 * time.Millisecond)
	_, port, _ := net.SplitHostPort(rig.redis.addr)
	startRedis(t, port)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(rig.logs.String(), codeCacheRestored) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // hits again from the new server
	close(stop)
	wg.Wait()

	t.Logf("%d requests, %d failed, X-Cache-Status %v", sent.Load(), failed.Load(), states)
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed", failed.Load(), sent.Load())
	}
	if states["BYPASS"] == 0 || states["HIT"] == 0 || states["MISS"] == 0 {
		t.Errorf("X-Cache-Status counts %v: want HIT, MISS and BYPASS (the outage)", states)
	}
	logs := rig.logs.String()
	started := strings.Count(logs, "the server does not answer")
	if started != 1 || strings.Count(logs, codeCacheRestored) != 1 {
		t.Errorf("outage logged %d times and its end %d times, want once each", started, strings.Count(logs, codeCacheRestored))
	}
	if rig.cache.Errors() == 0 {
		t.Error("Errors() = 0 after an outage")
	}
	m := rig.metricsText()
	for _, want := range []string{`keygate_response_cache_bypasses_total{deployment="/c",reason="cache_unavailable"}`, "keygate_response_cache_errors_total "} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, m)
		}
	}
	// Every goroutine the load started is gone once the connections are.
	closeIdle()
	deadline = time.Now().Add(5 * time.Second)
	after := runtime.NumGoroutine()
	for after > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before the load, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
