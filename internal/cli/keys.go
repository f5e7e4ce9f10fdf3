package cli

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/keygate/keygate/internal/keys"
)

const keysUsage = `keygate keys: manage a client's key material.

USAGE
  keygate keys generate --out NAME [flags]

Run "keygate keys generate --help" for its flags and examples.

EXAMPLES
  keygate keys generate --out client                  # client.key (PKCS8, 0600) and client.pub (SPKI)
  keygate keys generate --out client --type ec --curve P-384
  keygate keys generate --pkcs11 'pkcs11:token=prod;object=client?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin' --out client
  keygate jwk --oci --kid client client.pub           # the key entry for the deployment
`

const keysGenerateUsage = `keygate keys generate: make a client key pair, as the seed's openssl commands do.

USAGE
  keygate keys generate --out NAME [--type rsa|ec|ed25519] [--bits 2048|3072|4096] [--curve P-256|P-384|P-521] [--force]
  keygate keys generate --pkcs11 'pkcs11:URI' [--out NAME] [--type rsa|ec] [--bits ...] [--curve ...] [--insecure]

Writes NAME.key, the private key as unencrypted PKCS8 PEM ("BEGIN PRIVATE
KEY", mode 0600), and NAME.pub, the public key as SPKI PEM ("BEGIN PUBLIC
KEY"): the files "openssl pkcs8 -topk8 -nocrypt" and "openssl rsa -pubout"
make. The default is RSA 2048, which OCI API Gateway accepts; ec and
ed25519 keys are keygate extensions. RSA keys under 2048 bits are refused.
Existing files are never overwritten without --force. The private key is
never printed: keep NAME.key with the client, give the gateway NAME.pub
or its JWK (keygate jwk NAME.pub).

With --pkcs11 the key pair is generated inside the HSM token the URI names
(object= becomes its label, id= its CKA_ID, random without one), private
half sensitive and not extractable: only the public key comes out, as SPKI
PEM in NAME.pub with --out, else on stdout. RSA and EC only. A key with the
same object or id in the token is never replaced.

%s

EXAMPLES
  keygate keys generate --out client
  keygate keys generate --out client --bits 4096
  keygate keys generate --out edge --type ec --curve P-384
  keygate keys generate --out client --force
  keygate keys generate --type ec --out client \
      --pkcs11 'pkcs11:token=prod;object=client?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin'
`

func runKeys(e *env, args []string) int {
	if len(args) == 0 {
		return usageError(e, "keygate keys", "give a subcommand: generate")
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(e.stdout, keysUsage)
		return exitOK
	case "generate":
		return runKeysGenerate(e, args[1:])
	}
	return usageError(e, "keygate keys", fmt.Sprintf("unknown subcommand %q; want generate", args[0]))
}

