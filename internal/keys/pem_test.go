package keys

import (
	"crypto"
	"crypto/elliptic"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
)

// TestOpenSSLInterop reads the files the seed's openssl commands wrote (see
// testdata/openssl/README.md) and checks every form yields the same key.
func TestOpenSSLInterop(t *testing.T) {
	rsaRef, err := ParsePublicPEM(readTestdata(t, "public_key.crt"))
	checkErr(t, err, nil)
	ecRef, err := ParsePublicPEM(readTestdata(t, "ec_public.pem"))
	checkErr(t, err, nil)
	parsers := map[string]func([]byte) (crypto.PublicKey, error){
		"ParsePublicPEM": ParsePublicPEM, "ParsePrivatePEM": privatePublic, "PublicFromPEM": PublicFromPEM,
	}
	tests := []struct {
		file    string
		via     string
		want    crypto.PublicKey
		wantErr error
	}{
		{"public_key.crt", "ParsePublicPEM", rsaRef, nil},
		{"public_pkcs1.pem", "ParsePublicPEM", rsaRef, nil},
		{"cert.pem", "ParsePublicPEM", rsaRef, nil},
		{"private_key.key", "ParsePrivatePEM", rsaRef, nil},
		{"keys.pem", "ParsePrivatePEM", rsaRef, nil},
		{"keys_pkcs1.pem", "ParsePrivatePEM", rsaRef, nil},
		{"keys.pem", "PublicFromPEM", rsaRef, nil},
		{"keys_pkcs1.pem", "PublicFromPEM", rsaRef, nil},
		{"private_key.key", "PublicFromPEM", rsaRef, nil},
		{"cert.pem", "PublicFromPEM", rsaRef, nil},
		{"ec.pem", "ParsePrivatePEM", ecRef, nil},
		{"ec.pem", "PublicFromPEM", ecRef, nil},
		{"keys.pem", "ParsePublicPEM", nil, ErrPrivateKey},
		{"private_key.key", "ParsePublicPEM", nil, ErrPrivateKey},
		{"keys_pkcs1.pem", "ParsePublicPEM", nil, ErrPrivateKey},
		{"ec.pem", "ParsePublicPEM", nil, ErrPrivateKey},
		{"encrypted.key", "ParsePublicPEM", nil, ErrPrivateKey},
		{"encrypted.key", "ParsePrivatePEM", nil, ErrUnsupportedKey},
		{"encrypted_legacy.pem", "ParsePrivatePEM", nil, ErrUnsupportedKey},
		{"encrypted_legacy.pem", "PublicFromPEM", nil, ErrUnsupportedKey},
		{"public_key.crt", "ParsePrivatePEM", nil, ErrMalformedKey},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+tt.via, func(t *testing.T) {
			got, err := parsers[tt.via](readTestdata(t, tt.file))
			checkErr(t, err, tt.wantErr)
			if err == nil && !equalPublic(got, tt.want) {
				t.Errorf("key from %s differs from the reference public key", tt.file)
			}
		})
	}
}

func TestOpenSSLKeysAsVerificationKeys(t *testing.T) {
	tests := []struct {
		file    string
		wantAlg string
		wantErr error
	}{
		{"public_key.crt", "RS256", nil},
		{"ec_public.pem", "ES256", nil},
		{"weak_public.pem", "", ErrWeakKey},
		{"weak.pem", "", ErrWeakKey},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			pub, err := PublicFromPEM(readTestdata(t, tt.file))
			checkErr(t, err, nil)
			k, err := NewKey("client", "", pub)
			checkErr(t, err, tt.wantErr)
			if err == nil && k.Algorithm != tt.wantAlg {
				t.Errorf("Algorithm = %q; want %q", k.Algorithm, tt.wantAlg)
			}
		})
	}
}

