package cli

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"

	"github.com/keygate/keygate/internal/hsm"
)

// pkcs11Help is the part of a help text that explains --key pkcs11:...
const pkcs11Help = `A key inside an HSM is an RFC 7512 pkcs11: URI (quote it for the shell):
  'pkcs11:token=LABEL;object=KEY?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin'
token= (or serial=, slot-id=) picks the token, object= (the key's label)
and/or id= the key pair, module-path= the vendor's PKCS#11 library. The
PIN comes from pin-source: file:/path or env:VAR. pin-value=PIN in the URI
is refused unless --insecure is given: it lands in shell history and ps.
The private key never leaves the token; RSA and EC keys are supported.`

// hsmOptions are the PKCS#11 options every command uses: the PIN from the
// environment through e, pin-value only with --insecure.
func hsmOptions(e *env, insecure bool) hsm.Options {
	return hsm.Options{AllowPINValue: insecure, Getenv: e.getenv}
}

// warnInsecurePIN says, when --insecure let a pin-value through, that the
// PIN was on the command line.
func warnInsecurePIN(e *env, cmd, uri string) {
	if u, err := hsm.ParseURI(uri); err == nil && u.PINValue != "" {
		fmt.Fprintf(e.stderr, "%s: warning: --insecure: the PIN came from pin-value on the command line; use pin-source=file:/path in production\n", cmd)
	}
}

// openSigner returns the private key src names: a pkcs11: URI, else a PEM
// file, "-" or env:VAR. close releases the key (an HSM session); it is
// never nil.
func openSigner(e *env, cmd, src string, insecure bool) (signer crypto.Signer, close func(), err error) {
	if hsm.IsURI(src) {
		key, err := openReopening(src, hsmOptions(e, insecure))
		if err != nil {
			return nil, func() {}, err
		}
		warnInsecurePIN(e, cmd, src)
		return key, func() { _ = key.Close() }, nil
	}
	signer, err = loadSigningKey(e, src)
	return signer, func() {}, err
}

// pinValue finds the PIN in a URI that does not parse.
var pinValue = regexp.MustCompile(`(?i)(pin-value=)[^&;]*`)

// keySourceName is src as messages show it: a pkcs11: URI with its PIN
// value redacted.
func keySourceName(src string) string {
	if hsm.IsURI(src) {
		if u, err := hsm.ParseURI(src); err == nil {
			return u.String()
		}
		return pinValue.ReplaceAllString(src, "${1}REDACTED")
	}
	return src
}

// reopeningKey is a key in an HSM that is opened again after a failed
// signature, so that a token that was restarted, or a session the HSM
// dropped, comes back without restarting a long-running agent. The key
// found again must have the same public key.
type reopeningKey struct {
	uri  string
	opts hsm.Options
	pub  crypto.PublicKey

	mu  sync.Mutex // guards key
	key *hsm.Key   // nil after a failure, until the next Sign
}

func openReopening(uri string, opts hsm.Options) (*reopeningKey, error) {
	key, err := hsm.Open(uri, opts)
	if err != nil {
		return nil, err
	}
	return &reopeningKey{uri: uri, opts: opts, pub: key.Public(), key: key}, nil
}

// Public returns the public key found at the first opening.
func (r *reopeningKey) Public() crypto.PublicKey { return r.pub }

// Sign signs in the HSM, opening the key again first if the last
// signature failed.
func (r *reopeningKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.key == nil {
		key, err := hsm.Open(r.uri, r.opts)
		if err != nil {
			return nil, fmt.Errorf("open the key again: %w", err)
		}
		if same, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !same.Equal(r.pub) {
			_ = key.Close()
			return nil, errors.New("the key at the URI is no longer the one keygate started with")
		}
		r.key = key
	}
	sig, err := r.key.Sign(rand, digest, opts)
	if err != nil {
		_ = r.key.Close()
		r.key = nil
	}
	return sig, err
}

// Close releases the key.
func (r *reopeningKey) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.key == nil {
		return nil
	}
	err := r.key.Close()
	r.key = nil
	return err
}
