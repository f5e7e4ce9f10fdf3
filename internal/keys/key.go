// Package keys holds key material: parsing and encoding of PEM, JWK and JWKS,
// key generation, RFC 7638 thumbprints and key sets. It never logs; it
// returns errors that name the problem.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
)

// Errors a key set returns from a lookup. Compare with errors.Is.
var (
	// ErrUnknownKID means the set holds no key with the requested kid.
	ErrUnknownKID = errors.New("unknown kid")
	// ErrKeysUnavailable means the set could not be loaded (a remote JWKS
	// that never answered), so no token can be checked yet.
	ErrKeysUnavailable = errors.New("keys unavailable")
)

// Resolver finds the key a token names by its kid. Implementations return
// an error wrapping ErrUnknownKID or ErrKeysUnavailable when they cannot.
type Resolver interface {
	Key(kid string) (*Key, error)
}

// Key is a public verification key bound to exactly one JWS algorithm.
// The algorithm comes from the configuration (the JWK's alg, or the
// default implied by a PEM key's type), never from a token.
type Key struct {
	// ID is the key id ("kid") tokens name to select this key.
	ID string
	// Algorithm is the one JWS algorithm this key verifies: RS256, RS384,
	// RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA.
	Algorithm string
	// Public is *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Public crypto.PublicKey
}

// Type returns the JWK key type of k: "RSA", "EC" or "OKP".
func (k *Key) Type() string {
	switch k.Public.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC"
	case ed25519.PublicKey:
		return "OKP"
	}
	return ""
}

// Bits returns the size of k: the RSA modulus length, the EC curve size, or
// 256 for Ed25519.
func (k *Key) Bits() int {
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		return pub.N.BitLen()
	case *ecdsa.PublicKey:
		return pub.Curve.Params().BitSize
	case ed25519.PublicKey:
		return 256
	}
	return 0
}
