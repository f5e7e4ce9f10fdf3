package gatewaytest

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/internal/token"
)

// The issuer and audience that JWTAuth trusts and Claims name.
const (
	Issuer   = "https://issuer.test"
	Audience = "api://keygate-test"
)

// FixedNow is the gateway's clock in tests that sign tokens: boundaries
// (exp == now) are exact, and a token signed once stays valid however slow
// the machine.
var FixedNow = time.Unix(1_750_000_000, 0).UTC()

// FixedClock returns FixedNow; it is the Options.Now of such tests.
func FixedClock() time.Time { return FixedNow }

// Claims are valid claims at FixedNow (issued a minute before, expiring an
// hour after, scope "orders:read profile"), changed by edits: a nil value
// deletes the claim.
func Claims(edits map[string]any) map[string]any {
	c := map[string]any{
		"sub": "client-1", "iss": Issuer, "aud": []any{Audience}, "scope": "orders:read profile",
		"iat": FixedNow.Add(-time.Minute).Unix(), "exp": FixedNow.Add(time.Hour).Unix(),
	}
	for k, v := range edits {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// Sign is a token as an honest client makes it, with token.Sign: kid and alg
// in the header, claims as the payload. kid and alg need not match the key,
// so that a test can name one key and sign with another.
func Sign(t testing.TB, key crypto.Signer, kid, alg string, claims map[string]any) string {
	t.Helper()
	tok, err := token.Sign(key, kid, alg, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// SignRaw signs the header and payload JSON texts exactly as given
// (duplicate members, odd spacing and all) with key using alg, whatever the
// header says: the forger's view. key is a private key, or []byte for the
// HMAC algorithms.
func SignRaw(t testing.TB, alg string, key any, header, payload string) string {
	t.Helper()
	input := B64([]byte(header)) + "." + B64([]byte(payload))
	return input + "." + B64(SignInput(t, alg, key, input))
}

// SignInput signs a JWS signing input (header.payload, already encoded) with
// key using alg, for tokens whose encoding is itself the attack (padding).
func SignInput(t testing.TB, alg string, key any, input string) []byte {
	t.Helper()
	method := jwt.GetSigningMethod(alg)
	if method == nil {
		t.Fatalf("no signing method %q", alg)
	}
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatalf("signing %s: %v", alg, err)
	}
	return sig
}

// Forge assembles header.payload.signature from the JSON texts and raw
// signature bytes, byte for byte as given: a token no key signed.
func Forge(header, payload string, sig []byte) string {
	return B64([]byte(header)) + "." + B64([]byte(payload)) + "." + B64(sig)
}

// B64 is unpadded base64url, the encoding of a JWS segment.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// MustJSON marshals v, for token segments and spec values.
func MustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Signature returns the signature segment of a compact token: a secret the
// log must not hold even when the whole token is cut.
func Signature(tok string) string { return tok[strings.LastIndexByte(tok, '.')+1:] }

// Bearer is an Authorization header carrying tok in the Bearer scheme.
func Bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
