package keys

import (
	"crypto/elliptic"
	"encoding/json"
	"strings"
	"testing"
)

// checkRoundTrip fails t unless k survives JWK() → FromJWK unchanged, as
// everything keygate accepts must be publishable again.
func checkRoundTrip(t *testing.T, k *Key) {
	t.Helper()
	back, err := FromJWK(k.JWK())
	if err != nil {
		t.Fatalf("FromJWK(JWK()) of an accepted key: %v", err)
	}
	if !equalPublic(back.Public, k.Public) || back.ID != k.ID || back.Algorithm != k.Algorithm {
		t.Fatalf("JWK round trip = %+v; want %+v", back, k)
	}
	data, err := json.Marshal(k.JWK())
	if err != nil {
		t.Fatal(err)
	}
	if again, err := ParseJWK(data); err != nil || !equalPublic(again.Public, k.Public) {
		t.Fatalf("ParseJWK(json(JWK())) = %v, %v; want the same key", again, err)
	}
	if _, err := Thumbprint(k.Public); err != nil {
		t.Fatalf("Thumbprint of an accepted key: %v", err)
	}
}

func FuzzParseJWK(f *testing.F) {
	for _, pub := range []any{&rsaKey(f).PublicKey, &ecKey(f, elliptic.P256()).PublicKey, &ecKey(f, elliptic.P384()).PublicKey, &ecKey(f, elliptic.P521()).PublicKey, edKey(f).Public()} {
		data, err := json.Marshal(mustKey(f, "seed", "", pub).JWK())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`))
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"Aw","key_ops":["verify"],"use":"sig"}`))
	f.Add([]byte(`{"kty":"oct","k":"c2VjcmV0","kid":"a","kid":"b"}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}`))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseJWK(data)
		if err != nil {
			return
		}
		checkRoundTrip(t, k)
	})
}

func FuzzParsePublicPEM(f *testing.F) {
	for _, name := range []string{"public_key.crt", "public_pkcs1.pem", "cert.pem", "ec_public.pem", "weak_public.pem", "keys.pem", "ec.pem", "encrypted_legacy.pem"} {
		data := readTestdata(f, name)
		f.Add(data)
		f.Add([]byte(strings.ReplaceAll(string(data), "\n", "\r\n")))
	}
	f.Add([]byte(strings.ReplaceAll(string(readTestdata(f, "public_key.crt")), "\n", " ")))
	ed, err := EncodePublicPEM(edKey(f).Public())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ed)
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte("-----BEGIN X-----\\nAAAA\\n-----END X-----"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The other PEM readers share the block finder; none may panic.
		_, _ = ParsePrivatePEM(data)
		_, _ = PublicFromPEM(data)
		pub, err := ParsePublicPEM(data)
		if err != nil {
			return
		}
		k, err := NewKey("fuzz", "", pub)
		if err != nil {
			return
		}
		checkRoundTrip(t, k)
		encoded, err := EncodePublicPEM(pub)
		if err != nil {
			t.Fatalf("EncodePublicPEM of an accepted key: %v", err)
		}
		back, err := ParsePublicPEM(encoded)
		if err != nil || !equalPublic(back, pub) {
			t.Fatalf("PEM round trip = %v, %v; want the same key", back, err)
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	var members []string
	for i, pub := range []any{&rsaKey(f).PublicKey, &ecKey(f, elliptic.P256()).PublicKey, edKey(f).Public()} {
		data, err := json.Marshal(mustKey(f, string(rune('a'+i)), "", pub).JWK())
		if err != nil {
			f.Fatal(err)
		}
		members = append(members, string(data))
	}
	f.Add([]byte(`{"keys":[` + strings.Join(members, ",") + `]}`))
	f.Add([]byte(`{"keys":[` + members[1] + `,` + members[1] + `,{"kty":"oct","k":"AA"},{"kty":"EC","use":"enc"},1]}`))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(members[0]))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, skipped, err := ParseJWKS(data)
		if err != nil {
			if ks != nil || skipped != nil {
				t.Fatalf("keys and skipped returned with error %v", err)
			}
			return
		}
		if len(ks)+len(skipped) > maxJWKSKeys {
			t.Fatalf("%d keys and %d skipped; want at most %d in all", len(ks), len(skipped), maxJWKSKeys)
		}
		seen := map[string]bool{}
		for _, k := range ks {
			if seen[k.ID] {
				t.Fatalf("kid %q returned twice", k.ID)
			}
			seen[k.ID] = true
			checkRoundTrip(t, k)
		}
		if _, err := NewStaticSet(ks...); err != nil {
			t.Fatalf("NewStaticSet of parsed keys: %v", err)
		}
	})
}
