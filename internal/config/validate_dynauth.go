package config

import (
	"fmt"
	"strings"
)

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
	values := map[string]int{}
	defaults := -1
	for i := range servers {
		s, p := &servers[i], idx(sp, i)
		if s.Key == nil {
			c.addf(at(p, "key"), "missing; add {type: ANY_OF, name, values} or {type: WILDCARD, name, expression}")
		} else {
			c.selectionKey(at(p, "key"), s.Key, i, names, values)
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

// selectionKey checks one key; names and values collect what earlier keys
// used (values lower-cased: ANY_OF compares case-insensitively).
func (c *checker) selectionKey(p string, k *SelectionKey, i int, names, values map[string]int) {
	if k.Name == "" {
		c.addf(at(p, "name"), "missing; give the key a name")
	} else if j, dup := names[k.Name]; dup {
		c.addf(at(p, "name"), "%q is also the name of authenticationServers[%d]'s key; names are unique", k.Name, j)
	} else {
		names[k.Name] = i
	}
	switch k.Type {
	case SelectionKeyAnyOf:
		if len(k.Values) == 0 && !k.IsDefault {
			c.addf(at(p, "values"), "missing; list the selector values that pick this server")
		}
		if len(k.Values) > maxSelectorValues {
			c.addf(at(p, "values"), "%d values; OCI allows at most %d; remove some", len(k.Values), maxSelectorValues)
		}
		for vi, v := range k.Values {
			lv := strings.ToLower(v)
			if j, dup := values[lv]; dup {
				c.addf(idx(at(p, "values"), vi), "%q is also a value of authenticationServers[%d]'s key (compared case-insensitively); values are unique", v, j)
			} else {
				values[lv] = i
			}
		}
		if k.Expression != "" {
			c.addf(at(p, "expression"), "only for WILDCARD; remove it or change type")
		}
	case SelectionKeyWildcard:
		if err := checkWildcard(k.Expression); err != nil {
			c.addf(at(p, "expression"), "%v", err)
		}
		if k.Values != nil {
			c.addf(at(p, "values"), "only for ANY_OF; remove it or change type")
		}
	case "":
		c.addf(at(p, "type"), "missing; use ANY_OF or WILDCARD")
	default:
		c.addf(at(p, "type"), "unknown type %q; use ANY_OF or WILDCARD", k.Type)
	}
}

// checkWildcard requires exactly one '*' or '+' at the start or the end.
func checkWildcard(e string) error {
	n := strings.Count(e, "*") + strings.Count(e, "+")
	switch {
	case e == "":
		return fmt.Errorf("missing; give a pattern with one * or + at its start or end, e.g. mini*")
	case n != 1:
		return fmt.Errorf("%q has %d wildcards; use exactly one * or + at the start or the end", e, n)
	case !strings.ContainsAny(e[:1], "*+") && !strings.ContainsAny(e[len(e)-1:], "*+"):
		return fmt.Errorf("%q has its wildcard inside; put the one * or + at the start or the end", e)
	}
	return nil
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
