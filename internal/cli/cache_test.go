package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startPasswordRedis starts redis-server on a free loopback port with a
// user "gw" whose password is password (and no default user), and stops
// it when the test ends.
func startPasswordRedis(t *testing.T, password string) string {
	t.Helper()
	bin := redisServerBin(t)
	addr := closedPort(t)
	_, port, _ := net.SplitHostPort(addr)
	acl := filepath.Join(t.TempDir(), "users.acl")
	if err := os.WriteFile(acl, []byte("user default off\nuser gw on >"+password+" ~* +@all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runRedis(t, bin, &redis.Options{Addr: addr, Username: "gw", Password: password},
		"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--aclfile", acl)
	return addr
}

// redisServerBin is redis-server's path. Without it the test skips on a
// dev machine and fails in CI.
func redisServerBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed; scripts/test.sh installs it")
		}
		t.Skip("redis-server is not installed")
	}
	return bin
}

// runRedis runs bin with args until the test ends and waits until a
// client with opts answers a PING.
func runRedis(t *testing.T, bin string, opts *redis.Options, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	client := redis.NewClient(opts)
	defer client.Close()
	for deadline := time.Now().Add(5 * time.Second); client.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server %v did not answer within 5s", args)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeResponseCache: keygate serve connects to its responseCache
// with the username and password of the secret it names, and a route
// with the cache policies answers its second GET from there; with a wrong
// password the route still answers, bypassing the cache.
func TestServeResponseCache(t *testing.T) {
	addr := startPasswordRedis(t, "s3cr3t-cache-pw")
	host, port, _ := net.SplitHostPort(addr)
	var calls atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "call %d", calls.Add(1))
	}))
	t.Cleanup(backend.Close)
	for _, tc := range []struct {
		name, secret string
		want         []string
	}{
		{"right password", `{"username": "gw", "password": "s3cr3t-cache-pw"}`, []string{"MISS", "HIT"}},
		{"wrong password", `{"username": "gw", "password": "wrong"}`, []string{"BYPASS", "BYPASS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			spec := `{"routes": [{"path": "/r", "backend": {"type": "HTTP_BACKEND", "url": "` + backend.URL + `/"},
			  "requestPolicies": {"responseCacheLookup": {"type": "SIMPLE_LOOKUP_POLICY"}},
			  "responsePolicies": {"responseCacheStore": {"type": "FIXED_TTL_STORE_POLICY", "timeToLiveInSeconds": 30}}}]}`
			for name, text := range map[string]string{
				"spec.json": spec, "cache-secret": tc.secret,
				"keygate.yaml": "listen: 127.0.0.1:0\ndeployments:\n- pathPrefix: /v1\n  specificationFile: spec.json\n" +
					"secrets:\n- {id: ocid1.vaultsecret.oc1..cache, file: cache-secret}\n" +
					"responseCache:\n  type: EXTERNAL_RESP_CACHE\n  servers: [{host: " + host + ", port: " + port + "}]\n" +
					"  authenticationSecretId: ocid1.vaultsecret.oc1..cache\n  authenticationSecretVersionNumber: 1\n" +
					"  keyPrefix: 'test:" + strings.ReplaceAll(tc.name, " ", "-") + ":'\n",
			} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			out := mustCLI(t, "validate", "--config", filepath.Join(dir, "keygate.yaml"))
			if !strings.Contains(out, "response cache: GET/HEAD/OPTIONS responses kept 30s; requests with a credential bypass") {
				t.Errorf("keygate validate does not describe the route's caching:\n%s", out)
			}
			base, logs := startServe(t, "--config", filepath.Join(dir, "keygate.yaml"))
			var bodies []string
			for i, want := range tc.want {
				resp, err := http.Get(base + "/v1/r")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				bodies = append(bodies, string(b))
				if resp.StatusCode != 200 || resp.Header.Get("X-Cache-Status") != want {
					t.Errorf("request %d: %d X-Cache-Status %q, want 200 %q", i, resp.StatusCode, resp.Header.Get("X-Cache-Status"), want)
				}
			}
			if tc.want[1] == "HIT" && bodies[0] != bodies[1] {
				t.Errorf("the HIT's body %q is not the stored %q", bodies[1], bodies[0])
			}
			if strings.Contains(logs.String(), "s3cr3t") {
				t.Error("the log shows the password")
			}
			if tc.want[0] == "BYPASS" && !logs.waitFor("responseCache.lookupAborted") {
				t.Errorf("no lookupAborted line for the refused password:\n%s", logs.String())
			}
		})
	}
}

// TestServeResponseCacheSecretRotation: a reload reads the cache's secret
// again, and new connections authenticate with it, without a restart.
func TestServeResponseCacheSecretRotation(t *testing.T) {
	addr := startPasswordRedis(t, "new-cache-pw")
	host, port, _ := net.SplitHostPort(addr)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	files := map[string]string{
		"spec.json": `{"routes": [{"path": "/r", "backend": {"type": "HTTP_BACKEND", "url": "` + backend.URL + `/"},
		  "requestPolicies": {"responseCacheLookup": {"type": "SIMPLE_LOOKUP_POLICY"}},
		  "responsePolicies": {"responseCacheStore": {"type": "FIXED_TTL_STORE_POLICY", "timeToLiveInSeconds": 30}}}]}`,
		"cache-secret": `{"username": "gw", "password": "old-cache-pw"}`,
		"keygate.yaml": "listen: 127.0.0.1:0\ndeployments:\n- pathPrefix: /v1\n  specificationFile: spec.json\n" +
			"secrets:\n- {id: ocid1.vaultsecret.oc1..cache, file: cache-secret}\n" +
			"responseCache: {type: EXTERNAL_RESP_CACHE, servers: [{host: " + host + ", port: " + port + "}], authenticationSecretId: ocid1.vaultsecret.oc1..cache}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hup := make(chan os.Signal, 1)
	base, logs := startServeHUP(t, hup, "--config", filepath.Join(dir, "keygate.yaml"))
	status := func() string {
		resp, err := http.Get(base + "/v1/r")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body) // read to the end: the connection is reused, so requests are in order
		resp.Body.Close()
		return resp.Header.Get("X-Cache-Status")
	}
	if got := status(); got != "BYPASS" {
		t.Fatalf("with the old password: %q, want BYPASS", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "cache-secret"), []byte(`{"username": "gw", "password": "new-cache-pw"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- os.Interrupt
	if !logs.waitFor("configuration unchanged") && !logs.waitFor("configuration reloaded") {
		t.Fatalf("no reload:\n%s", logs.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	got := status()
	for got != "HIT" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		got = status()
	}
	if got != "HIT" || !strings.Contains(logs.String(), "responseCache.connectionRestored") {
		t.Errorf("after the reload: %q, want HIT once the new password is used\n%s", got, logs.String())
	}
}

// startTLSRedis starts redis-server serving TLS only, with a certificate
// for 127.0.0.1 from a CA made in the test (in no trust store).
func startTLSRedis(t *testing.T) string {
	t.Helper()
	bin := redisServerBin(t)
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test cache CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	for name, block := range map[string]*pem.Block{
		"ca.pem": {Type: "CERTIFICATE", Bytes: caDER}, "cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem": {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr := closedPort(t)
	_, port, _ := net.SplitHostPort(addr)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	runRedis(t, bin, &redis.Options{Addr: addr, TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}},
		"--port", "0", "--tls-port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--tls-cert-file", filepath.Join(dir, "cert.pem"), "--tls-key-file", filepath.Join(dir, "key.pem"),
		"--tls-ca-cert-file", filepath.Join(dir, "ca.pem"), "--tls-auth-clients", "no")
	return addr
}

// TestServeResponseCacheTLS: with isSslEnabled keygate speaks TLS to the
// cache and checks its certificate against the system's roots (a private
// CA's is refused: BYPASS, logged), unless isSslVerifyDisabled.
func TestServeResponseCacheTLS(t *testing.T) {
	addr := startTLSRedis(t)
	_, port, _ := net.SplitHostPort(addr)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(backend.Close)
	for _, tc := range []struct {
		name, tls string
		want      []string
	}{
		{"verified", "isSslEnabled: true", []string{"BYPASS", "BYPASS"}},
		{"verification disabled", "isSslEnabled: true, isSslVerifyDisabled: true", []string{"MISS", "HIT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range map[string]string{
				"spec.json": `{"routes": [{"path": "/r", "backend": {"type": "HTTP_BACKEND", "url": "` + backend.URL + `/"},
				  "requestPolicies": {"responseCacheLookup": {"type": "SIMPLE_LOOKUP_POLICY"}},
				  "responsePolicies": {"responseCacheStore": {"type": "FIXED_TTL_STORE_POLICY", "timeToLiveInSeconds": 30}}}]}`,
				"keygate.yaml": "listen: 127.0.0.1:0\ndeployments:\n- pathPrefix: /v1\n  specificationFile: spec.json\n" +
					"responseCache: {type: EXTERNAL_RESP_CACHE, servers: [{host: 127.0.0.1, port: " + port + "}], " + tc.tls +
					", keyPrefix: '" + strings.ReplaceAll(tc.name, " ", "-") + ":'}\n",
			} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			base, logs := startServe(t, "--config", filepath.Join(dir, "keygate.yaml"))
			for i, want := range tc.want {
				resp, err := http.Get(base + "/v1/r")
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body) // read to the end: the connection is reused, so requests are in order
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.Header.Get("X-Cache-Status") != want {
					t.Errorf("request %d: %d %q, want 200 %q", i, resp.StatusCode, resp.Header.Get("X-Cache-Status"), want)
				}
			}
			if tc.want[0] == "BYPASS" && (!logs.waitFor("certificate") || !logs.waitFor("redis client: ")) {
				t.Errorf("no certificate error logged, or not through keygate's log:\n%s", logs.String())
			}
		})
	}
}
