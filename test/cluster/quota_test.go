package cluster

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// TestClusterSharesTheQuota: three keygate processes sharing one Redis
// admit a subscriber's quota exactly once between them, whichever of its
// clients calls which replica, and refuse the rest with 429.
func TestClusterSharesTheQuota(t *testing.T) {
	const quota = 300
	spec := `{"requestPolicies": {"usagePlans": {"tokenLocations": ["request.headers[client-id]"]}},
 "routes": [{"path": "/r", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200}}]}`
	tokens := []string{"acme-a-1f2e", "acme-b-9c8d"}
	replicas := startCluster(t, spec, fmt.Sprintf(`usagePlans:
  - id: gold
    entitlements:
      - name: api
        quota: {value: %d, unit: DAY, resetPolicy: CALENDAR, operationOnBreach: REJECT}
        targets: [{deploymentId: /api}]
subscribers:
  - displayName: Acme
    clients: [{name: a, token: %s}, {name: b, token: %s}]
    usagePlans: [gold]
`, quota, tokens[0], tokens[1]))

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
