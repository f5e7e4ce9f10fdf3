package gateway

import (
	"cmp"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/authz"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/function"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/oidc"
	"github.com/keygate/keygate/internal/token"
)

// New compiles a validated configuration into a Gateway: keys are parsed,
// routes compiled, backends and their transports made. Every problem it
// finds (a weak key, a bad route path, a bad context variable) is reported
// at once as config.Problems, located like the config package's own.
func New(cfg *config.Gateway, opts Options) (*Gateway, error) {
	g := &Gateway{
		remoteRefresh: map[*keys.RemoteSet]time.Duration{},
		providers:     map[*oidc.Provider]time.Duration{},
		introspectors: map[*oidc.Introspector]bool{},
		log:           opts.Logger,
		now:           opts.Now,
		accessLog:     !opts.DisableAccessLog,
		accessLines:   opts.AccessLog,
		buffers:       newBufferPool(),
		metrics:       opts.Metrics,
		activity:      opts.Activity,
		requestIDs:    newRequestIDs(),
		cfg:           cfg,
	}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.trusted = compileTrustedProxies(cfg.TrustedProxies)
	c := &compiler{g: g, cfg: cfg, transports: map[transportKey]*syncTransport{}, keySets: opts.KeySets,
		tokenCache: opts.TokenCache, limits: opts.Limits, functions: opts.Functions, noInline: opts.DisableInlineUpstream,
		authorizerCacheSize: opts.AuthorizerCacheEntries, cache: opts.ResponseCache}
	if c.limits == nil {
		c.limits = NewLimits()
	}
	if c.keySets == nil {
		c.keySets = NewKeySets(g.log, nil)
	}
	if cfg.ClientCA != nil {
		g.useClientCA(cfg.ClientCA)
	}
	for _, d := range cfg.Deployments {
		for _, w := range d.Specification.Warnings {
			g.log.Warn("configuration: "+w.Error(), "reason", "config_warning")
		}
		if dep := c.deployment(d); dep != nil {
			g.deployments = append(g.deployments, dep)
		}
	}
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	// Longest prefix first, so /api/v2 wins over /api.
	slices.SortStableFunc(g.deployments, func(a, b *deployment) int {
		return cmp.Compare(len(b.prefix), len(a.prefix))
	})
	g.preencodeAccessLog()
	g.handler = g.chain()
	return g, nil
}

// compiler collects problems while it builds.
type compiler struct {
	g          *Gateway
	limits     *Limits
	cfg        *config.Gateway // nil in CheckSpec
	keySets    *KeySets
	cache      *ResponseCache // nil: cache policies have no effect
	tokenCache *token.Cache
	transports map[transportKey]*syncTransport
	problems   config.Problems
	// usageClients and usageSubscribers are the subscribers' clients,
	// indexed once for every deployment with usage plans.
	usageClients     usageClients
	usageSubscribers []*usageSubscriber
	// functions invokes function backends and authorizers; nil in
	// CheckSpec and where nothing may be invoked (validate).
	functions function.Invoker
	// noInline is Options.DisableInlineUpstream.
	noInline bool
	// authorizerCacheSize is Options.AuthorizerCacheEntries.
	authorizerCacheSize int
}

func (c *compiler) problem(src config.Source, path, message string) {
	c.problems = append(c.problems, src.Problem(path, message))
}

