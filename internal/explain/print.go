package explain

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// gatewayView is what the explanation of a Decision needs to know of the
// configuration and the request.
type gatewayView struct {
	cfg       *config.Gateway
	summary   []gateway.DeploymentSummary
	request   Request
	tokenFrom string
	hasToken  bool
	// noPrefixGiven: a --spec served at / (no --path-prefix, or "/").
	noPrefixGiven bool
	// allowed are the methods the request's path accepts, found by the
	// gateway's own routing; for a 405.
	allowed []string
}

// standaloneView is the --jwk/--pem form's policy.
type standaloneView struct {
	issuers, audiences []string
	keys               []*keys.Key
	pem                bool
}

// printDecision writes the verdict on a gateway Decision and reports
// whether it is ACCEPT.
func printDecision(w io.Writer, d gateway.Decision, raw string, v *gatewayView) bool {
	auth := v.auth(d.Deployment)
	if d.Accepted {
		fmt.Fprintf(w, "ACCEPT: serve would pass %s to the backend\n", v.request)
		printField(w, "deployment", orNone(d.Deployment))
		printField(w, "route", orNone(d.Route))
		switch {
		case auth == nil && v.hasToken:
			printField(w, "token", "not checked: deployment "+d.Deployment+" has no authentication")
		case d.Introspected != "":
			printField(w, "token", "introspected: "+d.Introspected)
		case d.Token != nil:
			printField(w, "token", "verified: "+describeToken(d.Token, time.Now()))
		case v.hasToken:
			printField(w, "token", "not accepted, but the route is ANONYMOUS: the request passes without it")
		default:
			printField(w, "token", "none (the route is ANONYMOUS)")
		}
		if f := d.Forward; f != nil {
			printField(w, "backend", f.Method+" "+f.URL)
			names := make([]string, 0, len(f.Header))
			for name := range f.Header {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				value := strings.Join(f.Header[name], ", ")
				if raw != "" && strings.Contains(value, raw) {
					value = "(the token)" // never printed: it is a credential
				}
				printField(w, "  "+name, value)
			}
		}
		printWarnings(w, d.Warnings)
		return true
	}
	d.Token = decodedToken(d, raw)
	if d.Undecided {
		return printUndecided(w, d, v)
	}
	fmt.Fprintf(w, "REJECT %d %s\n", d.Status, d.Reason)
	printField(w, "request", v.request.String())
	printField(w, "deployment", orNone(d.Deployment))
	printField(w, "route", orNone(d.Route))
	switch {
	case !v.hasToken:
		printField(w, "token", "none")
	case d.Token != nil && (d.Reason == "insufficient_scope" || d.Code == validationErrorCode):
		printField(w, "token", "from "+v.tokenFrom+"; verified "+describeToken(d.Token, time.Now()))
	case d.Token != nil:
		printField(w, "token", "from "+v.tokenFrom+"; UNVERIFIED "+describeToken(d.Token, time.Now()))
	default:
		printField(w, "token", "from "+v.tokenFrom)
	}
	printField(w, "log", d.Code+": "+d.Detail)
	if d.Introspected != "" {
		printField(w, "introspection", d.Introspected)
	}
	if len(d.Checks) > 0 {
		p := v.policy(auth)
		n := len(d.Checks)
		if d.ScopeRefusedToo {
			n++
		}
		fmt.Fprintf(w, "failing checks (%d):\n", n)
		for _, err := range d.Checks {
			fmt.Fprintf(w, "  - %s\n", checkAdvice(err, d.Token, p))
		}
		if d.ScopeRefusedToo {
			// Authorization runs only on a verified token: this is the 403
			// that would follow once the checks above are fixed.
			fmt.Fprintf(w, "  - then 403 insufficient_scope: %s\n", v.scopeAdvice(d))
		}
	} else {
		fmt.Fprintf(w, "why:\n  - %s\n", v.reasonAdvice(d, auth))
	}
	printWarnings(w, d.Warnings)
	return false
}

