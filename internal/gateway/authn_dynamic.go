package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/token"
)

// OCI's log codes of dynamic authentication (§7).
const (
	codeDynNoMatch       = "dynamicAuthentication.noAuthenticationServerMatched"
	codeDynTokenNotFound = "dynamicAuthentication.jwtTokenNotFound"
	codeDynTokenInvalid  = "dynamicAuthentication.jwtTokenInvalid"
	reasonDynNoMatch     = reason("no_authentication_server_matched")
)

// dynamicAuthenticator is a compiled dynamicAuthentication policy: a
// selector picks one of several servers, each any authentication (so any
// server type that implements authentication plugs in), which then
// authenticates the request.
type dynamicAuthenticator struct {
	selector config.ContextVariable
	servers  []authentication
	// picks are the possible selections, by server index: picks[i] names
	// servers[i], defaults[i] the same as taken by default (so a request
	// only points at one, never allocates).
	picks, defaults []selection
	// keys pick a server's index from the selector's value.
	keys keyMatcher
	// tokenSource reads the token a request.auth selector decodes (every
	// server reads the same one: validation checks it).
	tokenSource *tokenAuthenticator
	realm       string
	summary     AuthSummary
}

var _ authentication = (*dynamicAuthenticator)(nil)

// selection is a server dynamic authentication picked: the server, its key
// name, and whether it was the default (no key matched).
type selection struct {
	server    authentication
	name      string
	byDefault bool
}

// pick returns the server for the selector's value: exact ANY_OF match
// (case-insensitive), then the first matching WILDCARD (case-sensitive),
// then the default (byDefault); -1 for none.
func (d *dynamicAuthenticator) pick(value string) (server int, byDefault bool) {
	return d.keys.pick(value)
}

// selectorValue reads the selector; for request.auth the token's payload is
// decoded UNVERIFIED, only to read the claim: the chosen server verifies it
// fully.
func (d *dynamicAuthenticator) selectorValue(r *http.Request, ex *exchange) (string, *httpError) {
	if d.selector.Table != config.VarAuth {
		return evalVariable(r, ex, d.selector), nil
	}
	raw, _, err := d.tokenSource.credential(r)
	if err != nil {
		return "", d.refused(codeDynTokenNotFound, "no token to read "+d.selector.String()+" from: "+err.Error())
	}
	u, err := token.DecodeUnverified(raw)
	if err != nil {
		return "", d.refused(codeDynTokenInvalid, "the token cannot be decoded to read "+d.selector.String()+": "+err.Error())
	}
	v, _ := u.Claims.Value(d.selector.Key)
	return v, nil
}

func (d *dynamicAuthenticator) refused(code, detail string) *httpError {
	e := &httpError{status: http.StatusUnauthorized, code: code, reason: reasonDynNoMatch, detail: detail,
		level: slog.LevelInfo, evenAnonymous: true}
	e.setHeader("WWW-Authenticate", d.challenge(""))
	return e
}

func (d *dynamicAuthenticator) authenticate(r *http.Request, ex *exchange) (principal, error) {
	value, e := d.selectorValue(r, ex)
	if e != nil {
		return principal{}, e
	}
	i, byDefault := d.pick(value)
	if i < 0 {
		return principal{}, d.refused(codeDynNoMatch, "no authentication server matches "+d.selector.String()+" = "+quoteID(bounded(value)))
	}
	if byDefault {
		ex.selected = &d.defaults[i]
	} else {
		ex.selected = &d.picks[i]
	}
	return d.servers[i].authenticate(r, ex)
}

func (d *dynamicAuthenticator) refusal(r *http.Request, ex *exchange, err error) *httpError {
	if e, ok := err.(*httpError); ok {
		return e
	}
	if ex.selected != nil {
		return ex.selected.server.refusal(r, ex, err)
	}
	return d.refused(codeDynNoMatch, err.Error())
}

