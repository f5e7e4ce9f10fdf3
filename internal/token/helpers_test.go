package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/internal/keys"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

const (
	testIssuer   = "https://issuer.example.com"
	testAudience = "api://keygate"
)

// fixture holds the keys generated once for the whole test binary: RSA
// key generation is too slow to repeat per test.
type fixture struct {
	rsa      *rsa.PrivateKey
	p256     *ecdsa.PrivateKey
	p384     *ecdsa.PrivateKey
	p521     *ecdsa.PrivateKey
	ed       ed25519.PrivateKey
	attacker *rsa.PrivateKey
	// signers maps each kid the resolver knows to its private key.
	signers map[string]crypto.Signer
	keys    map[string]*keys.Key
}

var loadFixture = sync.OnceValue(func() *fixture {
	f := &fixture{
		rsa:      must(rsa.GenerateKey(rand.Reader, 2048)),
		attacker: must(rsa.GenerateKey(rand.Reader, 2048)),
		p256:     must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)),
		p384:     must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)),
		p521:     must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader)),
	}
	_, f.ed = must2(ed25519.GenerateKey(rand.Reader))
	f.signers = map[string]crypto.Signer{
		"rs256": f.rsa, "rs384": f.rsa, "rs512": f.rsa,
		"ps256": f.rsa, "ps384": f.rsa, "ps512": f.rsa,
		"es256": f.p256, "es384": f.p384, "es512": f.p521, "eddsa": f.ed,
	}
	algs := map[string]string{
		"rs256": "RS256", "rs384": "RS384", "rs512": "RS512",
		"ps256": "PS256", "ps384": "PS384", "ps512": "PS512",
		"es256": "ES256", "es384": "ES384", "es512": "ES512", "eddsa": "EdDSA",
	}
	f.keys = map[string]*keys.Key{}
	for kid, s := range f.signers {
		f.keys[kid] = &keys.Key{ID: kid, Algorithm: algs[kid], Public: s.Public()}
	}
	return f
})

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// mapResolver is a static key set that counts its lookups, so tests can
// show a token was refused before any key was consulted.
type mapResolver struct {
	keys    map[string]*keys.Key
	lookups atomic.Int64
}

func (r *mapResolver) Key(kid string) (*keys.Key, error) {
	r.lookups.Add(1)
	if k, ok := r.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: %q", keys.ErrUnknownKID, kid)
}

// failingResolver always fails with err.
type failingResolver struct{ err error }

func (r failingResolver) Key(string) (*keys.Key, error) { return nil, r.err }

func newResolver(f *fixture) *mapResolver {
	return &mapResolver{keys: maps.Clone(f.keys)}
}

func testPolicy() Policy {
	return Policy{Issuers: []string{testIssuer}, Audiences: []string{testAudience}}
}

func newTestVerifier(t testing.TB, p Policy) (*Verifier, *mapResolver) {
	t.Helper()
	r := newResolver(loadFixture())
	return NewVerifier(r, p, func() time.Time { return testNow }), r
}

// validClaims are claims every test verifier accepts.
func validClaims() map[string]any {
	return map[string]any{
		"iss":   testIssuer,
		"aud":   []any{testAudience},
		"sub":   "client-1",
		"scope": "orders.read orders.write",
		"iat":   testNow.Add(-time.Minute).Unix(),
		"exp":   testNow.Add(time.Hour).Unix(),
	}
}

// withClaims returns validClaims changed by edits; a nil value deletes.
func withClaims(edits map[string]any) map[string]any {
	c := validClaims()
	for k, v := range edits {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// deleted marks a claim edit that removes the claim; jsonNull sets null.
var (
	deleted  any
	jsonNull = json.RawMessage("null")
)

// signKid signs claims with the fixture key named kid, through Sign.
func signKid(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	f := loadFixture()
	tok, err := Sign(f.signers[kid], kid, f.keys[kid].Algorithm, claims)
	if err != nil {
		t.Fatalf("Sign(%s): %v", kid, err)
	}
	return tok
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signRaw builds a token from literal header and payload JSON and signs it
// with golang-jwt's method for alg, so tests can craft bytes Sign never
// would (duplicate members, odd headers).
func signRaw(t testing.TB, alg string, key any, header, payload string) string {
	t.Helper()
	input := b64(header) + "." + b64(payload)
	sig, err := jwt.GetSigningMethod(alg).Sign(input, key)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// validPayload is validClaims as JSON text, for signRaw.
func validPayload() string {
	return string(must(json.Marshal(validClaims())))
}

// wantRejected checks that err wraps want and carries want's reason.
func wantRejected(t *testing.T, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("got error %q (reason %s), want errors.Is(err, %v)", err, Reason(err), want)
	}
	if got, wantReason := Reason(err), Reason(want); got != wantReason {
		t.Fatalf("Reason(err) = %q, want %q", got, wantReason)
	}
}
