package agent

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func newClock() *fakeClock               { return &fakeClock{now: time.Unix(1_000_000, 0)} }
func discard() *slog.Logger              { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func tokenAt(n int, now time.Time) string {
	return "tok" + strconv.Itoa(n) + "@" + strconv.FormatInt(now.Unix(), 10)
}
func lifetime(now time.Time) time.Time             { return now.Add(30 * time.Second) }
func failing(time.Time) (string, time.Time, error) { return "", time.Time{}, errors.New("hsm gone") }

// TestSourceRenewsAheadAndFallsBack: a token is handed out until half of
// its life is left, then a new one is signed; if signing fails the old
// token serves until it expires, then ErrNoToken.
func TestSourceRenewsAheadAndFallsBack(t *testing.T) {
	clock := newClock()
	n := 0
	broken := false
	var delivered []string
	src, err := NewSource(Config{Now: clock.Now, Logger: discard(),
		Mint: func(now time.Time) (string, time.Time, error) {
			if broken {
				return failing(now)
			}
			n++
			return tokenAt(n, now), lifetime(now), nil
		},
		OnToken: func(tok string, _ time.Time) error { delivered = append(delivered, tok); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if src.Ready() {
		t.Error("Ready before any token")
	}
	first, err := src.Token()
	if err != nil || first != tokenAt(1, clock.Now()) {
		t.Fatalf("Token() = %q, %v", first, err)
	}
	clock.Add(14 * time.Second) // 16 s left: more than half
	if got, _ := src.Token(); got != first {
		t.Errorf("at 14 s got %q, want the first token still", got)
	}
	clock.Add(2 * time.Second) // 14 s left: due
	second, _ := src.Token()
	if second == first || second != tokenAt(2, clock.Now()) {
		t.Errorf("at 16 s got %q, want a new token", second)
	}
	if !reflect.DeepEqual(delivered, []string{first, second}) {
		t.Errorf("OnToken got %q, want both tokens", delivered)
	}
	broken = true
	clock.Add(16 * time.Second) // due, signing fails, 14 s left
	if got, err := src.Token(); got != second || err != nil {
		t.Errorf("signing broken, token valid: got %q, %v; want the held token", got, err)
	}
	clock.Add(14 * time.Second) // expired
	if _, err := src.Token(); !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "hsm gone") {
		t.Errorf("signing broken, token expired: got %v, want ErrNoToken with the cause", err)
	}
	if src.Ready() {
		t.Error("Ready with an expired token")
	}
}

// TestProxyChangesOnlyAuthorization: method, path under the prefix, query,
// headers (the app's X-Forwarded-For too) and body reach upstream as the
// app sent them; Authorization is the agent's; Host is upstream's.
func TestProxyChangesOnlyAuthorization(t *testing.T) {
	type seen struct {
		method, uri, host, body string
		header                  http.Header
	}
	got := make(chan seen, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Host, string(b), r.Header.Clone()}
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(http.StatusTeapot)
	}))
	defer upstream.Close()
	u, err := ParseUpstream(upstream.URL + "/prefix")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := NewSource(Config{Mint: func(now time.Time) (string, time.Time, error) { return "T1", lifetime(now), nil }})
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	proxy := httptest.NewServer(NewProxy(u, src, nil, m, discard()))
	defer proxy.Close()

	req, _ := http.NewRequest(http.MethodPut, proxy.URL+"/a/b%2Fc?x=1&x=2&y", strings.NewReader("payload"))
	req.Header.Set("Authorization", "Basic the-apps-own")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Add("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Upstream") != "yes" {
		t.Errorf("response %d %v, want upstream's 418 and headers", resp.StatusCode, resp.Header)
	}
	s := <-got
	if s.method != http.MethodPut || s.uri != "/prefix/a/b%2Fc?x=1&x=2&y" || s.body != "payload" || s.host != u.Host {
		t.Errorf("upstream got %s %s host %s body %q; want PUT /prefix/a/b%%2Fc?x=1&x=2&y host %s body payload", s.method, s.uri, s.host, s.body, u.Host)
	}
	want := req.Header.Clone()
	want.Set("Authorization", "Bearer T1")
	for _, h := range []string{"Accept-Encoding", "User-Agent", "Content-Length"} {
		want[h] = s.header[h] // the client's transport adds these
	}
	if !reflect.DeepEqual(s.header, want) {
		t.Errorf("upstream headers\n%v\nwant\n%v", s.header, want)
	}
}

