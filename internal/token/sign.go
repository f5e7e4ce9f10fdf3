package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/internal/keys"
)

// signingMethod returns golang-jwt's method for alg, or nil for any
// algorithm keygate does not verify. A fixed list rather than
// jwt.GetSigningMethod: that registry is global and also knows "none" and
// the HMAC algorithms, which a public key must never be used with.
func signingMethod(alg string) jwt.SigningMethod {
	switch alg {
	case "RS256":
		return jwt.SigningMethodRS256
	case "RS384":
		return jwt.SigningMethodRS384
	case "RS512":
		return jwt.SigningMethodRS512
	case "PS256":
		return jwt.SigningMethodPS256
	case "PS384":
		return jwt.SigningMethodPS384
	case "PS512":
		return jwt.SigningMethodPS512
	case "ES256":
		return jwt.SigningMethodES256
	case "ES384":
		return jwt.SigningMethodES384
	case "ES512":
		return jwt.SigningMethodES512
	case "EdDSA":
		return jwt.SigningMethodEdDSA
	}
	return nil
}

// keyFits reports whether pub can be used with alg: RSA with RS* and PS*,
// an EC key only with the algorithm of its curve, Ed25519 with EdDSA.
func keyFits(alg string, pub crypto.PublicKey) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil {
			return false
		}
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		return k != nil && alg != "" && alg == curveAlgorithm(k.Curve)
	case ed25519.PublicKey:
		return alg == "EdDSA" && len(k) == ed25519.PublicKeySize
	}
	return false
}

// curveAlgorithm is the one JWS algorithm for an EC curve, "" if none.
// The standard curves' parameters are singletons; comparing those pointers
// cannot panic the way comparing Curve interface values could.
func curveAlgorithm(c elliptic.Curve) string {
	if c == nil {
		return ""
	}
	switch c.Params() {
	case elliptic.P256().Params():
		return "ES256"
	case elliptic.P384().Params():
		return "ES384"
	case elliptic.P521().Params():
		return "ES512"
	}
	return ""
}

// keyKind names a public key's type for messages.
func keyKind(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "EC"
		}
		return "EC " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

// methodFor returns the method that verifies key's signatures, after
// checking that the token's alg is exactly the key's algorithm. The method
// comes from the key, so the header cannot pick HS256 or none.
func methodFor(alg string, key *keys.Key) (jwt.SigningMethod, error) {
	if alg != key.Algorithm {
		return nil, newError(ErrAlgorithm, fmt.Sprintf(
			"token alg %s does not match key %s, which allows only %s",
			quote(alg), quote(key.ID), quote(key.Algorithm)))
	}
	method := signingMethod(key.Algorithm)
	if method == nil {
		return nil, newError(ErrAlgorithm, fmt.Sprintf(
			"key %s has algorithm %s, which keygate does not verify", quote(key.ID), quote(key.Algorithm)))
	}
	if !keyFits(key.Algorithm, key.Public) {
		return nil, newError(ErrAlgorithm, fmt.Sprintf(
			"key %s is an %s key and cannot verify %s", quote(key.ID), keyKind(key.Public), key.Algorithm))
	}
	return method, nil
}

// SigningAlgorithm returns the JWS algorithm to sign with key. An empty alg
// picks the key's default: RS256 for RSA, ES256, ES384 or ES512 by EC
// curve, EdDSA for Ed25519. A given alg must fit the key (RSA: RS256,
// RS384, RS512, PS256, PS384, PS512; EC: its curve's; Ed25519: EdDSA).
func SigningAlgorithm(key crypto.Signer, alg string) (string, error) {
	if key == nil {
		return "", errors.New("no signing key")
	}
	pub := key.Public()
	if alg == "" {
		switch k := pub.(type) {
		case *rsa.PublicKey:
			alg = "RS256"
		case *ecdsa.PublicKey:
			if k != nil {
				alg = curveAlgorithm(k.Curve)
			}
		case ed25519.PublicKey:
			alg = "EdDSA"
		}
		if alg == "" {
			return "", fmt.Errorf("%s keys cannot sign JWTs; use RSA, EC P-256, P-384, P-521 or Ed25519", keyKind(pub))
		}
	}
	if signingMethod(alg) == nil {
		return "", fmt.Errorf("algorithm %q is not supported; use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA", alg)
	}
	if !keyFits(alg, pub) {
		return "", fmt.Errorf("an %s key cannot sign %s; %s", keyKind(pub), alg, fitHint(pub))
	}
	return alg, nil
}

// fitHint names the algorithms a key can sign with.
func fitHint(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "an RSA key signs RS256, RS384, RS512, PS256, PS384 or PS512"
	case *ecdsa.PublicKey:
		if alg := curveAlgorithm(k.Curve); alg != "" {
			return "this key signs " + alg
		}
		return "EC keys must be on P-256, P-384 or P-521"
	case ed25519.PublicKey:
		return "an Ed25519 key signs EdDSA"
	}
	return "use an RSA, EC or Ed25519 key"
}

// Sign returns a compact JWS of claims with the header
// {"alg": alg, "kid": kid, "typ": "JWT"}, signed by key. alg may be "" for
// the key's default (see SigningAlgorithm). key may be any crypto.Signer:
// an in-memory key, or one whose private half stays in an HSM (PKCS#11),
// so Sign hashes the signing input itself and converts what the signer
// returns to the JWS encoding (ECDSA: crypto.Signer's ASN.1 DER becomes
// the fixed-length R || S of RFC 7518 §3.4).
func Sign(key crypto.Signer, kid, alg string, claims map[string]any) (string, error) {
	alg, err := SigningAlgorithm(key, alg)
	if err != nil {
		return "", err
	}
	if kid == "" {
		return "", errors.New("kid is required: keygate selects the verification key by kid")
	}
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, "JWT"})
	if err != nil {
		return "", fmt.Errorf("encode token header: %w", err)
	}
	if claims == nil {
		claims = map[string]any{}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := signInput(key, alg, input)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", alg, err)
	}
	// A signer whose private half is elsewhere (an HSM object paired with
	// the wrong public key, a token that mangles the mechanism) would
	// otherwise hand out tokens no gateway accepts: check before returning.
	if err := signingMethod(alg).Verify(input, sig, key.Public()); err != nil {
		return "", fmt.Errorf("sign %s: the signature does not verify with the key's public half: %w", alg, err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
