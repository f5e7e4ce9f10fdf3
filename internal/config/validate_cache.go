package config

import (
	"net/netip"
	"strings"
)

// responseCache validates keygate's responseCache (OCI's gateway-level
// responseCacheDetails) at p; the secret it names must be in the secrets
// list, which is read before.
func (c *checker) responseCache(p string, g *Gateway) {
	rc := g.ResponseCache
	switch strings.ToUpper(rc.Type) {
	case ResponseCacheExternal:
	case ResponseCacheNone:
		if len(rc.Servers) > 0 {
			c.addf(at(p, "servers"), "type NONE uses no server; remove servers or set type EXTERNAL_RESP_CACHE")
		}
		return
	case "":
		c.addf(at(p, "type"), "missing; use EXTERNAL_RESP_CACHE (a Redis-compatible server) or NONE")
		return
	default:
		c.addf(at(p, "type"), "%q is not EXTERNAL_RESP_CACHE or NONE", rc.Type)
		return
	}
	sp := at(p, "servers")
	switch len(rc.Servers) {
	case 0:
		c.addf(sp, "missing; give the one server as [{host: cache.example.com, port: 6379}]")
	case 1:
	default:
		c.addf(sp, "%d servers; OCI's response cache is one server (no cluster): keep one", len(rc.Servers))
	}
	for i, s := range rc.Servers {
		c.cacheServer(idx(sp, i), s)
	}
	if id := rc.AuthenticationSecretId; id != "" {
		ip := at(p, "authenticationSecretId")
		before := len(c.probs)
		c.secretRef(ip, id)
		if len(c.probs) == before {
			if v, ok := g.Secret(id); ok && v.Reveal() != "" {
				if _, _, err := CacheCredentials(v.Reveal()); err != nil {
					c.addf(ip, "secret %q: %s; write the password alone, or {\"username\": \"default\", \"password\": \"...\"}", id, err)
				}
			}
		}
	}
	if n := rc.AuthenticationSecretVersionNumber; n != nil && *n < 1 {
		c.addf(at(p, "authenticationSecretVersionNumber"), "%d; give the secret's version, at least 1 (keygate reads the current value)", *n)
	}
	if rc.IsSslVerifyDisabled && !rc.IsSslEnabled {
		c.addf(at(p, "isSslVerifyDisabled"), "true without isSslEnabled: there is no certificate to verify; set isSslEnabled: true or remove it")
	}
	for _, t := range []struct {
		name string
		v    *int
	}{{"connectTimeoutInMs", rc.ConnectTimeoutInMs}, {"readTimeoutInMs", rc.ReadTimeoutInMs}, {"sendTimeoutInMs", rc.SendTimeoutInMs}} {
		if t.v != nil && (*t.v < 1 || *t.v > maxCacheTimeoutMs) {
			c.addf(at(p, t.name), "%d is not from 1 to %d milliseconds; leave it out for OCI's default, %d", *t.v, maxCacheTimeoutMs, DefaultCacheTimeoutMs)
		}
	}
	if n := rc.MaxEntryBytes; n < 0 || n > MaxCacheEntryBytes {
		c.addf(at(p, "maxEntryBytes"), "%d is not from 0 to %d (OCI's 50 MB); 0 means the default, %d", n, MaxCacheEntryBytes, DefaultCacheMaxEntryBytes)
	}
	if k := rc.KeyPrefix; len(k) > maxCacheKeyPrefix || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		c.addf(at(p, "keyPrefix"), "%q is not up to %d printable ASCII characters without spaces; e.g. %q", k, maxCacheKeyPrefix, DefaultCacheKeyPrefix)
	}
}

