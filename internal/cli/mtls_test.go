package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// writeClientCA writes pki's CA certificate to file as PEM.
func writeClientCA(t *testing.T, file string, pki *gatewaytest.PKI) {
	t.Helper()
	writeSpec(t, file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.Cert.Raw}))
}

// mtlsClient is a client trusting roots that presents cert (nil: none).
func mtlsClient(t *testing.T, roots *x509.CertPool, cert *tls.Certificate) *http.Client {
	t.Helper()
	transport := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			return cert, nil
		}}}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport, Timeout: 5 * time.Second}
}

func status(t *testing.T, client *http.Client, url string) int {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls until url answers client with want, for up to five seconds.
func waitFor(t *testing.T, client *http.Client, url string, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for status(t, client, url) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: status is not %d after 5s", what, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMutualTLSServe runs keygate serve with --tls-client-ca: a client with
// a certificate of the client CA passes, one without gets 401, and a
// renewed CA file is picked up without a restart (a broken one is refused
// and the last good CA stays).
func TestMutualTLSServe(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "clients-ca.pem")
	roots := writeCert(t, certFile, keyFile, "server")
	first, second := gatewaytest.NewPKI(t, "First Client CA"), gatewaytest.NewPKI(t, "Second Client CA")
	writeClientCA(t, caFile, first)
	spec := filepath.Join(dir, "spec.json")
	writeSpec(t, spec, []byte(`{"requestPolicies": {"mutualTls": {"isVerifiedCertificateRequired": true, "allowedSans": ["*.partner.example.com"]}},
		"routes": [{"path": "/r", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "ok"}}]}`))
	p := startServeProcess(t, nil, "--spec", spec, "--path-prefix", "/p", "--listen", "127.0.0.1:0",
		"--tls-cert", certFile, "--tls-key", keyFile, "--tls-client-ca", caFile)
	defer p.stop()
	url := strings.Replace(p.base, "http://", "https://", 1) + "/p/r"
	san := gatewaytest.ClientCert{DNS: []string{"api.partner.example.com"}}
	ofFirst := mtlsClient(t, roots, ptr(first.Issue(t, san)))
	ofSecond := mtlsClient(t, roots, ptr(second.Issue(t, san)))

	if got := status(t, ofFirst, url); got != 200 {
		t.Errorf("a certificate of the client CA: status = %d, want 200", got)
	}
	if got := status(t, mtlsClient(t, roots, nil), url); got != 401 {
		t.Errorf("no certificate: status = %d, want 401", got)
	}
	if got := status(t, mtlsClient(t, roots, ptr(first.Issue(t, gatewaytest.ClientCert{DNS: []string{"api.example.com"}}))), url); got != 401 {
		t.Errorf("a name allowedSans does not allow: status = %d, want 401", got)
	}
	if got := status(t, ofSecond, url); got != 401 {
		t.Errorf("another CA's certificate: status = %d, want 401", got)
	}
	if !strings.Contains(p.logs.String(), `"clientCA":"`+caFile+`"`) {
		t.Errorf("the listening line does not name the client CA:\n%s", p.logs.String())
	}

	// A renewed client CA goes live like an edited spec.
	writeClientCA(t, caFile, second)
	waitFor(t, ofSecond, url, 200, "the renewed client CA's certificate")
	if got := status(t, ofFirst, url); got != 401 {
		t.Errorf("the replaced CA's certificate: status = %d, want 401", got)
	}
	// A broken CA file is refused; the running CA stays.
	writeSpec(t, caFile, []byte("not a certificate\n"))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.logs.String(), `holds no PEM certificate`) {
		if time.Now().After(deadline) {
			t.Fatalf("the broken CA file was not refused in the log:\n%s", p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := status(t, ofSecond, url); got != 200 {
		t.Errorf("after a broken CA file: status = %d, want 200 (the last good CA)", got)
	}
	var refused bool
	for _, line := range strings.Split(p.logs.String(), "\n") {
		var m struct{ Message, Reason string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Reason == "invalid_config" && strings.Contains(m.Message, "tls-client-ca") {
			refused = true
		}
	}
	if !refused {
		t.Errorf("no reload refusal naming --tls-client-ca in the log:\n%s", p.logs.String())
	}
}

func ptr[T any](v T) *T { return &v }
