package cli

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

const tokenSignUsage = `keygate token sign: sign a JWT assertion with the client's private key.

USAGE
  keygate token sign --key PRIVATE.key|pkcs11:URI --kid NAME --iss ISSUER --aud AUDIENCE [--aud AUDIENCE2]
                     [--sub SUBJECT] [--scope "a b"] [--ttl 1h] [--nbf] [--jti]
                     [--claim NAME=VALUE ...] [--claims-file FILE.json] [--alg ALG] [--insecure]

Prints a compact JWT on stdout: the header {"alg", "kid", "typ": "JWT"} and
the claims of the seed: iss, aud (an array), sub, scope (space-separated),
iat (now) and exp (now + --ttl); nbf (now) and a random jti on request.

--key is a private key in PEM: PKCS8 (the seed's private_key.key, or
NAME.key from keygate keys generate), PKCS1 or SEC1; "-" reads it from
stdin and env:VAR from the environment variable VAR, so a CI secret or a
vault agent can hand the key over without a file.

%s

The algorithm follows from the key: RS256 for RSA, ES256 for P-256, ES384
for P-384, ES512 for P-521, EdDSA for Ed25519; --alg picks another the key
can make (RSA: RS384, RS512, PS256, PS384, PS512). The gateway's key must
be bound to the same algorithm. Without --kid the kid is the key's RFC 7638
thumbprint, the kid "keygate jwk" gives the public key by default.

Claims build up in order, later ones winning: iat and exp (and nbf, jti),
then --claims-file (a JSON object), then each --claim, then --iss, --aud,
--sub and --scope. A --claim VALUE that is JSON (a number, true, an array,
"a string") is used as that JSON; anything else is a string.

EXAMPLES
  keygate token sign --key private_key.key --kid suitable_name --iss suitable_issuer \
      --aud suitable_audience --sub suitable_subject --scope "orders:read orders:write"
  keygate token sign --key env:CLIENT_KEY --kid suitable_name --iss suitable_issuer --aud suitable_audience
  keygate token sign --key client.key --kid client --iss me --aud api --ttl 5m --jti --claim tenant=acme
  keygate token sign --key 'pkcs11:token=prod;object=client?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin' \
      --kid client --iss me --aud api
  curl -H "Authorization: Bearer $(keygate token sign --key client.key --kid client --iss me --aud api)" https://gateway/test3/1
`

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// signFlags are token sign's flags.
type signFlags struct {
	key, kid, iss, sub, scope, alg, claimsFile string
	aud, claims                                listFlag
	ttl                                        time.Duration
	nbf, jti, insecure                         bool
}

// register adds the flags, with ttl as --ttl's default.
func (s *signFlags) register(fs *flag.FlagSet, ttl time.Duration) {
	fs.StringVar(&s.key, "key", "", "private key: a PEM `FILE`, - for stdin, env:VAR, or a pkcs11: URI")
	fs.StringVar(&s.kid, "kid", "", "key id `NAME` of the header, as configured on the gateway (default: the key's RFC 7638 thumbprint)")
	fs.StringVar(&s.iss, "iss", "", "issuer: one of the deployment's `issuers`")
	fs.Var(&s.aud, "aud", "`audience`: one of the deployment's audiences; repeat for several")
	fs.StringVar(&s.sub, "sub", "", "`subject`: who the token speaks for")
	fs.StringVar(&s.scope, "scope", "", "space-separated `scopes`, e.g. \"orders:read orders:write\"")
	fs.DurationVar(&s.ttl, "ttl", ttl, "how long the token is valid: exp = iat + `duration`")
	fs.BoolVar(&s.nbf, "nbf", false, "add nbf (not before) = now")
	fs.BoolVar(&s.jti, "jti", false, "add a random jti (token id)")
	fs.Var(&s.claims, "claim", "extra claim `NAME=VALUE`; VALUE is JSON if it parses, else a string; repeatable")
	fs.StringVar(&s.claimsFile, "claims-file", "", "JSON object `FILE` of claims, - for stdin")
	fs.StringVar(&s.alg, "alg", "", "signing `algorithm` (default: the key's, e.g. RS256)")
	fs.BoolVar(&s.insecure, "insecure", false, "allow pin-value=PIN in a pkcs11: URI (the PIN shows in shell history and ps)")
}

// check returns a usage problem with the flags, or "".
func (s *signFlags) check(args []string) string {
	switch {
	case s.key == "":
		return "give --key PRIVATE.key (a file, - for stdin, env:VAR, or a pkcs11: URI)"
	case len(args) > 0:
		return fmt.Sprintf("unexpected argument %q", args[0])
	case s.ttl < time.Second:
		return fmt.Sprintf("--ttl %s: want at least 1s (for an expired token in a test, set --claim exp=SECONDS)", s.ttl)
	case s.key == "-" && s.claimsFile == "-":
		return "--key and --claims-file cannot both read stdin"
	}
	for _, c := range s.claims {
		if name, _, ok := strings.Cut(c, "="); !ok || name == "" {
			return fmt.Sprintf("--claim %q: want NAME=VALUE", c)
		}
	}
	return ""
}