func (c *compiler) deployment(d config.Deployment) *deployment {
	spec, src := d.Specification, d.Source
	dep := &deployment{prefix: d.PathPrefix, accessLog: true, allowed: c.g.metrics.allowCountersFor(d.PathPrefix)}
	dep.execLog = logPolicyOf(config.EffectiveLogLevel(spec.LoggingPolicies, nil))
	if rp := spec.RequestPolicies; rp != nil && rp.Authentication != nil {
		dep.auth = c.authenticationAt(rp.Authentication, d.PathPrefix, src, "requestPolicies.authentication")
		if fp := rp.Authentication.ValidationFailurePolicy; fp != nil && strings.EqualFold(fp.Type, config.FailureOAuth2) {
			var inner authentication
			if ta, ok := dep.auth.(*tokenAuthenticator); ok && ta.verifier != nil {
				inner = ta
			}
			dep.auth = c.oauth2Login(rp.Authentication, fp, d.PathPrefix, src, inner)
		}
	} else if rp != nil && rp.DynamicAuthentication != nil {
		dep.auth = c.dynamicAuthentication(rp.DynamicAuthentication, d.PathPrefix, src)
	}
	if rp := spec.RequestPolicies; rp != nil && rp.RateLimiting != nil {
		rl := rp.RateLimiting
		dep.rateLimit = &rateLimit{limits: c.limits, rate: rl.RateInRequestsPerSecond,
			perClient: rl.RateKey == config.RateKeyClientIP, key: d.PathPrefix, trusted: c.g.trusted}
	}
	if rp := spec.RequestPolicies; rp != nil && rp.UsagePlans != nil {
		dep.usage = c.usagePolicy(d, rp.UsagePlans)
	}
	if rp := spec.RequestPolicies; rp != nil && rp.Cors != nil {
		dep.cors = compileCORS(rp.Cors, c.g.log, src.Problem("requestPolicies.cors", "").Path)
	}
	if rp := spec.RequestPolicies; rp != nil && rp.MutualTls != nil {
		dep.mtls, dep.mtlsSummary = c.mutualTLS(rp.MutualTls, src)
		if dep.mtls != nil {
			dep.allowed.mutualTLS = c.g.metrics.mutualTLSAllowed(d.PathPrefix)
		}
	}
	dep.policies = deploymentPolicies(spec)
	if dep.usage != nil {
		dep.policies = append(dep.policies, dep.usage.summary())
	}
	specs := make([]authz.RouteSpec, len(spec.Routes))
	for i, r := range spec.Routes {
		specs[i] = authz.RouteSpec{Path: r.Path, Methods: r.Methods}
	}
	table, err := authz.Compile(specs)
	if err != nil {
		c.addJoined(src, err)
	}
	dep.table = table
	// The backends are checked even when the table is not, so that one run
	// names every problem.
	for i := range spec.Routes {
		dep.routes = append(dep.routes, c.route(&spec.Routes[i], i, spec, dep, src))
	}
	if err != nil {
		return nil
	}
	return dep
}

// deploymentPolicies describes the deployment-wide policies besides
// authentication, one line each, for the console.
func deploymentPolicies(spec *config.Spec) []string {
	var out []string
	if rp := spec.RequestPolicies; rp != nil {
		if rl := rp.RateLimiting; rl != nil {
			per := "all clients together (TOTAL)"
			if rl.RateKey == config.RateKeyClientIP {
				per = "per CLIENT_IP (IPv6 by /64)"
			}
			out = append(out, "rate limit: "+strconv.Itoa(rl.RateInRequestsPerSecond)+" requests/s, "+per+"; 429 beyond")
		}
		if rp.Cors != nil {
			out = append(out, "CORS: "+corsSummary(rp.Cors))
		}
		if a := rp.Authentication; a != nil && a.ValidationFailurePolicy != nil && strings.EqualFold(a.ValidationFailurePolicy.Type, config.FailureOAuth2) {
			out = append(out, oauth2Summary(a.ValidationFailurePolicy))
		} else if a != nil && a.ValidationFailurePolicy != nil {
			fp := a.ValidationFailurePolicy
			code := string(fp.ResponseCode)
			if code == "" {
				code = "401"
			}
			out = append(out, "authentication failure: "+fp.Type+" "+code)
		}
	}
	if level := config.EffectiveLogLevel(spec.LoggingPolicies, nil); level != "" {
		out = append(out, "execution log: "+level)
	}
	return out
}

