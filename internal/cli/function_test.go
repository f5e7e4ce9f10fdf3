package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nodeFunctionDir is the Node Fn function test/functions/<name>, its
// dependencies installed by scripts/test.sh. Without node the test skips
// on a dev machine and fails in CI.
func nodeFunctionDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("../../test/functions", name))
	if err != nil {
		t.Fatal(err)
	}
	_, nodeErr := exec.LookPath("node")
	_, fdkErr := os.Stat(filepath.Join(dir, "node_modules/@fnproject/fdk/fn-fdk.js"))
	if nodeErr != nil || fdkErr != nil {
		msg := "the Node Fn function needs node and its npm dependencies: run scripts/test.sh (it runs npm ci in " + dir + ")"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// socketDir is a temporary directory under /tmp, removed after the test:
// a unix socket's path must stay short, which t.TempDir's may not.
func socketDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// functionCall is one request to a gateway with a function backend.
type functionCall struct {
	status int
	header http.Header
	body   string
}

func callFunction(t *testing.T, method, url string, body string, header map[string]string) functionCall {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return functionCall{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// TestServeNodeFunction runs the Node FDK function unchanged behind keygate
// serve, started and supervised by keygate (command: + listener:), as the
// backend of a real spec, next to a plain HTTP function behind url:.
func TestServeNodeFunction(t *testing.T) {
	fnDir := nodeFunctionDir(t, "node-echo")
	sockDir := socketDir(t, "kgfn")
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Plain-Url", r.URL.RequestURI())
		w.Header().Set("X-Plain-Method", r.Method)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "plain")
	}))
	defer plain.Close()

	dir := t.TempDir()
	spec := `{"routes": [
	  {"path": "/echo", "methods": ["GET", "POST", "PUT"],
	   "requestPolicies": {"headerTransformations": {"setHeaders": {"items": [{"name": "X-From-Gateway", "values": ["yes"]}]}}},
	   "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "ocid1.fnfunc.oc1.phx.echo"}},
	  {"path": "/plain/{rest*}", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "plain-fn"}}]}`
	writeTestFile(t, filepath.Join(dir, "spec.json"), spec)
	gatewayFile := filepath.Join(dir, "gateway.yaml")
	writeTestFile(t, gatewayFile, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  - id: ocid1.fnfunc.oc1.phx.echo
    listener: unix:%s/echo.sock
    command: [node, func.js]
    dir: %s
    timeoutMillis: 1500
  - id: plain-fn
    url: %s/base
deployments:
  - pathPrefix: /api
    specificationFile: spec.json
`, sockDir, fnDir, plain.URL))
	p := startServeProcess(t, nil, "--config", gatewayFile)
	stopped := false
	defer func() {
		if !stopped {
			p.stop()
		}
	}()

	t.Run("round trip", func(t *testing.T) {
		got := callFunction(t, "POST", p.base+"/api/echo?x=1&y=a%20b", `{"hello":"fn"}`,
			map[string]string{"Content-Type": "application/json", "X-Want-Status": "201", "X-Test": "42"})
		if got.status != 201 {
			t.Fatalf("status %d, want 201\n%s\n%s", got.status, got.body, p.logs.String())
		}
		for _, c := range []struct{ name, want string }{
			{"X-Fn-Method", "POST"},
			{"X-Fn-Url", "/api/echo?x=1&y=a%20b"},
			{"X-Fn-Id", "ocid1.fnfunc.oc1.phx.echo"},
			{"Content-Type", "application/json"},
		} {
			if v := got.header.Get(c.name); v != c.want {
				t.Errorf("%s = %q, want %q", c.name, v, c.want)
			}
		}
		if v := got.header.Values("X-Fn-Multi"); strings.Join(v, ",") != "one,two" {
			t.Errorf("X-Fn-Multi = %q, want one, two", v)
		}
		if got.header.Get("X-Fn-Call-Id") == "" || got.header.Get("Opc-Request-Id") == "" {
			t.Errorf("no call id or request id: %v", got.header)
		}
		deadline, err := time.Parse(time.RFC3339, got.header.Get("X-Fn-Deadline"))
		if err != nil || time.Until(deadline) > 2500*time.Millisecond || time.Until(deadline) < -time.Second {
			t.Errorf("the function's deadline %q (%v), want the 1.5 s timeout (rounded up to the second)", got.header.Get("X-Fn-Deadline"), err)
		}
		var echo struct {
			Method, URL, Body, ContentType string
			Headers                        map[string][]string
		}
		if err := json.Unmarshal([]byte(got.body), &echo); err != nil {
			t.Fatalf("body %q: %v", got.body, err)
		}
		if echo.Body != `{"hello":"fn"}` || echo.ContentType != "application/json" || echo.Method != "POST" {
			t.Errorf("the function got %+v", echo)
		}
		for name, want := range map[string]string{"X-Test": "42", "X-From-Gateway": "yes", "Content-Type": "application/json"} {
			if v := echo.Headers[name]; len(v) != 1 || v[0] != want {
				t.Errorf("the function got header %s = %q, want %q", name, v, want)
			}
		}
	})
	t.Run("GET with query", func(t *testing.T) {
		got := callFunction(t, "GET", p.base+"/api/echo?q=%2Fslash", "", nil)
		if got.status != 200 || got.header.Get("X-Fn-Method") != "GET" || got.header.Get("X-Fn-Url") != "/api/echo?q=%2Fslash" {
			t.Errorf("got %d %v", got.status, got.header)
		}
	})
	t.Run("plain url function", func(t *testing.T) {
		got := callFunction(t, "PUT", p.base+"/api/plain/a/b?z=9", "x", nil)
		if got.status != 202 || got.body != "plain" || got.header.Get("X-Plain-Url") != "/base/api/plain/a/b?z=9" || got.header.Get("X-Plain-Method") != "PUT" {
			t.Errorf("got %d %q %v", got.status, got.body, got.header)
		}
	})
	t.Run("timeout is 504", func(t *testing.T) {
		start := time.Now()
		got := callFunction(t, "GET", p.base+"/api/echo", "", map[string]string{"X-Sleep-Ms": "4000"})
		if got.status != 504 || time.Since(start) > 3*time.Second {
			t.Errorf("got %d after %v, want 504 after the 1.5 s timeout", got.status, time.Since(start))
		}
	})
	t.Run("exception is 502", func(t *testing.T) {
		if got := callFunction(t, "GET", p.base+"/api/echo", "", map[string]string{"X-Throw": "1"}); got.status != 502 {
			t.Errorf("got %d, want 502", got.status)
		}
	})
	var pid int
	t.Run("crash restarts", func(t *testing.T) {
		before := callFunction(t, "GET", p.base+"/api/echo", "", nil).header.Get("X-Fn-Pid")
		if got := callFunction(t, "GET", p.base+"/api/echo", "", map[string]string{"X-Exit": "1"}); got.status != 502 {
			t.Errorf("the request that crashed the function: %d, want 502", got.status)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			got := callFunction(t, "GET", p.base+"/api/echo", "", nil)
			if got.status == 200 {
				after := got.header.Get("X-Fn-Pid")
				if after == before {
					t.Errorf("same pid %s after the crash", after)
				}
				pid, _ = strconv.Atoi(after)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no answer after the crash: %d\n%s", got.status, p.logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	logs := p.logs.String()
	for _, want := range []string{`"function":"ocid1.fnfunc.oc1.phx.echo"`, `"line":"echo POST /api/echo?x=1`,
		`"code":"functionBackend.timeout"`, `"code":"functionBackend.badGateway"`, "function process exited; restarting"} {
		if !strings.Contains(logs, want) {
			t.Errorf("keygate's log has no %s", want)
		}
	}
	if code := p.stop(); code != exitOK {
		t.Errorf("serve exited %d", code)
	}
	stopped = true
	if pid != 0 {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("the function's process %d is still there after shutdown (kill 0: %v)", pid, err)
		}
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTokenVerifyNamesFunction: offline, the request's function is named,
// never called (nothing listens on its socket, and no process starts).
func TestTokenVerifyNamesFunction(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "spec.json"), `{"routes": [
	  {"path": "/f", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "ocid1.fnfunc.oc1..f"}},
	  {"path": "/d", "backend": {"type": "DYNAMIC_ROUTING_BACKEND",
	    "selectionSource": {"type": "SINGLE", "selector": "request.query[v]"},
	    "routingBackends": [{"key": {"type": "ANY_OF", "name": "two", "values": ["2"]},
	      "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "ocid1.fnfunc.oc1..f"}},
	      {"key": {"type": "ANY_OF", "name": "rest", "isDefault": true},
	      "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 204}}]}}]}`)
	marker := filepath.Join(dir, "started")
	gw := filepath.Join(dir, "gateway.yaml")
	writeTestFile(t, gw, `functions:
  - id: ocid1.fnfunc.oc1..f
    listener: unix:`+dir+`/f.sock
    command: [touch, `+marker+`]
deployments:
  - pathPrefix: /v1
    specificationFile: spec.json
`)
	out := mustCLI(t, "token", "verify", "--config", gw, "--request", "GET /v1/f")
	if !strings.Contains(out, "ocid1.fnfunc.oc1..f (not called offline") {
		t.Errorf("output:\n%s", out)
	}
	out = mustCLI(t, "token", "verify", "--config", gw, "--request", "GET /v1/d?v=2")
	if !strings.Contains(out, "routing key") || !strings.Contains(out, "two") || !strings.Contains(out, "ocid1.fnfunc.oc1..f (not called offline") {
		t.Errorf("output:\n%s", out)
	}
	out = mustCLI(t, "token", "verify", "--config", gw, "--request", "GET /v1/d?v=9")
	if !strings.Contains(out, "rest (default)") || !strings.Contains(out, "STOCK_RESPONSE_BACKEND 204") {
		t.Errorf("output:\n%s", out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("token verify started the function's command")
	}
}

