package cli

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/keygate/keygate/internal/hsm"
	"github.com/keygate/keygate/internal/keys"
)

const jwkUsage = `keygate jwk: print the public JWK of a key, ready for a deployment's static keys.

USAGE
  keygate jwk [--kid NAME] [--alg ALG] [--oci] [--set] FILE|-|pkcs11:URI
  keygate jwk --set [--oci] FILE...

Reads a public or private key in PEM, in every common form: "PUBLIC KEY"
(SPKI, openssl rsa -pubout), "PRIVATE KEY" (PKCS8, openssl pkcs8 -topk8),
"RSA PRIVATE KEY" / "RSA PUBLIC KEY" (PKCS1, openssl genrsa), "EC PRIVATE
KEY" (SEC1) and "CERTIFICATE"; or a public JWK; or the public half of a key
pair inside an HSM, named by a pkcs11: URI (see keygate token sign --help;
pin-value needs --insecure). Prints the public JWK only:
kty, n and e (RSA), crv, x and y (EC) or crv and x (Ed25519), alg, use
"sig" and kid. A private part is never printed, whatever the input.

The kid is --kid, else the input JWK's kid, else the key's RFC 7638
thumbprint (the kid "keygate token sign" uses without --kid). The alg is
--alg, else the input JWK's alg, else the key type's: RS256 for RSA, ES256,
ES384 or ES512 by curve, EdDSA for Ed25519. Keys a gateway would refuse
(RSA under 2048 bits, an alg that does not fit the key) are refused here.

--oci adds "format": "JSON_WEB_KEY", ready to paste into a spec's
publicKeys.keys array. --set wraps the keys as a JWKS {"keys": [...]}
(with --oci, the spec's whole publicKeys object: {"type": "STATIC_KEYS",
"keys": [...]}).

EXAMPLES
  keygate jwk --kid suitable_name public_key.crt
  keygate jwk --oci --kid suitable_name private_key.key
  openssl rsa -in keys.pem -pubout | keygate jwk --kid suitable_name -
  keygate jwk --set client1.pub client2.pub > jwks.json
  keygate jwk --oci --set client1.pub client2.pub
  keygate jwk --oci --kid client 'pkcs11:token=prod;object=client?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin'
`

// jwkOut is a JWK as printed: the public members and, with --oci, the
// spec's format member first.
type jwkOut struct {
	Format string `json:"format,omitempty"`
	keys.JWK
}

func runJWK(e *env, args []string) int {
	fs := newFlags("jwk")
	kid := fs.String("kid", "", "key id `NAME` tokens carry in their kid header (default: the RFC 7638 thumbprint)")
	alg := fs.String("alg", "", "the one `algorithm` the key verifies (default: RS256, ES256/384/512 by curve, EdDSA)")
	oci := fs.Bool("oci", false, `add "format": "JSON_WEB_KEY" for an OCI deployment spec`)
	set := fs.Bool("set", false, `print a JWKS {"keys": [...]} of every FILE`)
	insecure := fs.Bool("insecure", false, "allow pin-value=PIN in a pkcs11: URI (the PIN shows in shell history and ps)")
	if code, ok := parseFlags(e, fs, jwkUsage, args); !ok {
		return code
	}
	files := fs.Args()
	switch {
	case len(files) == 0:
		return usageError(e, fs.Name(), "give a key FILE, or - to read it from stdin")
	case len(files) > 1 && !*set:
		return usageError(e, fs.Name(), fmt.Sprintf("%d files given; give one, or --set to print a JWKS of all", len(files)))
	case len(files) > 1 && *kid != "":
		return usageError(e, fs.Name(), "--kid names one key; with several files each key's kid is its own (or its thumbprint)")
	case countDash(files) > 1:
		return usageError(e, fs.Name(), "- (stdin) may be given once")
	}
	var list []*keys.Key
	for _, name := range files {
		k, err := loadJWKInput(e, name, *kid, *alg, *insecure)
		if err != nil {
			return failure(e, fs.Name(), fmt.Errorf("%s: %w", keySourceName(inputName(name)), err))
		}
		list = append(list, k)
	}
	if _, err := keys.NewStaticSet(list...); err != nil {
		return failure(e, fs.Name(), err)
	}
	var doc any
	outs := make([]jwkOut, len(list))
	for i, k := range list {
		outs[i] = jwkOut{JWK: k.JWK()}
		if *oci {
			outs[i].Format = "JSON_WEB_KEY"
		}
	}
	switch {
	case *set && *oci:
		doc = struct {
			Type string   `json:"type"`
			Keys []jwkOut `json:"keys"`
		}{"STATIC_KEYS", outs}
	case *set:
		doc = struct {
			Keys []jwkOut `json:"keys"`
		}{outs}
	default:
		doc = outs[0]
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	_, _ = e.stdout.Write(append(data, '\n'))
	return exitOK
}

// loadJWKInput reads one key (a file with PEM of any form or a public
// JWK, or a key pair in an HSM) and
// returns its verification key with the kid and alg resolved.
func loadJWKInput(e *env, name, kid, alg string, insecure bool) (*keys.Key, error) {
	if hsm.IsURI(name) {
		key, err := hsm.Open(name, hsmOptions(e, insecure))
		if err != nil {
			return nil, err
		}
		defer key.Close()
		warnInsecurePIN(e, "keygate jwk", name)
		return newNamedKey(kid, alg, key.Public())
	}
	data, err := readInput(e, name)
	if err != nil {
		return nil, err
	}
	if trimmed := bytes.TrimSpace(data); bytes.HasPrefix(trimmed, []byte("{")) {
		k, err := keys.ParseJWK(trimmed)
		if err != nil {
			return nil, err
		}
		if kid == "" {
			kid = k.ID
		}
		if alg == "" {
			alg = k.Algorithm
		}
		return newNamedKey(kid, alg, k.Public)
	}
	pub, err := keys.PublicFromPEM(data)
	if err != nil {
		return nil, err
	}
	return newNamedKey(kid, alg, pub)
}

// newNamedKey is keys.NewKey with the thumbprint as the default kid.
func newNamedKey(kid, alg string, pub any) (*keys.Key, error) {
	if kid == "" {
		tp, err := keys.Thumbprint(pub)
		if err != nil {
			return nil, err
		}
		kid = tp
	}
	return keys.NewKey(kid, alg, pub)
}

func countDash(args []string) int {
	n := 0
	for _, a := range args {
		if a == "-" {
			n++
		}
	}
	return n
}