// CheckSpec makes the checks New makes while compiling (key material, the
// route table, backend URL templates) on a spec that failed validation, so
// that one run of keygate validate or serve names every problem (it is the
// config.SpecCheck the CLI passes to the loaders). Nothing is started: a
// REMOTE_JWKS is not fetched.
//
// The spec is invalid, so compiling meets values validation refused (a
// missing stock status, a missing key set): each step skips what it cannot
// read, and TestCheckSpecOnInvalidSpecs holds that it never panics.
func CheckSpec(spec *config.Spec, src config.Source) config.Problems {
	c := &compiler{
		g: &Gateway{log: slog.New(slog.DiscardHandler), now: time.Now, remoteRefresh: map[*keys.RemoteSet]time.Duration{},
			providers: map[*oidc.Provider]time.Duration{}, introspectors: map[*oidc.Introspector]bool{}},
		keySets:    NewKeySets(nil, nil),
		transports: map[transportKey]*syncTransport{},
		limits:     NewLimits(),
	}
	c.deployment(config.Deployment{PathPrefix: "/", Specification: spec, Source: src})
	return c.problems
}

// addJoined turns the route table's errors into problems at their paths.
func (c *compiler) addJoined(src config.Source, err error) {
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var se *authz.SpecError
		if errors.As(e, &se) {
			c.problem(src, se.Path, se.Err.Error())
			continue
		}
		c.problem(src, "", e.Error())
	}
}

func (c *compiler) route(r *config.Route, i int, spec *config.Spec, dep *deployment, src config.Source) *route {
	rt := &route{path: r.Path, execLog: logPolicyOf(config.EffectiveLogLevel(spec.LoggingPolicies, r.LoggingPolicies)),
		metrics: c.g.metrics.forRoute(dep.prefix, r.Path)}
	az := r.Authorization()
	switch az.Type {
	case config.AuthorizationAnyOf:
		rt.policy = authz.Policy{Kind: authz.AnyOf, AllowedScopes: az.AllowedScope}
	case config.AuthorizationAnonymous:
		rt.policy = authz.Policy{Kind: authz.Anonymous}
	default:
		rt.policy = authz.Policy{Kind: authz.AuthenticationOnly}
	}
	rt.allowedScopes = joinScopes(az.AllowedScope)
	rt.summary = RouteSummary{Path: r.Path, Methods: r.Methods, Authorization: az.Type}
	switch {
	case dep.auth == nil:
		rt.summary.Authorization = "open"
	case az.Type == config.AuthorizationAnyOf:
		rt.summary.Authorization += " [" + rt.allowedScopes + "]"
	}
	at := "routes[" + strconv.Itoa(i) + "].backend"
	switch r.Backend.Type {
	case config.BackendStockResponse:
		if r.Backend.Status == nil {
			break // an invalid spec in CheckSpec: validation named it
		}
		headers := http.Header{}
		for _, h := range r.Backend.Headers {
			headers.Add(h.Name, h.Value)
		}
		rt.backend = newStockBackend(*r.Backend.Status, r.Backend.Body, headers)
		rt.summary.Backend = r.Backend.Type + " " + strconv.Itoa(*r.Backend.Status)
	case config.BackendOAuth2Logout:
		rt.backend = c.logoutBackend(&r.Backend, dep)
		rt.summary.Backend = r.Backend.Type
	case config.BackendOAuth2Login:
		rt.backend = c.loginBackend()
		rt.summary.Backend = r.Backend.Type
	case config.BackendHTTP:
		rt.backend = c.httpBackend(&r.Backend, r.Path, dep, src, at, rt.metrics)
		rt.summary.Backend = r.Backend.Type + " " + r.Backend.URL
		if hb, ok := rt.backend.(*httpBackend); ok && !hb.keepAlive {
			rt.summary.Backend += " (keepAlive false: a connection per request)"
		}
	case config.BackendFunction:
		rt.backend = c.functionBackend(&r.Backend, dep, rt.metrics)
		rt.summary.Backend = r.Backend.Type + " " + r.Backend.FunctionID
	case config.BackendDynamic:
		if d := c.dynamicBackend(&r.Backend, r.Path, dep, src, at, rt.metrics); d != nil {
			rt.backend = d
		}
		rt.summary.Backend = dynamicSummary(&r.Backend)
	}
	rt.cors = dep.cors
	if rq := r.RequestPolicies; rq != nil && rq.Cors != nil {
		rt.cors = compileCORS(rq.Cors, c.g.log, src.Problem("routes["+strconv.Itoa(i)+"].requestPolicies.cors", "").Path)
	}
	if rt.cors != nil {
		dep.preflights = true
		rt.summary.CORS = corsSummary(corsOf(r, spec))
	}
	c.routeTransforms(rt, r, src, i)
	rt.validation = compileValidations(r.RequestPolicies)
	rt.summary.Validations = validationSummaries(r.RequestPolicies)
	rt.cache = c.compileCache(r, dep)
	if rt.cache != nil {
		rt.summary.Cache = cacheSummary(rt.cache)
	}
	rt.handler = compileRoute(c.routePolicies(rt, dep), routeTerminal(rt.backend))
	return rt
}

