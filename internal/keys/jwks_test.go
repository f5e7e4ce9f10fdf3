package keys

import (
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestParseJWKS(t *testing.T) {
	rsaK := mustKey(t, "rsa-1", "RS256", &rsaKey(t).PublicKey)
	ecK := mustKey(t, "ec-1", "", &ecKey(t, elliptic.P256()).PublicKey)
	edK := mustKey(t, "ed-1", "", edKey(t).Public())
	member := func(k *Key, edit func(*JWK)) string {
		j := k.JWK()
		if edit != nil {
			edit(&j)
		}
		data, err := json.Marshal(j)
		checkErr(t, err, nil)
		return string(data)
	}
	set := func(members ...string) string { return `{"keys":[` + strings.Join(members, ",") + `]}` }
	weak := member(unvalidatedKey(rsaWith(1024, 65537)), func(j *JWK) { j.Kid = "weak" })

	tests := []struct {
		name        string
		data        string
		wantKIDs    []string
		wantSkipped []string
		wantErr     error
	}{
		{"three keys", set(member(rsaK, nil), member(ecK, nil), member(edK, nil)), []string{"rsa-1", "ec-1", "ed-1"}, nil, nil},
		{"empty set", `{"keys":[]}`, nil, nil, nil},
		{"other members ignored", `{"issuer":"x","keys":[` + member(edK, nil) + `]}`, []string{"ed-1"}, nil, nil},
		{"K1 weak key skipped", set(weak, member(ecK, nil)), []string{"ec-1"}, []string{`keys[0] (kid "weak"): weak key`}, nil},
		{"K2 enc key skipped", set(member(rsaK, func(j *JWK) { j.Use = "enc" }), member(ecK, nil)), []string{"ec-1"}, []string{`keys[0] (kid "rsa-1")`}, nil},
		{"K2 key_ops skipped", set(member(ecK, func(j *JWK) { j.KeyOps = []string{"encrypt"} })), nil, []string{"keys[0]"}, nil},
		{"no kid skipped", set(member(edK, func(j *JWK) { j.Kid = "" }), member(ecK, nil)), []string{"ec-1"}, []string{"keys[0]: malformed key: no kid"}, nil},
		{"oct skipped", set(`{"kty":"oct","kid":"h"}`, member(edK, nil)), []string{"ed-1"}, []string{`keys[0] (kid "h")`}, nil},
		{"private member skipped", set(`{"kty":"RSA","kid":"p","d":"x"}`), nil, []string{"private member"}, nil},
		{"T13 mismatch skipped", set(member(ecK, func(j *JWK) { j.Alg = "RS256" })), nil, []string{"does not fit"}, nil},
		{"non-object member skipped", set(`"key"`, `1`, member(edK, nil)), []string{"ed-1"}, []string{"keys[0]", "keys[1]"}, nil},
		{"duplicate kid keeps first", set(member(rsaK, nil), member(ecK, func(j *JWK) { j.Kid = "rsa-1" })), []string{"rsa-1"}, []string{"keys[1] (kid \"rsa-1\"): duplicate kid"}, nil},
		{"long kid is cut", set(member(ecK, func(j *JWK) { j.Kid = strings.Repeat("z", 5000); j.Alg = "HS256" })), nil, []string{"(5000 bytes)"}, nil},
		{"not json", `keys`, nil, nil, ErrMalformedKey},
		{"array", `[` + member(edK, nil) + `]`, nil, nil, ErrMalformedKey},
		{"single jwk", member(edK, nil), nil, nil, ErrMalformedKey},
		{"keys not array", `{"keys":{}}`, nil, nil, ErrMalformedKey},
		{"keys null", `{"keys":null}`, nil, nil, ErrMalformedKey},
		{"duplicate keys member", `{"keys":[],"keys":[]}`, nil, nil, ErrMalformedKey},
		{"trailing data", `{"keys":[]} {}`, nil, nil, ErrMalformedKey},
		{"K3 51 keys", set(repeat(member(edK, nil), 51)...), nil, nil, ErrMalformedKey},
		{"K3 over 256 KiB", `{"keys":[],"pad":"` + strings.Repeat("a", 256<<10) + `"}`, nil, nil, ErrMalformedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, skipped, err := ParseJWKS([]byte(tt.data))
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if ks != nil || skipped != nil {
					t.Errorf("ParseJWKS returned keys %v, skipped %v with an error; want none", ks, skipped)
				}
				return
			}
			var kids []string
			for _, k := range ks {
				kids = append(kids, k.ID)
			}
			if fmt.Sprint(kids) != fmt.Sprint(tt.wantKIDs) {
				t.Errorf("kids = %q; want %q", kids, tt.wantKIDs)
			}
			if len(skipped) != len(tt.wantSkipped) {
				t.Fatalf("skipped = %v; want %d errors", skipped, len(tt.wantSkipped))
			}
			for i, want := range tt.wantSkipped {
				if msg := skipped[i].Error(); !strings.Contains(msg, want) || len(msg) > 400 {
					t.Errorf("skipped[%d] = %q; want at most 400 bytes containing %q", i, msg, want)
				}
			}
		})
	}
}

func TestParseJWKSSkippedErrorsAreTyped(t *testing.T) {
	data := `{"keys":[{"kty":"EC","kid":"e","use":"enc"},{"kty":"RSA","kid":"p","d":"x"},{"kty":"RSA","kid":"w","n":"AQAB","e":"Aw"}]}`
	_, skipped, err := ParseJWKS([]byte(data))
	checkErr(t, err, nil)
	want := []error{ErrKeyUsage, ErrPrivateKey, ErrWeakKey}
	if len(skipped) != len(want) {
		t.Fatalf("skipped = %v; want %d errors", skipped, len(want))
	}
	for i := range want {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkErr(t, skipped[i], want[i]) })
	}
}

func TestJWKSMarshal(t *testing.T) {
	k := mustKey(t, "a", "", edKey(t).Public())
	data, err := json.Marshal(JWKS{Keys: []JWK{k.JWK()}})
	checkErr(t, err, nil)
	ks, skipped, err := ParseJWKS(data)
	checkErr(t, err, nil)
	if len(ks) != 1 || len(skipped) != 0 || !equalPublic(ks[0].Public, k.Public) {
		t.Errorf("ParseJWKS(json(JWKS)) = %v, %v; want the one key back", ks, skipped)
	}
}

// unvalidatedKey wraps material NewKey would refuse, so a test JWKS can
// publish it.
func unvalidatedKey(pub any) *Key {
	return &Key{Algorithm: "RS256", Public: pub}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
