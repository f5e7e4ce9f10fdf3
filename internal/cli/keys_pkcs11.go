package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keygate/keygate/internal/hsm"
	"github.com/keygate/keygate/internal/keys"
)

// runKeysGeneratePKCS11 is keys generate --pkcs11: the key pair is made in
// the token and only the public key is written.
func runKeysGeneratePKCS11(e *env, fs *flag.FlagSet, uri, out, kind string, bits int, curve string, force, insecure bool) int {
	switch {
	case !hsm.IsURI(uri):
		return usageError(e, fs.Name(), fmt.Sprintf("--pkcs11 %q: want a pkcs11: URI, such as 'pkcs11:token=LABEL;object=NAME?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/path'", uri))
	case kind == "ed25519":
		return usageError(e, fs.Name(), "--pkcs11 makes rsa or ec keys; PKCS#11 tokens rarely hold Ed25519 ones")
	case force:
		return usageError(e, fs.Name(), "--force does not apply to --pkcs11: keygate never replaces a key in a token; pick another object= and id=")
	case out == "-":
		return usageError(e, fs.Name(), "--out - : without --out the public key is printed on stdout")
	}
	// The flags' other rules (bits, curve, a flag that does not fit the
	// type) are those of a key file; --out is optional here.
	placeholder := out
	if placeholder == "" {
		placeholder = "stdout"
	}
	if problem := checkGenerateFlags(fs, placeholder, kind, bits, curve); problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	pubFile := ""
	if out != "" {
		pubFile = out + ".pub"
		if _, err := os.Lstat(pubFile); err == nil {
			return failure(e, fs.Name(), fmt.Errorf("%s exists; keep it or pick another --out", pubFile))
		}
	}
	key, err := hsm.Generate(uri, hsmOptions(e, insecure), kind, bits, curve)
	if err != nil {
		return failure(e, fs.Name(), fmt.Errorf("--pkcs11 %s: %w", keySourceName(uri), err))
	}
	defer key.Close()
	warnInsecurePIN(e, fs.Name(), uri)
	pub, err := keys.EncodePublicPEM(key.Public())
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	kid, _ := keys.Thumbprint(key.Public())
	alg, _ := keys.DefaultAlgorithm(key.Public())
	u, _ := hsm.ParseURI(uri)
	name := u.Object
	if name == "" {
		name = kid
	}
	if pubFile == "" {
		_, _ = e.stdout.Write(pub)
	} else if err := writeKeyFile(pubFile, pub, 0o644, false); err != nil {
		return failure(e, fs.Name(), fmt.Errorf("the key pair is in the token, but its public key could not be written (keygate jwk prints it from the URI): %w", err))
	} else {
		fmt.Fprintf(e.stderr, "wrote %s (public key, SPKI PEM)\n", pubFile)
		name = filepath.Base(out)
	}
	fmt.Fprintf(e.stderr, "generated in token %s: key %s, %s, thumbprint %s; the private key stays in the token\n",
		tokenName(u), describeKind(kind, bits, curve), alg, kid)
	fmt.Fprintf(e.stderr, "next: keygate jwk --oci --kid %s '%s'    (the gateway's static key)\n", name, keySourceName(uri))
	fmt.Fprintf(e.stderr, "      keygate token sign --key '%s' --kid %s --iss ISSUER --aud AUDIENCE\n", keySourceName(uri), name)
	return exitOK
}

func tokenName(u *hsm.URI) string {
	switch {
	case u.Token != "":
		return fmt.Sprintf("%q", u.Token)
	case u.Serial != "":
		return "serial " + u.Serial
	}
	return fmt.Sprintf("slot %d", *u.SlotID)
}
