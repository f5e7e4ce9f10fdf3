package keys

import (
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestParseJWK(t *testing.T) {
	rsaJWK, err := PublicJWK(&rsaKey(t).PublicKey)
	checkErr(t, err, nil)
	ecJWK, err := PublicJWK(&ecKey(t, elliptic.P256()).PublicKey)
	checkErr(t, err, nil)
	rsaMembers := fmt.Sprintf(`"kty":"RSA","n":%q,"e":"AQAB"`, rsaJWK.N)
	ecMembers := fmt.Sprintf(`"kty":"EC","crv":"P-256","x":%q,"y":%q`, ecJWK.X, ecJWK.Y)
	tests := []struct {
		name    string
		data    string
		wantKID string
		wantAlg string
		wantErr error
	}{
		{"seed jwk", `{` + rsaMembers + `,"alg":"RS256","kid":"name_from_step","use":"sig"}`, "name_from_step", "RS256", nil},
		{"whitespace around", " \n\t{" + rsaMembers + "}\r\n ", "", "RS256", nil},
		{"unknown members ignored", `{` + rsaMembers + `,"x5t":"abc","ext":true,"nested":{"a":[1,2]}}`, "", "RS256", nil},
		{"ec", `{` + ecMembers + `,"kid":"e1"}`, "e1", "ES256", nil},
		{"key_ops verify", `{` + ecMembers + `,"key_ops":["verify"]}`, "", "ES256", nil},
		{"K2 key_ops empty", `{` + ecMembers + `,"key_ops":[]}`, "", "", ErrKeyUsage},
		{"K2 use enc", `{` + ecMembers + `,"use":"enc"}`, "", "", ErrKeyUsage},
		{"T13 ec with RS256", `{` + ecMembers + `,"alg":"RS256"}`, "", "", ErrUnsupportedKey},
		{"private d", `{` + ecMembers + `,"d":"AAAA"}`, "", "", ErrPrivateKey},
		{"private p", `{` + rsaMembers + `,"p":"AAAA"}`, "", "", ErrPrivateKey},
		{"private qi", `{` + rsaMembers + `,"qi":"AAAA"}`, "", "", ErrPrivateKey},
		{"private k", `{"kty":"oct","k":"c2VjcmV0"}`, "", "", ErrPrivateKey},
		{"oct without k", `{"kty":"oct"}`, "", "", ErrUnsupportedKey},
		{"duplicate kid", `{` + rsaMembers + `,"kid":"a","kid":"b"}`, "", "", ErrMalformedKey},
		{"duplicate n", `{` + rsaMembers + `,"n":"AQAB"}`, "", "", ErrMalformedKey},
		{"names are case-sensitive", `{"KTY":"RSA","N":` + fmt.Sprintf("%q", rsaJWK.N) + `,"E":"AQAB"}`, "", "", ErrMalformedKey},
		{"upper-case D is just unknown", `{` + rsaMembers + `,"D":"x"}`, "", "RS256", nil},
		{"kty not a string", `{"kty":1}`, "", "", ErrMalformedKey},
		{"kty null", `{"kty":null}`, "", "", ErrMalformedKey},
		{"key_ops not a list", `{` + ecMembers + `,"key_ops":"verify"}`, "", "", ErrMalformedKey},
		{"array", `[{` + rsaMembers + `}]`, "", "", ErrMalformedKey},
		{"two objects", `{` + rsaMembers + `}{}`, "", "", ErrMalformedKey},
		{"trailing garbage", `{` + rsaMembers + `} x`, "", "", ErrMalformedKey},
		{"truncated", `{` + rsaMembers, "", "", ErrMalformedKey},
		{"empty", ``, "", "", ErrMalformedKey},
		{"jwks instead of jwk", `{"keys":[{` + rsaMembers + `}]}`, "", "", ErrMalformedKey},
		{"pem instead of jwk", "-----BEGIN PUBLIC KEY-----", "", "", ErrMalformedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseJWK([]byte(tt.data))
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if k.ID != tt.wantKID || k.Algorithm != tt.wantAlg {
				t.Errorf("ParseJWK = (%q, %q); want (%q, %q)", k.ID, k.Algorithm, tt.wantKID, tt.wantAlg)
			}
		})
	}
}

func TestParseJWKErrorNamesProblem(t *testing.T) {
	rsaJWK, err := PublicJWK(rsaWith(1024, 65537))
	checkErr(t, err, nil)
	data, err := json.Marshal(rsaJWK)
	checkErr(t, err, nil)
	_, err = ParseJWK(data)
	checkErr(t, err, ErrWeakKey)
	want := "rsa key is 1024 bits; use at least 2048 (openssl genrsa -out keys.pem 2048)"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q; want it to contain %q", err, want)
	}
}

func TestJWKMarshal(t *testing.T) {
	k, err := NewKey("a", "PS256", &rsaKey(t).PublicKey)
	checkErr(t, err, nil)
	data, err := json.Marshal(k.JWK())
	checkErr(t, err, nil)
	for _, absent := range []string{`"crv"`, `"x"`, `"y"`, `"key_ops"`} {
		if strings.Contains(string(data), absent) {
			t.Errorf("json = %s; want no %s member", data, absent)
		}
	}
	back, err := ParseJWK(data)
	checkErr(t, err, nil)
	if !equalPublic(back.Public, k.Public) || back.Algorithm != "PS256" || back.ID != "a" {
		t.Errorf("ParseJWK(json(JWK())) = %+v; want %+v", back, k)
	}
}
