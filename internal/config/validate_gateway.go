package config

import (
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// gateway validates g and loads its specification files relative to dir.
func (c *checker) gateway(g *Gateway, dir string) {
	c.listen("listen", g.Listen)
	if len(g.Deployments) == 0 {
		c.addf("deployments", "no deployments; add at least one with pathPrefix and specificationFile or specification")
	}
	seen := make(map[string]int, len(g.Deployments))
	for i := range g.Deployments {
		d := &g.Deployments[i]
		p := idx("deployments", i)
		c.pathPrefix(at(p, "pathPrefix"), d.PathPrefix)
		if j, dup := seen[d.PathPrefix]; dup && d.PathPrefix != "" {
			c.addf(at(p, "pathPrefix"), "%q is already the prefix of deployments[%d]; give each deployment its own prefix", d.PathPrefix, j)
		} else {
			seen[d.PathPrefix] = i
		}
		c.deploymentSpec(p, d, dir)
	}
	c.backendOrigins(g)
	c.usagePlansAndSubscribers(g, dir)
	c.functions(g, dir)
	c.functionRefs(g)
	if s := g.SharedState; s != nil && s.Redis != nil {
		c.redis("sharedState.redis", s.Redis, dir)
	}
	if g.ResponseCache != nil {
		c.responseCache("responseCache", g)
	}
	for i, cidr := range g.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			if _, err := netip.ParseAddr(cidr); err != nil {
				c.addf(idx("trustedProxies", i), "%q is not a CIDR or an address; write e.g. 10.0.0.0/8 or 192.0.2.7", cidr)
			}
		}
	}
}

// backendOrigins checks keygate's per-origin backend settings; an origin no
// deployment's HTTP_BACKEND uses is a typo that would silently change
// nothing, so it is a problem too.
func (c *checker) backendOrigins(g *Gateway) {
	used := map[string]bool{}
	for _, d := range g.Deployments {
		if d.Specification == nil {
			continue
		}
		for _, r := range d.Specification.Routes {
			if r.Backend.Type == BackendHTTP {
				used[originOf(r.Backend.URL)] = true
			}
		}
	}
	seen := map[string]int{}
	for i, b := range g.Backends {
		p := idx("backends", i)
		if b.KeepAlive == nil {
			c.addf(at(p, "keepAlive"), "missing; set keepAlive: false for a backend whose connections must not be reused, or remove the entry")
		}
		origin := originOf(b.Origin)
		if _, rest, _ := strings.Cut(b.Origin, "://"); strings.ContainsAny(strings.TrimSuffix(rest, "/"), "/?#") {
			origin = "" // a path or query: this is a url, not an origin
		}
		switch {
		case b.Origin == "":
			c.addf(at(p, "origin"), "missing; give the backend's scheme://host:port, e.g. http://legacy.internal:8080")
			continue
		case origin == "":
			c.addf(at(p, "origin"), "%q is not scheme://host[:port] with scheme http or https and nothing after the port; write it as in the backend url, e.g. http://legacy.internal:8080", b.Origin)
			continue
		}
		if j, dup := seen[origin]; dup {
			c.addf(at(p, "origin"), "%q is already backends[%d]; keep one entry per origin", b.Origin, j)
			continue
		}
		seen[origin] = i
		if len(g.Deployments) > 0 && !used[origin] {
			c.addf(at(p, "origin"), "%q is the origin of no HTTP_BACKEND url in the deployments; fix it to match a backend url or remove the entry", b.Origin)
		}
	}
}