// printUndecided writes the verdict on a token whose acceptance needs the
// identity provider: what was checked, and what was not.
func printUndecided(w io.Writer, d gateway.Decision, v *gatewayView) bool {
	fmt.Fprintf(w, "UNDECIDED: %s needs the identity provider's answer\n", v.request)
	printField(w, "deployment", orNone(d.Deployment))
	printField(w, "route", orNone(d.Route))
	if d.Token != nil {
		printField(w, "token", "from "+v.tokenFrom+"; "+describeToken(d.Token, time.Now()))
	} else {
		printField(w, "token", "from "+v.tokenFrom+" (opaque: only the provider can read it)")
	}
	if len(d.Checks) == 0 && d.Token != nil {
		fmt.Fprintln(w, "checked without the provider:")
		fmt.Fprintln(w, "  - signature, kid and algorithm against the provider's discovered keys; iss is the discovered issuer; exp, nbf and the deployment's claim rules")
	}
	fmt.Fprintf(w, "not checked (%d):\n", len(d.Unchecked))
	for _, u := range d.Unchecked {
		fmt.Fprintf(w, "  - %s\n", u)
	}
	if d.Code == "tokenAuthentication.introspectionNotCalled" {
		fmt.Fprintln(w, "  rerun with --introspect to ask the provider (the token is sent to its introspection endpoint)")
	}
	printWarnings(w, d.Warnings)
	return false
}

// printStandalone writes the verdict of the --jwk/--pem form.
func printStandalone(w io.Writer, tok *token.Token, checks []error, v *standaloneView) bool {
	if len(checks) == 0 {
		fmt.Fprintln(w, "ACCEPT")
		printField(w, "token", "verified: "+describeToken(tok, time.Now()))
		return true
	}
	// Every token failure is a 401 at the gateway (a deployment's
	// MODIFY_RESPONSE aside, which the standalone form has no spec for).
	fmt.Fprintf(w, "REJECT %d %s\n", http.StatusUnauthorized, token.Reason(checks[0]))
	if tok != nil {
		printField(w, "token", "UNVERIFIED "+describeToken(tok, time.Now()))
	}
	p := policyView{where: "the given", issuers: v.issuers, audiences: v.audiences, keys: keyRefs(v.keys), standalone: true, pem: v.pem}
	fmt.Fprintf(w, "failing checks (%d):\n", len(checks))
	for _, err := range checks {
		fmt.Fprintf(w, "  - %s\n", checkAdvice(err, tok, p))
	}
	return false
}

func printField(w io.Writer, name, value string) {
	fmt.Fprintf(w, "  %-11s %s\n", name, value)
}

