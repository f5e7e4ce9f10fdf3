package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
)

// Generate creates a new signing key. kind is "rsa", "ec" or "ed25519". bits
// applies to rsa only: 2048, 3072 or 4096, and 0 means 2048. curve applies to
// ec only: "P-256", "P-384" or "P-521", and "" means P-256. Parameters that do
// not apply to kind are ignored, so a caller may pass its flag defaults.
func Generate(kind string, bits int, curve string) (crypto.Signer, error) {
	switch kind {
	case "rsa":
		return generateRSA(bits)
	case "ec":
		if curve == "" {
			curve = "P-256"
		}
		c, _, err := curveByName(curve)
		if err != nil {
			return nil, err
		}
		return ecdsa.GenerateKey(c, rand.Reader)
	case "ed25519":
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}
	return nil, fmt.Errorf("%w: key kind %q is not supported; want rsa, ec or ed25519", ErrUnsupportedKey, kind)
}

func generateRSA(bits int) (crypto.Signer, error) {
	switch {
	case bits == 0:
		bits = minRSABits
	case bits < minRSABits:
		return nil, fmt.Errorf("%w: rsa key of %d bits requested; use at least %d", ErrWeakKey, bits, minRSABits)
	}
	// Odd sizes buy nothing and some verifiers refuse them; the three
	// common ones cover every need.
	if bits != 2048 && bits != 3072 && bits != 4096 {
		return nil, fmt.Errorf("%w: rsa key of %d bits requested; use 2048, 3072 or 4096", ErrUnsupportedKey, bits)
	}
	return rsa.GenerateKey(rand.Reader, bits)
}
