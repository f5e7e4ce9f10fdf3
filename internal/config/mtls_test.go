package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCA writes a PEM file holding a fresh CA certificate named cn and
// returns its path.
func writeCA(t *testing.T, dir, name, cn string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func writeFile(t *testing.T, file, text string) string {
	t.Helper()
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

const (
	mtlsOnSpec = `{"requestPolicies": {"mutualTls": {"isVerifiedCertificateRequired": true,
		"allowedSans": ["*.example.com", "server.example.*", "*.example.*"]}},
		"routes": [{"path": "/a", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200}}]}`
	// mtlsOffSpec is the block every export of a live OCI deployment holds.
	mtlsOffSpec = `{"requestPolicies": {"mutualTls": {"isVerifiedCertificateRequired": false, "allowedSans": []}},
		"routes": [{"path": "/a", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200}}]}`
	noCAMessage    = "mutual TLS is on but keygate has no client CA"
	plainHTTPWords = "mutual TLS is on but keygate serves plain HTTP"
)

func TestMutualTLSDisabledBlockAlwaysLoads(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "spec.json"), mtlsOffSpec)
	if _, err := DecodeSpec("spec.json", []byte(mtlsOffSpec)); err != nil {
		t.Errorf("DecodeSpec: %v", err)
	}
	// No client CA, and a plain HTTP listener: nothing is asked of either.
	g, err := LoadSpecGateway(spec, "/p", "", WithPlainHTTP())
	if err != nil {
		t.Fatalf("LoadSpecGateway: %v", err)
	}
	if m := g.Deployments[0].Specification.RequestPolicies.MutualTls; m == nil || m.Enabled() {
		t.Errorf("mutualTls = %+v, want present and off", m)
	}
	if g.ClientCA != nil {
		t.Errorf("ClientCA = %+v, want none", g.ClientCA)
	}
	// allowedSans with mutual TLS off loads too, with a warning.
	withSans := strings.Replace(mtlsOffSpec, `"allowedSans": []`, `"allowedSans": ["*.example.com"]`, 1)
	spec2, err := DecodeSpec("spec.json", []byte(withSans))
	if err != nil {
		t.Fatalf("DecodeSpec with allowedSans: %v", err)
	}
	if w := spec2.Warnings; len(w) != 1 || w[0].Path != "requestPolicies.mutualTls.allowedSans" ||
		!strings.Contains(w[0].Message, "allowedSans is ignored") {
		t.Errorf("warnings = %v, want one: allowedSans is ignored", w)
	}
}

func TestMutualTLSNeedsClientCAAndTLS(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "spec.json"), mtlsOnSpec)
	ca := writeCA(t, dir, "ca.pem", "Test Client CA")
	const at = "requestPolicies.mutualTls.isVerifiedCertificateRequired"
	tests := []struct {
		name string
		opts []Option
		want []string // problems, as "path: message start"; none: loads
	}{
		{"no client CA", nil, []string{at + ": " + noCAMessage}},
		{"client CA", []Option{WithClientCA(ca)}, nil},
		{"client CA, plain HTTP", []Option{WithClientCA(ca), WithPlainHTTP()}, []string{at + ": " + plainHTTPWords}},
		{"neither", []Option{WithPlainHTTP()}, []string{at + ": " + noCAMessage, at + ": " + plainHTTPWords}},
		{"missing CA file", []Option{WithClientCA(filepath.Join(dir, "nope.pem"))},
			[]string{`--tls-client-ca: cannot read "` + filepath.Join(dir, "nope.pem") + `": file does not exist; check the path`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := LoadSpecGateway(spec, "/p", "", tt.opts...)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("LoadSpecGateway: %v", err)
				}
				if g.ClientCA == nil || g.ClientCA.File != ca || len(g.ClientCA.Certificates) != 1 ||
					g.ClientCA.Certificates[0].Subject.CommonName != "Test Client CA" {
					t.Errorf("ClientCA = %+v, want the one certificate of %s", g.ClientCA, ca)
				}
				return
			}
			problems, ok := err.(Problems)
			if !ok || len(problems) != len(tt.want) {
				t.Fatalf("error = %v, want %d problem(s)", err, len(tt.want))
			}
			for i, want := range tt.want {
				got := problems[i].Path + ": " + problems[i].Message
				if !strings.HasPrefix(got, want) {
					t.Errorf("problem %d = %q, want it to start %q", i, got, want)
				}
			}
		})
	}
}

func TestClientCAFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "certs")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	inFile := writeCA(t, sub, "ca.pem", "From The File")
	flag := writeCA(t, dir, "flag.pem", "From The Flag")
	writeFile(t, filepath.Join(dir, "spec.json"), mtlsOnSpec)
	gw := writeFile(t, filepath.Join(dir, "gateway.yaml"),
		"tls:\n  clientCA: certs/ca.pem\ndeployments:\n  - pathPrefix: /p\n    specificationFile: spec.json\n")
	// The path is relative to the config file, not the working directory.
	g, err := LoadGateway(gw)
	if err != nil {
		t.Fatalf("LoadGateway: %v", err)
	}
	if g.ClientCA == nil || g.ClientCA.File != inFile || g.ClientCA.Certificates[0].Subject.CommonName != "From The File" {
		t.Errorf("ClientCA = %+v, want %s's", g.ClientCA, inFile)
	}
	// --tls-client-ca replaces tls.clientCA.
	g, err = LoadGateway(gw, WithClientCA(flag))
	if err != nil {
		t.Fatalf("LoadGateway with the flag: %v", err)
	}
	if g.ClientCA == nil || g.ClientCA.Certificates[0].Subject.CommonName != "From The Flag" {
		t.Errorf("ClientCA = %+v, want the flag's", g.ClientCA)
	}
}

func TestAllowedSanPatterns(t *testing.T) {
	tests := []struct {
		san string
		ok  bool
	}{
		{"*.example.com", true},
		{"server.example.*", true},
		{"*.example.*", true},
		{"*", true},
		{"server.example.com", true},
		{"spiffe://example.org/*", true},
		{"server.*.com", false},
		{"a**b", false},
		{"*.*", true},
		{"*a*b", false},
	}
	for _, tt := range tests {
		t.Run(tt.san, func(t *testing.T) {
			spec := `{"requestPolicies": {"mutualTls": {"isVerifiedCertificateRequired": true, "allowedSans": ["` + tt.san + `"]}},
				"routes": [{"path": "/a", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200}}]}`
			_, err := DecodeSpec("spec.json", []byte(spec))
			if tt.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "has a '*' inside")) {
				t.Errorf("error = %v, want a '*' inside refused", err)
			}
		})
	}
}

// FuzzParseClientCA checks that a CA file never panics the parser, that it
// always yields certificates or problems, and that every certificate it
// returns is a CA.
func FuzzParseClientCA(f *testing.F) {
	for _, name := range []string{"mtls_bad_ca.pem", "mtls_empty_ca.pem"} {
		data, err := os.ReadFile(filepath.Join("testdata/invalid", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, problems := parseClientCA(data)
		if len(certs) == 0 && len(problems) == 0 {
			t.Fatal("no certificate and no problem")
		}
		for _, c := range certs {
			if !c.IsCA {
				t.Fatalf("certificate %q is no CA", c.Subject)
			}
		}
	})
}
