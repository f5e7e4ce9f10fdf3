package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// JWK is a public JSON Web Key (RFC 7517) as keygate reads and writes it. It
// has no private members on purpose: a gateway only ever verifies.
type JWK struct {
	// Kty is the key type: "RSA", "EC" or "OKP".
	Kty string `json:"kty"`
	// Kid is the key id tokens name; empty means none.
	Kid string `json:"kid,omitempty"`
	// Alg is the one algorithm the key verifies; empty means the key type's
	// default (see DefaultAlgorithm).
	Alg string `json:"alg,omitempty"`
	// Use must be "sig" when present; empty means absent.
	Use string `json:"use,omitempty"`
	// KeyOps must contain "verify" when present; nil means absent.
	KeyOps []string `json:"key_ops,omitempty"`
	// N and E are the RSA modulus and exponent, base64url without padding.
	N string `json:"n,omitempty"`
	E string `json:"e,omitempty"`
	// Crv is the curve: "P-256", "P-384", "P-521" (EC) or "Ed25519" (OKP).
	Crv string `json:"crv,omitempty"`
	// X and Y are the point coordinates, base64url without padding; OKP has
	// only X.
	X string `json:"x,omitempty"`
	Y string `json:"y,omitempty"`
}

// b64 is the JOSE encoding: base64url, no padding, no stray bits.
var b64 = base64.RawURLEncoding.Strict()

// FromJWK returns the verification key j describes. It refuses keys whose
// use or key_ops say they are not for verification (K2), then applies the
// same checks as NewKey.
func FromJWK(j JWK) (*Key, error) {
	if err := checkUsage(j); err != nil {
		return nil, err
	}
	var pub crypto.PublicKey
	var err error
	switch j.Kty {
	case "RSA":
		pub, err = rsaFromJWK(j)
	case "EC":
		pub, err = ecFromJWK(j)
	case "OKP":
		pub, err = okpFromJWK(j)
	case "":
		return nil, fmt.Errorf("%w: jwk has no kty; want RSA, EC or OKP", ErrMalformedKey)
	case "oct":
		return nil, fmt.Errorf("%w: kty \"oct\" is a shared secret; keygate verifies only with public keys (RSA, EC or OKP)", ErrUnsupportedKey)
	default:
		return nil, fmt.Errorf("%w: kty %q is not supported; want RSA, EC or OKP", ErrUnsupportedKey, j.Kty)
	}
	if err != nil {
		return nil, err
	}
	return NewKey(j.Kid, j.Alg, pub)
}

// checkUsage enforces RFC 7517 §4.2–4.3: a key marked for encryption, or
// whose operations exclude verify, must not verify signatures.
func checkUsage(j JWK) error {
	if j.Use != "" && j.Use != "sig" {
		return fmt.Errorf("%w: jwk use is %q; a verification key needs \"sig\" (or no use)", ErrKeyUsage, j.Use)
	}
	if j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return fmt.Errorf("%w: jwk key_ops %q lack \"verify\"; add it (or drop key_ops)", ErrKeyUsage, j.KeyOps)
	}
	return nil
}