func printWarnings(w io.Writer, warnings []string) {
	for _, s := range warnings {
		fmt.Fprintf(w, "  %-11s %s\n", "warning", s)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// describeToken names a token's kid, alg, parties, scope and expiry.
func describeToken(tok *token.Token, now time.Time) string {
	parts := []string{"kid " + quoteValue(tok.Header.KeyID), "alg " + quoteValue(tok.Header.Algorithm)}
	for _, name := range []string{"iss", "sub", "aud", "scope"} {
		switch v := tok.Claims[name].(type) {
		case nil:
		case string:
			parts = append(parts, name+" "+quoteValue(v))
		default:
			parts = append(parts, name+" "+compactJSON(v))
		}
	}
	if _, ok := tok.Claims["exp"]; ok {
		parts = append(parts, strings.SplitN(DescribeTime("exp", tok.Claims, now), "  ", 2)[1])
	}
	return strings.Join(parts, ", ")
}

// decodedToken returns the token of a Decision, or raw decoded without
// checks when the gateway rejected the request after authentication (the
// Decision of a 403 carries no token).
func decodedToken(d gateway.Decision, raw string) *token.Token {
	if d.Token != nil || raw == "" {
		return d.Token
	}
	u, err := token.DecodeUnverified(raw)
	if err != nil {
		return nil
	}
	kid, _ := u.Header["kid"].(string)
	alg, _ := u.Header["alg"].(string)
	return &token.Token{Header: token.Header{KeyID: kid, Algorithm: alg}, Claims: u.Claims}
}

// quoteValue quotes a value taken from a token, cut to 64 bytes: it may
// come from anyone.
func quoteValue(s string) string {
	const limit = 64
	if len(s) <= limit {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:limit]) + "..."
}

func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = quoteValue(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// shellWord returns s ready for a command line: as is when it is safe,
// else single-quoted.
func shellWord(s string) string {
	safe := s != ""
	for _, c := range s {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,", c) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// auth returns the authentication summary of the deployment at prefix, or
// nil when it has none.
func (v *gatewayView) auth(prefix string) *gateway.AuthSummary {
	for _, d := range v.summary {
		if d.PathPrefix == prefix {
			return d.Auth
		}
	}
	return nil
}

// policy is the deployment's side of a token check, for the advice.
func (v *gatewayView) policy(auth *gateway.AuthSummary) policyView {
	p := policyView{where: "the deployment's"}
	if auth == nil {
		return p
	}
	p.issuers, p.audiences = auth.Issuers, auth.Audiences
	for _, k := range auth.Keys {
		p.keys = append(p.keys, keyRef{kid: k.KID, alg: k.Algorithm, kty: k.Type})
	}
	return p
}

// routes returns the configured routes of deployment prefix whose path is
// path, as the spec wrote it.
func (v *gatewayView) routes(prefix, path string) []config.Route {
	d := deploymentOf(v.cfg, prefix)
	if d == nil {
		return nil
	}
	var out []config.Route
	for _, r := range d.Specification.Routes {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// reasonAdvice explains a rejection that is not a failed token check.
// Gateway reasons are stable codes of the execution log, so comparing them
// is comparing a documented value, not an error text.
func (v *gatewayView) reasonAdvice(d gateway.Decision, auth *gateway.AuthSummary) string {
	from := "the configured header"
	if auth != nil {
		from = auth.TokenFrom
	}
	switch d.Reason {
	case "missing_token":
		return fmt.Sprintf("the request carries no token; deployment %s reads it from %s: give the token as the last argument", d.Deployment, from)
	case "multiple_tokens", "malformed_credential":
		return fmt.Sprintf("%s: send exactly one token, in %s", d.Detail, from)
	case "insufficient_scope":
		return v.scopeAdvice(d)
	case "method_not_allowed":
		return fmt.Sprintf("the route of %s does not accept %s; it accepts %s: send one of those, or add %s to the route's methods",
			v.request.Target, v.request.Method, strings.Join(v.allowed, ", "), v.request.Method)
	case "no_route":
		return v.noRouteAdvice(d)
	case "bad_path":
		return d.Detail + ": send a plain absolute path (no dot segments, no encoded slashes)"
	case "keys_unavailable":
		return d.Detail + ": the deployment's keys could not be loaded; check publicKeys (keygate validate)"
	}
	if d.Code == validationErrorCode {
		// token verify sends no header but the token's, and no body.
		return fmt.Sprintf("%s: the token passed; route %s's validations (keygate validate lists them) refuse the request itself, which token verify sends with no other header and no body",
			d.Detail, d.Route)
	}
	return d.Detail
}

// validationErrorCode is the log code of a refusal by a route's header,
// query parameter or body validation.
const validationErrorCode = "requestValidation.validationError"

func (v *gatewayView) scopeAdvice(d gateway.Decision) string {
	var allowed []string
	for _, r := range v.routes(d.Deployment, d.Route) {
		if r.AllowsMethod(v.request.Method) {
			allowed = append(allowed, r.Authorization().AllowedScope...)
		}
	}
	var have []string
	if d.Token != nil {
		have = d.Token.Claims.Scopes()
	}
	want := "one of " + quoteList(allowed)
	fix := "sign with --scope " + shellWord(strings.Join(allowed, " "))
	if len(allowed) > 0 {
		fix = "sign with --scope " + shellWord(allowed[0])
	}
	if len(have) == 0 {
		return fmt.Sprintf("the token has no scope; route %s needs %s: %s", d.Route, want, fix)
	}
	add := "add " + quoteValue(have[0])
	if len(have) > 1 {
		add = "add one of them"
	}
	return fmt.Sprintf("the token's scopes %s hold none of route %s's allowed scopes %s: %s, or %s to the route's allowedScope",
		quoteList(have), d.Route, quoteList(allowed), fix, add)
}

func (v *gatewayView) noRouteAdvice(d gateway.Decision) string {
	if d.Deployment == "" {
		var prefixes []string
		for _, s := range v.summary {
			prefixes = append(prefixes, s.PathPrefix)
		}
		return fmt.Sprintf("no deployment serves %s: the path must start with a deployment's prefix, one of %s",
			v.request.Target, quoteList(prefixes))
	}
	var paths []string
	for _, s := range v.summary {
		if s.PathPrefix == d.Deployment {
			for _, r := range s.Routes {
				if !slices.Contains(paths, r.Path) {
					paths = append(paths, r.Path)
				}
			}
		}
	}
	advice := fmt.Sprintf("no route of deployment %s matches %s; its routes are %s, each after the prefix %s",
		d.Deployment, v.request.Target, strings.Join(paths, ", "), d.Deployment)
	// A spec checked without --path-prefix is served at /; the request may
	// carry the prefix it is really deployed under.
	if v.noPrefixGiven {
		if first, _, found := strings.Cut(strings.TrimPrefix(v.request.Target, "/"), "/"); found && first != "" {
			advice += fmt.Sprintf(" (without --path-prefix the spec is served at /: if it is deployed under /%s, give --path-prefix /%s)", first, first)
		}
	}
	return advice
}
