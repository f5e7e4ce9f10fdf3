package gateway

import (
	"net/http"
	"slices"
)

// phase is where a policy runs in a route's compiled handler. The order is
// keygate's reading of OCI's (oci-policies.md §13): each phase may end the
// request, so the cheap refusals come first and nothing an identity
// provider or a function would be asked runs for a request a cheaper step
// refuses. Phases a route has no policy for have no step at all: a route
// pays only for the policies it uses.
type phase int

const (
	// phaseCORSHeaders puts the CORS headers on every response of the
	// route: the writer it wraps is the outermost, so nothing a later step
	// writes (a 401 of mutual TLS, a 429, the backend's answer) goes
	// without them.
	phaseCORSHeaders phase = iota
	// phaseMutualTLS verifies the client certificate of a deployment with
	// mutual TLS on: the first step that decides anything (OCI checks the
	// certificate at the connection); CORS preflights pass it.
	phaseMutualTLS
	// phaseRateLimit refuses requests over the deployment's rate.
	phaseRateLimit
	// phaseCORS answers CORS preflights (after rate limiting: preflights
	// count; before authentication: browsers send no credential on them).
	phaseCORS
	// phaseAuthenticate verifies the request's credential (JWT,
	// TOKEN_AUTHENTICATION).
	phaseAuthenticate
	// phaseAuthorize applies the route's authorization (ANY_OF,
	// AUTHENTICATION_ONLY) to the authenticated principal.
	phaseAuthorize
	// phaseUsagePlan finds the subscriber by its client token and applies
	// its entitlement's rate limit and quota: after authentication and
	// authorization (OCI: requests failing them count toward nothing),
	// before validation.
	phaseUsagePlan
	// phaseValidate checks the route's header, query parameter and body
	// validations (OCI runs them after authentication and authorization,
	// before transformations), never reading the body.
	phaseValidate
	// phaseSanitize removes what no backend may receive from a client
	// (method overrides, headers backends trust, protocol upgrades); every
	// route with a backend has it.
	phaseSanitize
	// phaseCacheCredential notes whether the request, as the client sent
	// it, carries a credential: on a route without private caching it then
	// bypasses the response cache.
	phaseCacheCredential
	// phaseResponseTransform applies the route's response header
	// transformations: a writer around the response cache and the backend,
	// inside the CORS writer, so that a cached response is transformed as
	// a fresh one is (X-Cache-Status included) and CORS headers come last.
	phaseResponseTransform
	// phaseTransform applies the route's request header and query
	// parameter transformations.
	phaseTransform
	// phaseCacheLookup answers from the response cache, or sends the
	// request on through the writer that stores the backend's response.
	// It comes after every step that may refuse the request (a caller who
	// would be refused is never answered from the cache) and after the
	// transformations, so the key is that of what the backend receives.
	phaseCacheLookup
)

// routePolicy is one compiled policy of a route: its phase, and the
// middleware it wraps around the rest of the route's handler.
type routePolicy struct {
	phase phase
	wrap  func(next http.Handler) http.Handler
}

// compileRoute wraps terminal, the route's backend, in its policies, in
// phase order: the first phase is the outermost handler.
func compileRoute(policies []routePolicy, terminal http.Handler) http.Handler {
	slices.SortStableFunc(policies, func(a, b routePolicy) int { return int(a.phase) - int(b.phase) })
	h := terminal
	for i := len(policies) - 1; i >= 0; i-- {
		h = policies[i].wrap(h)
	}
	return h
}

// routeTerminal is the end of every route's handler: the backend, or, for
// a Decide call, the record that the request would have reached it.
func routeTerminal(backend http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		if ex.decision != nil {
			ex.decision.Accepted = true
			// The verified token, if any: a refused one on an ANONYMOUS
			// route is not the request's.
			ex.decision.Token = nil
			if p := ex.principal; p != nil {
				ex.decision.Token = p.token
			}
			describeBackend(ex.decision, backend, r)
			ex.decision.locate(ex)
			return
		}
		backend.ServeHTTP(w, r)
	})
}
