package gatewaytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/keys"
)

// The private keys are generated once per test binary, each on first use:
// generation (RSA's above all) is the slow part, and the tests need many
// tokens, not many keys.
var (
	rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	ecKey       = sync.OnceValue(newP256)
	attackerKey = sync.OnceValue(newP256)
	edKey       = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func newP256() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// RSAKey is the binary's RSA-2048 key.
func RSAKey() *rsa.PrivateKey { return rsaKey() }

// ECKey is the binary's P-256 key.
func ECKey() *ecdsa.PrivateKey { return ecKey() }

// AttackerKey is a P-256 key that no spec should ever trust: the key an
// attacker embeds in a token or serves from a URL of its own.
func AttackerKey() *ecdsa.PrivateKey { return attackerKey() }

// EdKey is the binary's Ed25519 key (keygate's EdDSA extension).
func EdKey() ed25519.PrivateKey { return edKey() }

// Key is a client key as a spec pins it: the kid tokens name, the algorithm
// the gateway allows for it, and the private half that signs.
type Key struct {
	KID, Alg string
	Signer   crypto.Signer
}

// RSA is the binary's RSA key under kid, pinned to RS256.
func RSA(kid string) Key { return Key{KID: kid, Alg: "RS256", Signer: RSAKey()} }

// EC is the binary's P-256 key under kid, pinned to ES256.
func EC(kid string) Key { return Key{KID: kid, Alg: "ES256", Signer: ECKey()} }

// Ed is the binary's Ed25519 key under kid, pinned to EdDSA.
func Ed(kid string) Key { return Key{KID: kid, Alg: "EdDSA", Signer: EdKey()} }

// JWK is the key as a spec's JSON_WEB_KEY entry.
func (k Key) JWK(t testing.TB) map[string]any { return JWK(t, k.KID, k.Alg, k.Signer.Public()) }

// PEM is the key as a spec's PEM entry.
func (k Key) PEM(t testing.TB) map[string]any {
	t.Helper()
	pem, err := keys.EncodePublicPEM(k.Signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"format": "PEM", "kid": k.KID, "key": string(pem)}
}

// Sign returns a compact JWT of claims with the key's kid and algorithm, as
// an honest client makes it.
func (k Key) Sign(t testing.TB, claims map[string]any) string {
	return Sign(t, k.Signer, k.KID, k.Alg, claims)
}

// JWK is pub as a spec's JSON_WEB_KEY entry under kid and alg: any public
// key, so that a test can offer a weak or mismatched one.
func JWK(t testing.TB, kid, alg string, pub crypto.PublicKey) map[string]any {
	t.Helper()
	m := PublicJWK(t, pub)
	m["format"], m["kid"], m["alg"], m["use"] = "JSON_WEB_KEY", kid, alg, "sig"
	return m
}

// PublicJWK is pub's key members alone (kty, n, e or crv, x, y): what a JWKS
// document or a token's jwk header carries.
func PublicJWK(t testing.TB, pub crypto.PublicKey) map[string]any {
	t.Helper()
	j, err := keys.PublicJWK(pub)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"kty": j.Kty}
	for name, v := range map[string]string{"n": j.N, "e": j.E, "crv": j.Crv, "x": j.X, "y": j.Y} {
		if v != "" {
			m[name] = v
		}
	}
	return m
}
