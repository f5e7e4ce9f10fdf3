// Package cluster runs several keygate processes against one Redis, as
// replicas behind a load balancer would, and checks what they share.
package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// need finds a command the test needs; in CI a missing one is a failure
// (scripts/test.sh installs them).
func need(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; scripts/test.sh installs it", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return path
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// The keygate binary the tests run, built once for the package.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// keygateBinary builds keygate the first time a test asks for it.
func keygateBinary(t *testing.T) string {
	t.Helper()
	goBin := need(t, "go")
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "keygate-cluster"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "keygate")
		out, err := exec.Command(goBin, "build", "-o", binPath, "github.com/keygate/keygate/cmd/keygate").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// start runs cmd until the test ends.
func start(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}

// startCluster starts a Redis and three keygate serve processes sharing
// it, each with the deployment /api of spec and the gateway file's extra
// (YAML after the deployments), and returns their URLs of /api/r.
func startCluster(t *testing.T, spec, extra string) []string {
	t.Helper()
	redisBin := need(t, "redis-server")
	dir := t.TempDir()
	bin := keygateBinary(t)
	redisPort := freePort(t)
	start(t, exec.Command(redisBin, "--port", redisPort, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir))
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	var replicas []string
	for i := range 3 {
		cfg := fmt.Sprintf("listen: 127.0.0.1:0\nsharedState: {redis: {url: \"redis://127.0.0.1:%s/0\", timeoutMillis: 500}}\n"+
			"deployments:\n  - pathPrefix: /api\n    specificationFile: spec.json\n", redisPort) + extra
		file := filepath.Join(dir, fmt.Sprintf("gateway%d.yaml", i))
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "serve", "--config", file, "--no-access-log")
		stderr, _ := cmd.StderrPipe()
		start(t, cmd)
		replicas = append(replicas, "http://"+listenAddr(t, stderr)+"/api/r")
	}
	return replicas
}

// TestClusterSharesTheRateLimit: three keygate processes sharing one Redis
// admit, together, what one deployment's rateLimiting allows (within 5 %),
// not three times it.
func TestClusterSharesTheRateLimit(t *testing.T) {
	const rate = 50
	spec := fmt.Sprintf(`{"requestPolicies": {"rateLimiting": {"rateInRequestsPerSecond": %d, "rateKey": "TOTAL"}},
 "routes": [{"path": "/r", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200}}]}`, rate)
	replicas := startCluster(t, spec, "")

	// Eight clients for 4 s, each round-robin over the replicas, as fast as
	// they are answered.
	const duration = 4 * time.Second
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	begin := time.Now()
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 2 * time.Second}
			for i := c; ctx.Err() == nil; i++ {
				resp, err := client.Get(replicas[i%len(replicas)])
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					admitted.Add(1)
				case http.StatusTooManyRequests:
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	// A full bucket (one second's worth) and then the rate.
	want := float64(rate) + rate*elapsed.Seconds()
	got := float64(admitted.Load())
	t.Logf("%d admitted, %d refused in %v by 3 replicas; the limit allows %.0f", admitted.Load(), refused.Load(), elapsed, want)
	if refused.Load() == 0 {
		t.Fatal("nothing refused: the clients did not reach the limit")
	}
	if got < want*0.95 || got > want*1.05 {
		t.Errorf("admitted %.0f, want %.0f within 5%%: the replicas do not share the limit", got, want)
	}
}

// listenAddr reads a serve process's JSON log until it says where it
// listens, then keeps draining it.
func listenAddr(t *testing.T, stderr io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m struct{ Message, Address string }
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.Message == "listening" {
				select {
				case found <- m.Address:
				default:
				}
			}
		}
	}()
	select {
	case addr := <-found:
		return addr
	case <-time.After(30 * time.Second):
		t.Fatal("a replica did not start")
	}
	return ""
}
