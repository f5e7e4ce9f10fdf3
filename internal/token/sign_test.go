package token

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/keys"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	f := loadFixture()
	tests := []struct {
		name    string
		key     crypto.Signer
		alg     string
		wantAlg string
	}{
		{"RSA default", f.rsa, "", "RS256"},
		{"RSA RS384", f.rsa, "RS384", "RS384"},
		{"RSA RS512", f.rsa, "RS512", "RS512"},
		{"RSA PS256", f.rsa, "PS256", "PS256"},
		{"RSA PS512", f.rsa, "PS512", "PS512"},
		{"P-256", f.p256, "", "ES256"},
		{"P-384", f.p384, "", "ES384"},
		{"P-521", f.p521, "ES512", "ES512"},
		{"Ed25519", f.ed, "", "EdDSA"},
		{"Ed25519 as a plain crypto.Signer", opaqueSigner{f.ed}, "", "EdDSA"},
		// An HSM's signer is no *rsa.PrivateKey or *ecdsa.PrivateKey: Sign
		// hashes and encodes itself (ECDSA: DER to R || S).
		{"RSA as a plain crypto.Signer", opaqueSigner{f.rsa}, "", "RS256"},
		{"RSA PS384 as a plain crypto.Signer", opaqueSigner{f.rsa}, "PS384", "PS384"},
		{"P-256 as a plain crypto.Signer", opaqueSigner{f.p256}, "", "ES256"},
		{"P-384 as a plain crypto.Signer", opaqueSigner{f.p384}, "", "ES384"},
		{"P-521 as a plain crypto.Signer", opaqueSigner{f.p521}, "", "ES512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := Sign(tt.key, "k1", tt.alg, validClaims())
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			hdr := must(base64.RawURLEncoding.DecodeString(raw[:strings.IndexByte(raw, '.')]))
			if want := `{"alg":"` + tt.wantAlg + `","kid":"k1","typ":"JWT"}`; string(hdr) != want {
				t.Errorf("header = %s, want %s", hdr, want)
			}
			r := &mapResolver{keys: map[string]*keys.Key{"k1": {ID: "k1", Algorithm: tt.wantAlg, Public: tt.key.Public()}}}
			v := NewVerifier(r, testPolicy(), func() time.Time { return testNow })
			tok, err := v.Verify(raw)
			if err != nil {
				t.Fatalf("Verify: got %v, want nil", err)
			}
			if tok.Header.Algorithm != tt.wantAlg || tok.Claims.Subject() != "client-1" {
				t.Errorf("got alg %q sub %q, want %q %q", tok.Header.Algorithm, tok.Claims.Subject(), tt.wantAlg, "client-1")
			}
		})
	}
}

// opaqueSigner hides the concrete key type, like an HSM or KMS signer.
type opaqueSigner struct{ s crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.s.Public() }
func (o opaqueSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.s.Sign(r, d, opts)
}

func TestSigningAlgorithm(t *testing.T) {
	f := loadFixture()
	p224 := must(ecdsa.GenerateKey(elliptic.P224(), rand.Reader))
	tests := []struct {
		name    string
		key     crypto.Signer
		alg     string
		want    string
		wantErr string // substring of the error; "" means no error
	}{
		{"RSA default", f.rsa, "", "RS256", ""},
		{"RSA PS384", f.rsa, "PS384", "PS384", ""},
		{"RSA ES256", f.rsa, "ES256", "", "an RSA key cannot sign ES256"},
		{"RSA EdDSA", f.rsa, "EdDSA", "", "cannot sign EdDSA"},
		{"RSA HS256", f.rsa, "HS256", "", `algorithm "HS256" is not supported`},
		{"RSA none", f.rsa, "none", "", `algorithm "none" is not supported`},
		{"RSA lower case", f.rsa, "rs256", "", `algorithm "rs256" is not supported`},
		{"P-256 default", f.p256, "", "ES256", ""},
		{"P-256 ES256", f.p256, "ES256", "ES256", ""},
		{"P-256 ES384", f.p256, "ES384", "", "this key signs ES256"},
		{"P-384 default", f.p384, "", "ES384", ""},
		{"P-521 default", f.p521, "", "ES512", ""},
		{"P-521 RS256", f.p521, "RS256", "", "cannot sign RS256"},
		{"P-224", p224, "", "", "EC P-224 keys cannot sign JWTs"},
		{"Ed25519 default", f.ed, "", "EdDSA", ""},
		{"Ed25519 ES256", f.ed, "ES256", "", "an Ed25519 key signs EdDSA"},
		{"X25519-like signer", x25519Signer(), "", "", "cannot sign JWTs"},
		{"nil key", nil, "", "", "no signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SigningAlgorithm(tt.key, tt.alg)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q, nil", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %q, %v; want an error containing %q", got, err, tt.wantErr)
			}
		})
	}
}

