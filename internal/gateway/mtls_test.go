package gateway

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"net/url"
	"testing"
)

func TestSanPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*.example.com", "server.example.com", true},
		{"server.example.*", "server.example.com", true},
		{"*.example.*", "server.example.com", true},
		{"*.example.com", "a.b.example.com", true}, // any characters, dots included
		{"*.example.com", ".example.com", true},    // zero characters
		{"*.example.com", "example.com", false},
		{"*.example.com", "server.example.com.evil", false},
		{"server.example.*", "server.example", false},
		{"server.example.*", "other.example.com", false},
		{"*.example.*", "server.other.com", false},
		{"Server.Example.COM", "server.example.com", true},
		{"server.example.com", "server.example.co", false},
		{"*", "anything", true},
		{"**", "anything", true},
	}
	for _, tt := range tests {
		if got := compileSanPattern(tt.pattern).match(tt.name); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestCertNames(t *testing.T) {
	u, _ := url.Parse("spiffe://Example.org/Svc")
	c := &x509.Certificate{Subject: pkix.Name{CommonName: "Legacy Client"}, DNSNames: []string{"API.example.com"},
		EmailAddresses: []string{"Ops@Example.com"}, URIs: []*url.URL{u}}
	got := certNames(c)
	want := []string{"api.example.com", "ops@example.com", "spiffe://example.org/svc", "legacy client"}
	if len(got) != len(want) {
		t.Fatalf("names = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("names = %q, want %q", got, want)
			break
		}
	}
	if m := (&mutualTLS{}); !m.allows(&x509.Certificate{}) {
		t.Error("an empty allowedSans refuses a certificate without names; it allows any")
	}
	if m := (&mutualTLS{sans: []sanPattern{compileSanPattern("x")}}); m.allows(&x509.Certificate{}) {
		t.Error("a certificate without names passes allowedSans [x]")
	}
}

// TestClientCertBase64 is ${request.cert[client_base64]} as the template
// engine reads it: standard base64 of the DER, unset over 8 KB.
func TestClientCertBase64(t *testing.T) {
	small := make([]byte, 300)
	small[0], small[299] = 0xfb, 0xff // characters that differ between base64 alphabets
	tests := []struct {
		name   string
		cert   *x509.Certificate
		want   string
		wantOK bool
	}{
		{"none", nil, "", false},
		{"small", &x509.Certificate{Raw: small}, base64.StdEncoding.EncodeToString(small), true},
		{"exactly 8 KB encoded", &x509.Certificate{Raw: make([]byte, 6144)}, base64.StdEncoding.EncodeToString(make([]byte, 6144)), true},
		{"over 8 KB encoded", &x509.Certificate{Raw: make([]byte, 6145)}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := (&exchange{clientCert: tt.cert}).clientCertBase64()
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got %.20q, %v; want %.20q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
