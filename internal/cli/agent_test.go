package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/hsm/softhsmtest"
)

// startAgent runs `keygate agent args...` in-process and waits until it
// listens (the proxy's address in base, the admin's in admin). stop stands
// for SIGTERM and returns the exit code.
func startAgent(t *testing.T, args ...string) *servedGateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	p := &servedGateway{logs: &lockedLog{}}
	done := make(chan int, 1)
	go func() {
		done <- agentCommand(ctx, &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: pw, getenv: os.Getenv}, args)
		pw.Close()
	}()
	var once sync.Once
	code := 0
	p.stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { p.stop() })
	addr := make(chan string, 1)
	go scanServeLog(pr, p, addr)
	select {
	case a := <-addr:
		p.base = "http://" + a
		return p
	case c := <-done:
		t.Fatalf("agent exited %d before listening\n%s", c, p.logs.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("agent did not start\n%s", p.logs.String())
	}
	return nil
}

// agentFixture is a running gateway with the seed's deployment, a backend
// behind it and a client key the deployment trusts.
type agentFixture struct {
	dir, gateway, keySource string
	gatewayLog              *lockedLog
	// backendAuth counts requests the backend got; slow makes it sleep.
	backendHits atomic.Int64
}

func newAgentFixture(t *testing.T, keySource string, jwk map[string]any) *agentFixture {
	t.Helper()
	f := &agentFixture{dir: t.TempDir(), keySource: keySource}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.backendHits.Add(1)
		if d, err := time.ParseDuration(r.Header.Get("X-Sleep")); err == nil {
			time.Sleep(d)
		}
		body, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.URL.RawQuery+"|"+r.Header.Get("X-App")+"|"+string(body))
	}))
	t.Cleanup(backend.Close)
	f.gateway, f.gatewayLog = startServe(t, "--spec", writeSeedSpec(t, f.dir, jwk, backend.URL), "--path-prefix", "/test3", "--listen", "127.0.0.1:0", "--no-access-log")
	return f
}

// post sends one request through the proxy the way an app would and
// returns the status and body.
func post(t *testing.T, url, body string, header map[string]string) (int, string) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAgentAcrossTokenLifetimes runs the agent with 2 s tokens in front of
// a running gateway: several clients send continuously through the proxy
// for more than three token lifetimes and every request must come back
// 200 from the backend; the --out file always holds a token the gateway
// accepts, mode 0600, and each renewal brings a new token with its own jti;
// /readyz and /metrics say so; SIGTERM lets a slow request in flight
// finish.
func TestAgentAcrossTokenLifetimes(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "keys", "generate", "--type", "ec", "--out", filepath.Join(dir, "client"))
	f := newAgentFixture(t, filepath.Join(dir, "client.key"), decodeJWK(t, mustCLI(t, "jwk", "--oci", "--kid", "suitable_name", filepath.Join(dir, "client.pub"))))
	runAgentAcrossLifetimes(t, f)
}

// TestAgentWithHSMKey is the same with the key inside a SoftHSM2 token.
func TestAgentWithHSMKey(t *testing.T) {
	tok := softhsmtest.New(t, "agent")
	uri := tok.URI("client")
	mustCLI(t, "keys", "generate", "--pkcs11", uri)
	f := newAgentFixture(t, uri, decodeJWK(t, mustCLI(t, "jwk", "--oci", "--kid", "suitable_name", uri)))
	runAgentAcrossLifetimes(t, f)
}

