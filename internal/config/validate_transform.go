package config

import (
	"strings"
)

// transformLimits are OCI's limits on one transformation policy.
type transformLimits struct{ set, values, rename, filter int }

// transformPlace says where a transformation policy sits and what it may
// do there.
type transformPlace struct {
	// query: the policy transforms query parameters (case-sensitive names),
	// else headers (case-insensitive).
	query bool
	// response: the policy transforms a response's headers.
	response bool
	limits   transformLimits
	rules    templateRules
}

// OCI's limits per place (oci-policies.md §3).
var (
	requestHeaderLimits  = transformLimits{set: 20, values: 10, rename: 20, filter: 50}
	responseHeaderLimits = transformLimits{set: 20, values: 10, rename: 20, filter: 20}
	queryLimits          = transformLimits{set: 20, values: 10, rename: 20, filter: 50}
)

// protectedHeaders are never transformed (OCI's list, lower case): true
// for request and response, else the side they are protected on. OCI
// prints "except" where "expect" is surely meant: both are protected.
var protectedHeaders = map[string]string{
	"cdn-loop": "request", "cookie": "request", "origin": "request", "proxy-authorization": "request",
	"x-forwarded-for": "request", "x-real-ip": "request",
	"access-control-allow-credentials": "response", "access-control-allow-headers": "response",
	"access-control-allow-methods": "response", "access-control-allow-origin": "response",
	"access-control-expose-headers": "response", "access-control-max-age": "response",
	"proxy-authenticate": "response", "public-key-pins": "response", "retry-after": "response",
	"strict-transport-security": "response", "trailers": "response", "x-content-type-options": "response",
	"x-frame-options": "response",
	"connection":      "both", "content-length": "both", "except": "both", "expect": "both", "keep-alive": "both",
	"opc-request-id": "both", "te": "both", "transfer-encoding": "both", "upgrade": "both",
}

// ProtectedHeader reports whether a header transformation may not touch
// name, on a response (response true) or a request.
func ProtectedHeader(name string, response bool) bool {
	switch protectedHeaders[strings.ToLower(name)] {
	case "both":
		return true
	case "response":
		return response
	case "request":
		return !response
	}
	return false
}

// headerTransformations validates a headerTransformations policy.
func (c *checker) headerTransformations(p string, ht *HeaderTransformations, place transformPlace) {
	c.transformations(p, place,
		transformParts{"setHeaders", ht.SetHeaders, "renameHeaders", ht.RenameHeaders, "filterHeaders", ht.FilterHeaders})
}

// queryTransformations validates a queryParameterTransformations policy.
func (c *checker) queryTransformations(p string, qt *QueryParameterTransformations, place transformPlace) {
	place.query = true
	c.transformations(p, place, transformParts{"setQueryParameters", qt.SetQueryParameters,
		"renameQueryParameters", qt.RenameQueryParameters, "filterQueryParameters", qt.FilterQueryParameters})
}

// transformParts are a policy's three parts with their JSON names.
type transformParts struct {
	setName    string
	set        *SetItems
	renameName string
	rename     *RenameItems
	filterName string
	filter     *FilterItems
}

func (c *checker) transformations(p string, place transformPlace, tp transformParts) {
	what := "header"
	if place.query {
		what = "query parameter"
	}
	// A name may be in only one item of the policy, ALLOW lists aside.
	seen := map[string]string{}
	claim := func(path, name string) {
		key := name
		if !place.query {
			key = strings.ToLower(name)
		}
		if first, dup := seen[key]; dup {
			c.addf(path, "%s %q is also in %s; OCI allows a name in one item only: merge them", what, name, first)
			return
		}
		seen[key] = path
	}
	name := func(path, n string) bool {
		switch {
		case n == "":
			c.addf(path, "missing; give the %s's name", what)
			return false
		case !place.query && !isToken(n):
			c.addf(path, "%q is not a header name; use letters, digits and - (a token, RFC 9110)", n)
			return false
		case place.query && strings.ContainsAny(n, "&=#"):
			c.addf(path, "%q holds '&', '=' or '#', which a query parameter name cannot", n)
			return false
		}
		if !place.query && ProtectedHeader(n, place.response) {
			c.warnf(path, "%q is a protected header, which OCI never transforms: keygate skips this item", n)
		}
		return true
	}
	if s := tp.set; s != nil {
		sp := at(at(p, tp.setName), "items")
		c.itemCount(sp, len(s.Items), place.limits.set)
		for i, it := range s.Items {
			ip := idx(sp, i)
			if name(at(ip, "name"), it.Name) {
				claim(at(ip, "name"), it.Name)
			}
			vp := at(ip, "values")
			switch {
			case len(it.Values) == 0:
				c.addf(vp, "missing; give 1 to %d values (context variables allowed)", place.limits.values)
			case len(it.Values) > place.limits.values:
				c.addf(vp, "%d values; OCI allows at most %d", len(it.Values), place.limits.values)
			}
			for j, v := range it.Values {
				c.transformValue(idx(vp, j), v, place.rules)
			}
			switch strings.ToUpper(it.IfExists) {
			case "", IfExistsOverwrite, IfExistsAppend, IfExistsSkip:
			default:
				c.addf(at(ip, "ifExists"), "%q is not OVERWRITE, APPEND or SKIP", it.IfExists)
			}
		}
	}
	if r := tp.rename; r != nil {
		rp := at(at(p, tp.renameName), "items")
		c.itemCount(rp, len(r.Items), place.limits.rename)
		for i, it := range r.Items {
			ip := idx(rp, i)
			if name(at(ip, "from"), it.From) {
				claim(at(ip, "from"), it.From)
			}
			if name(at(ip, "to"), it.To) {
				claim(at(ip, "to"), it.To)
			}
		}
	}
	if f := tp.filter; f != nil {
		fp := at(p, tp.filterName)
		typ := strings.ToUpper(f.Type)
		switch typ {
		case FilterAllow, FilterBlock:
		case "":
			c.addf(at(fp, "type"), "missing; use ALLOW (keep only the items) or BLOCK (remove the items)")
		default:
			c.addf(at(fp, "type"), "%q is not ALLOW or BLOCK", f.Type)
		}
		ip := at(fp, "items")
		c.itemCount(ip, len(f.Items), place.limits.filter)
		for i, it := range f.Items {
			np := at(idx(ip, i), "name")
			if typ == FilterAllow {
				if it.Name == "" {
					c.addf(np, "missing; give the %s's name", what)
				}
				continue // an ALLOW list names what other items set too
			}
			if name(np, it.Name) {
				claim(np, it.Name)
			}
		}
	}
}

// itemCount checks a list of items: at least one, at most limit.
func (c *checker) itemCount(p string, n, limit int) {
	switch {
	case n == 0:
		c.addf(p, "empty; give at least one item or leave the part out")
	case n > limit:
		c.addf(p, "%d items; OCI allows at most %d", n, limit)
	}
}

// transformValue checks one value of a set item.
func (c *checker) transformValue(p, v string, rules templateRules) {
	t := c.template(p, v, rules)
	for _, part := range t {
		if part.Var == nil && strings.ContainsAny(part.Literal, "\r\n\x00") {
			c.addf(p, "holds a line break or NUL, which no header or parameter value may; remove it")
			return
		}
	}
}
