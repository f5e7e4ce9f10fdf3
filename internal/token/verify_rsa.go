package token

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"

	"github.com/golang-jwt/jwt/v5"
)

// pssVerify are the PSS options golang-jwt verifies PS256/384/512 with: the
// salt length read from the signature (RFC 7518 §3.5 asks for the hash's
// length; tokens signed with the automatic length exist). Only read.
var pssVerify = rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}

// verifySignature checks parts' signature with pub under alg, which
// methodFor or keyFits already matched with the key. RS* and PS* call
// crypto/rsa as golang-jwt's methods do, with the same hash and options,
// but hash the signing input into a digest on the stack: the methods make
// a hasher, a []byte copy of the input and a digest slice per call, three
// allocations of a cold verification. ES* and EdDSA go to method.
func verifySignature(method jwt.SigningMethod, alg string, parts *compact, pub crypto.PublicKey) error {
	if k, ok := pub.(*rsa.PublicKey); ok {
		switch alg {
		case "RS256":
			d := sha256.Sum256(parts.signingBytes)
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], parts.signature)
		case "RS384":
			d := sha512.Sum384(parts.signingBytes)
			return rsa.VerifyPKCS1v15(k, crypto.SHA384, d[:], parts.signature)
		case "RS512":
			d := sha512.Sum512(parts.signingBytes)
			return rsa.VerifyPKCS1v15(k, crypto.SHA512, d[:], parts.signature)
		case "PS256":
			d := sha256.Sum256(parts.signingBytes)
			return rsa.VerifyPSS(k, crypto.SHA256, d[:], parts.signature, &pssVerify)
		case "PS384":
			d := sha512.Sum384(parts.signingBytes)
			return rsa.VerifyPSS(k, crypto.SHA384, d[:], parts.signature, &pssVerify)
		case "PS512":
			d := sha512.Sum512(parts.signingBytes)
			return rsa.VerifyPSS(k, crypto.SHA512, d[:], parts.signature, &pssVerify)
		}
	}
	return method.Verify(parts.signingInput, parts.signature, pub)
}
