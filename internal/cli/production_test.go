package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// adminGet fetches an admin endpoint and returns status and body.
func adminGet(t *testing.T, p *servedGateway, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + p.admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminMetricsAndProbes(t *testing.T) {
	k := newRotationKey(t, "k")
	file := filepath.Join(t.TempDir(), "spec.json")
	writeSpec(t, file, rotationSpec(t, "ok", staticKeys(t, k)))
	p := startServeProcess(t, nil, "--spec", file, "--path-prefix", "/p", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	defer p.stop()

	if code, body := adminGet(t, p, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, _ := adminGet(t, p, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d, want 200", code)
	}
	if code, _ := adminGet(t, p, "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without --pprof = %d, want 404", code)
	}
	stranger := newRotationKey(t, "stranger")
	valid := k.token(t)
	get(t, p.base+"/p/r", valid)
	get(t, p.base+"/p/r", valid) // the second is a cache hit
	get(t, p.base+"/p/r", "")
	get(t, p.base+"/p/r", stranger.token(t))
	get(t, p.base+"/p/nothing", "")

	_, metrics := adminGet(t, p, "/metrics")
	for _, want := range []string{
		`keygate_requests_total{deployment="/p",method="GET",route="/r",status="200"} 2`,
		`keygate_requests_total{deployment="/p",method="GET",route="/r",status="401"} 2`,
		`keygate_requests_total{deployment="/p",method="GET",route="",status="404"} 1`,
		`keygate_auth_decisions_total{deployment="/p",outcome="allow",reason="valid_token",stage="authentication"} 2`,
		`keygate_auth_decisions_total{deployment="/p",outcome="deny",reason="missing_token",stage="authentication"} 1`,
		`keygate_auth_decisions_total{deployment="/p",outcome="deny",reason="unknown_kid",stage="authentication"} 1`,
		`keygate_config_reloads_total{result="success"} 0`, // start-up is no reload
		`keygate_config_info{version="`,
		`keygate_token_cache_lookups_total{result="hit"} 1`,
		`keygate_token_cache_lookups_total{result="miss"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestReadinessWaitsForRemoteKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "spec.json")
	writeSpec(t, file, rotationSpec(t, "ok", map[string]any{"type": "REMOTE_JWKS", "uri": "http://" + closedPort(t) + "/jwks"}))
	p := startServeProcess(t, nil, "--spec", file, "--path-prefix", "/p", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	defer p.stop()
	if code, body := adminGet(t, p, "/readyz"); code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "keys not loaded\n") || !strings.Contains(body, "/jwks not loaded") {
		t.Errorf("/readyz with an unreachable JWKS = %d %q, want 503", code, body)
	}
	if code, _ := adminGet(t, p, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200: the process is alive", code)
	}
	// The first fetch fails in the background: wait for it to be counted.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, metrics := adminGet(t, p, "/metrics")
		if strings.Contains(metrics, `keygate_jwks_fetches_total{result="failed",uri="http://`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics does not count the failed JWKS fetch")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestGracefulShutdown: a client sending continuously while SIGTERM arrives
// sees every request it got an answer to succeed, and connections refused
// only after readiness turned false.
func TestGracefulShutdown(t *testing.T) {
	k := newRotationKey(t, "k")
	slowBackend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second)
		_, _ = io.WriteString(w, "slow but complete")
	}))
	defer slowBackend.Close()
	var spec map[string]any
	if err := json.Unmarshal(rotationSpec(t, "ok", staticKeys(t, k)), &spec); err != nil {
		t.Fatal(err)
	}
	spec["routes"] = append(spec["routes"].([]any), map[string]any{"path": "/slow",
		"backend": map[string]any{"type": "HTTP_BACKEND", "url": slowBackend.URL + "/slow"}})
	data, _ := json.Marshal(spec)
	file := filepath.Join(t.TempDir(), "spec.json")
	writeSpec(t, file, data)
	p := startServeProcess(t, nil, "--spec", file, "--path-prefix", "/p", "--listen", "127.0.0.1:0",
		"--admin", "127.0.0.1:0", "--shutdown-delay", "400ms", "--no-access-log")
	tok := k.token(t)

	var notReadyAt atomic.Int64
	var firstRefusedAt atomic.Int64
	var failures, clientErrors atomic.Int64
	var served atomic.Int64
	var wg sync.WaitGroup
	stopClients := make(chan struct{})
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: i == 0}, Timeout: 5 * time.Second}
			for {
				select {
				case <-stopClients:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, p.base+"/p/r", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					if errors.Is(err, syscall.ECONNREFUSED) {
						firstRefusedAt.CompareAndSwap(0, time.Now().UnixNano())
						return
					}
					// Any other error while the instance still says ready is a
					// request it dropped. Once readiness is off a load balancer
					// sends nothing more; this client may still race the
					// listener's close (a connection left in the accept
					// backlog is reset), which is what the delay is for.
					if notReadyAt.Load() == 0 {
						t.Logf("client error while ready: %v", err)
						clientErrors.Add(1)
					}
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
				served.Add(1)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	// A request in flight when SIGTERM arrives completes.
	type slowResult struct {
		code int
		body string
		err  error
	}
	slow := make(chan slowResult, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, p.base+"/p/slow", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			slow <- slowResult{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- slowResult{code: resp.StatusCode, body: string(b), err: err}
	}()
	time.Sleep(200 * time.Millisecond) // the slow request is at the backend
	stopped := make(chan int, 1)
	go func() { stopped <- p.stop() }()
	for notReadyAt.Load() == 0 {
		if code, _ := adminGet(t, p, "/readyz"); code == http.StatusServiceUnavailable {
			notReadyAt.Store(time.Now().UnixNano())
		}
	}
	if code := <-stopped; code != exitOK {
		t.Fatalf("serve exited %d", code)
	}
	close(stopClients)
	wg.Wait()
	if r := <-slow; r.err != nil || r.code != http.StatusOK || r.body != "slow but complete" {
		t.Errorf("request in flight at SIGTERM: %d %q %v, want 200 and the whole body", r.code, r.body, r.err)
	}
	if failures.Load() != 0 || clientErrors.Load() != 0 {
		t.Fatalf("%d of %d answered requests were not 200; %d requests failed", failures.Load(), served.Load(), clientErrors.Load())
	}
	if firstRefusedAt.Load() == 0 {
		t.Fatal("no connection was refused after shutdown")
	}
	if firstRefusedAt.Load() < notReadyAt.Load() {
		t.Fatal("connections were refused before readiness turned false")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and returns its pool.
func writeCert(t *testing.T, certFile, keyFile, cn string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	writeSpec(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeSpec(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

func TestTLSListener(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	pool := writeCert(t, certFile, keyFile, "first")
	k := newRotationKey(t, "k")
	file := filepath.Join(dir, "spec.json")
	writeSpec(t, file, rotationSpec(t, "ok", staticKeys(t, k)))
	p := startServeProcess(t, nil, "--spec", file, "--path-prefix", "/p", "--listen", "127.0.0.1:0",
		"--tls-cert", certFile, "--tls-key", keyFile)
	defer p.stop()
	url := strings.Replace(p.base, "http://", "https://", 1) + "/p/r"

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+k.token(t))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/2.0" {
		t.Errorf("got %d over %s, want 200 over HTTP/2.0", resp.StatusCode, resp.Proto)
	}
	old := &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}
	if _, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: old}}).Get(url); err == nil {
		t.Error("a TLS 1.1 client was served; the minimum is TLS 1.2")
	}

	// A renewed certificate is served without a restart.
	newPool := writeCert(t, certFile, keyFile, "second")
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(p.base, "http://"), &tls.Config{RootCAs: newPool})
		if err == nil {
			cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName
			conn.Close()
			if cn == "second" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not picked up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(certFile); err != nil {
		t.Fatal(err)
	}
}

func TestPprofOnlyWhenAsked(t *testing.T) {
	k := newRotationKey(t, "k")
	file := filepath.Join(t.TempDir(), "spec.json")
	writeSpec(t, file, rotationSpec(t, "ok", staticKeys(t, k)))
	p := startServeProcess(t, nil, "--spec", file, "--path-prefix", "/p", "--listen", "127.0.0.1:0",
		"--admin", "127.0.0.1:0", "--pprof")
	defer p.stop()
	if code, body := adminGet(t, p, "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ with --pprof = %d, want 200 with the profile index", code)
	}
	if code, _ := get(t, p.base+"/debug/pprof/", ""); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ on the main listener = %d, want 404: profiles are admin-only", code)
	}
}
