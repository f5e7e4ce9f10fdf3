package cluster

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// TestClusterSharesTheQuota: three keygate processes sharing one Redis
// admit a subscriber's quota exactly once between them, whichever of its
// clients calls which replica, and refuse the rest with 429.
func TestClusterSharesTheQuota(t *testing.T) {
	redisBin := need(t, "redis-server")
	dir := t.TempDir()
	bin := keygateBinary(t)
	redisPort := freePort(t)
	start(t, exec.Command(redisBin, "--port", redisPort, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir))

	const quota = 300
	spec := `{"requestPolicies": {"usagePlans": {"tokenLocations": ["request.headers[client-id]"]}},
 "routes": [{"path": "/r", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200}}]}`
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := []string{"acme-a-1f2e", "acme-b-9c8d"}
	var replicas []string
	for i := range 3 {
		cfg := fmt.Sprintf(`listen: 127.0.0.1:0
sharedState: {redis: {url: "redis://127.0.0.1:%s/0", timeoutMillis: 500}}
deployments:
  - pathPrefix: /api
    specificationFile: spec.json
usagePlans:
  - id: gold
    entitlements:
      - name: api
        quota: {value: %d, unit: DAY, resetPolicy: CALENDAR, operationOnBreach: REJECT}
        targets: [{deploymentId: /api}]
subscribers:
  - displayName: Acme
    clients: [{name: a, token: %s}, {name: b, token: %s}]
    usagePlans: [gold]
`, redisPort, quota, tokens[0], tokens[1])
		file := filepath.Join(dir, fmt.Sprintf("gateway%d.yaml", i))
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "serve", "--config", file, "--no-access-log")
		stderr, _ := cmd.StderrPipe()
		start(t, cmd)
		replicas = append(replicas, "http://"+listenAddr(t, stderr)+"/api/r")
	}

	// Six clients, each sending 100 requests round-robin over the replicas:
	// twice the quota.
	var admitted, refused, other atomic.Int64
	var wg sync.WaitGroup
	for c := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{}
			for i := range 100 {
				req, _ := http.NewRequest(http.MethodGet, replicas[(c+i)%len(replicas)], nil)
				req.Header.Set("client-id", tokens[c%2])
				resp, err := client.Do(req)
				if err != nil {
					other.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					admitted.Add(1)
				case http.StatusTooManyRequests:
					refused.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d admitted, %d refused, %d other by 3 replicas; the quota is %d", admitted.Load(), refused.Load(), other.Load(), quota)
	if admitted.Load() != quota || refused.Load() != 600-quota || other.Load() != 0 {
		t.Errorf("admitted %d, refused %d, other %d; want exactly %d, %d, 0: the replicas do not share the quota",
			admitted.Load(), refused.Load(), other.Load(), quota, 600-quota)
	}
}
