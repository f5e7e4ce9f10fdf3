package keys

import (
	"crypto"
	"crypto/elliptic"
	"testing"
)

// rfc7638N is the modulus of the example key in RFC 7638 §3.1.
const rfc7638N = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAt" +
	"VT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6" +
	"4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD" +
	"W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n9" +
	"1CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINH" +
	"aQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"

func TestThumbprintRFCExamples(t *testing.T) {
	tests := []struct {
		name string
		jwk  string
		want string
	}{
		{"RFC 7638 §3.1 rsa", `{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{"RFC 8037 §A.3 ed25519", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseJWK([]byte(tt.jwk))
			checkErr(t, err, nil)
			got, err := Thumbprint(k.Public)
			checkErr(t, err, nil)
			if got != tt.want {
				t.Errorf("Thumbprint = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestThumbprint(t *testing.T) {
	p256 := &ecKey(t, elliptic.P256()).PublicKey
	tests := []struct {
		name    string
		a, b    crypto.PublicKey
		same    bool
		wantErr error
	}{
		{"rsa is stable", &rsaKey(t).PublicKey, &rsaKey(t).PublicKey, true, nil},
		{"ec is stable", p256, p256, true, nil},
		{"ec keys differ", p256, &ecKey(t, elliptic.P256()).PublicKey, false, nil},
		{"ed25519 keys differ", edKey(t).Public(), edKey(t).Public(), false, nil},
		{"unsupported", "key", nil, false, ErrUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Thumbprint(tt.a)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			b, err := Thumbprint(tt.b)
			checkErr(t, err, nil)
			if len(a) != 43 || (a == b) != tt.same {
				t.Errorf("thumbprints %q, %q: want 43 characters, equal = %v", a, b, tt.same)
			}
		})
	}
}
