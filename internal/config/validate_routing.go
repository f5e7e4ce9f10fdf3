package config

import (
	"strings"
)

// OCI's dynamic routing limits (apigatewaylimits.htm).
const (
	maxRoutingBackends = 100
	maxKeyValues       = 100
)

// selectorTables are the context variables a selector may read.
var selectorTables = map[VarTable]bool{VarAuth: true, VarHeaders: true, VarHost: true, VarPath: true, VarQuery: true, VarSubdomain: true}

// noRouting reports dynamic routing fields on a backend of another type.
func (c *checker) noRouting(p string, b *Backend) {
	const other = "only for DYNAMIC_ROUTING_BACKEND; remove it"
	if b.SelectionSource != nil {
		c.addf(at(p, "selectionSource"), other)
	}
	if b.RoutingBackends != nil {
		c.addf(at(p, "routingBackends"), other)
	}
}

// dynamicBackend validates a DYNAMIC_ROUTING_BACKEND (oci-policies.md §9,
// key rules of §7).
func (c *checker) dynamicBackend(p string, b *Backend) {
	var selector *ContextVariable
	switch s := b.SelectionSource; {
	case s == nil:
		c.addf(at(p, "selectionSource"), `missing; give {"type": "SINGLE", "selector": "request.headers[Name]"}`)
	default:
		if !strings.EqualFold(s.Type, SelectionSingle) {
			c.addf(at(at(p, "selectionSource"), "type"), "%q is not SINGLE; use SINGLE", s.Type)
		}
		selector = c.selector(at(at(p, "selectionSource"), "selector"), s.Selector)
	}
	switch n := len(b.RoutingBackends); {
	case n == 0:
		c.addf(at(p, "routingBackends"), "missing; give at least one {key, backend}")
	case n > maxRoutingBackends:
		c.addf(at(p, "routingBackends"), "%d routing backends; OCI allows at most %d; remove some", n, maxRoutingBackends)
	}
	names := map[string]int{}
	values := map[string]string{}
	defaultAt := -1
	for i := range b.RoutingBackends {
		rb := &b.RoutingBackends[i]
		rp := idx(at(p, "routingBackends"), i)
		c.selectionKey(at(rp, "key"), &rb.Key, "routingBackends", i, names, values)
		if rb.Key.IsDefault {
			if defaultAt >= 0 {
				c.addf(at(at(rp, "key"), "isDefault"), "routingBackends[%d] is already the default; keep one isDefault", defaultAt)
			} else {
				defaultAt = i
			}
		}
		bp := at(rp, "backend")
		switch rb.Backend.Type {
		case BackendDynamic:
			c.addf(at(bp, "type"), "a routing backend cannot itself route dynamically; use HTTP_BACKEND, ORACLE_FUNCTIONS_BACKEND or STOCK_RESPONSE_BACKEND")
			continue
		case BackendHTTP:
			c.routedHostVariables(at(bp, "url"), rb.Backend.URL, selector)
		}
		c.backend(bp, &rb.Backend)
	}
	const other = "not a field of DYNAMIC_ROUTING_BACKEND; set it on the routing backends"
	for _, f := range []struct {
		name string
		set  bool
	}{{"url", b.URL != ""}, {"functionId", b.FunctionID != ""}, {"status", b.Status != nil}, {"body", b.Body != ""},
		{"headers", len(b.Headers) > 0}, {"connectTimeoutInSeconds", b.ConnectTimeoutInSeconds != nil},
		{"readTimeoutInSeconds", b.ReadTimeoutInSeconds != nil}, {"sendTimeoutInSeconds", b.SendTimeoutInSeconds != nil},
		{"isSslVerifyDisabled", b.IsSslVerifyDisabled}} {
		if f.set {
			c.addf(at(p, f.name), other)
		}
	}
}

