package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// TestSeedWithOpenSSL runs the user's document end to end: the key pair
// made with the seed's exact openssl commands, the public key pasted into a
// spec as PEM, `keygate serve`, and a token signed with private_key.key.
func TestSeedWithOpenSSL(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"genrsa", "-out", "keys.pem", "2048"},
		{"rsa", "-in", "keys.pem", "-pubout", "-out", "public_key.crt"},
		{"pkcs8", "-topk8", "-inform", "PEM", "-outform", "PEM", "-nocrypt", "-in", "keys.pem", "-out", "private_key.key"},
	} {
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s (scripts/test.sh installs openssl)", strings.Join(args, " "), err, out)
		}
	}
	pub := readFile(t, filepath.Join(dir, "public_key.crt"))
	priv, err := keys.ParsePrivatePEM(readFile(t, filepath.Join(dir, "private_key.key")))
	if err != nil {
		t.Fatal(err)
	}

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "backend reached at "+r.URL.Path)
	}))
	defer backend.Close()
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"issuers": []string{"suitable_issuer"}, "audiences": []string{"suitable_audience"},
			"publicKeys": map[string]any{"type": "STATIC_KEYS", "keys": []any{
				map[string]any{"format": "PEM", "kid": "suitable_name", "key": string(pub)},
			}},
		}},
		"routes": []any{map[string]any{
			"path": "/1", "methods": []string{"POST"},
			"backend":         map[string]any{"type": "HTTP_BACKEND", "url": backend.URL + "/api/1"},
			"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANY_OF", "allowedScope": []string{"Desired_scopes"}}},
		}},
	}
	specFile := filepath.Join(dir, "deployment.json")
	data, _ := json.Marshal(spec)
	if err := os.WriteFile(specFile, data, 0o644); err != nil {
		t.Fatal(err)
	}

	base, logs := startServe(t, "--spec", specFile, "--path-prefix", "/test3", "--listen", "127.0.0.1:0")
	now := time.Now()
	claims := map[string]any{"sub": "suitable_subject", "iss": "suitable_issuer", "aud": []string{"suitable_audience"},
		"scope": "Desired_scopes other", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	good, err := token.Sign(priv, "suitable_name", "RS256", claims)
	if err != nil {
		t.Fatal(err)
	}
	wrongKID, _ := token.Sign(priv, "other_name", "RS256", claims)

	tests := []struct {
		name       string
		token      string
		wantStatus int
		wantBody   string
		wantLog    string
	}{
		{"seed token reaches the backend", good, http.StatusOK, "backend reached at /api/1", ""},
		{"unknown kid is named in the log", wrongKID, http.StatusUnauthorized, `{"code":401,"message":"Unauthorized"}`, `"reason":"unknown_kid"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, base+"/test3/1", nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || strings.TrimSpace(string(body)) != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantLog != "" && !logs.waitFor(tt.wantLog) {
				t.Errorf("log has no %s:\n%s", tt.wantLog, logs.String())
			}
			if strings.Contains(logs.String(), tt.token) {
				t.Error("the log holds the token")
			}
		})
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lockedLog collects a server's stderr.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor reports whether s appears in the log within a second (the log
// line of a rejection is written after the response).
func (l *lockedLog) waitFor(s string) bool {
	for i := 0; i < 100; i++ {
		if strings.Contains(l.String(), s) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// startServe runs `keygate serve args...` in-process until the test ends
// and returns the base URL it listens on and its log.
func startServe(t *testing.T, args ...string) (string, *lockedLog) {
	t.Helper()
	return startServeHUP(t, nil, args...)
}

// startServeHUP is startServe with a channel standing in for SIGHUP.
func startServeHUP(t *testing.T, hup <-chan os.Signal, args ...string) (string, *lockedLog) {
	t.Helper()
	p := startServeProcess(t, hup, args...)
	t.Cleanup(func() {
		if code := p.stop(); code != exitOK {
			t.Errorf("serve exited %d, want 0\n%s", code, p.logs.String())
		}
	})
	return p.base, p.logs
}

// servedGateway is `keygate serve` running in-process.
type servedGateway struct {
	base  string // http://host:port of the main listener
	admin string // host:port of the admin listener, if any
	logs  *lockedLog
	// stop cancels serve's context (SIGTERM) and returns its exit code.
	stop func() int
}

// startServeProcess starts serve and waits until it listens. The caller stops it.
func startServeProcess(t *testing.T, hup <-chan os.Signal, args ...string) *servedGateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	p := &servedGateway{logs: &lockedLog{}}
	done := make(chan int, 1)
	go func() {
		done <- serveCommand(ctx, &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: pw}, args, hup)
		pw.Close()
	}()
	var once sync.Once
	code := 0
	p.stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	addr := make(chan string, 1)
	go scanServeLog(pr, p, addr)
	select {
	case a := <-addr:
		p.base = "http://" + a
		return p
	case c := <-done:
		t.Fatalf("serve exited %d before listening\n%s", c, p.logs.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not start\n%s", p.logs.String())
	}
	return nil
}

// scanServeLog copies serve's log lines and picks up the listen addresses.
func scanServeLog(r io.Reader, p *servedGateway, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var m struct{ Message, Address string }
		if json.Unmarshal([]byte(line), &m) == nil {
			switch m.Message {
			case "admin listening":
				// Logged before "listening": the send on addr publishes it.
				p.admin = m.Address
			case "listening":
				addr <- m.Address
			}
		}
		_, _ = p.logs.Write([]byte(line + "\n"))
	}
	_, _ = io.Copy(io.Discard, r)
}
