package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"math/big"
	"strings"
	"testing"
)

func TestNewKeyAlgorithms(t *testing.T) {
	rsaPub := &rsaKey(t).PublicKey
	p256 := &ecKey(t, elliptic.P256()).PublicKey
	p384 := &ecKey(t, elliptic.P384()).PublicKey
	p521 := &ecKey(t, elliptic.P521()).PublicKey
	ed := edKey(t).Public()
	tests := []struct {
		name    string
		alg     string
		pub     crypto.PublicKey
		wantAlg string
		wantErr error
	}{
		{"rsa default", "", rsaPub, "RS256", nil},
		{"rsa RS256", "RS256", rsaPub, "RS256", nil},
		{"rsa RS384", "RS384", rsaPub, "RS384", nil},
		{"rsa RS512", "RS512", rsaPub, "RS512", nil},
		{"rsa PS256", "PS256", rsaPub, "PS256", nil},
		{"rsa PS384", "PS384", rsaPub, "PS384", nil},
		{"rsa PS512", "PS512", rsaPub, "PS512", nil},
		{"rsa ES256", "ES256", rsaPub, "", ErrUnsupportedKey},
		{"rsa EdDSA", "EdDSA", rsaPub, "", ErrUnsupportedKey},
		{"rsa lower case rs256", "rs256", rsaPub, "", ErrUnsupportedKey},
		{"rsa HS256", "HS256", rsaPub, "", ErrUnsupportedKey},
		{"rsa HS512", "HS512", rsaPub, "", ErrUnsupportedKey},
		{"rsa none", "none", rsaPub, "", ErrUnsupportedKey},
		{"rsa NONE", "NONE", rsaPub, "", ErrUnsupportedKey},
		{"P-256 default", "", p256, "ES256", nil},
		{"P-256 ES256", "ES256", p256, "ES256", nil},
		{"T13 P-256 RS256", "RS256", p256, "", ErrUnsupportedKey},
		{"P-256 ES384", "ES384", p256, "", ErrUnsupportedKey},
		{"P-256 HS256", "HS256", p256, "", ErrUnsupportedKey},
		{"P-384 default", "", p384, "ES384", nil},
		{"P-384 ES256", "ES256", p384, "", ErrUnsupportedKey},
		{"P-521 ES512", "ES512", p521, "ES512", nil},
		{"P-521 ES256", "ES256", p521, "", ErrUnsupportedKey},
		{"ed25519 default", "", ed, "EdDSA", nil},
		{"ed25519 EdDSA", "EdDSA", ed, "EdDSA", nil},
		{"ed25519 ES256", "ES256", ed, "", ErrUnsupportedKey},
		{"ed25519 none", "none", ed, "", ErrUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKey("kid-1", tt.alg, tt.pub)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if k.Algorithm != tt.wantAlg || k.ID != "kid-1" {
				t.Errorf("key = (%q, %q); want (%q, %q)", k.ID, k.Algorithm, "kid-1", tt.wantAlg)
			}
		})
	}
}

func TestNewKeyMaterial(t *testing.T) {
	strong := &rsaKey(t).PublicKey
	p224 := &ecKey(t, elliptic.P224()).PublicKey
	offCurve := &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}
	tests := []struct {
		name    string
		pub     crypto.PublicKey
		wantErr error
		wantMsg string
	}{
		{"rsa 2048", strong, nil, ""},
		{"rsa 1024", rsaWith(1024, 65537), ErrWeakKey, "rsa key is 1024 bits; use at least 2048 (openssl genrsa -out keys.pem 2048)"},
		{"rsa 2047", rsaWith(2047, 65537), ErrWeakKey, "2047 bits"},
		{"rsa 8192", rsaWith(8192, 65537), nil, ""},
		{"rsa 8193", rsaWith(8193, 65537), ErrWeakKey, "at most 8192"},
		{"K1 rsa e=3", &rsa.PublicKey{N: strong.N, E: 3}, ErrWeakKey, "exponent is 3; use 65537"},
		{"rsa e=1", &rsa.PublicKey{N: strong.N, E: 1}, ErrWeakKey, "exponent"},
		{"rsa even modulus", &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 2048), E: 65537}, ErrMalformedKey, "even"},
		{"rsa nil modulus", &rsa.PublicKey{E: 65537}, ErrMalformedKey, "modulus"},
		{"rsa nil pointer", (*rsa.PublicKey)(nil), ErrMalformedKey, "modulus"},
		{"K1 ec P-224", p224, ErrUnsupportedKey, `"P-224" is not supported`},
		{"ec off curve", offCurve, ErrMalformedKey, "not a valid point"},
		{"ec nil pointer", (*ecdsa.PublicKey)(nil), ErrMalformedKey, "no public key"},
		{"ed25519 short", edKey(t).Public().(ed25519.PublicKey)[:31], ErrMalformedKey, "31 bytes"},
		{"rsa private key", rsaKey(t), ErrPrivateKey, "public key only"},
		{"nil", nil, ErrMalformedKey, "no public key"},
		{"rsa value not pointer", *strong, ErrUnsupportedKey, "rsa.PublicKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewKey("k", "", tt.pub)
			checkErr(t, err, tt.wantErr)
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q; want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDefaultAlgorithm(t *testing.T) {
	tests := []struct {
		name    string
		pub     crypto.PublicKey
		want    string
		wantErr error
	}{
		{"rsa", &rsaKey(t).PublicKey, "RS256", nil},
		{"P-256", &ecKey(t, elliptic.P256()).PublicKey, "ES256", nil},
		{"P-384", &ecKey(t, elliptic.P384()).PublicKey, "ES384", nil},
		{"P-521", &ecKey(t, elliptic.P521()).PublicKey, "ES512", nil},
		{"ed25519", edKey(t).Public(), "EdDSA", nil},
		{"P-224", &ecKey(t, elliptic.P224()).PublicKey, "", ErrUnsupportedKey},
		{"string", "not a key", "", ErrUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DefaultAlgorithm(tt.pub)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("DefaultAlgorithm = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestKeyTypeAndBits(t *testing.T) {
	tests := []struct {
		name     string
		pub      crypto.PublicKey
		wantType string
		wantBits int
	}{
		{"rsa", &rsaKey(t).PublicKey, "RSA", 2048},
		{"P-384", &ecKey(t, elliptic.P384()).PublicKey, "EC", 384},
		{"ed25519", edKey(t).Public(), "OKP", 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKey("k", "", tt.pub)
			checkErr(t, err, nil)
			if k.Type() != tt.wantType || k.Bits() != tt.wantBits {
				t.Errorf("Type, Bits = %q, %d; want %q, %d", k.Type(), k.Bits(), tt.wantType, tt.wantBits)
			}
		})
	}
}
