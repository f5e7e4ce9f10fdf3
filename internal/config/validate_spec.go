package config

import (
	"encoding/json"
	"strings"
)

// OCI's limits, kept by keygate.
const (
	maxRoutes = 50
)

// spec validates s, whose JSON path is p ("" for a spec file); its
// warnings go to s.Warnings.
func (c *checker) spec(p string, s *Spec) {
	s.Warnings = nil
	c.warns = &s.Warnings
	defer func() { c.warns = nil }()
	var auth *Authentication
	if rp := s.RequestPolicies; rp != nil {
		rpp := at(p, "requestPolicies")
		if rp.Authentication != nil {
			auth = rp.Authentication
			c.authentication(at(rpp, "authentication"), auth)
		}
		if rp.Cors != nil {
			c.cors(at(rpp, "cors"), rp.Cors)
		}
		if rl := rp.RateLimiting; rl != nil {
			c.rateLimiting(at(rpp, "rateLimiting"), rl)
		}
		if rp.MutualTls != nil {
			c.mutualTLS(at(rpp, "mutualTls"), rp.MutualTls)
		}
		if da := rp.DynamicAuthentication; da != nil {
			if rp.Authentication != nil {
				c.addf(at(rpp, "dynamicAuthentication"), "set together with authentication; keep one (dynamicAuthentication replaces authentication)")
			}
			c.dynamicAuthentication(at(rpp, "dynamicAuthentication"), da)
			if auth == nil {
				auth = da.routeAuthentication()
			}
		}
		if rp.UsagePlans != nil {
			c.usagePlansPolicy(at(rpp, "usagePlans"), rp.UsagePlans, s.Routes, auth != nil)
		}
	}
	if s.LoggingPolicies != nil {
		c.logging(at(p, "loggingPolicies"), s.LoggingPolicies)
	}
	rp := at(p, "routes")
	switch {
	case len(s.Routes) == 0:
		c.addf(rp, "no routes; add at least one route with a path and a backend")
	case len(s.Routes) > maxRoutes:
		c.addf(rp, "%d routes; OCI allows at most %d per deployment; split the deployment", len(s.Routes), maxRoutes)
	}
	for i := range s.Routes {
		c.route(idx(rp, i), &s.Routes[i], auth)
	}
	c.oauth2Routes(p, s)
}

// route validates one route; auth is the deployment's authentication or nil.
func (c *checker) route(p string, r *Route, auth *Authentication) {
	switch {
	case r.Path == "":
		c.addf(at(p, "path"), "missing; give a path starting with '/'")
	case !strings.HasPrefix(r.Path, "/"):
		c.addf(at(p, "path"), "%q does not start with '/'; write it as %q", r.Path, "/"+r.Path)
	}
	c.methods(at(p, "methods"), r.Methods)
	c.backend(at(p, "backend"), &r.Backend)
	rules := templateRules{tables: transformTables, params: RouteParams(r.Path), hasAuth: auth != nil}
	if rq := r.RequestPolicies; rq != nil {
		rqp := at(p, "requestPolicies")
		c.authorization(at(rqp, "authorization"), rq.Authorization, auth)
		if rq.Cors != nil {
			c.cors(at(rqp, "cors"), rq.Cors)
		}
		if rq.QueryParameterValidations != nil {
			c.queryParameterValidations(at(rqp, "queryParameterValidations"), rq.QueryParameterValidations)
		}
		if rq.HeaderValidations != nil {
			c.headerValidations(at(rqp, "headerValidations"), rq.HeaderValidations)
		}
		if rq.BodyValidation != nil {
			c.bodyValidation(at(rqp, "bodyValidation"), rq.BodyValidation)
		}
		if rq.HeaderTransformations != nil {
			c.headerTransformations(at(rqp, "headerTransformations"), rq.HeaderTransformations,
				transformPlace{limits: requestHeaderLimits, rules: rules})
		}
		if rq.QueryParameterTransformations != nil {
			c.queryTransformations(at(rqp, "queryParameterTransformations"), rq.QueryParameterTransformations,
				transformPlace{limits: queryLimits, rules: rules})
		}
		if rq.ResponseCacheLookup != nil {
			c.cacheLookup(at(rqp, "responseCacheLookup"), rq.ResponseCacheLookup, auth)
		}
	}
	if rs := r.ResponsePolicies; rs != nil {
		if rs.HeaderTransformations != nil {
			c.headerTransformations(at(at(p, "responsePolicies"), "headerTransformations"), rs.HeaderTransformations,
				transformPlace{response: true, limits: responseHeaderLimits, rules: rules})
		}
		if rs.ResponseCacheStore != nil {
			c.cacheStore(at(at(p, "responsePolicies"), "responseCacheStore"), rs.ResponseCacheStore)
		}
	}
	c.cachePair(p, r, auth)
	if r.LoggingPolicies != nil {
		c.logging(at(p, "loggingPolicies"), r.LoggingPolicies)
	}
}

// methods checks a route's methods; nil means ANY.
func (c *checker) methods(p string, methods []string) {
	if methods != nil && len(methods) == 0 {
		c.addf(p, "empty; list the methods or leave the field out for ANY")
	}
	for i, m := range methods {
		if !isMethod(m) {
			c.addf(idx(p, i), "%q is not a method; use ANY, HEAD, GET, POST, PUT, PATCH, DELETE or OPTIONS", m)
		}
	}
}

func isMethod(m string) bool {
	switch strings.ToUpper(m) {
	case "ANY", "HEAD", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return true
	}
	return false
}

// logging checks logging policies.
func (c *checker) logging(p string, lp *LoggingPolicies) {
	if lp.ExecutionLog == nil || lp.ExecutionLog.LogLevel == "" {
		return
	}
	switch strings.ToUpper(lp.ExecutionLog.LogLevel) {
	case LogLevelInfo, LogLevelWarn, LogLevelError:
	default:
		c.addf(at(p, "executionLog.logLevel"), "%q is not a log level; use INFO, WARN or ERROR", lp.ExecutionLog.LogLevel)
	}
}

// rawField is a policy keygate knows by name only, with its JSON name.
type rawField struct {
	name string
	raw  json.RawMessage
}

// unsupported reports each present policy keygate does not implement yet,
// in OCI's field order.
func (c *checker) unsupported(p string, fields []rawField) {
	for _, f := range fields {
		if isSet(f.raw) {
			c.addf(at(p, f.name), "not supported yet by keygate; remove it")
		}
	}
}

// isSet reports whether a raw member was given; null counts as absent.
func isSet(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// rateLimiting validates a deployment's rateLimiting.
func (c *checker) rateLimiting(p string, rl *RateLimitingPolicy) {
	if rl.RateInRequestsPerSecond < 1 {
		c.addf(at(p, "rateInRequestsPerSecond"), "%d; give the requests per second allowed, at least 1", rl.RateInRequestsPerSecond)
	}
	switch strings.ToUpper(rl.RateKey) {
	case RateKeyTotal, RateKeyClientIP:
	case "":
		c.addf(at(p, "rateKey"), "missing; use CLIENT_IP (each client address) or TOTAL (all clients together)")
	default:
		c.addf(at(p, "rateKey"), "%q is not CLIENT_IP or TOTAL", rl.RateKey)
	}
}
