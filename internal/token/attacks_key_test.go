package token

// Rows T1–T6, T10 and T13 of attacks.md: tokens that try to choose their
// own algorithm, key or key location.

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/internal/keys"
)

type attackCase struct {
	name string
	raw  string
	want error
}

func runAttacks(t *testing.T, v *Verifier, tests []attackCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tt.raw)
			wantRejected(t, err, tt.want)
			if len(err.Error()) > 300 {
				t.Errorf("message is %d bytes, want a short one: %.80q", len(err.Error()), err.Error())
			}
		})
	}
}

// signatureOf returns the signature segment of a token.
func signatureOf(raw string) string { return raw[strings.LastIndexByte(raw, '.')+1:] }

func TestT1AlgNone(t *testing.T) {
	v, _ := newTestVerifier(t, testPolicy())
	realSig := signatureOf(signKid(t, "rs256", validClaims()))
	var tests []attackCase
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		input := b64(`{"alg":"`+alg+`","kid":"rs256"}`) + "." + b64(validPayload())
		tests = append(tests,
			attackCase{alg + " with signature kept", input + "." + realSig, ErrAlgorithm},
			attackCase{alg + " with empty signature", input + ".", ErrMalformed},
		)
	}
	runAttacks(t, v, tests)
}

func TestT2HMACWithPublicKey(t *testing.T) {
	f := loadFixture()
	der := must(x509.MarshalPKIXPublicKey(&f.rsa.PublicKey))
	secrets := map[string][]byte{
		"PEM": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"DER": der,
		"n":   []byte(base64.RawURLEncoding.EncodeToString(f.rsa.N.Bytes())),
	}
	r := newResolver(f)
	// A key wrongly configured with an HMAC algorithm must not verify
	// either: keygate has no HMAC method at all.
	r.keys["hs-misconfigured"] = &keys.Key{ID: "hs-misconfigured", Algorithm: "HS256", Public: &f.rsa.PublicKey}
	v := NewVerifier(r, testPolicy(), func() time.Time { return testNow })
	var tests []attackCase
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		for name, secret := range secrets {
			for _, kid := range []string{"rs256", "hs-misconfigured"} {
				raw := signRaw(t, alg, secret, `{"alg":"`+alg+`","kid":"`+kid+`"}`, validPayload())
				tests = append(tests, attackCase{alg + " keyed by " + name + " for " + kid, raw, ErrAlgorithm})
			}
		}
	}
	runAttacks(t, v, tests)
}

func TestT3EmbeddedJWK(t *testing.T) {
	f := loadFixture()
	v, _ := newTestVerifier(t, testPolicy())
	jwk := `{"kty":"RSA","e":"AQAB","n":"` + base64.RawURLEncoding.EncodeToString(f.attacker.N.Bytes()) + `"}`
	runAttacks(t, v, []attackCase{
		{"jwk with our kid", signRaw(t, "RS256", f.attacker, `{"alg":"RS256","kid":"rs256","jwk":`+jwk+`}`, validPayload()), ErrForbiddenHeader},
		{"jwk with its own kid", signRaw(t, "RS256", f.attacker, `{"alg":"RS256","kid":"attacker","jwk":`+jwk+`}`, validPayload()), ErrForbiddenHeader},
		{"jwk null", signRaw(t, "RS256", f.attacker, `{"alg":"RS256","kid":"rs256","jwk":null}`, validPayload()), ErrForbiddenHeader},
		{"attacker signature without jwk", signRaw(t, "RS256", f.attacker, `{"alg":"RS256","kid":"rs256"}`, validPayload()), ErrBadSignature},
	})
}

func TestT4RemoteKeyLocations(t *testing.T) {
	f := loadFixture()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
	}))
	defer srv.Close()
	cert := selfSignedCert(t, f.attacker)
	v, _ := newTestVerifier(t, testPolicy())
	runAttacks(t, v, []attackCase{
		{"jku", signRaw(t, "RS256", f.attacker, `{"alg":"RS256","kid":"rs256","jku":"`+srv.URL+`/jwks"}`, validPayload()), ErrForbiddenHeader},
		{"x5u", signRaw(t, "RS256", f.attacker, `{"alg":"RS256","kid":"rs256","x5u":"`+srv.URL+`/cert"}`, validPayload()), ErrForbiddenHeader},
		{"x5c", signRaw(t, "RS256", f.attacker, `{"alg":"RS256","kid":"rs256","x5c":["`+cert+`"]}`, validPayload()), ErrForbiddenHeader},
		{"jku on a token our key signed", signRaw(t, "RS256", f.rsa, `{"alg":"RS256","kid":"rs256","jku":"`+srv.URL+`"}`, validPayload()), ErrForbiddenHeader},
	})
	if n := requests.Load(); n != 0 {
		t.Errorf("attacker server got %d requests, want 0", n)
	}
}

func selfSignedCert(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attacker"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour)}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key))
	return base64.StdEncoding.EncodeToString(der)
}

