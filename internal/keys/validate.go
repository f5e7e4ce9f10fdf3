package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"
)

// RSA limits. Below 2048 bits is breakable in practice (RFC 7518 §3.3); above
// 8192 bits a single token makes the gateway spend noticeable CPU.
const (
	minRSABits  = 2048
	maxRSABits  = 8192
	rsaExponent = 65537
)

// rsaAlgorithms are the JWS algorithms an RSA key may be bound to.
var rsaAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}

// NewKey returns the verification key kid for pub, bound to alg. An empty alg
// means DefaultAlgorithm(pub). It refuses weak RSA keys, curves other than
// P-256, P-384 and P-521, and any alg that does not fit the key, so a Key
// that exists is always safe to verify with.
func NewKey(kid, alg string, pub crypto.PublicKey) (*Key, error) {
	if alg == "" {
		def, err := DefaultAlgorithm(pub)
		if err != nil {
			return nil, err
		}
		alg = def
	}
	k := &Key{ID: kid, Algorithm: alg, Public: pub}
	if err := k.validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// DefaultAlgorithm returns the algorithm a key without an explicit alg is
// bound to: RS256 for RSA (what OCI assumes for PEM keys), the ES* that
// matches an EC key's curve, and EdDSA for Ed25519.
func DefaultAlgorithm(pub crypto.PublicKey) (string, error) {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		if pub == nil {
			return "", unsupportedType(nil)
		}
		alg, _, err := curveInfo(pub.Curve)
		return alg, err
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", unsupportedType(pub)
}

// validate checks k's public material and that its algorithm fits it. It is
// separate from NewKey so key sets can re-check keys built as literals.
func (k *Key) validate() error {
	if err := checkPublic(k.Public); err != nil {
		return err
	}
	return checkAlgorithm(k.Algorithm, k.Public)
}

// checkPublic refuses public keys keygate must not verify with.
func checkPublic(pub crypto.PublicKey) error {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return checkRSA(pub)
	case *ecdsa.PublicKey:
		if pub == nil {
			return unsupportedType(nil)
		}
		if _, _, err := curveInfo(pub.Curve); err != nil {
			return err
		}
		if _, err := pub.Bytes(); err != nil {
			return fmt.Errorf("%w: ec public key is not a valid point on its curve", ErrMalformedKey)
		}
		return nil
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: ed25519 public key is %d bytes; want %d", ErrMalformedKey, len(pub), ed25519.PublicKeySize)
		}
		return nil
	}
	return unsupportedType(pub)
}

// checkRSA refuses RSA keys that are broken, weak or too costly (K1).
func checkRSA(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil || pub.N.Sign() <= 0 || pub.N.Bit(0) == 0 {
		return fmt.Errorf("%w: rsa modulus is missing, not positive or even", ErrMalformedKey)
	}
	switch bits := pub.N.BitLen(); {
	case bits < minRSABits:
		return fmt.Errorf("%w: rsa key is %d bits; use at least %d (openssl genrsa -out keys.pem 2048)", ErrWeakKey, bits, minRSABits)
	case bits > maxRSABits:
		return fmt.Errorf("%w: rsa key is %d bits; use at most %d (openssl genrsa -out keys.pem 4096)", ErrWeakKey, bits, maxRSABits)
	}
	if pub.E != rsaExponent {
		return fmt.Errorf("%w: rsa public exponent is %d; use 65537 (openssl genrsa uses it by default)", ErrWeakKey, pub.E)
	}
	return nil
}

// checkAlgorithm refuses an alg that does not fit pub. Binding each key to
// exactly one fitting algorithm is what defeats algorithm confusion (T2, T13).
func checkAlgorithm(alg string, pub crypto.PublicKey) error {
	want, err := allowedAlgorithms(pub)
	if err != nil {
		return err
	}
	if slices.Contains(want, alg) {
		return nil
	}
	if alg == "" {
		return fmt.Errorf("%w: alg is empty; bind the key to one of %s", ErrUnsupportedKey, strings.Join(want, ", "))
	}
	if upper := strings.ToUpper(alg); upper == "NONE" || strings.HasPrefix(upper, "HS") {
		return fmt.Errorf("%w: alg %q is never allowed; keygate verifies only with public keys: use %s", ErrUnsupportedKey, alg, strings.Join(want, ", "))
	}
	return fmt.Errorf("%w: alg %q does not fit %s; use %s", ErrUnsupportedKey, alg, describe(pub), strings.Join(want, ", "))
}

// allowedAlgorithms lists the algorithms pub may be bound to.
func allowedAlgorithms(pub crypto.PublicKey) ([]string, error) {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return rsaAlgorithms, nil
	case *ecdsa.PublicKey:
		alg, _, err := curveInfo(pub.Curve)
		if err != nil {
			return nil, err
		}
		return []string{alg}, nil
	case ed25519.PublicKey:
		return []string{"EdDSA"}, nil
	}
	return nil, unsupportedType(pub)
}

// curveInfo returns the one algorithm an EC curve allows (RFC 7518 §3.4 ties
// each ES* to its curve) and the JWK crv name.
func curveInfo(c elliptic.Curve) (alg, crv string, err error) {
	switch c {
	case elliptic.P256():
		return "ES256", "P-256", nil
	case elliptic.P384():
		return "ES384", "P-384", nil
	case elliptic.P521():
		return "ES512", "P-521", nil
	}
	name := "unknown"
	if c != nil {
		name = c.Params().Name
	}
	return "", "", fmt.Errorf("%w: ec curve %q is not supported; use P-256, P-384 or P-521 (openssl ecparam -name prime256v1 -genkey -noout -out ec.pem)", ErrUnsupportedKey, name)
}

// describe names pub's type and size for error messages.
func describe(pub crypto.PublicKey) string {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return "an rsa key"
	case *ecdsa.PublicKey:
		_, crv, _ := curveInfo(pub.Curve)
		return "an ec " + crv + " key"
	case ed25519.PublicKey:
		return "an ed25519 key"
	}
	return fmt.Sprintf("a %T key", pub)
}

// unsupportedType explains why pub is not a key keygate verifies with.
func unsupportedType(pub crypto.PublicKey) error {
	if pub == nil {
		return fmt.Errorf("%w: no public key", ErrMalformedKey)
	}
	if _, ok := pub.(crypto.Signer); ok {
		return fmt.Errorf("%w: got a %T; give the public key only", ErrPrivateKey, pub)
	}
	return fmt.Errorf("%w: key type %T is not supported; use rsa, ec (P-256, P-384, P-521) or ed25519", ErrUnsupportedKey, pub)
}