// selector parses a selection source's context variable.
func (c *checker) selector(p, s string) *ContextVariable {
	if s == "" {
		c.addf(p, "missing; give a context variable without ${}, e.g. request.headers[Accept]")
		return nil
	}
	if strings.HasPrefix(s, "${") {
		c.addf(p, "%q: write the variable without ${ and }, e.g. request.headers[Accept]", s)
		return nil
	}
	v, ok := ParseBareVariable(s)
	if !ok || !selectorTables[v.Table] {
		c.addf(p, "%q is not a selector; use request.headers[Name], request.query[name], request.path[name], request.auth[claim], request.host or request.subdomain[suffix]", s)
		return nil
	}
	return &v
}

// selectionKey checks the key of entry i of a list of keyed entries
// (routingBackends, authenticationServers): its type's fields, unique
// names, and ANY_OF values unique (case-insensitively) across the list.
func (c *checker) selectionKey(p string, k *SelectionKey, list string, i int, names map[string]int, values map[string]string) {
	switch j, dup := names[k.Name]; {
	case k.Name == "":
		c.addf(at(p, "name"), "missing; name the key")
	case dup:
		c.addf(at(p, "name"), "%q is already the name of %s[%d]'s key; give each key its own name", k.Name, list, j)
	default:
		names[k.Name] = i
	}
	switch {
	case strings.EqualFold(k.Type, SelectionAnyOf):
		if len(k.Values) == 0 && !k.IsDefault {
			c.addf(at(p, "values"), "missing; give the selector values that choose this entry")
		}
		if len(k.Values) > maxKeyValues {
			c.addf(at(p, "values"), "%d values; OCI allows at most %d; remove some", len(k.Values), maxKeyValues)
		}
		for j, v := range k.Values {
			folded := strings.ToLower(v)
			if where, dup := values[folded]; dup {
				c.addf(idx(at(p, "values"), j), "%q is already a value of %s (values match case-insensitively); keep it in one key", v, where)
				continue
			}
			values[folded] = idx(list, i)
		}
		if k.Expression != "" {
			c.addf(at(p, "expression"), "only for WILDCARD keys; remove it or use values")
		}
	case strings.EqualFold(k.Type, SelectionWildcard):
		if msg := wildcardProblem(k.Expression); msg != "" {
			c.addf(at(p, "expression"), "%s", msg)
		}
		if len(k.Values) > 0 {
			c.addf(at(p, "values"), "only for ANY_OF keys; remove it or use expression")
		}
	case k.Type == "":
		c.addf(at(p, "type"), "missing; use ANY_OF or WILDCARD")
	default:
		c.addf(at(p, "type"), "%q is not ANY_OF or WILDCARD", k.Type)
	}
}

// wildcardProblem checks a WILDCARD expression: one '*' or '+', at the
// start or at the end.
func wildcardProblem(expr string) string {
	if expr == "" {
		return "missing; give a pattern such as mini* or *.example.com"
	}
	n := strings.Count(expr, "*") + strings.Count(expr, "+")
	first, last := expr[0], expr[len(expr)-1]
	switch {
	case n == 0:
		return "has no wildcard; put '*' (zero or more characters) or '+' (one or more) at its start or end, or use an ANY_OF key"
	case n > 1:
		return "has more than one wildcard; OCI allows one, at the start or the end"
	case first != '*' && first != '+' && last != '*' && last != '+':
		return "the wildcard is in the middle; OCI allows it only at the start or the end"
	}
	return ""
}

// routedHostVariables checks that a routing backend's url host uses no
// context variable but the selector's (OCI: "only" that variable).
func (c *checker) routedHostVariables(p, raw string, selector *ContextVariable) {
	host := hostPart(raw)
	if !strings.Contains(host, "${") {
		return
	}
	t, err := ParseTemplate(host)
	if err != nil {
		return // the url's own check words it
	}
	for _, v := range t.Variables() {
		switch {
		case selector == nil:
			c.addf(p, "%s in the host: a routing backend's host may use only the selector's variable", v)
			return
		case v != *selector:
			c.addf(p, "%s in the host: a routing backend's host may use only the selector's variable; use %s or write the host literally", v, selector)
			return
		}
	}
}
