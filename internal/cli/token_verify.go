package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/keygate/keygate/internal/explain"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

const tokenVerifyUsage = `keygate token verify: would the gateway accept this token, and if not, why?

USAGE
  keygate token verify (--spec FILE [--path-prefix P] | --config FILE) --request "METHOD /path[?query]" [--introspect] [TOKEN|-]
  keygate token verify (--jwk FILE | --pem FILE [--kid NAME]) --iss ISSUER --aud AUDIENCE [TOKEN|-]

With a spec or config, the request runs through the very code serve runs
(routing, authentication, authorization; the backend is not called), with
the token placed where the deployment reads it (its tokenHeader and
tokenAuthScheme, or tokenQueryParam). Without a TOKEN the request carries
none; - reads the token from stdin. A REMOTE_JWKS, and a REMOTE_DISCOVERY
provider's discovery document and keys, are fetched as serve fetches them
(for up to 10s); nothing else leaves the machine unless --introspect.

REMOTE_DISCOVERY (OpenID Connect): a JWT is checked against the provider's
discovered keys and issuer and the deployment's claim rules; whether the
token is active (not revoked), and an opaque token at all, only the
provider's introspection endpoint can say. Without --introspect the answer
is then UNDECIDED, listing what was checked and what was not; with
--introspect the token is sent to the introspection endpoint, as the
deployment's client (its clientSecretId from the secrets list of --config).
A provider that cannot be reached also gives UNDECIDED.

The standalone form checks the token against one key (a JWK or JWKS file,
or a PEM key whose kid is --kid, default its RFC 7638 thumbprint) and the
given issuers and audiences; the TOKEN is the argument, or read from stdin
when it is - or absent.

Prints ACCEPT, UNDECIDED, or REJECT with the status the gateway would answer and the
reason code of its execution log, then every failing check, not just the
first, each with the fix in words. Exit 0 on ACCEPT, 1 on REJECT or
UNDECIDED.

EXAMPLES
  keygate token verify --spec deployment.json --path-prefix /test3 --request "POST /test3/1" "$TOKEN"
  keygate token sign --key client.key --kid client --iss me --aud api | keygate token verify --config gateway.yaml --request "GET /api/orders" -
  keygate token verify --config gateway.yaml --request "GET /api/orders" --introspect "$OPAQUE_TOKEN"
  keygate token verify --jwk client.jwk --iss suitable_issuer --aud suitable_audience "$TOKEN"
  keygate token verify --pem public_key.crt --kid suitable_name --iss suitable_issuer --aud suitable_audience "$TOKEN"
`

// remoteKeysWait bounds how long token verify waits for a REMOTE_JWKS.
const remoteKeysWait = 10 * time.Second

// verifyFlags are token verify's flags, for both forms.
type verifyFlags struct {
	src      sourceFlags
	request  string
	jwk, pem string
	kid, alg string
	iss, aud listFlag
	skew     time.Duration
	// introspect lets a REMOTE_DISCOVERY token go to the provider.
	introspect bool
}