func runTokenSign(e *env, args []string) int {
	fs := newFlags("token sign")
	var s signFlags
	s.register(fs, time.Hour)
	if code, ok := parseFlags(e, fs, fmt.Sprintf(tokenSignUsage, pkcs11Help), args); !ok {
		return code
	}
	if problem := s.check(fs.Args()); problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	signer, closeKey, err := openSigner(e, fs.Name(), s.key, s.insecure)
	defer closeKey()
	if err != nil {
		return failure(e, fs.Name(), fmt.Errorf("--key %s: %w", keySourceName(s.key), err))
	}
	alg, err := token.SigningAlgorithm(signer, s.alg)
	if err != nil {
		return usageError(e, fs.Name(), "--alg "+s.alg+": "+err.Error())
	}
	// A key the gateway would refuse (RSA under 2048 bits, e != 65537) makes
	// tokens no deployment accepts: say so now, not at the first call.
	if _, err := keys.NewKey("", alg, signer.Public()); err != nil {
		return failure(e, fs.Name(), fmt.Errorf("--key %s: %w", keySourceName(s.key), err))
	}
	claims, err := s.buildClaims(e, time.Now())
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	for _, name := range []string{"iss", "aud"} {
		if _, ok := claims[name]; !ok {
			return usageError(e, fs.Name(), fmt.Sprintf("give --%s: the gateway checks %s against the deployment's list", name, name))
		}
	}
	kid := s.kid
	if kid == "" {
		if kid, err = keys.Thumbprint(signer.Public()); err != nil {
			return failure(e, fs.Name(), err)
		}
	}
	jwt, err := token.Sign(signer, kid, alg, claims)
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	fmt.Fprintln(e.stdout, jwt)
	return exitOK
}

// loadSigningKey reads and parses the private key src names, and says so
// plainly when the user handed over the public half.
func loadSigningKey(e *env, src string) (crypto.Signer, error) {
	data, err := readKeySource(e, src)
	if err != nil {
		return nil, err
	}
	signer, err := keys.ParsePrivatePEM(data)
	if err != nil {
		if _, perr := keys.ParsePublicPEM(data); perr == nil {
			return nil, errors.New("this is a public key; sign with the private key (NAME.key from keygate keys generate, or the seed's private_key.key)")
		}
		return nil, err
	}
	return signer, nil
}

// buildClaims assembles the claims in the documented order.
func (s *signFlags) buildClaims(e *env, now time.Time) (map[string]any, error) {
	file, err := s.readClaimsFile(e)
	if err != nil {
		return nil, err
	}
	return s.claimsAt(file, now), nil
}

// readClaimsFile returns the claims of --claims-file, nil without one.
func (s *signFlags) readClaimsFile(e *env) (map[string]any, error) {
	if s.claimsFile == "" {
		return nil, nil
	}
	data, err := readInput(e, s.claimsFile)
	if err != nil {
		return nil, fmt.Errorf("--claims-file: %w", err)
	}
	var file map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&file); err != nil || file == nil {
		return nil, fmt.Errorf("--claims-file %s: want a JSON object of claims", inputName(s.claimsFile))
	}
	return file, nil
}

// claimsAt assembles the claims of a token issued at now, with the claims
// file's already read: iat, exp (nbf, a new jti), the file's, each
// --claim, then --iss, --aud, --sub and --scope.
func (s *signFlags) claimsAt(file map[string]any, now time.Time) map[string]any {
	claims := map[string]any{"iat": now.Unix(), "exp": now.Add(s.ttl).Unix()}
	if s.nbf {
		claims["nbf"] = now.Unix()
	}
	if s.jti {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		claims["jti"] = base64.RawURLEncoding.EncodeToString(b)
	}
	for k, v := range file {
		claims[k] = v
	}
	for _, c := range s.claims {
		name, value, _ := strings.Cut(c, "=")
		claims[name] = claimValue(value)
	}
	if s.iss != "" {
		claims["iss"] = s.iss
	}
	if len(s.aud) > 0 {
		claims["aud"] = []string(s.aud)
	}
	if s.sub != "" {
		claims["sub"] = s.sub
	}
	if s.scope != "" {
		claims["scope"] = s.scope
	}
	return claims
}

// claimValue is VALUE as JSON when it is valid JSON, else as a string.
func claimValue(value string) any {
	dec := json.NewDecoder(strings.NewReader(value))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) == nil {
		if _, err := dec.Token(); errors.Is(err, io.EOF) {
			return v
		}
	}
	return value
}
