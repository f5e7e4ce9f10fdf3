package config

import "strings"

// OCI's dynamic authentication limits.
const (
	maxAuthServers    = 100
	maxSelectorValues = 100
)

// dynamicAuthentication checks §7 of the policies reference.
func (c *checker) dynamicAuthentication(p string, d *DynamicAuthentication) {
	var selector ContextVariable
	if s := d.SelectionSource; s == nil {
		c.addf(at(p, "selectionSource"), "missing; add {type: SINGLE, selector: request.headers[NAME]} (or request.auth, request.query, request.path, request.host, request.subdomain)")
	} else {
		sp := at(p, "selectionSource")
		if s.Type != "SINGLE" {
			c.addf(at(sp, "type"), "%q is not a selection source type; use SINGLE", s.Type)
		}
		v, err := s.Variable()
		switch {
		case s.Selector == "":
			c.addf(at(sp, "selector"), "missing; give one context variable, e.g. request.headers[X-Tenant]")
		case err != nil:
			c.addf(at(sp, "selector"), "%v", err)
		case v.Table == VarCert || v.Table == VarBody:
			c.addf(at(sp, "selector"), "%s cannot select a server; use request.auth, request.headers, request.query, request.path, request.host or request.subdomain", v)
		default:
			selector = v
		}
	}
	servers := d.AuthenticationServers
	sp := at(p, "authenticationServers")
	switch {
	case len(servers) == 0:
		c.addf(sp, "missing; list at least one server with a key and an authenticationServerDetail")
	case len(servers) > maxAuthServers:
		c.addf(sp, "%d servers; OCI allows at most %d; remove some", len(servers), maxAuthServers)
	}
	names := map[string]int{}
	values := map[string]string{}
	defaults := -1
	for i := range servers {
		s, p := &servers[i], idx(sp, i)
		if s.Key == nil {
			c.addf(at(p, "key"), "missing; add {type: ANY_OF, name, values} or {type: WILDCARD, name, expression}")
		} else {
			c.selectionKey(at(p, "key"), s.Key, "authenticationServers", i, names, values)
			if s.Key.IsDefault {
				if defaults >= 0 {
					c.addf(at(at(p, "key"), "isDefault"), "authenticationServers[%d] is the default already; keep one default", defaults)
				} else {
					defaults = i
				}
			}
		}
		if s.AuthenticationServerDetail == nil {
			c.addf(at(p, "authenticationServerDetail"), "missing; add an authentication policy (JWT_AUTHENTICATION or TOKEN_AUTHENTICATION)")
			continue
		}
		c.authentication(at(p, "authenticationServerDetail"), s.AuthenticationServerDetail)
	}
	if selector.Table == VarAuth {
		c.sameTokenLocation(sp, servers)
	}
}

// sameTokenLocation: with a request.auth selector every server reads the
// same token (same header and scheme, or same query parameter).
func (c *checker) sameTokenLocation(p string, servers []AuthenticationServer) {
	first := -1
	var loc TokenSource
	for i, s := range servers {
		a := s.AuthenticationServerDetail
		if a == nil {
			continue
		}
		ts := a.TokenSource()
		ts.Header, ts.Scheme = strings.ToLower(ts.Header), strings.ToLower(ts.Scheme)
		if first < 0 {
			first, loc = i, ts
			continue
		}
		if ts != loc {
			c.addf(idx(p, i), "reads its token elsewhere than authenticationServers[%d]; with a request.auth selector every server takes the token from the same header and scheme or query parameter", first)
		}
	}
}