// routeTransforms compiles r's header and query parameter transformations.
func (c *compiler) routeTransforms(rt *route, r *config.Route, src config.Source, i int) {
	at := func(rest string) string {
		return src.Problem("routes["+strconv.Itoa(i)+"]."+rest, "").Path
	}
	if rq := r.RequestPolicies; rq != nil {
		if ht := rq.HeaderTransformations; ht != nil {
			rt.requestHeaders = compileTransform(ht.SetHeaders, ht.RenameHeaders, ht.FilterHeaders, false, false,
				c.g.log, at("requestPolicies.headerTransformations"))
			rt.summary.Transforms = append(rt.summary.Transforms, "request headers: "+transformSummary(ht.SetHeaders, ht.RenameHeaders, ht.FilterHeaders))
		}
		if qt := rq.QueryParameterTransformations; qt != nil {
			rt.requestQuery = compileTransform(qt.SetQueryParameters, qt.RenameQueryParameters, qt.FilterQueryParameters,
				true, false, c.g.log, at("requestPolicies.queryParameterTransformations"))
			rt.summary.Transforms = append(rt.summary.Transforms, "query parameters: "+transformSummary(qt.SetQueryParameters, qt.RenameQueryParameters, qt.FilterQueryParameters))
		}
	}
	if rs := r.ResponsePolicies; rs != nil && rs.HeaderTransformations != nil {
		ht := rs.HeaderTransformations
		rt.responseHeaders = compileTransform(ht.SetHeaders, ht.RenameHeaders, ht.FilterHeaders, false, true,
			c.g.log, at("responsePolicies.headerTransformations"))
		rt.summary.Transforms = append(rt.summary.Transforms, "response headers: "+transformSummary(ht.SetHeaders, ht.RenameHeaders, ht.FilterHeaders))
	}
}

// transformSummary says in one line what a transformation policy does.
func transformSummary(set *config.SetItems, rename *config.RenameItems, filter *config.FilterItems) string {
	var parts []string
	if rename != nil {
		for _, it := range rename.Items {
			parts = append(parts, "rename "+it.From+" to "+it.To)
		}
	}
	if set != nil {
		for _, it := range set.Items {
			parts = append(parts, "set "+it.Name+" ("+strings.ToLower(it.IfExists)+") = "+strings.Join(it.Values, ", "))
		}
	}
	if filter != nil {
		names := make([]string, len(filter.Items))
		for i, it := range filter.Items {
			names[i] = it.Name
		}
		parts = append(parts, strings.ToLower(filter.Type)+" "+strings.Join(names, ", "))
	}
	return strings.Join(parts, "; ")
}

// corsOf is the cors policy in force on r: its own, else the deployment's.
func corsOf(r *config.Route, spec *config.Spec) *config.CorsPolicy {
	if rq := r.RequestPolicies; rq != nil && rq.Cors != nil {
		return rq.Cors
	}
	if rp := spec.RequestPolicies; rp != nil {
		return rp.Cors
	}
	return nil
}

// corsSummary says in one line what a cors policy allows.
func corsSummary(cp *config.CorsPolicy) string {
	s := "origins " + strings.Join(cp.AllowedOrigins, ", ")
	if len(cp.AllowedMethods) > 0 {
		s += "; methods " + strings.Join(cp.AllowedMethods, ", ")
	}
	if len(cp.AllowedHeaders) > 0 {
		s += "; headers " + strings.Join(cp.AllowedHeaders, ", ")
	}
	if len(cp.ExposedHeaders) > 0 {
		s += "; exposes " + strings.Join(cp.ExposedHeaders, ", ")
	}
	if cp.IsAllowCredentialsEnabled {
		s += "; with credentials"
	}
	if cp.MaxAgeInSeconds > 0 {
		s += "; preflight cached " + strconv.Itoa(cp.MaxAgeInSeconds) + "s"
	}
	return s
}

