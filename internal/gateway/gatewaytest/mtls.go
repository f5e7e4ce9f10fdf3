package gatewaytest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// PKI is a certificate authority made for a test, for mutual TLS: a root
// CA, or an intermediate CA under one, that issues client certificates.
type PKI struct {
	// Cert is the CA's certificate.
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// chain is Cert and the intermediates above it, up to (not including)
	// the root: what a client sends after its own certificate.
	chain [][]byte
}

// NewPKI makes a root CA named cn, valid for a day around now.
func NewPKI(t testing.TB, cn string) *PKI {
	t.Helper()
	key := newP256()
	tmpl := caTemplate(t, cn)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &PKI{Cert: parse(t, der), key: key}
}

// Intermediate makes a CA named cn that p signs; its client certificates
// carry the chain up to p's root.
func (p *PKI) Intermediate(t testing.TB, cn string) *PKI {
	t.Helper()
	key := newP256()
	der, err := x509.CreateCertificate(rand.Reader, caTemplate(t, cn), p.Cert, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return &PKI{Cert: parse(t, der), key: key, chain: append([][]byte{der}, p.chain...)}
}

// ClientCA is keygate's client CA trusting p alone.
func (p *PKI) ClientCA() *config.ClientCA {
	return &config.ClientCA{File: "client-ca.pem", Certificates: []*x509.Certificate{p.Cert}}
}

// ClientCert is what a client certificate says.
type ClientCert struct {
	// CN is the subject common name. Default "".
	CN string
	// DNS, Emails and URIs are the subject alternative names. Default none.
	DNS, Emails []string
	URIs        []string
	// NotBefore and NotAfter bound its validity. Default: an hour either
	// side of now.
	NotBefore, NotAfter time.Time
	// Usage is its extended key usage. Default: client authentication.
	Usage []x509.ExtKeyUsage
	// Padding is an extension of that many bytes, to make the certificate
	// large. Default 0: none.
	Padding int
}

// Issue makes a client certificate with p's chain behind it.
func (p *PKI) Issue(t testing.TB, c ClientCert) tls.Certificate {
	t.Helper()
	key := newP256()
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: c.CN},
		NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		DNSNames: c.DNS, EmailAddresses: c.Emails,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: c.Usage,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(time.Hour)
	}
	if tmpl.ExtKeyUsage == nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, raw := range c.URIs {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	if c.Padding > 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: []int{1, 3, 6, 1, 4, 1, 55555, 1}, Value: make([]byte, c.Padding)}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.Cert, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: append([][]byte{der}, p.chain...), PrivateKey: key, Leaf: parse(t, der)}
}

// Presenting returns a client of g that sends cert whenever the gateway
// asks for a certificate, whatever CA names the gateway gives (so a
// certificate of an untrusted CA is sent too); nil sends none. Its idle
// connections are closed when the test ends, before the gateway stops.
func (g *Gateway) Presenting(t testing.TB, cert *tls.Certificate) *http.Client {
	transport := g.Client.Transport.(*http.Transport).Clone()
	t.Cleanup(transport.CloseIdleConnections)
	if transport.TLSClientConfig == nil {
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	transport.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		return cert, nil
	}
	client := *g.Client
	client.Transport = transport
	return &client
}

func caTemplate(t testing.TB, cn string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func parse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
