// Package config reads keygate's gateway file and OCI API Gateway API
// deployment specifications: strict decoding (YAML or JSON), defaults and pure
// validation. Every problem is reported at once with its JSON path. The package
// never logs; it returns Problems.
package config

// DefaultListen is the address the gateway listens on when none is given.
const DefaultListen = "127.0.0.1:8080"

// Gateway is keygate's own configuration file: where to listen and which
// deployments to serve.
type Gateway struct {
	// Listen is the host:port to listen on. Default "127.0.0.1:8080".
	Listen string `json:"listen,omitempty"`
	// Deployments are served side by side, each under its path prefix.
	// Required: at least one. No default.
	Deployments []Deployment `json:"deployments"`
	// Backends tune keygate's connections to the HTTP_BACKENDs of one
	// origin. Default nil: every backend gets pooled keep-alive connections.
	Backends []BackendOrigin `json:"backends,omitempty"`
	// TrustedProxies are the CIDRs of the proxies in front of keygate
	// (load balancers) whose X-Forwarded-For and Forwarded headers name the
	// client: a request from one of them is rate limited by the client's
	// address, and its X-Forwarded-For chain goes on to the backend.
	// Default nil: the client is the TCP peer and those headers are dropped.
	TrustedProxies []string `json:"trustedProxies,omitempty"`
	// SharedState is what replicas share (rate limits, usage plan
	// counters). Default nil: each replica on its own.
	SharedState *SharedState `json:"sharedState,omitempty"`
	// ResponseCache is OCI's gateway-level responseCacheDetails: the
	// server the routes' response cache policies use. Default nil (NONE):
	// those policies have no effect.
	ResponseCache *ResponseCache `json:"responseCache,omitempty"`
	// Secrets are where keygate reads the secrets that specs name by Vault
	// OCID (clientSecretId, authenticationSecretId). Default nil: none.
	Secrets []Secret `json:"secrets,omitempty"`
	// UsagePlans are OCI usage plans, as `oci api-gateway usage-plan get`
	// prints them (see UsagePlan), each inline or {"file": NAME}, NAME
	// holding it, relative to this file. Default nil: none.
	UsagePlans []UsagePlan `json:"usagePlans,omitempty"`
	// Subscribers are OCI subscribers, as `oci api-gateway subscriber get`
	// prints them (see Subscriber), inline or {"file": NAME}. Default nil:
	// none.
	Subscribers []Subscriber `json:"subscribers,omitempty"`
	// ResourceFiles are the files usage plans and subscribers were read
	// from ({"file": NAME} entries). Never read from the file; filled by
	// the loader.
	ResourceFiles []string `json:"-"`
	// Functions is the function registry: where each functionId the specs
	// name runs (README "Functions"). Default nil: a spec naming a function
	// does not load.
	Functions []Function `json:"functions,omitempty"`
	// Sessions holds the keys of OAUTH2 browser sessions. Default nil:
	// required once a spec has an OAUTH2 policy.
	Sessions *Sessions `json:"sessions,omitempty"`
	// SessionKeys are Sessions.Keys as read from the secrets list, first
	// the sealing key. Never read from the file; filled by the loader.
	SessionKeys []SessionKey `json:"-"`
	// TLS holds the TLS settings that belong with the deployments rather
	// than with the listener: the client CA of mutual TLS. Default nil: none.
	TLS *GatewayTLS `json:"tls,omitempty"`
	// ClientCA is the client CA as loaded, from TLS.ClientCA or the
	// loader's WithClientCA. Never read from the file; filled by the
	// loader. Default nil: none configured.
	ClientCA *ClientCA `json:"-"`
}

// BackendOrigin is how keygate talks to every HTTP_BACKEND url of one
// origin, whichever deployment names it: settings that are about the
// backend server, not the API, so they live in keygate's own file.
type BackendOrigin struct {
	// Origin is scheme://host[:port] as in the backends' urls, e.g.
	// "http://legacy.internal:8080" (the default port may be left out).
	// Required.
	Origin string `json:"origin"`
	// KeepAlive false sends every request on a connection of its own, closed
	// after the response, for a backend known to write past its responses
	// (SECURITY.md). Required (the entry has nothing else to say); pooled
	// keep-alive connections are what an origin without an entry gets.
	KeepAlive *bool `json:"keepAlive,omitempty"`
}

// KeepAlive reports whether connections to the origin of scheme and host
// (a URL's Host, with or without port) may be pooled and reused.
func (g *Gateway) KeepAlive(scheme, host string) bool {
	want := canonicalOrigin(scheme, host)
	for _, b := range g.Backends {
		if b.KeepAlive != nil && originOf(b.Origin) == want {
			return *b.KeepAlive
		}
	}
	return true
}

