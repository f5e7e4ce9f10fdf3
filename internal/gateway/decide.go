package gateway

import (
	"context"
	"net/http"

	"github.com/keygate/keygate/internal/token"
)

// Decision is what the gateway does with a request up to the backend:
// routing, authentication and authorization, by the very middleware chain
// that serves traffic, without calling the backend.
type Decision struct {
	// Accepted is true when the request would reach the backend.
	Accepted bool
	// Status is the status the gateway would answer on a rejection; 0 when
	// Accepted (the backend decides).
	Status int
	// Code and Reason are the execution log's OCI code and keygate reason of
	// a rejection; Detail is its message.
	Code, Reason, Detail string
	// Deployment and Route name what the request matched ("" if nothing).
	Deployment, Route string
	// Token is the decoded token, verified when Accepted on an
	// authenticated route; nil when the request carried none.
	Token *token.Token
	// Checks are every failing token check, not just the first, when the
	// token was rejected.
	Checks []error
	// ScopeRefusedToo is set when the token was rejected and the route's
	// authorization would refuse its (unverified) scopes as well: the 403
	// the caller meets once the token verifies.
	ScopeRefusedToo bool
	// Warnings are log lines that do not stop the request (an invalid
	// token on an ANONYMOUS route).
	Warnings []string
	// Introspected describes the provider's introspection answer a
	// REMOTE_DISCOVERY token was accepted or refused by ("" for none).
	Introspected string
	// Unchecked lists what could not be checked without the identity
	// provider (a REMOTE_DISCOVERY token's introspection when Decide may
	// not call it); the verdict then is Undecided.
	Unchecked []string
	// Undecided: every check that could be made passed, but the verdict
	// needs an identity provider call Decide was not allowed to make or
	// that failed (Unchecked says which).
	Undecided bool
	// Forward is what an HTTP_BACKEND would receive when Accepted, after
	// the route's transformations and the gateway's own headers; nil for
	// other backends and for rejections.
	Forward *Forwarded

	opts DecideOptions
}

// Forwarded is the request a backend would receive.
type Forwarded struct {
	Method, URL string
	Header      http.Header
}

type decisionKey struct{}

// DecideOptions are what a Decide call may do beyond reading the
// gateway's state.
type DecideOptions struct {
	// Introspect lets a REMOTE_DISCOVERY token without a cached answer be
	// sent to the provider's introspection endpoint (the answer is not
	// cached). Default false: only cached answers are used, and the
	// verdict is Undecided without one.
	Introspect bool
}

// Decide runs r through the middleware chain and reports the outcome
// instead of calling the backend. It is what `keygate token verify` uses, so
// an offline answer is the answer serve would give: the same compiled route
// handlers run, with an observer where the backend would be. It sends
// nothing to a backend, and a policy that keeps state (rate limits, caches,
// authorizer calls) must treat a Decide request as a question, not as
// traffic (exchange.decision tells them apart).
func (g *Gateway) Decide(r *http.Request) Decision {
	return g.DecideWith(r, DecideOptions{})
}

// DecideWith is Decide with opts.
func (g *Gateway) DecideWith(r *http.Request, opts DecideOptions) Decision {
	d := &Decision{opts: opts}
	r = r.WithContext(context.WithValue(r.Context(), decisionKey{}, d))
	g.handler.ServeHTTP(discardWriter{header: http.Header{}}, r)
	return *d
}

// decisionFrom returns the Decision a Decide call is filling, or nil when
// the request is real traffic.
func decisionFrom(ctx context.Context) *Decision {
	d, _ := ctx.Value(decisionKey{}).(*Decision)
	return d
}

// record notes a rejection (or, with log-only set, a warning) on d.
func (d *Decision) record(ex *exchange, e *httpError, logOnly bool) {
	if logOnly {
		d.Warnings = append(d.Warnings, e.Error())
		return
	}
	d.Status, d.Code, d.Reason, d.Detail = e.status, e.code, string(e.reason), e.detail
	if p := ex.principal; p != nil && p.token != nil {
		d.Token = p.token // verified, refused by authorization
	}
	d.locate(ex)
}

func (d *Decision) locate(ex *exchange) {
	if ex.dep != nil {
		d.Deployment = ex.dep.prefix
	}
	if ex.route != nil {
		d.Route = ex.route.path
	}
}

// discardWriter is the ResponseWriter of a Decide call: nothing is sent.
type discardWriter struct{ header http.Header }

func (w discardWriter) Header() http.Header         { return w.header }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}