func TestT5HostileKID(t *testing.T) {
	f := loadFixture()
	var tests []attackCase
	for name, kid := range map[string]string{
		"path traversal":    `../../dev/null`,
		"SQL":               `x' UNION SELECT 'key' --`,
		"10 kB":             strings.Repeat("A", 10240),
		"NUL":               `rs256\u0000`,
		"newline":           `rs256\n`,
		"terminal escape":   `\u001b[31mrs256`,
		"other case":        `RS256`,
		"trailing space":    `rs256 `,
		"unicode lookalike": `rs256\u200b`,
	} {
		raw := signRaw(t, "RS256", f.rsa, `{"alg":"RS256","kid":"`+kid+`"}`, validPayload())
		tests = append(tests, attackCase{name, raw, ErrUnknownKID})
	}
	v, _ := newTestVerifier(t, testPolicy())
	runAttacks(t, v, tests)
	for _, tt := range tests {
		if _, err := v.Verify(tt.raw); !errors.Is(err, keys.ErrUnknownKID) {
			t.Errorf("%s: errors.Is(err, keys.ErrUnknownKID) = false for %v", tt.name, err)
		}
	}
}

func TestT6ECDSAZeroSignature(t *testing.T) {
	v, _ := newTestVerifier(t, testPolicy())
	good := signKid(t, "es256", validClaims())
	input := good[:strings.LastIndexByte(good, '.')]
	n := ecdsaN(loadFixture().p256)
	sig := func(r, s []byte) string {
		return input + "." + base64.RawURLEncoding.EncodeToString(append(append([]byte{}, r...), s...))
	}
	zero := make([]byte, 32)
	goodSig := must(base64.RawURLEncoding.DecodeString(signatureOf(good)))
	runAttacks(t, v, []attackCase{
		{"r = s = 0", sig(zero, zero), ErrBadSignature},
		{"r = s = n", sig(n, n), ErrBadSignature},
		{"r = 0, real s", sig(zero, goodSig[32:]), ErrBadSignature},
		{"real r, s = n", sig(goodSig[:32], n), ErrBadSignature},
		{"63 bytes", input + "." + base64.RawURLEncoding.EncodeToString(goodSig[:63]), ErrBadSignature},
		{"65 bytes", input + "." + base64.RawURLEncoding.EncodeToString(append(goodSig, 0)), ErrBadSignature},
		{"DER encoded", input + "." + base64.RawURLEncoding.EncodeToString(derSig(t, input)), ErrBadSignature},
	})
}

// ecdsaN returns the order of key's curve as 32 big-endian bytes.
func ecdsaN(key *ecdsa.PrivateKey) []byte {
	return key.Curve.Params().N.FillBytes(make([]byte, 32))
}

// derSig signs input with the ES256 key in ASN.1 DER form, which JWS does
// not use (RFC 7518 §3.4).
func derSig(t *testing.T, input string) []byte {
	t.Helper()
	h := jwt.SigningMethodES256.Hash.New()
	h.Write([]byte(input))
	return must(ecdsa.SignASN1(rand.Reader, loadFixture().p256, h.Sum(nil)))
}

func TestT10Crit(t *testing.T) {
	f := loadFixture()
	v, _ := newTestVerifier(t, testPolicy())
	runAttacks(t, v, []attackCase{
		{"crit x-ext", signRaw(t, "ES256", f.p256, `{"alg":"ES256","kid":"es256","crit":["x-ext"],"x-ext":1}`, validPayload()), ErrForbiddenHeader},
		{"crit b64 false", signRaw(t, "ES256", f.p256, `{"alg":"ES256","kid":"es256","crit":["b64"],"b64":false}`, validPayload()), ErrForbiddenHeader},
		{"crit empty", signRaw(t, "ES256", f.p256, `{"alg":"ES256","kid":"es256","crit":[]}`, validPayload()), ErrForbiddenHeader},
		{"crit not an array", signRaw(t, "ES256", f.p256, `{"alg":"ES256","kid":"es256","crit":"exp"}`, validPayload()), ErrForbiddenHeader},
	})
}

func TestT13KeyTypeMismatch(t *testing.T) {
	f := loadFixture()
	r := newResolver(f)
	r.keys["ec-claims-rsa"] = &keys.Key{ID: "ec-claims-rsa", Algorithm: "RS256", Public: f.p256.Public()}
	r.keys["p384-claims-es256"] = &keys.Key{ID: "p384-claims-es256", Algorithm: "ES256", Public: f.p384.Public()}
	v := NewVerifier(r, testPolicy(), func() time.Time { return testNow })
	runAttacks(t, v, []attackCase{
		{"RS256 header on an EC key", signRaw(t, "RS256", f.rsa, `{"alg":"RS256","kid":"es256"}`, validPayload()), ErrAlgorithm},
		{"ES256 header on an RSA key", signRaw(t, "ES256", f.p256, `{"alg":"ES256","kid":"rs256"}`, validPayload()), ErrAlgorithm},
		{"EdDSA header on an RSA key", signRaw(t, "EdDSA", f.ed, `{"alg":"EdDSA","kid":"rs256"}`, validPayload()), ErrAlgorithm},
		{"ES384 header on a P-256 key", signRaw(t, "ES384", f.p384, `{"alg":"ES384","kid":"es256"}`, validPayload()), ErrAlgorithm},
		{"PS256 header on an RS256 key", signRaw(t, "PS256", f.rsa, `{"alg":"PS256","kid":"rs256"}`, validPayload()), ErrAlgorithm},
		{"alg case differs", signRaw(t, "RS256", f.rsa, `{"alg":"rs256","kid":"rs256"}`, validPayload()), ErrAlgorithm},
		{"EC key configured as RS256", signRaw(t, "RS256", f.rsa, `{"alg":"RS256","kid":"ec-claims-rsa"}`, validPayload()), ErrAlgorithm},
		{"P-384 key configured as ES256", signRaw(t, "ES256", f.p256, `{"alg":"ES256","kid":"p384-claims-es256"}`, validPayload()), ErrAlgorithm},
	})
}