// scrub leaves the backend only the credential of the selected server
// that authenticated p: every other server removes its own credential, and
// the selected server's verified token is put back where it travels if
// another server shared that place (or, reading its token from the query,
// dropped the Authorization header as a lone server does).
func (d *dynamicAuthenticator) scrub(r *http.Request, ex *exchange, p *principal) {
	var selected authentication
	if ex.selected != nil {
		selected = ex.selected.server
		selected.scrub(r, ex, p)
	}
	// The other servers read no token, so none knows whether a spelling
	// of its header with '_' for '-' came: each removes every spelling
	// (else X_Client_Token would reach a backend folding '_' into '-' as a
	// credential no server verified, R11).
	ex.credentialFolded = true
	for _, s := range d.servers {
		if s != selected {
			s.scrub(r, ex, nil)
		}
		// A query token is never forwarded, verified or not; the backend
		// removes the first server's parameter itself.
		if q := s.credentialQueryParam(); q != "" && q != d.credentialQueryParam() && r.URL.RawQuery != "" {
			// Also behind a ';' (R22); the rest stays byte for byte.
			r.URL.RawQuery = withoutQueryParam(r.URL.RawQuery, q)
		}
	}
	if p != nil && ex.credentialHeader != "" && ex.credential != nil {
		r.Header[ex.credentialHeader] = ex.credential
	}
}

func (d *dynamicAuthenticator) challenge(errorCode string) string {
	c := `Bearer realm="` + d.realm + `"`
	if errorCode != "" {
		c += `, error="` + errorCode + `"`
	}
	return c
}

// credentialQueryParam is the first server's query parameter; the others'
// are removed by scrub.
func (d *dynamicAuthenticator) credentialQueryParam() string {
	for _, s := range d.servers {
		if q := s.credentialQueryParam(); q != "" {
			return q
		}
	}
	return ""
}

func (d *dynamicAuthenticator) describe() AuthSummary { return d.summary }

// credentialReader reads a token where ts says, as a token server does:
// what a request.auth selector decodes, whatever the servers' types (all
// read the same place: validation checks it).
func credentialReader(ts config.TokenSource) *tokenAuthenticator {
	return &tokenAuthenticator{header: http.CanonicalHeaderKey(ts.Header), scheme: ts.Scheme, queryParam: ts.QueryParam}
}

// dynamicAuthentication compiles §7; each server is compiled as the
// deployment's authentication would be.
func (c *compiler) dynamicAuthentication(da *config.DynamicAuthentication, prefix string, src config.Source) authentication {
	d := &dynamicAuthenticator{keys: newKeyMatcher(), realm: prefix}
	if da.SelectionSource != nil {
		d.selector, _ = da.SelectionSource.Variable()
	}
	d.summary = AuthSummary{Type: "DYNAMIC (" + d.selector.String() + ")"}
	for i, s := range da.AuthenticationServers {
		if s.AuthenticationServerDetail == nil || s.Key == nil {
			continue // an invalid spec in CheckSpec: validation named it
		}
		server := c.authenticationAt(s.AuthenticationServerDetail, prefix, src,
			"requestPolicies.dynamicAuthentication.authenticationServers["+strconv.Itoa(i)+"].authenticationServerDetail")
		if server == nil {
			continue // a type validation refused
		}
		if d.tokenSource == nil {
			d.tokenSource = credentialReader(s.AuthenticationServerDetail.TokenSource())
		}
		idx := len(d.servers)
		d.servers = append(d.servers, server)
		d.picks = append(d.picks, selection{server: server, name: s.Key.Name})
		d.defaults = append(d.defaults, selection{server: server, name: s.Key.Name, byDefault: true})
		d.keys.add(s.Key, idx)
		d.summary.Servers = append(d.summary.Servers, describeKey(s.Key)+": "+describeServer(server.describe()))
	}
	return d
}

// describeKey writes a selection key for keygate validate.
func describeKey(k *config.SelectionKey) string {
	out := k.Name + " (" + k.Type
	switch k.Type {
	case config.SelectionAnyOf:
		out += " " + strings.Join(k.Values, ", ")
	case config.SelectionWildcard:
		out += " " + k.Expression
	}
	if k.IsDefault {
		out += ", default"
	}
	return out + ")"
}

// describeServer summarises one server in a line.
func describeServer(a AuthSummary) string {
	out := a.Type + ", token from " + a.TokenFrom
	switch {
	case a.Discovery != "":
		out += ", OpenID provider " + a.Discovery
	case a.JWKS != "":
		out += ", JWKS " + a.JWKS
	case len(a.Keys) > 0:
		out += ", " + strconv.Itoa(len(a.Keys)) + " static keys"
	}
	return out
}