// originOf is the canonical origin (lower-case scheme and host, explicit
// port) of an http(s) URL, or "" if raw has none or, being an origin entry,
// carries more than an origin. A backend url's path may hold context
// variables; only the part before it is read.
func originOf(raw string) string {
	rest, ok := strings.CutPrefix(strings.ToLower(raw), "http://")
	scheme := "http"
	if !ok {
		if rest, ok = strings.CutPrefix(strings.ToLower(raw), "https://"); !ok {
			return ""
		}
		scheme = "https"
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if host == "" || strings.ContainsAny(host, "@ ") {
		return ""
	}
	return canonicalOrigin(scheme, host)
}

// canonicalOrigin joins scheme and host with the scheme's default port when
// host has none.
func canonicalOrigin(scheme, host string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	if _, _, err := net.SplitHostPort(host); err != nil {
		port := "80"
		if scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	return scheme + "://" + host
}

// deploymentSpec validates d's inline spec or loads its spec file, and
// records where the spec came from.
func (c *checker) deploymentSpec(p string, d *Deployment, dir string) {
	switch {
	case d.SpecificationFile != "" && d.Specification != nil:
		c.addf(p, "both specificationFile and specification are set; keep one")
	case d.Specification != nil:
		d.Source = Source{File: c.file, Path: at(p, "specification")}
		d.functionRefs = d.Specification.FunctionRefs()
		if c.validSpec(d.Source.Path, d.Specification, len(c.probs)) {
			applySpecDefaults(d.Specification)
		}
	case d.SpecificationFile != "":
		file := d.SpecificationFile
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		d.Source = Source{File: file}
		data, err := readFile(file)
		if err != nil {
			c.addf(at(p, "specificationFile"), "%s", readMessage(d.SpecificationFile, err))
			return
		}
		sub := c.sub(file)
		d.Specification = sub.loadSpec(data)
		d.functionRefs = sub.specRefs
		c.probs = append(c.probs, sub.probs...)
	default:
		c.addf(p, "no specification; set specificationFile or specification")
	}
}

// listen checks a host:port address; "" means the default.
func (c *checker) listen(path, addr string) {
	if addr == "" {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.addf(path, "%q is not host:port; use e.g. %s", addr, DefaultListen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		c.addf(path, "port %q is not a number from 0 to 65535; use e.g. %s", port, DefaultListen)
	}
}

// pathPrefix checks a deployment prefix. The rules keep prefixes literal so
// that joining a prefix and a route path can never change the route's meaning.
func (c *checker) pathPrefix(path, prefix string) {
	switch {
	case prefix == "":
		c.addf(path, "missing; give a prefix such as /v1")
		return
	case !strings.HasPrefix(prefix, "/"):
		c.addf(path, "%q does not start with '/'; write it as %q", prefix, "/"+prefix)
		return
	case prefix != "/" && strings.HasSuffix(prefix, "/"):
		c.addf(path, "%q ends with '/'; remove the trailing '/'", prefix)
	}
	if strings.Contains(prefix, "//") {
		c.addf(path, "%q contains \"//\"; use single slashes", prefix)
	}
	if i := strings.IndexFunc(prefix, badPrefixRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(prefix[i:])
		c.addf(path, "%q contains %q, which a prefix may not hold; use letters, digits, '-', '_', '.' and '/'", prefix, r)
	}
}

func badPrefixRune(r rune) bool {
	return strings.ContainsRune("{}%?#;\\", r) || unicode.IsSpace(r) || unicode.IsControl(r)
}

// redis checks the shared Redis settings; a password file is made absolute
// against dir.
func (c *checker) redis(p string, r *RedisSettings, dir string) {
	u, err := url.Parse(r.URL)
	switch {
	case r.URL == "":
		c.addf(at(p, "url"), "missing; give redis://host:port/db (or rediss:// for TLS)")
	case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "":
		c.addf(at(p, "url"), "%q is not redis://host:port/db or rediss://host:port/db", r.URL)
	default:
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				c.addf(at(p, "url"), "database %q is not a number; write e.g. redis://cache:6379/0", db)
			}
		}
		if u.User != nil {
			if _, set := u.User.Password(); set {
				c.addf(at(p, "url"), "holds a password; put it in passwordFile or passwordEnv instead, so the config can be shown")
			}
		}
	}
	if r.PasswordFile != "" && r.PasswordEnv != "" {
		c.addf(p, "both passwordFile and passwordEnv are set; keep one")
	}
	if r.PasswordFile != "" && !filepath.IsAbs(r.PasswordFile) {
		r.PasswordFile = filepath.Join(dir, r.PasswordFile)
	}
	if r.TimeoutMillis < 0 || r.TimeoutMillis > 10000 {
		c.addf(at(p, "timeoutMillis"), "%d is not from 0 to 10000 milliseconds; 0 means the default, 100", r.TimeoutMillis)
	}
}
