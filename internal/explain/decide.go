// Package explain answers "would the gateway accept this request, and if
// not, why?" in words: the verdict of gateway.Decide with every failing
// check and its fix. `keygate token verify` prints it and the admin console
// shows it, from this one rendering, so both say the same lines.
package explain

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// Request is the request to explain: a method and a target (path and query).
type Request struct {
	Method, Target string
}

func (r Request) String() string { return r.Method + " " + r.Target }

// Errors of ParseRequest; the caller names where the request came from.
var (
	ErrRequestForm  = errors.New(`want "METHOD /path", e.g. "POST /test3/1"`)
	ErrRequestBytes = errors.New("the path may not hold spaces or control characters; percent-encode them")
)

// ParseRequest reads "METHOD /path?query". A full URL, as pasted from a curl
// line, stands for its path and query.
func ParseRequest(s string) (Request, error) {
	method, target, ok := strings.Cut(strings.TrimSpace(s), " ")
	target = strings.TrimSpace(target)
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		if u, err := url.Parse(target); err == nil {
			target = u.RequestURI()
		}
	}
	switch {
	case !ok || method == "" || !strings.HasPrefix(target, "/"):
		return Request{}, ErrRequestForm
	case strings.ContainsAny(s, "\r\n\t") || strings.Contains(target, " "):
		return Request{}, ErrRequestBytes
	}
	return Request{Method: strings.ToUpper(method), Target: target}, nil
}

// HTTP parses r the way the server parses a request line, so the path
// reaches the gateway exactly as it would over the wire.
func (r Request) HTTP() (*http.Request, error) {
	line := r.Method + " " + r.Target + " HTTP/1.1\r\nHost: keygate.invalid\r\n\r\n"
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(line)))
	if err != nil {
		return nil, err
	}
	req.RemoteAddr = "127.0.0.1:0"
	return req, nil
}

// Options are how Gateway words its answer.
type Options struct {
	// NoPrefixGiven: the configuration is a spec served at / because no
	// path prefix was given; a no_route answer then suggests one. Default
	// false.
	NoPrefixGiven bool
	// Introspect lets a REMOTE_DISCOVERY token without a cached answer be
	// sent to the provider's introspection endpoint. Default false: the
	// verdict on such a token is UNDECIDED, naming what was not checked.
	Introspect bool
}

// Gateway runs r, carrying raw ("" for no token) where the deployment that
// owns the path reads it, through g (compiled from cfg) without calling a
// backend, writes the verdict to w and reports whether it is ACCEPT. r must
// have passed HTTP. raw is never written out.
func Gateway(w io.Writer, g *gateway.Gateway, cfg *config.Gateway, r Request, raw string, opts Options) bool {
	d, from := decide(g, cfg, r, raw, gateway.DecideOptions{Introspect: opts.Introspect})
	view := &gatewayView{cfg: cfg, summary: g.Summary(), request: r, tokenFrom: from, hasToken: raw != "",
		noPrefixGiven: opts.NoPrefixGiven}
	if d.Reason == "method_not_allowed" {
		view.allowed = allowedMethods(g, r)
	}
	return printDecision(w, d, raw, view)
}

// Standalone writes the verdict on a token checked against one key set and
// the given issuers and audiences (tok and checks from token.Verifier.Check)
// and reports whether it is ACCEPT. pem says the key came from a PEM file.
func Standalone(w io.Writer, tok *token.Token, checks []error, issuers, audiences []string, ks []*keys.Key, pem bool) bool {
	return printStandalone(w, tok, checks, &standaloneView{issuers: issuers, audiences: audiences, keys: ks, pem: pem})
}

// decide runs the request through the gateway. A token goes where the
// deployment that owns the path reads it, found by a first run without one
// (so the owner is chosen by the gateway's own routing). from says where
// the token was put.
func decide(g *gateway.Gateway, cfg *config.Gateway, r Request, raw string, opts gateway.DecideOptions) (gateway.Decision, string) {
	req, _ := r.HTTP() // checked by the caller
	first := g.DecideWith(req, opts)
	if raw == "" {
		return first, ""
	}
	ts := config.TokenSource{Header: "Authorization", Scheme: "Bearer"}
	if a := authenticationOf(cfg, first.Deployment); a != nil {
		ts = a.TokenSource()
	}
	req, _ = r.HTTP()
	var from string
	switch {
	case ts.QueryParam != "":
		q := req.URL.Query()
		q.Set(ts.QueryParam, raw)
		req.URL.RawQuery = q.Encode()
		from = "query parameter " + ts.QueryParam
	case ts.Scheme != "":
		req.Header.Set(ts.Header, ts.Scheme+" "+raw)
		from = "header " + ts.Header + ": " + ts.Scheme + " TOKEN"
	default:
		req.Header.Set(ts.Header, raw)
		from = "header " + ts.Header + ": TOKEN"
	}
	return g.DecideWith(req, opts), from
}

// allowedMethods lists the methods the gateway routes r's path for,
// asking the gateway itself rather than matching route paths again.
func allowedMethods(g *gateway.Gateway, r Request) []string {
	var out []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		req, err := Request{Method: m, Target: r.Target}.HTTP()
		if err == nil && g.Decide(req).Route != "" {
			out = append(out, m)
		}
	}
	return out
}

// deploymentOf returns the configured deployment with path prefix prefix.
func deploymentOf(cfg *config.Gateway, prefix string) *config.Deployment {
	for i := range cfg.Deployments {
		if d := &cfg.Deployments[i]; d.PathPrefix == prefix && d.Specification != nil {
			return d
		}
	}
	return nil
}

func authenticationOf(cfg *config.Gateway, prefix string) *config.Authentication {
	d := deploymentOf(cfg, prefix)
	if d == nil || d.Specification.RequestPolicies == nil {
		return nil
	}
	return d.Specification.RequestPolicies.Authentication
}