// routePolicies lists the policies that apply to rt, each compiled once.
func (c *compiler) routePolicies(rt *route, dep *deployment) []routePolicy {
	g := c.g
	var policies []routePolicy
	if m := dep.mtls; m != nil {
		policies = append(policies, routePolicy{phaseMutualTLS, func(next http.Handler) http.Handler {
			return g.withMutualTLS(m, next)
		}})
	}
	if p := rt.cors; p != nil {
		policies = append(policies,
			routePolicy{phaseCORSHeaders, func(next http.Handler) http.Handler { return g.withCORSHeaders(p, next) }},
			routePolicy{phaseCORS, func(next http.Handler) http.Handler { return g.withCORS(p, next) }})
	}
	if rl := dep.rateLimit; rl != nil {
		policies = append(policies, routePolicy{phaseRateLimit, func(next http.Handler) http.Handler {
			return g.withRateLimit(rl, next)
		}})
	}
	if a := dep.auth; a != nil {
		policies = append(policies, routePolicy{phaseAuthenticate, func(next http.Handler) http.Handler {
			return g.withAuthentication(a, rt, next)
		}})
		if rt.policy.Kind != authz.Anonymous {
			policies = append(policies, routePolicy{phaseAuthorize, func(next http.Handler) http.Handler {
				return g.withAuthorization(a, rt, next)
			}})
		}
	}
	if u := dep.usage; u != nil {
		policies = append(policies, routePolicy{phaseUsagePlan, func(next http.Handler) http.Handler {
			return g.withUsagePlans(u, next)
		}})
	}
	if v := rt.validation; v != nil {
		policies = append(policies, routePolicy{phaseValidate, func(next http.Handler) http.Handler {
			return g.withValidation(v, rt, next)
		}})
	}
	policies = append(policies, routePolicy{phaseSanitize, g.withSanitize})
	if rt.requestHeaders != nil || rt.requestQuery != nil {
		headers, query := rt.requestHeaders, rt.requestQuery
		policies = append(policies, routePolicy{phaseTransform, func(next http.Handler) http.Handler {
			return g.withRequestTransforms(headers, query, next)
		}})
	}
	if t := rt.responseHeaders; t != nil {
		policies = append(policies, routePolicy{phaseResponseTransform, func(next http.Handler) http.Handler {
			return g.withResponseTransforms(t, next)
		}})
	}
	if p := rt.cache; p != nil && p.cache != nil {
		policies = append(policies,
			routePolicy{phaseCacheCredential, func(next http.Handler) http.Handler { return g.withCacheCredential(p, next) }},
			routePolicy{phaseCacheLookup, func(next http.Handler) http.Handler { return g.withCacheLookup(p, next) }})
	}
	return policies
}