func TestProxyWithoutTokenSendsNothing(t *testing.T) {
	hit := false
	upstream := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true }))
	defer upstream.Close()
	u, _ := ParseUpstream(upstream.URL)
	src, _ := NewSource(Config{Mint: failing})
	proxy := httptest.NewServer(NewProxy(u, src, nil, nil, discard()))
	defer proxy.Close()
	resp, err := http.Get(proxy.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || hit {
		t.Errorf("got %d, upstream reached %v; want 503 and nothing sent", resp.StatusCode, hit)
	}
}

func TestParseUpstream(t *testing.T) {
	for _, bad := range []string{"ftp://h", "http://", "https://u:p@h", "http://h/p?q=1", "h:80/x"} {
		if _, err := ParseUpstream(bad); err == nil {
			t.Errorf("ParseUpstream(%q): got nil error", bad)
		}
	}
	if _, err := ParseUpstream("https://gateway.example.com:8443/test3"); err != nil {
		t.Error(err)
	}
}

// TestWriteFile: the token and a newline, mode 0600 even over a file that
// was world-readable, and no temporary file left.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "token")
	if err := os.WriteFile(name, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(name, "new.token.sig"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(name)
	info, _ := os.Stat(name)
	entries, _ := os.ReadDir(dir)
	if string(data) != "new.token.sig\n" || info.Mode().Perm() != 0o600 || len(entries) != 1 {
		t.Errorf("got %q mode %v, %d files; want the token, 0600, one file", data, info.Mode().Perm(), len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "token"), "t"); err == nil {
		t.Error("WriteFile into a missing directory: got nil error")
	}
}

func TestAdminProbes(t *testing.T) {
	clock := newClock()
	broken := true
	src, _ := NewSource(Config{Now: clock.Now, Mint: func(now time.Time) (string, time.Time, error) {
		if broken {
			return failing(now)
		}
		return "T", lifetime(now), nil
	}})
	reg := prometheus.NewRegistry()
	cfgMetrics := NewMetrics(reg)
	src.cfg.Metrics = cfgMetrics
	admin := httptest.NewServer(AdminHandler(src, reg))
	defer admin.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_ = src.Refresh()
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz without a token = %d, want 503", code)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", code)
	}
	broken = false
	_ = src.Refresh()
	clock.Add(10 * time.Second)
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with a token = %d, want 200", code)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{"keygate_agent_tokens_signed_total 1", "keygate_agent_sign_failures_total 1", "keygate_agent_token_expiry_seconds 20"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestSlowDeliveryDoesNotHoldUpTokens: a token file on a slow disk must not
// keep a request waiting for its token.
func TestSlowDeliveryDoesNotHoldUpTokens(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	n := 0
	src, _ := NewSource(Config{
		Mint:    func(now time.Time) (string, time.Time, error) { n++; return tokenAt(n, now), lifetime(now), nil },
		OnToken: func(string, time.Time) error { <-release; return nil },
	})
	go func() { _ = src.Refresh() }() // blocks in OnToken
	deadline := time.Now().Add(2 * time.Second)
	for !src.Ready() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { _, err := src.Token(); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("Token() waited for OnToken")
	}
}

// TestProxyUpstreamDown: an upstream that refuses connections is a 502,
// counted.
func TestProxyUpstreamDown(t *testing.T) {
	upstream := httptest.NewServer(http.NotFoundHandler())
	u, _ := ParseUpstream(upstream.URL)
	upstream.Close()
	src, _ := NewSource(Config{Mint: func(now time.Time) (string, time.Time, error) { return "T", lifetime(now), nil }})
	reg := prometheus.NewRegistry()
	proxy := httptest.NewServer(NewProxy(u, src, nil, NewMetrics(reg), discard()))
	defer proxy.Close()
	resp, err := http.Get(proxy.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("got %d, want 502", resp.StatusCode)
	}
	families, _ := reg.Gather()
	found := false
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if f.GetName() == "keygate_agent_requests_total" && m.GetLabel()[0].GetValue() == "502" && m.GetCounter().GetValue() == 1 {
				found = true
			}
		}
	}
	if !found {
		t.Error(`keygate_agent_requests_total{code="502"} is not 1`)
	}
}
