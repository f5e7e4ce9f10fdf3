package cli

import (
	"crypto"
	"fmt"
	"regexp"

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
		key, err := hsm.Open(src, hsmOptions(e, insecure))
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