func (c *compiler) httpBackend(b *config.Backend, routePath string, dep *deployment, src config.Source, at string, rm *routeMetrics) http.Handler {
	raw := b.URL
	// The path part may hold context variables; split it off before parsing
	// the rest as a URL.
	schemeEnd := strings.Index(raw, "://")
	pathStart := -1
	if schemeEnd >= 0 {
		if i := strings.IndexAny(raw[schemeEnd+3:], "/?"); i >= 0 {
			pathStart = schemeEnd + 3 + i
		}
	}
	base, rest := raw, ""
	if pathStart >= 0 {
		base, rest = raw[:pathStart], raw[pathStart:]
	}
	pathPart, query, _ := strings.Cut(rest, "?")
	var host *hostTemplate
	if schemeEnd >= 0 && strings.Contains(base[schemeEnd+3:], "${") {
		// Context variables in the host: the target's host is computed per
		// request (hostTemplate), its port stays as written.
		hostPart, port := config.SplitAuthority(base[schemeEnd+3:])
		h, err := compileHostTemplate(hostPart, port, declaredParams(routePath), dep.auth != nil)
		if err != nil {
			c.problem(src, at+".url", err.Error())
			return nil
		}
		host, base = h, base[:schemeEnd+3]+"host.invalid"
	}
	target, err := url.Parse(base)
	if err != nil || target.Host == "" {
		c.problem(src, at+".url", "cannot be parsed as an absolute http or https URL")
		return nil
	}
	target.RawQuery = query
	tmpl, err := compileTemplate(pathPart, declaredParams(routePath), dep.auth != nil)
	if err != nil {
		c.problem(src, at+".url", err.Error())
		return nil
	}
	key := transportKey{connect: b.ConnectTimeout(), read: b.ReadTimeout(), send: b.SendTimeout(), insecure: b.IsSslVerifyDisabled}
	t, ok := c.transports[key]
	if !ok {
		t = newSyncTransport(key, newTransport(key))
		t.inlineOff = c.noInline
		c.transports[key] = t
	}
	queryParam := ""
	if dep.auth != nil {
		queryParam = dep.auth.credentialQueryParam()
	}
	hb := c.g.newHTTPBackend(target, tmpl, queryParam, t)
	hb.host = host
	hb.keepAlive = c.cfg == nil || host != nil || c.cfg.KeepAlive(target.Scheme, target.Host)
	if target.Scheme == "https" && host == nil {
		addr := target.Host
		if target.Port() == "" {
			addr = net.JoinHostPort(target.Hostname(), "443")
		}
		hb.http2 = func() bool { return t.fallback.speaksHTTP2(addr) }
	}
	if rm != nil {
		hb.duration = rm.backendDuration
	}
	return hb
}

// declaredParams lists the {name} and {name*} parameters of a route path.
func declaredParams(routePath string) routeParams {
	params := routeParams{}
	for _, seg := range strings.Split(routePath, "/") {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			name := seg[1 : len(seg)-1]
			wildcard := strings.HasSuffix(name, "*")
			params[strings.TrimSuffix(name, "*")] = wildcard
		}
	}
	return params
}

// tokenAuthenticator compiles the deployment's JWT_AUTHENTICATION or
// TOKEN_AUTHENTICATION policy.
func (c *compiler) tokenAuthenticator(a *config.Authentication, prefix string, src config.Source) *tokenAuthenticator {
	return c.tokenAuthenticatorAt(a, prefix, src, "requestPolicies.authentication")
}

// authenticationAt compiles the authentication policy at JSON path at, of
// any type keygate runs; nil for a type validation refused (CheckSpec). A
// new authentication type (an authorizer function) adds its case here and
// works as a deployment's policy and as a dynamic authentication server.
func (c *compiler) authenticationAt(a *config.Authentication, prefix string, src config.Source, at string) authentication {
	switch a.Type {
	case config.AuthenticationJWT, config.AuthenticationToken:
		return c.tokenAuthenticatorAt(a, prefix, src, at)
	case config.AuthenticationCustom:
		return c.customAuthenticator(a, prefix, src, at)
	}
	return nil
}

