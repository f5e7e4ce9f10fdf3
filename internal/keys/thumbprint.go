package keys

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of pub, base64url
// without padding. It hashes only the required members in lexicographic
// order with no whitespace, so every party computes the same value for the
// same key whatever else its JWK carries.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := PublicJWK(pub)
	if err != nil {
		return "", err
	}
	// The values are base64url or fixed names, so none needs JSON escaping.
	var canonical string
	switch j.Kty {
	case "RSA":
		canonical = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, j.E, j.N)
	case "EC":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, j.Crv, j.X, j.Y)
	case "OKP":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"OKP","x":%q}`, j.Crv, j.X)
	}
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
