package config

import (
	"slices"
	"strings"
)

// templateRules say what the templates of one place may read.
type templateRules struct {
	// tables are the tables allowed.
	tables []VarTable
	// params are the route path's parameters (name: wildcard); nil for
	// none.
	params map[string]bool
	// hasAuth: the deployment authenticates, so request.auth has values.
	hasAuth bool
}

// transformTables are what transformations and failure responses read:
// every table but request.body (oci-policies.md §3).
var transformTables = []VarTable{VarPath, VarQuery, VarHeaders, VarAuth, VarHost, VarSubdomain, VarCert}

// template parses s and checks its variables against rules, reporting at
// p; it returns the template (nil on a syntax problem).
func (c *checker) template(p, s string, rules templateRules) Template {
	t, err := ParseTemplate(s)
	if err != nil {
		c.addf(p, "%s", err)
		return nil
	}
	for _, v := range t.Variables() {
		switch {
		case !slices.Contains(rules.tables, v.Table):
			c.addf(p, "%s is not available here; use one of %s", v, tableList(rules.tables))
		case v.Table == VarPath:
			if _, declared := rules.params[v.Key]; !declared {
				c.addf(p, "%s: the route path declares no parameter {%s}", v, v.Key)
			}
		case v.Table == VarAuth && !rules.hasAuth:
			c.addf(p, "%s: the deployment has no authentication policy, so there are no claims", v)
		}
	}
	return t
}

// tableList names tables for a message.
func tableList(tables []VarTable) string {
	names := make([]string, 0, len(tables))
	for _, t := range tables {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(ContextVariable{Table: t, Key: "…"}.String(), "${"), "}"))
	}
	return strings.Join(names, ", ")
}

// RouteParams lists the {name} and {name*} parameters of a route path:
// name → whether it is a wildcard.
func RouteParams(routePath string) map[string]bool {
	params := map[string]bool{}
	for _, seg := range strings.Split(routePath, "/") {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			name := seg[1 : len(seg)-1]
			wildcard := strings.HasSuffix(name, "*")
			params[strings.TrimSuffix(name, "*")] = wildcard
		}
	}
	return params
}
