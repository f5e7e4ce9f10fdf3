package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"testing"
)

func TestGenerate(t *testing.T) {
	tests := []struct {
		name     string
		kind     string
		bits     int
		curve    string
		wantAlg  string
		wantBits int
		wantErr  error
	}{
		{"rsa default", "rsa", 0, "", "RS256", 2048, nil},
		{"rsa 1024", "rsa", 1024, "", "", 0, ErrWeakKey},
		{"rsa 2047", "rsa", 2047, "", "", 0, ErrWeakKey},
		{"rsa negative", "rsa", -1, "", "", 0, ErrWeakKey},
		{"rsa 2049", "rsa", 2049, "", "", 0, ErrUnsupportedKey},
		{"rsa 16384", "rsa", 16384, "", "", 0, ErrUnsupportedKey},
		{"ec default", "ec", 0, "", "ES256", 256, nil},
		{"ec P-384", "ec", 0, "P-384", "ES384", 384, nil},
		{"ec P-521 ignores bits", "ec", 2048, "P-521", "ES512", 521, nil},
		{"ec P-224", "ec", 0, "P-224", "", 0, ErrUnsupportedKey},
		{"ec openssl name", "ec", 0, "prime256v1", "", 0, ErrUnsupportedKey},
		{"ed25519", "ed25519", 0, "", "EdDSA", 256, nil},
		{"hmac", "hmac", 0, "", "", 0, ErrUnsupportedKey},
		{"upper-case RSA", "RSA", 0, "", "", 0, ErrUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer, err := Generate(tt.kind, tt.bits, tt.curve)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			switch signer.(type) {
			case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			default:
				t.Fatalf("Generate = %T; want an rsa, ecdsa or ed25519 private key", signer)
			}
			k, err := NewKey("new", "", signer.Public())
			checkErr(t, err, nil)
			if k.Algorithm != tt.wantAlg || k.Bits() != tt.wantBits {
				t.Errorf("generated key = %s, %d bits; want %s, %d bits", k.Algorithm, k.Bits(), tt.wantAlg, tt.wantBits)
			}
		})
	}
}