func runAgentAcrossLifetimes(t *testing.T, f *agentFixture) {
	out := filepath.Join(f.dir, "token")
	a := startAgent(t, "--key", f.keySource, "--kid", "suitable_name", "--iss", "suitable_issuer", "--aud", "suitable_audience",
		"--sub", "suitable_subject", "--scope", "Desired_scopes", "--ttl", "2s", "--jti",
		"--out", out, "--listen", "127.0.0.1:0", "--upstream", f.gateway+"/test3", "--admin", "127.0.0.1:0")

	const lifetimes = 3.5
	stopAt := time.Now().Add(time.Duration(lifetimes * float64(2*time.Second)))
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stopAt); i++ {
				body := strings.Repeat("x", i%50)
				code, got := post(t, a.base+"/1?n=1&n=2", body, map[string]string{"X-App": "app", "Authorization": "Basic app-own"})
				sent.Add(1)
				if want := "n=1&n=2|app|" + body; code != http.StatusOK || got != want {
					if failed.Add(1) <= 5 {
						t.Errorf("request %d: got %d %q, want 200 %q", i, code, got, want)
					}
				}
			}
		}()
	}
	// Meanwhile the --out file: always a token the gateway takes, 0600.
	jtis := map[string]bool{}
	for time.Now().Before(stopAt) {
		info, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("--out file mode %v, want 0600", info.Mode().Perm())
		}
		tokText := strings.TrimSpace(string(readFile(t, out)))
		jtis[jtiOf(t, tokText)] = true
		if code, body := post(t, f.gateway+"/test3/1", "", map[string]string{"Authorization": "Bearer " + tokText}); code != http.StatusOK {
			t.Errorf("the --out token: got %d %q from the gateway, want 200\n%s", code, body, f.gatewayLog.String())
		}
		time.Sleep(150 * time.Millisecond)
	}
	wg.Wait()
	if failed.Load() > 0 || sent.Load() < 50 {
		t.Fatalf("%d of %d requests through the agent failed (want none, and at least 50 sent)\n%s\ngateway:\n%s", failed.Load(), sent.Load(), a.logs.String(), f.gatewayLog.String())
	}
	if len(jtis) < 4 {
		t.Errorf("the --out file held %d distinct jtis over %.1f lifetimes; want renewals before each expiry", len(jtis), lifetimes)
	}
	if code, body := adminGet(t, a, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %q, want 200", code, body)
	}
	_, metrics := adminGet(t, a, "/metrics")
	for _, want := range []string{"keygate_agent_sign_failures_total 0", "keygate_agent_token_expiry_seconds ", `keygate_agent_requests_total{code="200"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, "keygate_agent_tokens_signed_total 1\n") || strings.Contains(a.logs.String(), strings.TrimSpace(string(readFile(t, out)))) {
		t.Errorf("tokens were not renewed, or a token was logged")
	}

	// SIGTERM with a slow request in flight: it still gets its 200.
	slow := make(chan int, 1)
	go func() {
		code, _ := post(t, a.base+"/1", "", map[string]string{"X-Sleep": "700ms"})
		slow <- code
	}()
	time.Sleep(200 * time.Millisecond)
	if code := a.stop(); code != exitOK {
		t.Errorf("agent exited %d on SIGTERM, want 0\n%s", code, a.logs.String())
	}
	if code := <-slow; code != http.StatusOK {
		t.Errorf("the request in flight at SIGTERM got %d, want 200", code)
	}
}

// jtiOf returns a compact JWT's jti claim.
func jtiOf(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("--out holds %q, not a JWT", jwt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ JTI string }
	if err := json.Unmarshal(payload, &c); err != nil || c.JTI == "" {
		t.Fatalf("token without jti: %s", payload)
	}
	return c.JTI
}

// TestAgentUsage: the agent refuses what would leak the identity or cannot
// work, before it signs anything.
func TestAgentUsage(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "client")
	mustCLI(t, "keys", "generate", "--type", "ec", "--out", key)
	base := []string{"agent", "--key", key + ".key", "--iss", "i", "--aud", "a"}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no way out", nil, exitUsage, "give --out FILE, --listen ADDR --upstream URL"},
		{"listen without upstream", []string{"--listen", "127.0.0.1:0"}, exitUsage, "give --listen and --upstream together"},
		{"listen beyond loopback", []string{"--listen", "0.0.0.0:0", "--upstream", "http://127.0.0.1:1"}, exitUsage, "not a loopback address"},
		{"bad upstream", []string{"--listen", "127.0.0.1:0", "--upstream", "ftp://gw"}, exitUsage, `scheme "ftp" is not http or https`},
		{"renew-before beyond ttl", []string{"--out", filepath.Join(dir, "t"), "--ttl", "1m", "--renew-before", "2m"}, exitUsage, "want less than --ttl"},
		{"key from stdin", []string{"--out", filepath.Join(dir, "t"), "--key", "-"}, exitUsage, "runs without stdin"},
		{"fixed exp", []string{"--out", filepath.Join(dir, "t"), "--claim", "exp=1"}, exitFail, "claim exp: the agent sets it"},
		{"fixed jti", []string{"--out", filepath.Join(dir, "t"), "--claim", "jti=x"}, exitFail, "claim jti"},
		{"public key", []string{"--out", filepath.Join(dir, "t"), "--key", key + ".pub"}, exitFail, "this is a public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runCLI(t, "", append(append([]string{}, base...), tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}