func TestParsePublicPEMText(t *testing.T) {
	good := string(readTestdata(t, "public_key.crt"))
	ref, err := ParsePublicPEM([]byte(good))
	checkErr(t, err, nil)
	body := strings.TrimSpace(good)
	var fromJSON string
	checkErr(t, json.Unmarshal([]byte(`"`+strings.ReplaceAll(body, "\n", `\n`)+`"`), &fromJSON), nil)
	tests := []struct {
		name    string
		data    string
		wantErr error
		wantMsg string
	}{
		{"as written", good, nil, ""},
		{"CRLF", strings.ReplaceAll(good, "\n", "\r\n"), nil, ""},
		{"surrounding whitespace", "\n\n   \t" + good + "\n  \n", nil, ""},
		{"yaml indentation", "    " + strings.ReplaceAll(body, "\n", "\n    ") + "\n", nil, ""},
		{"trailing blanks on lines", strings.ReplaceAll(good, "\n", "  \n"), nil, ""},
		{"json string", fromJSON, nil, ""},
		{"flattened to one line", strings.ReplaceAll(body, "\n", " "), nil, ""},
		{"literal backslash n", strings.ReplaceAll(body, "\n", `\n`), nil, ""},
		{"literal backslash r n", strings.ReplaceAll(body, "\n", `\r\n`), nil, ""},
		{"empty", "", ErrMalformedKey, "no pem block"},
		{"jwk", `{"kty":"RSA"}`, ErrMalformedKey, "looks like a jwk"},
		{"damaged body", strings.Replace(good, "M", "!", 3), ErrMalformedKey, "damaged"},
		{"mismatched end", strings.Replace(good, "END PUBLIC KEY", "END RSA PUBLIC KEY", 1), ErrMalformedKey, "damaged"},
		{"unknown block", pemText("FOO", []byte{1}), ErrMalformedKey, `"FOO"`},
		{"private key", pemText("PRIVATE KEY", []byte{1}), ErrPrivateKey, fixPubout},
		{"rsa private key", pemText("RSA PRIVATE KEY", []byte{1}), ErrPrivateKey, fixPubout},
		{"openssh private key", pemText("OPENSSH PRIVATE KEY", []byte{1}), ErrPrivateKey, "public key only"},
		{"public key garbage", pemText("PUBLIC KEY", []byte{1, 2, 3}), ErrMalformedKey, "does not parse"},
		{"certificate garbage", pemText("CERTIFICATE", []byte{1, 2, 3}), ErrMalformedKey, "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicPEM([]byte(tt.data))
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("err = %q; want it to contain %q", err, tt.wantMsg)
				}
				return
			}
			if !equalPublic(got, ref) {
				t.Errorf("parsed key differs from the reference")
			}
		})
	}
}

func TestEncodePEMRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		key  crypto.Signer
	}{
		{"rsa", rsaKey(t)},
		{"ec P-256", ecKey(t, elliptic.P256())},
		{"ec P-521", ecKey(t, elliptic.P521())},
		{"ed25519", edKey(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pubPEM, err := EncodePublicPEM(tt.key.Public())
			checkErr(t, err, nil)
			if !strings.HasPrefix(string(pubPEM), "-----BEGIN PUBLIC KEY-----\n") {
				t.Errorf("EncodePublicPEM = %q; want a PUBLIC KEY block", pubPEM)
			}
			pub, err := ParsePublicPEM(pubPEM)
			checkErr(t, err, nil)
			if !equalPublic(pub, tt.key.Public()) {
				t.Errorf("public PEM round trip changed the key")
			}
			privPEM, err := EncodePrivatePEM(tt.key)
			checkErr(t, err, nil)
			if !strings.HasPrefix(string(privPEM), "-----BEGIN PRIVATE KEY-----\n") {
				t.Errorf("EncodePrivatePEM = %q...; want a PRIVATE KEY block", privPEM[:30])
			}
			signer, err := ParsePrivatePEM(privPEM)
			checkErr(t, err, nil)
			if !equalPublic(signer.Public(), tt.key.Public()) {
				t.Errorf("private PEM round trip changed the key")
			}
		})
	}
}

func TestEncodePEMErrors(t *testing.T) {
	tests := []struct {
		name    string
		encode  func() ([]byte, error)
		wantErr error
	}{
		{"public nil", func() ([]byte, error) { return EncodePublicPEM(nil) }, ErrMalformedKey},
		{"public private key", func() ([]byte, error) { return EncodePublicPEM(rsaKey(t)) }, ErrPrivateKey},
		{"public string", func() ([]byte, error) { return EncodePublicPEM("key") }, ErrUnsupportedKey},
		{"private nil", func() ([]byte, error) { return EncodePrivatePEM(nil) }, ErrUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.encode()
			checkErr(t, err, tt.wantErr)
		})
	}
}

// privatePublic parses a private PEM and returns its public half, so private
// parsing fits the same table as public parsing.
func privatePublic(data []byte) (crypto.PublicKey, error) {
	s, err := ParsePrivatePEM(data)
	if err != nil {
		return nil, err
	}
	return s.Public(), nil
}

func pemText(blockType string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}))
}