// cacheServer checks one {host, port}.
func (c *checker) cacheServer(p string, s CacheServer) {
	if s.Host == "" {
		c.addf(at(p, "host"), "missing; give the server's host name or IP address")
	} else if a, err := netip.ParseAddr(s.Host); err != nil || a.Zone() != "" {
		if why := hostProblem(s.Host, false); why != "" {
			c.addf(at(p, "host"), "%q is not a host name or IP address: %s", s.Host, why)
		}
	}
	if s.Port < 1 || s.Port > 65535 {
		c.addf(at(p, "port"), "%d is not a port from 1 to 65535; Redis listens on 6379 by default", s.Port)
	}
}

// cacheLookup validates a route's responseCacheLookup at p; auth is the
// deployment's authentication or nil.
func (c *checker) cacheLookup(p string, l *ResponseCacheLookup, auth *Authentication) {
	switch strings.ToUpper(l.Type) {
	case CacheLookupSimple:
	case "":
		c.addf(at(p, "type"), "missing; use SIMPLE_LOOKUP_POLICY")
	default:
		c.addf(at(p, "type"), "%q is not SIMPLE_LOOKUP_POLICY", l.Type)
	}
	ap := at(p, "cacheKeyAdditions")
	if len(l.CacheKeyAdditions) > maxCacheKeyAdditions {
		c.addf(ap, "%d entries; keep at most %d", len(l.CacheKeyAdditions), maxCacheKeyAdditions)
	}
	for i, s := range l.CacheKeyAdditions {
		v, ok := CacheKeyVariable(s)
		switch {
		case !ok:
			c.addf(idx(ap, i), "%q is not one context variable of request.query, request.headers, request.auth or request.host; write e.g. request.headers[Accept-Language] or ${request.auth[sub]}", s)
		case v.Table == VarAuth && auth == nil:
			c.addf(idx(ap, i), "%s: the deployment has no authentication policy, so there are no claims", v)
		case v.Table == VarHeaders && !isToken(v.Key):
			c.addf(idx(ap, i), "%q is not a header name", v.Key)
		}
	}
}

// cacheStore validates a route's responseCacheStore at p.
func (c *checker) cacheStore(p string, s *ResponseCacheStore) {
	switch strings.ToUpper(s.Type) {
	case CacheStoreFixedTTL:
	case "":
		c.addf(at(p, "type"), "missing; use FIXED_TTL_STORE_POLICY")
	default:
		c.addf(at(p, "type"), "%q is not FIXED_TTL_STORE_POLICY", s.Type)
	}
	if s.TimeToLiveInSeconds < 1 {
		c.addf(at(p, "timeToLiveInSeconds"), "%d; give the seconds a stored response is served, at least 1", s.TimeToLiveInSeconds)
	}
}

// cachePair warns about a route with only one of the two cache policies
// (OCI needs both, and one alone does nothing), and about one whose every
// request would bypass the cache.
func (c *checker) cachePair(p string, r *Route, auth *Authentication) {
	var lookup *ResponseCacheLookup
	var store *ResponseCacheStore
	if r.RequestPolicies != nil {
		lookup = r.RequestPolicies.ResponseCacheLookup
	}
	if r.ResponsePolicies != nil {
		store = r.ResponsePolicies.ResponseCacheStore
	}
	switch {
	case lookup != nil && store == nil && lookup.Enabled():
		c.warnf(at(p, "requestPolicies.responseCacheLookup"), "has no effect without responsePolicies.responseCacheStore; add one with timeToLiveInSeconds")
	case store != nil && lookup == nil:
		c.warnf(at(p, "responsePolicies.responseCacheStore"), "has no effect without requestPolicies.responseCacheLookup; add one of type SIMPLE_LOOKUP_POLICY")
	case lookup != nil && store != nil && lookup.Enabled() && !lookup.IsPrivateCachingEnabled &&
		auth != nil && r.Authorization().Type != AuthorizationAnonymous:
		c.warnf(at(p, "requestPolicies.responseCacheLookup.isPrivateCachingEnabled"),
			"false on a route that requires a token: every request carries a credential and bypasses the cache; set it to true to cache per credential")
	}
}
