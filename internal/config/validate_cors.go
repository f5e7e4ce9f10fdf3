package config

import (
	"net/url"
	"strconv"
	"strings"
)

// OCI's CORS limits.
const (
	maxCorsMethods = 50
	maxCorsHeaders = 50 // allowed and exposed headers together
	maxCorsMaxAge  = 86400 * 365
)

// cors validates a deployment's or route's cors policy at p.
func (c *checker) cors(p string, cp *CorsPolicy) {
	op := at(p, "allowedOrigins")
	if len(cp.AllowedOrigins) == 0 {
		c.addf(op, "missing; list the origins whose pages may call this API, e.g. https://app.example.com, or \"*\"")
	}
	for i, o := range cp.AllowedOrigins {
		if !validOrigin(o) {
			c.addf(idx(op, i), "%q is not an origin; write scheme://host[:port] (no path), \"*\" for any or \"null\" for file: pages", o)
		}
	}
	mp := at(p, "allowedMethods")
	if len(cp.AllowedMethods) > maxCorsMethods {
		c.addf(mp, "%d methods; OCI allows at most %d", len(cp.AllowedMethods), maxCorsMethods)
	}
	for i, m := range cp.AllowedMethods {
		if m != "*" && !isToken(m) {
			c.addf(idx(mp, i), "%q is not a method; write a method such as GET or PUT, or \"*\"", m)
		}
	}
	if n := len(cp.AllowedHeaders) + len(cp.ExposedHeaders); n > maxCorsHeaders {
		c.addf(p, "%d allowed and exposed headers; OCI allows at most %d together", n, maxCorsHeaders)
	}
	for _, list := range []struct {
		name    string
		headers []string
	}{{"allowedHeaders", cp.AllowedHeaders}, {"exposedHeaders", cp.ExposedHeaders}} {
		for i, h := range list.headers {
			if h != "*" && !isToken(h) {
				c.addf(idx(at(p, list.name), i), "%q is not a header name; write a name such as X-Request-Id, or \"*\"", h)
			}
		}
	}
	if cp.MaxAgeInSeconds < 0 || cp.MaxAgeInSeconds > maxCorsMaxAge {
		c.addf(at(p, "maxAgeInSeconds"), "%d is not from 0 to %d; give the seconds a browser may cache a preflight's answer", cp.MaxAgeInSeconds, maxCorsMaxAge)
	}
}

// validOrigin accepts "*", "null" and a serialized origin: http or https,
// a host, an optional port, nothing else. An inner "*" (https://*.x.com) is
// not a documented pattern but loads: it is matched literally.
func validOrigin(o string) bool {
	if o == "*" || o == "null" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	if u.Path != "" && u.Path != "/" {
		return false
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme == "http" || scheme == "https"
}