// TestServeFunctionReload: across a reload, an unchanged function keeps its
// process, a changed one is restarted, a removed one is stopped.
func TestServeFunctionReload(t *testing.T) {
	fnDir := nodeFunctionDir(t, "node-echo")
	sockDir := socketDir(t, "kgfn")
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "spec.json"), `{"routes": [
	  {"path": "/a", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "a"}},
	  {"path": "/b", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "b"}}]}`)
	entry := func(id string, timeout int) string {
		return fmt.Sprintf("  - id: %s\n    listener: unix:%s/%s.sock\n    command: [node, func.js]\n    dir: %s\n    timeoutMillis: %d\n",
			id, sockDir, id, fnDir, timeout)
	}
	gatewayFile := filepath.Join(dir, "gateway.yaml")
	write := func(functions, spec string) {
		writeTestFile(t, filepath.Join(dir, "spec.json"), spec)
		writeTestFile(t, gatewayFile, "listen: 127.0.0.1:0\nfunctions:\n"+functions+"deployments:\n  - pathPrefix: /api\n    specificationFile: spec.json\n")
	}
	bothRoutes := `{"routes": [
	  {"path": "/a", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "a"}},
	  {"path": "/b", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "b"}}]}`
	write(entry("a", 5000)+entry("b", 5000), bothRoutes)
	hup := make(chan os.Signal, 1)
	p := startServeProcess(t, hup, "--config", gatewayFile)
	defer p.stop()
	pid := func(path string) int {
		got := callFunction(t, "GET", p.base+path, "", nil)
		n, _ := strconv.Atoi(got.header.Get("X-Fn-Pid"))
		if got.status != 200 || n == 0 {
			t.Fatalf("%s: %d %q\n%s", path, got.status, got.body, p.logs.String())
		}
		return n
	}
	reloads := func() int { return strings.Count(p.logs.String(), "configuration reloaded") }
	reload := func() {
		before := reloads()
		hup <- syscall.SIGHUP
		for deadline := time.Now().Add(10 * time.Second); reloads() == before; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no reload\n%s", p.logs.String())
			}
		}
	}
	pidA, pidB := pid("/api/a"), pid("/api/b")

	write(entry("a", 5000)+entry("b", 4000), bothRoutes)
	reload()
	if got := pid("/api/a"); got != pidA {
		t.Errorf("unchanged function a: pid %d, want %d kept", got, pidA)
	}
	newB := pid("/api/b")
	if newB == pidB || syscall.Kill(pidB, 0) == nil {
		t.Errorf("changed function b: pid %d (old %d still there: %v), want a new process", newB, pidB, syscall.Kill(pidB, 0) == nil)
	}

	write(entry("a", 5000), `{"routes": [{"path": "/a", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "a"}}]}`)
	reload()
	if err := syscall.Kill(newB, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("removed function b: process %d still there", newB)
	}
	if got := pid("/api/a"); got != pidA {
		t.Errorf("function a after b's removal: pid %d, want %d", got, pidA)
	}
}
