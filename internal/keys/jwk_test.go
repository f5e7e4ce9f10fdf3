package keys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
)

func TestFromJWKUsage(t *testing.T) {
	base, err := PublicJWK(&rsaKey(t).PublicKey)
	checkErr(t, err, nil)
	tests := []struct {
		name    string
		use     string
		keyOps  []string
		wantErr error
	}{
		{"no use, no key_ops", "", nil, nil},
		{"use sig", "sig", nil, nil},
		{"K2 use enc", "enc", nil, ErrKeyUsage},
		{"use SIG is not sig", "SIG", nil, ErrKeyUsage},
		{"key_ops verify", "", []string{"verify"}, nil},
		{"key_ops sign and verify", "", []string{"sign", "verify"}, nil},
		{"K2 key_ops encrypt", "", []string{"encrypt"}, ErrKeyUsage},
		{"K2 key_ops sign only", "", []string{"sign"}, ErrKeyUsage},
		{"K2 key_ops empty", "", []string{}, ErrKeyUsage},
		{"use sig, key_ops without verify", "sig", []string{"wrapKey"}, ErrKeyUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := base
			j.Use, j.KeyOps = tt.use, tt.keyOps
			_, err := FromJWK(j)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestFromJWKMaterial(t *testing.T) {
	rsaJWK, err := PublicJWK(&rsaKey(t).PublicKey)
	checkErr(t, err, nil)
	p256, err := PublicJWK(&ecKey(t, elliptic.P256()).PublicKey)
	checkErr(t, err, nil)
	p521, err := PublicJWK(&ecKey(t, elliptic.P521()).PublicKey)
	checkErr(t, err, nil)
	okp, err := PublicJWK(edKey(t).Public())
	checkErr(t, err, nil)
	// Flipping a bit of y moves the point off the curve.
	yBytes, _ := b64.DecodeString(p256.Y)
	yBytes[len(yBytes)-1] ^= 1
	offCurve := b64.EncodeToString(yBytes)

	tests := []struct {
		name    string
		edit    func(j JWK) JWK
		from    JWK
		wantErr error
	}{
		{"rsa", nil, rsaJWK, nil},
		{"rsa RS256 from seed", func(j JWK) JWK { j.Alg, j.Kid, j.Use = "RS256", "name", "sig"; return j }, rsaJWK, nil},
		{"K1 rsa e=3", func(j JWK) JWK { j.E = "Aw"; return j }, rsaJWK, ErrWeakKey},
		{"rsa e huge", func(j JWK) JWK { j.E = "AQAAAAAAAAAB"; return j }, rsaJWK, ErrWeakKey},
		{"rsa e with leading zero is 65537", func(j JWK) JWK { j.E = "AAEAAQ"; return j }, rsaJWK, nil},
		{"rsa n missing", func(j JWK) JWK { j.N = ""; return j }, rsaJWK, ErrMalformedKey},
		{"rsa e missing", func(j JWK) JWK { j.E = ""; return j }, rsaJWK, ErrMalformedKey},
		{"rsa n padded", func(j JWK) JWK { j.E = "AQAB="; return j }, rsaJWK, ErrMalformedKey},
		{"rsa n std base64", func(j JWK) JWK { j.N = strings.NewReplacer("-", "+", "_", "/").Replace(j.N) + "+/"; return j }, rsaJWK, ErrMalformedKey},
		{"rsa n with newline", func(j JWK) JWK { j.N = j.N[:10] + "\n" + j.N[10:]; return j }, rsaJWK, ErrMalformedKey},
		{"rsa n 1024 bits", func(j JWK) JWK { j.N = b64.EncodeToString(rsaWith(1024, 65537).N.Bytes()); return j }, rsaJWK, ErrWeakKey},
		{"T13 rsa alg ES256", func(j JWK) JWK { j.Alg = "ES256"; return j }, rsaJWK, ErrUnsupportedKey},
		{"rsa alg HS256", func(j JWK) JWK { j.Alg = "HS256"; return j }, rsaJWK, ErrUnsupportedKey},
		{"ec P-256", nil, p256, nil},
		{"ec P-521", nil, p521, nil},
		{"T13 ec alg RS256", func(j JWK) JWK { j.Alg = "RS256"; return j }, p256, ErrUnsupportedKey},
		{"ec point not on curve", func(j JWK) JWK { j.Y = offCurve; return j }, p256, ErrMalformedKey},
		{"ec x short", func(j JWK) JWK { j.X = j.X[:42]; return j }, p256, ErrMalformedKey},
		{"ec y missing", func(j JWK) JWK { j.Y = ""; return j }, p256, ErrMalformedKey},
		{"ec crv missing", func(j JWK) JWK { j.Crv = ""; return j }, p256, ErrUnsupportedKey},
		{"K1 ec crv secp256k1", func(j JWK) JWK { j.Crv = "secp256k1"; return j }, p256, ErrUnsupportedKey},
		{"ec crv P-384 with P-256 coordinates", func(j JWK) JWK { j.Crv = "P-384"; return j }, p256, ErrMalformedKey},
		{"okp ed25519", nil, okp, nil},
		{"okp EdDSA", func(j JWK) JWK { j.Alg = "EdDSA"; return j }, okp, nil},
		{"okp ES256", func(j JWK) JWK { j.Alg = "ES256"; return j }, okp, ErrUnsupportedKey},
		{"okp X25519", func(j JWK) JWK { j.Crv = "X25519"; return j }, okp, ErrUnsupportedKey},
		{"okp x 31 bytes", func(j JWK) JWK { j.X = b64.EncodeToString(make([]byte, 31)); return j }, okp, ErrMalformedKey},
		{"kty missing", func(j JWK) JWK { j.Kty = ""; return j }, rsaJWK, ErrMalformedKey},
		{"kty oct", func(j JWK) JWK { j.Kty = "oct"; return j }, rsaJWK, ErrUnsupportedKey},
		{"kty rsa lower case", func(j JWK) JWK { j.Kty = "rsa"; return j }, rsaJWK, ErrUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.from
			if tt.edit != nil {
				j = tt.edit(j)
			}
			k, err := FromJWK(j)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			back, err := FromJWK(k.JWK())
			checkErr(t, err, nil)
			if !equalPublic(back.Public, k.Public) || back.Algorithm != k.Algorithm || back.ID != k.ID {
				t.Errorf("JWK round trip = %+v; want %+v", back, k)
			}
		})
	}
}

func TestKeyJWK(t *testing.T) {
	// A P-521 key has coordinates that are often shorter than 66 bytes as
	// integers; JWK must pad them to the fixed length.
	var pubs []crypto.PublicKey
	for range 8 {
		pubs = append(pubs, &ecKey(t, elliptic.P521()).PublicKey)
	}
	for i, pub := range pubs {
		k, err := NewKey("ec", "", pub)
		checkErr(t, err, nil)
		j := k.JWK()
		x, _ := b64.DecodeString(j.X)
		y, _ := b64.DecodeString(j.Y)
		if len(x) != 66 || len(y) != 66 || j.Kty != "EC" || j.Crv != "P-521" || j.Use != "sig" || j.Alg != "ES512" || j.Kid != "ec" {
			t.Errorf("key %d: JWK = %+v (x %d, y %d bytes); want EC P-521 ES512 sig with 66-byte coordinates", i, j, len(x), len(y))
		}
	}
}

func TestPublicJWK(t *testing.T) {
	rsaPub := &rsaKey(t).PublicKey
	ed := edKey(t).Public()
	tests := []struct {
		name    string
		pub     crypto.PublicKey
		want    JWK
		wantErr error
	}{
		{"rsa", rsaPub, JWK{Kty: "RSA", N: base64.RawURLEncoding.EncodeToString(rsaPub.N.Bytes()), E: "AQAB"}, nil},
		{"ed25519", ed, JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(ed.(ed25519.PublicKey))}, nil},
		{"rsa private", rsaKey(t), JWK{}, ErrPrivateKey},
		{"rsa empty", &rsa.PublicKey{}, JWK{}, ErrMalformedKey},
		{"P-224", &ecKey(t, elliptic.P224()).PublicKey, JWK{}, ErrUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PublicJWK(tt.pub)
			checkErr(t, err, tt.wantErr)
			if got.Kty != tt.want.Kty || got.N != tt.want.N || got.E != tt.want.E || got.Crv != tt.want.Crv || got.X != tt.want.X || got.Kid != "" || got.Alg != "" || got.Use != "" {
				t.Errorf("PublicJWK = %+v; want %+v", got, tt.want)
			}
		})
	}
}