// Deployment is one OCI API deployment: a path prefix and a specification,
// given either inline or in a file.
type Deployment struct {
	// ID names the deployment in usage plans' targets (deploymentId): the
	// OCID it has on OCI, so that plans pasted from OCI match, or any name
	// not starting with '/'. Unique. Default "": targets name it by
	// PathPrefix.
	ID string `json:"id,omitempty"`
	// PathPrefix is prepended to every route path, e.g. "/test3". Required;
	// no default.
	PathPrefix string `json:"pathPrefix"`
	// SpecificationFile is the spec file (JSON or YAML), relative to the
	// gateway file. Exactly one of SpecificationFile and Specification is
	// set in the file. Default "".
	SpecificationFile string `json:"specificationFile,omitempty"`
	// Specification is the spec. After loading it is always set, also when
	// it came from SpecificationFile. Default nil.
	Specification *Spec `json:"specification,omitempty"`
	// Source records where the spec text came from, for later reports.
	// Never read from the file; filled by the loader.
	Source Source `json:"-"`
	// functionRefs are the functionIds the spec names, found also when it
	// failed validation; filled by the loader.
	functionRefs []FunctionRef
}

// Source locates a specification's text so that later stages (route
// compilation, key loading) can report problems the way this package does.
type Source struct {
	// File is the file that holds the spec text. Default "".
	File string
	// Path is the JSON path of the spec inside File: "" for a spec file,
	// "deployments[1].specification" for an inline spec. Default "".
	Path string
}

// Problem returns a Problem located at path (relative to the spec) in s.
func (s Source) Problem(path, message string) Problem {
	return Problem{File: s.File, Path: at(s.Path, path), Message: message}
}

// Spec is an OCI API deployment specification (ApiSpecification).
type Spec struct {
	// RequestPolicies apply to every route. Default nil (none).
	RequestPolicies *DeploymentRequestPolicies `json:"requestPolicies,omitempty"`
	// LoggingPolicies apply to every route unless the route has its own.
	// Defaults create it as far as ExecutionLog.LogLevel "INFO".
	LoggingPolicies *LoggingPolicies `json:"loggingPolicies,omitempty"`
	// Routes are the routes served; 1 to 50. No default.
	Routes []Route `json:"routes"`
	// Warnings are what validation found that loads but deserves a look
	// (a protected header in a transformation, ...), for validate to print
	// and serve to log. Never read from the file.
	Warnings Problems `json:"-"`
}

// DeploymentRequestPolicies are the deployment-wide request policies
// (ApiSpecificationRequestPolicies).
type DeploymentRequestPolicies struct {
	// Authentication checks the caller's token. Default nil: every route is
	// served without authentication.
	Authentication *Authentication `json:"authentication,omitempty"`
	// Cors lets browsers on other origins call every route that has no
	// cors of its own. Default nil: no CORS headers.
	Cors *CorsPolicy `json:"cors,omitempty"`
	// RateLimiting limits the requests per second of all the deployment's
	// routes together. Default nil: no limit.
	RateLimiting *RateLimitingPolicy `json:"rateLimiting,omitempty"`
	// MutualTls makes clients present a certificate that chains to
	// keygate's client CA. Default nil: client certificates are ignored.
	MutualTls *MutualTLS `json:"mutualTls,omitempty"`
	// UsagePlans makes the deployment one that usage plans can target:
	// where requests carry their client token. Default nil: no usage plan
	// applies.
	UsagePlans *UsagePlansPolicy `json:"usagePlans,omitempty"`
	// DynamicAuthentication picks one of several authentication servers
	// per request; it replaces Authentication. Default nil.
	DynamicAuthentication *DynamicAuthentication `json:"dynamicAuthentication,omitempty"`
}

// routeOnlyPolicies are the request policies OCI allows on routes only.
func (DeploymentRequestPolicies) routeOnlyPolicies() []string {
	return []string{"authorization", "queryParameterValidations", "headerValidations", "bodyValidation",
		"headerTransformations", "queryParameterTransformations", "responseCacheLookup"}
}

// Route is one route of a specification (ApiSpecificationRoute).
type Route struct {
	// Path is the route's path pattern, starting with '/'. Required.
	Path string `json:"path"`
	// Methods are the allowed methods, stored upper case. Default ["ANY"].
	Methods []string `json:"methods,omitempty"`
	// Backend is where requests go. Required.
	Backend Backend `json:"backend"`
	// RequestPolicies apply to requests on this route. Default nil
	// (authorization AUTHENTICATION_ONLY when the deployment authenticates).
	RequestPolicies *RouteRequestPolicies `json:"requestPolicies,omitempty"`
	// ResponsePolicies apply to responses on this route. Default nil.
	ResponsePolicies *RouteResponsePolicies `json:"responsePolicies,omitempty"`
	// LoggingPolicies override the deployment's for this route. Default nil.
	LoggingPolicies *LoggingPolicies `json:"loggingPolicies,omitempty"`
}