func (v *verifyFlags) register(fs *flag.FlagSet) {
	// The source flags read as they do for serve and validate; --listen
	// means nothing here.
	tmp := flag.NewFlagSet("", flag.ContinueOnError)
	v.src.register(tmp)
	tmp.VisitAll(func(f *flag.Flag) {
		if f.Name != "listen" {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	fs.StringVar(&v.request, "request", "", `the request, "METHOD /path[?query]" with the deployment's prefix, e.g. "POST /test3/1" (a full URL is fine)`)
	fs.StringVar(&v.jwk, "jwk", "", "standalone: verify with the JWK or JWKS in `FILE`")
	fs.StringVar(&v.pem, "pem", "", "standalone: verify with the PEM public key in `FILE`")
	fs.StringVar(&v.kid, "kid", "", "standalone: the `kid` of the --pem key (default: its RFC 7638 thumbprint), or of a --jwk without one")
	fs.StringVar(&v.alg, "alg", "", "standalone: the `algorithm` the --pem key verifies (default: RS256, ES256/384/512, EdDSA)")
	fs.Var(&v.iss, "iss", "standalone: an accepted `issuer`; repeatable")
	fs.Var(&v.aud, "aud", "standalone: an accepted `audience`; repeatable")
	fs.DurationVar(&v.skew, "max-clock-skew", 0, "standalone: leeway for exp and nbf, as maxClockSkewInSeconds")
	fs.BoolVar(&v.introspect, "introspect", false, "REMOTE_DISCOVERY: send the token to the provider's introspection endpoint (default: use no provider call beyond discovery and keys)")
}

// check returns a usage problem with the combination of flags, or "".
func (v *verifyFlags) check(fs *flag.FlagSet) string {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	gatewayForm := set["spec"] || set["config"] || set["request"] || set["path-prefix"]
	standalone := set["jwk"] || set["pem"]
	switch {
	case gatewayForm && standalone:
		return "give either --spec/--config with --request, or --jwk/--pem, not both"
	case !gatewayForm && !standalone:
		return `give --spec FILE (or --config FILE) with --request "METHOD /path", or --jwk FILE (or --pem FILE) with --iss and --aud`
	case gatewayForm:
		if problem := v.src.check(); problem != "" {
			return problem
		}
		if v.request == "" {
			return `give --request "METHOD /path", e.g. "POST /test3/1"`
		}
		for _, name := range []string{"kid", "alg", "iss", "aud", "max-clock-skew"} {
			if set[name] {
				return fmt.Sprintf("--%s belongs to the --jwk/--pem form; with --spec or --config the deployment decides", name)
			}
		}
	case set["introspect"] && standalone:
		return "--introspect belongs to the --spec/--config form, whose deployment names the provider"
	case set["jwk"] && set["pem"]:
		return "give either --jwk or --pem, not both"
	case set["alg"] && !set["pem"]:
		return "--alg applies to --pem only; a JWK carries its own alg"
	case len(v.iss) == 0 || len(v.aud) == 0:
		return "give --iss and --aud: the gateway checks both, so the standalone form does too"
	case v.skew < 0 || v.skew > 120*time.Second:
		return fmt.Sprintf("--max-clock-skew %s: want 0s to 2m0s, as maxClockSkewInSeconds", v.skew)
	}
	return ""
}

func runTokenVerify(e *env, args []string) int {
	fs := newFlags("token verify")
	var v verifyFlags
	v.register(fs)
	if code, ok := parseFlags(e, fs, tokenVerifyUsage, args); !ok {
		return code
	}
	if problem := v.check(fs); problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	arg, problem := oneArg(fs.Args())
	if problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	if v.jwk != "" || v.pem != "" {
		return v.standalone(e, fs.Name(), arg)
	}
	req, err := parseRequestFlag(v.request)
	if err == nil {
		_, err = newHTTPRequest(req)
	}
	if err != nil {
		return usageError(e, fs.Name(), err.Error())
	}
	raw := ""
	if arg != "" {
		if raw, err = readToken(e, arg); err != nil {
			return failure(e, fs.Name(), err)
		}
	}
	// A REMOTE_JWKS is fetched as serve fetches it; one that does not
	// load in time makes the answer serve would give then: 503.
	ctx, cancel := context.WithTimeout(context.Background(), remoteKeysWait)
	defer cancel()
	discard := slog.New(slog.DiscardHandler)
	keySets := gateway.NewKeySets(discard, nil)
	keySets.Start(ctx)
	cfg, g, err := v.src.load(gateway.Options{Logger: discard, Now: time.Now, DisableAccessLog: true, KeySets: keySets})
	if err != nil {
		printProblems(e.stderr, fs.Name(), err)
		return exitFail
	}
	g.WaitReady(ctx)
	if explain.Gateway(e.stdout, g, cfg, req, raw, explain.Options{NoPrefixGiven: v.src.spec != "" && v.src.prefix() == "/", Introspect: v.introspect}) {
		return exitOK
	}
	return exitFail
}

// parseRequestFlag reads --request: "METHOD /path?query", or a full URL
// standing for its path and query.
func parseRequestFlag(s string) (explain.Request, error) {
	r, err := explain.ParseRequest(s)
	if err != nil {
		return r, fmt.Errorf("--request %q: %w", s, err)
	}
	return r, nil
}

// newHTTPRequest parses r as the server would; the error names --request.
func newHTTPRequest(r explain.Request) (*http.Request, error) {
	req, err := r.HTTP()
	if err != nil {
		return nil, fmt.Errorf("--request %q: %w", r.String(), err)
	}
	return req, nil
}

// standalone is the --jwk/--pem form: one key set, the given issuers and
// audiences, and the token package's Verifier.
func (v *verifyFlags) standalone(e *env, cmd, arg string) int {
	set, err := v.keySet(e)
	if err != nil {
		return failure(e, cmd, err)
	}
	raw, err := readToken(e, arg)
	if err != nil {
		return failure(e, cmd, err)
	}
	policy := token.Policy{Issuers: v.iss, Audiences: v.aud, MaxClockSkew: v.skew}
	verifier := token.NewVerifier(set, policy, time.Now)
	tok, checks := verifier.Check(raw)
	if explain.Standalone(e.stdout, tok, checks, v.iss, v.aud, set.Keys(), v.pem != "") {
		return exitOK
	}
	return exitFail
}

// keySet reads the --jwk (a JWK or a JWKS) or --pem key.
func (v *verifyFlags) keySet(e *env) (*keys.StaticSet, error) {
	if v.pem != "" {
		data, err := readInput(e, v.pem)
		if err != nil {
			return nil, err
		}
		pub, err := keys.PublicFromPEM(data)
		if err != nil {
			return nil, fmt.Errorf("--pem %s: %w", inputName(v.pem), err)
		}
		k, err := newNamedKey(v.kid, v.alg, pub)
		if err != nil {
			return nil, fmt.Errorf("--pem %s: %w", inputName(v.pem), err)
		}
		return keys.NewStaticSet(k)
	}
	data, err := readInput(e, v.jwk)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(data, &top) // a non-object is reported by ParseJWK below
	if _, isSet := top["keys"]; isSet {
		list, skipped, err := keys.ParseJWKS(data)
		if err == nil && len(list) == 0 {
			err = errors.Join(append([]error{errors.New("the jwks holds no usable key")}, skipped...)...)
		}
		if err != nil {
			return nil, fmt.Errorf("--jwk %s: %w", inputName(v.jwk), err)
		}
		return keys.NewStaticSet(list...)
	}
	k, err := keys.ParseJWK(data)
	if err != nil {
		return nil, fmt.Errorf("--jwk %s: %w", inputName(v.jwk), err)
	}
	if v.kid != "" {
		k.ID = v.kid
	}
	if k.ID == "" {
		return nil, fmt.Errorf("--jwk %s: the jwk has no kid; give the kid its tokens carry with --kid", inputName(v.jwk))
	}
	return keys.NewStaticSet(k)
}