// tokenAuthenticatorAt compiles the authentication policy at JSON path at.
func (c *compiler) tokenAuthenticatorAt(a *config.Authentication, prefix string, src config.Source, at string) *tokenAuthenticator {
	v := a.Verification()
	ts := a.TokenSource()
	auth := &tokenAuthenticator{
		header:             http.CanonicalHeaderKey(ts.Header), // read without canonicalizing per request
		scheme:             ts.Scheme,
		readsAuthorization: ts.QueryParam == "" && http.CanonicalHeaderKey(ts.Header) == "Authorization",
		queryParam:         ts.QueryParam,
		realm:              prefix,
		failCode:           codeJWTAuthFailed,
		loadingCode:        codeJWTKeysLoading,
	}
	keysAt := at + ".publicKeys"
	if a.Type == config.AuthenticationToken {
		auth.failCode, auth.loadingCode = codeTokenAuthFailed, codeTokenKeysLoading
		keysAt = at + ".validationPolicy"
		if fp := a.ValidationFailurePolicy; fp != nil && fp.Type == config.FailureModifyResponse {
			auth.failure = compileFailure(fp, c.g.log, src.Problem(at+".validationFailurePolicy", "").Path)
		}
	}
	rules := make([]token.ClaimRule, len(v.Claims))
	for i, cr := range v.Claims {
		rules[i] = token.ClaimRule{Name: cr.Key, Values: cr.Values, Required: cr.IsRequired}
	}
	policy := token.Policy{Issuers: v.Issuers, Audiences: v.Audiences, MaxClockSkew: v.MaxClockSkew, VerifyClaims: rules}
	auth.summary = AuthSummary{Type: a.Type, Issuers: v.Issuers, Audiences: v.Audiences,
		Anonymous: a.IsAnonymousAccessAllowed, TokenFrom: tokenFrom(ts), MaxClockSkew: v.MaxClockSkew}
	if a.Type == config.AuthenticationToken && a.ValidationPolicy != nil && v.Keys.Type == config.KeySetRemoteDiscovery {
		c.discovery(auth, a, policy, src, at)
	} else {
		set, summaries := c.keySet(v.Keys, src, keysAt, auth.loadingCode)
		if set == nil {
			return auth
		}
		auth.verifier = token.NewVerifier(set, policy, c.g.now)
		auth.verifier.UseCache(c.tokenCache)
		auth.summary.Keys = summaries
	}
	for _, r := range rules {
		var line string
		switch {
		case len(r.Values) > 0 && r.Required:
			line = r.Name + " in [" + strings.Join(r.Values, ", ") + "], required"
		case len(r.Values) > 0:
			line = r.Name + " in [" + strings.Join(r.Values, ", ") + "] when present"
		case r.Required:
			line = r.Name + " required, any value"
		default:
			line = r.Name + ": no check (no values, not required)"
		}
		auth.summary.VerifyClaims = append(auth.summary.VerifyClaims, line)
	}
	if v.Keys.Type == config.KeySetRemoteJWKS {
		auth.summary.JWKS = v.Keys.URI
	}
	return auth
}

// keySet returns the resolver of a publicKeys/validationPolicy: a static
// set parsed now, or the remote set of the registry. nil on problems.
// logCode is the OCI log code of the set's fetch outcomes.
func (c *compiler) keySet(ks *config.KeySet, src config.Source, at, logCode string) (keys.Resolver, []KeySummary) {
	if ks == nil {
		return nil, nil // an invalid spec in CheckSpec: validation named it
	}
	if ks.Type == config.KeySetRemoteJWKS {
		refresh := ks.CacheDuration()
		set := c.keySets.remote(remoteSource{url: ks.URI, insecure: ks.IsSslVerifyDisabled}, refresh, logCode)
		if old, ok := c.g.remoteRefresh[set]; !ok || refresh < old {
			c.g.remoteRefresh[set] = refresh
		}
		return set, nil
	}
	set, err := staticKeySet(ks, src, at)
	if err != nil {
		var problems config.Problems
		if errors.As(err, &problems) {
			c.problems = append(c.problems, problems...)
		}
		return nil, nil
	}
	formats := make(map[string]string, len(ks.Keys))
	for _, k := range ks.Keys {
		formats[k.Kid] = k.Format
	}
	return set, keySummaries(set.Keys(), func(kid string) string { return config.KeySetStatic + " " + formats[kid] })
}

// logPolicyOf compiles an executionLog logLevel (INFO, WARN, ERROR).
func logPolicyOf(level string) logPolicy {
	lp := logPolicy{enabled: true, level: slog.LevelInfo}
	switch level {
	case config.LogLevelWarn:
		lp.level = slog.LevelWarn
	case config.LogLevelError:
		lp.level = slog.LevelError
	}
	return lp
}

// tokenFrom says in words where a request carries its token.
func tokenFrom(ts config.TokenSource) string {
	switch {
	case ts.QueryParam != "":
		return "query parameter " + ts.QueryParam
	case ts.Scheme != "":
		return "header " + ts.Header + " (" + ts.Scheme + ")"
	}
	return "header " + ts.Header
}
