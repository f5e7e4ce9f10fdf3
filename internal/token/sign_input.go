package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// signInput signs the JWS signing input with key for alg, which
// SigningAlgorithm has already matched to the key, and returns the
// signature in its JWS encoding.
func signInput(key crypto.Signer, alg, input string) ([]byte, error) {
	if alg == "EdDSA" {
		return key.Sign(rand.Reader, []byte(input), crypto.Hash(0))
	}
	hash := algorithmHash(alg)
	h := hash.New()
	h.Write([]byte(input))
	digest := h.Sum(nil)
	switch alg[:2] {
	case "RS":
		return key.Sign(rand.Reader, digest, hash)
	case "PS":
		// RFC 7518 §3.5: the salt is as long as the hash output.
		return key.Sign(rand.Reader, digest, &rsa.PSSOptions{SaltLength: hash.Size(), Hash: hash})
	case "ES":
		der, err := key.Sign(rand.Reader, digest, hash)
		if err != nil {
			return nil, err
		}
		pub, _ := key.Public().(*ecdsa.PublicKey)
		return ecdsaRawSignature(der, (pub.Curve.Params().BitSize+7)/8)
	}
	return nil, fmt.Errorf("algorithm %q has no signing method", alg)
}

// algorithmHash is the hash function of an RS*, PS* or ES* algorithm.
func algorithmHash(alg string) crypto.Hash {
	switch alg[2:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

// ecdsaRawSignature turns the ASN.1 DER ECDSA-Sig-Value a crypto.Signer
// returns (SEQUENCE { r INTEGER, s INTEGER }) into the JWS form: r and s
// as big-endian unsigned integers of size bytes each, concatenated.
func ecdsaRawSignature(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) > 0 {
		return nil, errors.New("the signer returned an ECDSA signature that is not ASN.1 DER (r, s)")
	}
	r, s := sig.R, sig.S
	if r.Sign() <= 0 || s.Sign() <= 0 || len(r.Bytes()) > size || len(s.Bytes()) > size {
		return nil, errors.New("the signer returned an ECDSA signature out of range for the curve")
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}
