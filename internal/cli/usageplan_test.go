package cli

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServeUsagePlansWhenRedisNeverAnswers: serve with usage plans shared
// in a Redis that accepts connections and never answers (a dead host, a
// partition) still answers every request quickly: the first decision waits
// timeoutMillis, not go-redis's 5 s to connect or 3 s to read, and while
// Redis fails only one decision a second asks it. The outage is logged
// once; the subscriber's token never is.
func TestServeUsagePlansWhenRedisNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	const token = "acme-token-5b1d"
	dir := t.TempDir()
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
sharedState: {redis: {url: "redis://%s/0", timeoutMillis: 200}}
deployments:
  - pathPrefix: /api
    specification:
      requestPolicies: {usagePlans: {tokenLocations: ["request.headers[client-id]"]}}
      routes: [{path: /r, backend: {type: STOCK_RESPONSE_BACKEND, status: 200}}]
usagePlans:
  - {id: gold, entitlements: [{name: api, rateLimit: {value: 1000, unit: SECOND}, quota: {value: 100000, unit: DAY, resetPolicy: CALENDAR, operationOnBreach: REJECT}, targets: [{deploymentId: /api}]}]}
subscribers:
  - {displayName: Acme, clients: [{name: web, tokenFile: acme.token}], usagePlans: [gold]}
`, ln.Addr())
	if err := os.WriteFile(filepath.Join(dir, "acme.token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	base, logs := startServe(t, "--config", path)
	send := func(tok string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/r", nil)
		if tok != "" {
			req.Header.Set("client-id", tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := send(""); got != http.StatusForbidden {
		t.Fatalf("without a client token: %d, want 403", got)
	}
	begin := time.Now()
	for i := range 20 {
		if got := send(token); got != http.StatusOK {
			t.Fatalf("request %d: %d, want 200 (the replica counts alone)", i, got)
		}
	}
	// Asking Redis each time would take 20 × 200 ms; go-redis's own
	// defaults would take 5 s for the first request alone.
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("20 requests took %v", took)
	}
	logs.waitFor("usagePlans.sharedStateFailed") // lines reach the log in batches
	out := logs.String()
	if n := strings.Count(out, "usagePlans.sharedStateFailed"); n != 1 {
		t.Errorf("the outage was logged %d times, want once\n%s", n, out)
	}
	if strings.Contains(out, token) {
		t.Error("the log shows the client token")
	}
}
