// Package gateway is the HTTP side of keygate: the compiled form of a
// configuration (deployments, routes, authenticators, backends), the
// middleware chain every request passes, the one error writer, and the
// server around it.
package gateway

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/internal/authz"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/oidc"
	"github.com/keygate/keygate/internal/token"
)

// Gateway is a configuration compiled into ready values. It is immutable
// once built, so a reload builds a new one beside it and swaps.
type Gateway struct {
	// deployments are sorted longest path prefix first.
	deployments []*deployment
	handler     http.Handler
	log         *slog.Logger
	now         func() time.Time
	accessLog   bool
	buffers     *bufferPool
	// remoteRefresh holds the REMOTE_JWKS sets the deployments verify with,
	// each with the shortest refresh period a deployment asks of it.
	remoteRefresh map[*keys.RemoteSet]time.Duration
	// providers holds the OpenID providers (REMOTE_DISCOVERY) the
	// deployments use, each with the shortest refresh period asked of it.
	providers map[*oidc.Provider]time.Duration
	// introspectors are the introspection clients (and caches) in use.
	introspectors map[*oidc.Introspector]bool
	metrics       *Metrics
	activity      *Activity
	requestIDs    *requestIDs
	// trusted are the proxies whose forwarding headers name the client.
	trusted trustedProxies
	// clientCAs is the client CA of mutual TLS; nil without one.
	clientCAs *x509.CertPool
	// clientCAFile and clientCASubjects describe it for the summary.
	clientCAFile     string
	clientCASubjects []string
	// requestClientCerts: a deployment has mutual TLS on, so the listener
	// asks TLS clients for a certificate (clientCertTLS).
	requestClientCerts bool
	// clientCertConfig is the listener's configuration that asks for one,
	// made from the listener's own on the first handshake.
	clientCertConfig atomic.Pointer[derivedTLS]
	// cfg is the configuration g was compiled from; never changed.
	cfg *config.Gateway
}

// Config returns the configuration g was compiled from. It is shared: the
// caller must not change it.
func (g *Gateway) Config() *config.Gateway { return g.cfg }

// deployment is one path prefix with its compiled specification.
type deployment struct {
	prefix    string
	auth      authentication // nil: every route is open
	table     *authz.Table
	routes    []*route
	execLog   logPolicy
	accessLog bool
	allowed   allowCounters // nil counters without metrics
	// rateLimit is the deployment's rateLimiting; nil for none.
	rateLimit *rateLimit
	// cors is the deployment's cors policy, for routes without their own
	// and for refusals before a route is known; nil for none.
	cors *corsPolicy
	// policies describe the deployment-wide policies for Summary.
	policies []string
	// preflights: some route has a cors policy, so a CORS preflight is
	// routed by the method it asks about.
	preflights bool
	// mtls is the deployment's mutual TLS, checked first on every route
	// and before refusals that come before a route; nil when off.
	mtls *mutualTLS
	// mtlsSummary describes a mutualTls block, on or off; nil for none.
	mtlsSummary *MutualTLSSummary
}

// route is one compiled route of a deployment.
type route struct {
	// path is the route path as written in the spec, for logs.
	path          string
	policy        authz.Policy
	allowedScopes string // policy.AllowedScopes, space-joined
	backend       http.Handler
	// handler is backend wrapped in the route's policies (compileRoute).
	handler http.Handler
	// cors is the route's cors policy, or the deployment's; nil for none.
	cors *corsPolicy
	// validation is the route's validation policies; nil for none.
	validation *validationPolicy
	// requestHeaders, requestQuery and responseHeaders are the route's
	// transformations; nil for none.
	requestHeaders, requestQuery, responseHeaders *transform
	execLog                                       logPolicy
	summary                                       RouteSummary
	metrics                                       *routeMetrics // nil without metrics
}

// logPolicy is a compiled loggingPolicies.executionLog.
type logPolicy struct {
	enabled bool
	level   slog.Level
}

// Options are what a Gateway is built with besides its configuration.
type Options struct {
	// Logger receives the execution and access logs. Default: discard.
	Logger *slog.Logger
	// Now is the clock used for token validity and durations. Default: time.Now.
	Now func() time.Time
	// DisableAccessLog turns the per-request access line off. Default: false.
	DisableAccessLog bool
	// KeySets holds the remote key sets, shared across reloads. Default: a
	// new registry that is never started, so no JWKS is fetched (validate).
	KeySets *KeySets
	// Metrics receives request, decision and backend metrics. Default: none.
	Metrics *Metrics
	// TokenCache remembers verified tokens across requests (and across
	// deployments: entries are per verifier). Default nil: every request
	// pays a full verification.
	TokenCache *token.Cache
	// Limits holds the rate limiters' state, shared across reloads.
	// Default: new state, so a reload starts every limit afresh.
	Limits *Limits
	// Activity receives per-minute counts and recent rejections for the
	// admin console. Default nil: none are kept.
	Activity *Activity
}

// ServeHTTP runs the request through the compiled middleware chain.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.handler.ServeHTTP(w, r)
}

// chain assembles the request path in one place, in order: request id →
// access log → routing → the route's own compiled handler (its policies in
// phase order, policy.go, then its backend).
func (g *Gateway) chain() http.Handler {
	route := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		exchangeFrom(r).route.handler.ServeHTTP(w, r)
	})
	return g.withRequestID(
		g.withAccessLog(
			g.withRouting(route)))
}