// RouteRequestPolicies are a route's request policies
// (ApiSpecificationRouteRequestPolicies).
type RouteRequestPolicies struct {
	// Authorization decides who may call the route. Default nil, meaning
	// AUTHENTICATION_ONLY (see Route.Authorization).
	Authorization *RouteAuthorization `json:"authorization,omitempty"`
	// Cors replaces the deployment's cors for this route. Default nil: the
	// deployment's applies.
	Cors *CorsPolicy `json:"cors,omitempty"`
	// QueryParameterValidations lists query parameters a request must
	// carry. Default nil: none checked.
	QueryParameterValidations *QueryParameterValidations `json:"queryParameterValidations,omitempty"`
	// HeaderValidations lists headers a request must carry. Default nil:
	// none checked.
	HeaderValidations *HeaderValidations `json:"headerValidations,omitempty"`
	// BodyValidation says whether a request needs a body and which media
	// types it may have. Default nil: any body, or none.
	BodyValidation *BodyValidation `json:"bodyValidation,omitempty"`
	// HeaderTransformations change the request's headers before the
	// backend. Default nil.
	HeaderTransformations *HeaderTransformations `json:"headerTransformations,omitempty"`
	// QueryParameterTransformations change the request's query parameters
	// before the backend. Default nil.
	QueryParameterTransformations *QueryParameterTransformations `json:"queryParameterTransformations,omitempty"`
	// ResponseCacheLookup looks the request up in the response cache
	// (with ResponseCacheStore). Default nil: no caching.
	ResponseCacheLookup *ResponseCacheLookup `json:"responseCacheLookup,omitempty"`
}

// RouteResponsePolicies are a route's response policies
// (ApiSpecificationRouteResponsePolicies).
type RouteResponsePolicies struct {
	// HeaderTransformations change the response's headers before the
	// client gets them. Default nil.
	HeaderTransformations *HeaderTransformations `json:"headerTransformations,omitempty"`
	// ResponseCacheStore stores the backend's response in the response
	// cache (with ResponseCacheLookup). Default nil: nothing stored.
	ResponseCacheStore *ResponseCacheStore `json:"responseCacheStore,omitempty"`
}

// Route authorization types (RouteAuthorizationPolicy "type").
const (
	AuthorizationAuthenticationOnly = "AUTHENTICATION_ONLY"
	AuthorizationAnyOf              = "ANY_OF"
	AuthorizationAnonymous          = "ANONYMOUS"
)

// RouteAuthorization is a route's authorization policy
// (RouteAuthorizationPolicy, by type).
type RouteAuthorization struct {
	// Type is AUTHENTICATION_ONLY, ANY_OF or ANONYMOUS. Required when the
	// policy is given; an absent policy means AUTHENTICATION_ONLY.
	Type string `json:"type"`
	// AllowedScope lists the scopes of which a token needs one (ANY_OF
	// only; case-sensitive). Default nil.
	AllowedScope []string `json:"allowedScope,omitempty"`
}

// Execution log levels (ExecutionLogPolicy "logLevel").
const (
	LogLevelInfo  = "INFO"
	LogLevelWarn  = "WARN"
	LogLevelError = "ERROR"
)

// LoggingPolicies are a deployment's or route's logging policies
// (ApiSpecificationLoggingPolicies).
type LoggingPolicies struct {
	// AccessLog configures the access log. Default nil (enabled).
	AccessLog *AccessLog `json:"accessLog,omitempty"`
	// ExecutionLog configures the execution log. Default nil (INFO).
	ExecutionLog *ExecutionLog `json:"executionLog,omitempty"`
}

// AccessLog is the access log policy (AccessLogPolicy).
type AccessLog struct {
	// IsEnabled turns OCI's log archival on; keygate always writes its
	// access log and keeps the value only for fidelity. Default false.
	IsEnabled bool `json:"isEnabled,omitempty"`
}

// ExecutionLog is the execution log policy (ExecutionLogPolicy).
type ExecutionLog struct {
	// IsEnabled turns OCI's log archival on; keygate keeps the value only
	// for fidelity. Default false.
	IsEnabled bool `json:"isEnabled,omitempty"`
	// LogLevel is INFO, WARN or ERROR (input case-insensitive, stored upper
	// case). Default "INFO" at deployment level; "" at route level, meaning
	// the deployment's level (see EffectiveLogLevel).
	LogLevel string `json:"logLevel,omitempty"`
}
