package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recordingBackend records the headers of every request it gets.
type recordingBackend struct {
	srv     *httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func newRecordingBackend(t *testing.T) *recordingBackend {
	t.Helper()
	b := &recordingBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.headers = append(b.headers, r.Header.Clone())
		b.mu.Unlock()
		_, _ = io.WriteString(w, "backend ok")
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *recordingBackend) last(t *testing.T) http.Header {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.headers) == 0 {
		t.Fatal("the backend got no request")
	}
	return b.headers[len(b.headers)-1]
}

// callCounter counts the "authorizer call" lines the function wrote to
// keygate's log.
func authorizerCalls(p *servedGateway) int {
	return strings.Count(p.logs.String(), "authorizer call ")
}

// waitCalls waits until the function has been called want times in all,
// then a little longer, and fails unless exactly want.
func waitCalls(t *testing.T, p *servedGateway, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for authorizerCalls(p) < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a call too many would show by now
	if got := authorizerCalls(p); got != want {
		t.Errorf("the authorizer was called %d times in all, want %d", got, want)
	}
}

// TestServeNodeAuthorizer runs an authorizer written with the Node FDK
// unchanged behind keygate serve (command: + listener:), in front of a real
// backend: single- and multi-argument, scopes, context to the backend,
// anonymous access, the function's failures, its cache and one call for
// concurrent requests.
func TestServeNodeAuthorizer(t *testing.T) {
	fnDir := nodeFunctionDir(t, "node-authorizer")
	sockDir := socketDir(t, "kgauthz")
	backend := newRecordingBackend(t)
	dir := t.TempDir()
	tenantHeaders := `"headerTransformations": {"setHeaders": {"items": [
	    {"name": "X-Tenant", "values": ["${request.auth[tenant]}"]},
	    {"name": "X-Authorizer-Input", "values": ["${request.auth[input]}"]}]}}`
	writeTestFile(t, filepath.Join(dir, "single.json"), `{
	  "requestPolicies": {"authentication": {"type": "CUSTOM_AUTHENTICATION", "functionId": "ocid1.fnfunc.oc1.phx.authz",
	    "tokenHeader": "X-Api-Key", "isAnonymousAccessAllowed": true}},
	  "routes": [
	    {"path": "/orders", "backend": {"type": "HTTP_BACKEND", "url": "`+backend.srv.URL+`/orders"},
	     "requestPolicies": {"authorization": {"type": "ANY_OF", "allowedScope": ["orders:read"]}, `+tenantHeaders+`}},
	    {"path": "/any", "backend": {"type": "HTTP_BACKEND", "url": "`+backend.srv.URL+`/any"},
	     "requestPolicies": {`+tenantHeaders+`}},
	    {"path": "/public", "backend": {"type": "HTTP_BACKEND", "url": "`+backend.srv.URL+`/public"},
	     "requestPolicies": {"authorization": {"type": "ANONYMOUS"}, `+tenantHeaders+`}}]}`)
	writeTestFile(t, filepath.Join(dir, "multi.json"), `{
	  "requestPolicies": {"authentication": {"type": "CUSTOM_AUTHENTICATION", "functionId": "ocid1.fnfunc.oc1.phx.authz",
	    "parameters": {"xapikey": "request.headers[X-Api-Key]", "region": "request.query[region]"}}},
	  "routes": [
	    {"path": "/orders", "backend": {"type": "HTTP_BACKEND", "url": "`+backend.srv.URL+`/orders"},
	     "requestPolicies": {`+tenantHeaders+`}}]}`)
	gatewayFile := filepath.Join(dir, "gateway.yaml")
	writeTestFile(t, gatewayFile, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  - id: ocid1.fnfunc.oc1.phx.authz
    listener: unix:%s/authz.sock
    command: [node, func.js]
    dir: %s
    timeoutMillis: 1000
deployments:
  - pathPrefix: /api
    specificationFile: single.json
  - pathPrefix: /multi
    specificationFile: multi.json
`, sockDir, fnDir))
	hup := make(chan os.Signal, 1)
	p := startServeProcess(t, hup, "--config", gatewayFile)
	defer p.stop()
	calls := 0

	tests := []struct {
		name      string
		path      string
		key       string
		status    int
		newCalls  int
		tenant    string // X-Tenant the backend gets
		challenge string
	}{
		{"accepted, tenant to the backend", "/api/orders", "key-acme", 200, 1, "acme", ""},
		{"cached", "/api/orders", "key-acme", 200, 0, "acme", ""},
		{"no scope: ANY_OF refused", "/api/orders", "key-globex", 403, 1, "", ""},
		{"no scope: AUTHENTICATION_ONLY passes", "/api/any", "key-globex", 200, 0, "globex", ""},
		{"refused", "/api/any", "nope", 401, 1, "", `ApiKey realm="node"`},
		{"no key", "/api/any", "", 401, 0, "", `Bearer realm="/api"`},
		{"anonymous without a key", "/api/public", "", 200, 0, "", ""},
		{"anonymous with a key", "/api/public", "key-acme", 200, 0, "acme", ""},
		{"the function throws: 502", "/api/any", "throw", 502, 1, "", ""},
		{"not cached: throws again", "/api/any", "throw", 502, 1, "", ""},
		{"the function answers garbage: 502", "/api/any", "garbage", 502, 1, "", ""},
		{"the function times out: 502", "/api/any", "sleep", 502, 1, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{}
			if tt.key != "" {
				header["X-Api-Key"] = tt.key
			}
			start := time.Now()
			got := callFunction(t, "GET", p.base+tt.path, "", header)
			if got.status != tt.status {
				t.Fatalf("status %d, want %d: %s\n%s", got.status, tt.status, got.body, p.logs.String())
			}
			if tt.key == "sleep" && time.Since(start) > 3*time.Second {
				t.Errorf("answered after %v; the function's timeout is 1 s", time.Since(start))
			}
			if c := got.header.Get("WWW-Authenticate"); tt.challenge != "" && c != tt.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", c, tt.challenge)
			}
			if tt.status == 200 {
				if v := backend.last(t).Get("X-Tenant"); v != tt.tenant {
					t.Errorf("the backend got X-Tenant %q, want %q", v, tt.tenant)
				}
			}
			calls += tt.newCalls
			waitCalls(t, p, calls)
		})
	}

	t.Run("concurrent requests with one key make one call", func(t *testing.T) {
		var wg sync.WaitGroup
		statuses := make(chan int, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses <- callFunction(t, "GET", p.base+"/api/any", "", map[string]string{"X-Api-Key": "slow"}).status
			}()
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			if s != 200 {
				t.Errorf("status %d, want 200", s)
			}
		}
		calls++
		waitCalls(t, p, calls)
	})

	t.Run("a reload that changes the configuration empties the cache", func(t *testing.T) {
		spec, err := os.ReadFile(filepath.Join(dir, "single.json"))
		if err != nil {
			t.Fatal(err)
		}
		// The same spec with one more route: a new configuration.
		changed := strings.Replace(string(spec), `"routes": [`, `"routes": [
	    {"path": "/new", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 204}},`, 1)
		writeTestFile(t, filepath.Join(dir, "single.json"), changed)
		hup <- syscall.SIGHUP
		if !p.logs.waitFor("configuration reloaded") {
			t.Fatalf("no reload:\n%s", p.logs.String())
		}
		if got := callFunction(t, "GET", p.base+"/api/orders", "", map[string]string{"X-Api-Key": "key-acme"}); got.status != 200 {
			t.Fatalf("status %d", got.status)
		}
		calls++
		waitCalls(t, p, calls)
	})

	t.Run("multi-argument: the function gets USER_DEFINED data", func(t *testing.T) {
		got := callFunction(t, "GET", p.base+"/multi/orders?region=eu&region=us", "", map[string]string{"X-Api-Key": "key-initech"})
		if got.status != 200 {
			t.Fatalf("status %d: %s", got.status, got.body)
		}
		h := backend.last(t)
		want := `{"type":"USER_DEFINED","data":{"region":["eu","us"],"xapikey":"key-initech"}}`
		if h.Get("X-Tenant") != "initech" || h.Get("X-Authorizer-Input") != want {
			t.Errorf("the backend got X-Tenant %q, X-Authorizer-Input %q; want initech, %s", h.Get("X-Tenant"), h.Get("X-Authorizer-Input"), want)
		}
		calls++
		waitCalls(t, p, calls)
	})
}