// x25519Signer is a signer whose public key no JWS algorithm fits.
func x25519Signer() crypto.Signer {
	k := must(ecdh.X25519().GenerateKey(rand.Reader))
	return fakeSigner{pub: k.PublicKey()}
}

type fakeSigner struct{ pub crypto.PublicKey }

func (f fakeSigner) Public() crypto.PublicKey { return f.pub }
func (f fakeSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	panic("never called")
}

func TestSignErrors(t *testing.T) {
	f := loadFixture()
	tests := []struct {
		name    string
		key     crypto.Signer
		kid     string
		claims  map[string]any
		wantErr string
	}{
		{"empty kid", f.rsa, "", nil, "kid is required"},
		{"claims not JSON", f.rsa, "k", map[string]any{"c": make(chan int)}, "encode claims"},
		{"private half does not match the public", mismatchedSigner{pub: f.p256.Public(), priv: must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))}, "k", nil, "does not verify with the key's public half"},
		{"signer returns no DER", mismatchedSigner{pub: f.p256.Public(), raw: []byte("not der")}, "k", nil, "not ASN.1 DER"},
		{"signer fails", mismatchedSigner{pub: f.rsa.Public()}, "k", nil, "sign RS256: token removed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sign(tt.key, tt.kid, "", tt.claims)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSignNilClaims(t *testing.T) {
	raw, err := Sign(loadFixture().p256, "k", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	payload := must(base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1]))
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil || len(m) != 0 {
		t.Errorf("payload = %s, want {}", payload)
	}
}

// mismatchedSigner is an HSM gone wrong: its private half is not the
// public key's (priv), it returns raw bytes that are no signature (raw), or
// it fails (neither).
type mismatchedSigner struct {
	pub  crypto.PublicKey
	priv crypto.Signer
	raw  []byte
}

func (m mismatchedSigner) Public() crypto.PublicKey { return m.pub }
func (m mismatchedSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	switch {
	case m.priv != nil:
		return m.priv.Sign(r, d, opts)
	case m.raw != nil:
		return m.raw, nil
	}
	return nil, errors.New("token removed")
}

func TestECDSARawSignature(t *testing.T) {
	// r = 1 and s = 2^255 + 1: r needs left padding to 32 bytes, s has its
	// top bit set (DER adds a 0x00 byte that must go).
	s := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))
	der := must(asn1.Marshal(struct{ R, S *big.Int }{big.NewInt(1), s}))
	got, err := ecdsaRawSignature(der, 32)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 64)
	want[31] = 1
	s.FillBytes(want[32:])
	if !bytes.Equal(got, want) {
		t.Errorf("got %x\nwant %x", got, want)
	}
	for name, bad := range map[string][]byte{
		"trailing bytes": append(append([]byte{}, der...), 0),
		"r too long":     must(asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).Lsh(big.NewInt(1), 300), big.NewInt(1)})),
		"r zero":         must(asn1.Marshal(struct{ R, S *big.Int }{big.NewInt(0), big.NewInt(1)})),
		"empty":          nil,
	} {
		if _, err := ecdsaRawSignature(bad, 32); err == nil {
			t.Errorf("%s: got nil error", name)
		}
	}
}
