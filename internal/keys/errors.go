package keys

import "errors"

// Errors that classify why key material was refused. Compare with errors.Is;
// the errors this package returns wrap one of them and add what is wrong and
// how to fix it.
var (
	// ErrMalformedKey means the input could not be parsed as key material:
	// bad PEM, bad JSON, bad base64url, wrong lengths, a point off its curve.
	ErrMalformedKey = errors.New("malformed key")
	// ErrUnsupportedKey means the key parsed but keygate does not verify with
	// it: an unknown kty, curve or alg, a symmetric key, or an alg that does
	// not fit the key (attack T13).
	ErrUnsupportedKey = errors.New("unsupported key")
	// ErrWeakKey means an RSA key outside 2048..8192 bits or with a public
	// exponent other than 65537 (attack K1).
	ErrWeakKey = errors.New("weak key")
	// ErrKeyUsage means a JWK whose "use" is not "sig" or whose "key_ops"
	// lacks "verify" (attack K2).
	ErrKeyUsage = errors.New("key is not for signature verification")
	// ErrPrivateKey means private key material arrived where a public key is
	// expected; a gateway must never hold a client's private key.
	ErrPrivateKey = errors.New("private key where a public key is expected")
	// ErrDuplicateKID means two keys share a kid, so a token could not say
	// which one it means.
	ErrDuplicateKID = errors.New("duplicate kid")
)
