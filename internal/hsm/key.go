package hsm

import (
	"crypto"
	"io"
	"sync"
)

// Options say how a URI's PIN may be read.
type Options struct {
	// AllowPINValue accepts a PIN written in the URI (pin-value), which ends
	// up in shell history and process lists. Default false: pin-value is
	// refused and pin-source must name a file or an environment variable.
	AllowPINValue bool
	// Getenv reads the variable of pin-source=env:VAR. Default (nil):
	// env: sources are refused.
	Getenv func(string) string
}

// Key is a key pair inside a PKCS#11 token. It is a crypto.Signer whose
// private half never leaves the token; Close it when done.
type Key struct {
	signer crypto.Signer
	close  func() error

	closeOnce sync.Once
	closeErr  error
}

// Public returns the public half: *rsa.PublicKey or *ecdsa.PublicKey.
func (k *Key) Public() crypto.PublicKey { return k.signer.Public() }

// Sign signs digest inside the token. ECDSA signatures are ASN.1 DER, as
// crypto.Signer's contract says.
func (k *Key) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.signer.Sign(rand, digest, opts)
}

// Close logs out and releases the module. Closing again does nothing
// (crypto11 panics on a second close of a context).
func (k *Key) Close() error {
	k.closeOnce.Do(func() { k.closeErr = k.close() })
	return k.closeErr
}