func runKeysGenerate(e *env, args []string) int {
	fs := newFlags("keys generate")
	out := fs.String("out", "", "write `NAME`.key (private, mode 0600) and NAME.pub (public)")
	kind := fs.String("type", "rsa", "key `type`: rsa, ec or ed25519")
	bits := fs.Int("bits", 2048, "RSA key `size`: 2048, 3072 or 4096")
	curve := fs.String("curve", "P-256", "EC `curve`: P-256, P-384 or P-521")
	force := fs.Bool("force", false, "overwrite NAME.key and NAME.pub if they exist")
	uri := fs.String("pkcs11", "", "generate inside the HSM token this pkcs11: `URI` names; only the public key comes out")
	insecure := fs.Bool("insecure", false, "allow pin-value=PIN in the pkcs11: URI (the PIN shows in shell history and ps)")
	if code, ok := parseFlags(e, fs, fmt.Sprintf(keysGenerateUsage, pkcs11Help), args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(e, fs.Name(), fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if *uri != "" {
		return runKeysGeneratePKCS11(e, fs, *uri, *out, *kind, *bits, *curve, *force, *insecure)
	}
	if problem := checkGenerateFlags(fs, *out, *kind, *bits, *curve); problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	privFile, pubFile := *out+".key", *out+".pub"
	if !*force {
		for _, name := range []string{privFile, pubFile} {
			if _, err := os.Lstat(name); err == nil {
				return failure(e, fs.Name(), fmt.Errorf("%s exists; keep it, pick another --out, or overwrite it with --force", name))
			}
		}
	}
	key, err := keys.Generate(*kind, *bits, *curve)
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	priv, err := keys.EncodePrivatePEM(key)
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	pub, err := keys.EncodePublicPEM(key.Public())
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	if err := writeKeyFile(privFile, priv, 0o600, *force); err != nil {
		return failure(e, fs.Name(), err)
	}
	if err := writeKeyFile(pubFile, pub, 0o644, *force); err != nil {
		_ = os.Remove(privFile) // half a key pair is no use to anyone
		return failure(e, fs.Name(), err)
	}
	kid, _ := keys.Thumbprint(key.Public())
	alg, _ := keys.DefaultAlgorithm(key.Public())
	fmt.Fprintf(e.stderr, "wrote %s (private key, PKCS8 PEM, mode 0600: keep it secret) and %s (public key, SPKI PEM)\n", privFile, pubFile)
	fmt.Fprintf(e.stderr, "key %s, %s, thumbprint %s\n", describeKind(*kind, *bits, *curve), alg, kid)
	name := filepath.Base(*out)
	fmt.Fprintf(e.stderr, "next: keygate jwk --oci --kid %s %s    (the gateway's static key)\n", name, pubFile)
	fmt.Fprintf(e.stderr, "      keygate token sign --key %s --kid %s --iss ISSUER --aud AUDIENCE\n", privFile, name)
	return exitOK
}

// checkGenerateFlags returns a usage problem with keys generate's flags, or
// "". A flag that does not apply to the key type is a mistake worth saying.
func checkGenerateFlags(fs *flag.FlagSet, out, kind string, bits int, curve string) string {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case out == "":
		return "give --out NAME: the key pair is written to NAME.key and NAME.pub"
	case out == "-":
		return "--out - would print a private key; give a file NAME (NAME.key is written with mode 0600)"
	case kind != "rsa" && kind != "ec" && kind != "ed25519":
		return fmt.Sprintf("--type %q: want rsa, ec or ed25519", kind)
	case set["bits"] && kind != "rsa":
		return fmt.Sprintf("--bits applies to --type rsa only, not %s", kind)
	case set["curve"] && kind != "ec":
		return fmt.Sprintf("--curve applies to --type ec only, not %s", kind)
	case kind == "rsa" && bits < 2048:
		return fmt.Sprintf("--bits %d: RSA keys under 2048 bits are refused as breakable; use 2048, 3072 or 4096", bits)
	case kind == "rsa" && bits != 2048 && bits != 3072 && bits != 4096:
		return fmt.Sprintf("--bits %d: want 2048, 3072 or 4096", bits)
	case kind == "ec" && curve != "P-256" && curve != "P-384" && curve != "P-521":
		return fmt.Sprintf("--curve %q: want P-256, P-384 or P-521", curve)
	}
	return ""
}

func describeKind(kind string, bits int, curve string) string {
	switch kind {
	case "rsa":
		return fmt.Sprintf("RSA %d bits", bits)
	case "ec":
		return "EC " + curve
	}
	return "Ed25519"
}

// writeKeyFile writes data to name with mode perm. Without force it never
// replaces a file (O_EXCL, so a file that appeared meanwhile is not
// clobbered either). With force it writes a temporary file beside name and
// renames it over, so the mode is perm even when the old file's was not,
// and a reader never sees half a key.
func writeKeyFile(name string, data []byte, perm os.FileMode, force bool) error {
	if !force {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; keep it, pick another --out, or overwrite it with --force", name)
		}
		if err != nil {
			return err
		}
		return finish(f, name, data, perm)
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	if err := finish(f, f.Name(), data, perm); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}

// finish writes data and closes f. A private mode such as 0600 is set
// explicitly (a temporary file's 0600 stays, and no umask widens it); a
// public file keeps what the umask made of perm.
func finish(f *os.File, name string, data []byte, perm os.FileMode) error {
	_, werr := f.Write(data)
	var cerr error
	if perm&0o077 == 0 {
		cerr = f.Chmod(perm)
	}
	if err := errors.Join(werr, cerr, f.Close()); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", strings.TrimPrefix(name, "./"), err)
	}
	return nil
}
