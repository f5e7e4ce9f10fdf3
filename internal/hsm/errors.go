// Package hsm reaches keys that never leave a hardware security module
// through PKCS#11: it parses RFC 7512 pkcs11: URIs, opens the key a URI
// names as a crypto.Signer, and generates key pairs inside a token. It
// never logs and never returns a PIN in an error.
package hsm

import "errors"

// Errors that classify why a PKCS#11 key could not be reached. Compare with
// errors.Is; the errors this package returns wrap one of them and say what
// to fix.
var (
	// ErrURI means the pkcs11: URI is malformed or asks for something
	// keygate does not do.
	ErrURI = errors.New("invalid pkcs11 uri")
	// ErrModule means the PKCS#11 module (the .so of module-path) could not
	// be loaded or initialised.
	ErrModule = errors.New("pkcs11 module unavailable")
	// ErrToken means no token in the module matches the URI.
	ErrToken = errors.New("pkcs11 token not found")
	// ErrPIN means the token refused the PIN (wrong, locked or of a length
	// it does not take), or no PIN could be read.
	ErrPIN = errors.New("pkcs11 login failed")
	// ErrObject means no key pair in the token matches the URI, or more
	// than one does.
	ErrObject = errors.New("pkcs11 key not found")
	// ErrExists means a key pair with the URI's object or id is already in
	// the token, so generating another would make the URI ambiguous.
	ErrExists = errors.New("pkcs11 key already exists")
)