func rsaFromJWK(j JWK) (*rsa.PublicKey, error) {
	n, err := decodeMember("n", j.N)
	if err != nil {
		return nil, err
	}
	e, err := decodeMember("e", j.E)
	if err != nil {
		return nil, err
	}
	// An exponent wider than 4 bytes cannot be 65537; say so as K1 demands
	// rather than overflowing an int.
	if len(e) > 4 {
		return nil, fmt.Errorf("%w: rsa public exponent is %d bytes long; use 65537 (e \"AQAB\")", ErrWeakKey, len(e))
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
}

func ecFromJWK(j JWK) (*ecdsa.PublicKey, error) {
	curve, size, err := curveByName(j.Crv)
	if err != nil {
		return nil, err
	}
	x, err := decodeMember("x", j.X)
	if err != nil {
		return nil, err
	}
	y, err := decodeMember("y", j.Y)
	if err != nil {
		return nil, err
	}
	// RFC 7518 §6.2.1.2 fixes the coordinate length; a shorter or longer one
	// is a broken encoder, not a key to guess at.
	if len(x) != size || len(y) != size {
		return nil, fmt.Errorf("%w: %s coordinates must be %d bytes; x is %d, y is %d", ErrMalformedKey, j.Crv, size, len(x), len(y))
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, fmt.Errorf("%w: ec point (x, y) is not on curve %s", ErrMalformedKey, j.Crv)
	}
	return pub, nil
}

func okpFromJWK(j JWK) (ed25519.PublicKey, error) {
	if j.Crv != "Ed25519" {
		return nil, fmt.Errorf("%w: okp curve %q is not supported; want Ed25519", ErrUnsupportedKey, j.Crv)
	}
	x, err := decodeMember("x", j.X)
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: ed25519 x is %d bytes; want %d", ErrMalformedKey, len(x), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}

// curveByName maps a JWK crv to its curve and coordinate length in bytes.
func curveByName(crv string) (elliptic.Curve, int, error) {
	switch crv {
	case "P-256":
		return elliptic.P256(), 32, nil
	case "P-384":
		return elliptic.P384(), 48, nil
	case "P-521":
		return elliptic.P521(), 66, nil
	}
	return nil, 0, fmt.Errorf("%w: ec curve %q is not supported; want P-256, P-384 or P-521", ErrUnsupportedKey, crv)
}

// decodeMember decodes a base64url member strictly. Go's decoder skips CR
// and LF even in strict mode, so they are refused here: the encoding of a key
// has exactly one spelling.
func decodeMember(name, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: jwk member %q is missing", ErrMalformedKey, name)
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: jwk member %q contains a line break; want base64url without padding", ErrMalformedKey, name)
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: jwk member %q is not base64url without padding: %v", ErrMalformedKey, name, err)
	}
	return b, nil
}

// JWK returns k as a public JWK with use "sig", ready to publish.
func (k *Key) JWK() JWK {
	j, err := PublicJWK(k.Public)
	if err != nil {
		// A Key from NewKey always encodes; a hand-built broken one keeps
		// only what is known about it.
		j = JWK{Kty: k.Type()}
	}
	j.Kid, j.Alg, j.Use = k.ID, k.Algorithm, "sig"
	return j
}

// PublicJWK returns the JWK members that describe pub: kty and the key
// material, nothing else. EC coordinates have the fixed length of the curve.
func PublicJWK(pub crypto.PublicKey) (JWK, error) {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if err := checkRSAMaterial(pub); err != nil {
			return JWK{}, err
		}
		e := big.NewInt(int64(pub.E)).Bytes()
		return JWK{Kty: "RSA", N: b64.EncodeToString(pub.N.Bytes()), E: b64.EncodeToString(e)}, nil
	case *ecdsa.PublicKey:
		if pub == nil {
			return JWK{}, unsupportedType(nil)
		}
		_, crv, err := curveInfo(pub.Curve)
		if err != nil {
			return JWK{}, err
		}
		point, err := pub.Bytes()
		if err != nil {
			return JWK{}, fmt.Errorf("%w: ec public key is not a valid point on its curve", ErrMalformedKey)
		}
		size := (len(point) - 1) / 2
		return JWK{Kty: "EC", Crv: crv, X: b64.EncodeToString(point[1 : 1+size]), Y: b64.EncodeToString(point[1+size:])}, nil
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return JWK{}, fmt.Errorf("%w: ed25519 public key is %d bytes; want %d", ErrMalformedKey, len(pub), ed25519.PublicKeySize)
		}
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(pub)}, nil
	}
	return JWK{}, unsupportedType(pub)
}

// checkRSAMaterial refuses RSA keys that cannot be encoded at all; strength
// is NewKey's business, so PublicJWK can still describe an old key.
func checkRSAMaterial(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil || pub.N.Sign() <= 0 || pub.E <= 0 {
		return fmt.Errorf("%w: rsa public key has no valid modulus or exponent", ErrMalformedKey)
	}
	return nil
}
