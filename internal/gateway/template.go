package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/keygate/keygate/internal/authz"
)

// varSource is the table a context variable reads from.
type varSource int

const (
	fromPath varSource = iota
	fromQuery
	fromHeader
	fromAuth
)

// templatePart is a literal piece of a backend URL path (already escaped as
// written in the spec) or one context variable.
type templatePart struct {
	literal  string
	isVar    bool
	source   varSource
	key      string
	wildcard bool // a {name*} path parameter: several segments
}

// pathTemplate is a backend URL path with context variables, compiled once.
type pathTemplate struct {
	parts  []templatePart
	static bool
}

// routeParams describes the parameters a route path declares, for checking
// ${request.path[...]} references at compile time.
type routeParams map[string]bool // name → is wildcard

// compileTemplate parses ${request.path[x]}, ${request.query[x]},
// ${request.headers[X]} and ${request.auth[x]} in a URL path.
func compileTemplate(path string, params routeParams, hasAuth bool) (*pathTemplate, error) {
	t := &pathTemplate{}
	for path != "" {
		i := strings.Index(path, "${")
		if i < 0 {
			t.parts = append(t.parts, templatePart{literal: path})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, templatePart{literal: path[:i]})
		}
		end := strings.IndexByte(path[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unterminated context variable %q; close it with '}'", path[i:])
		}
		part, err := parseVariable(path[i+2:i+end], params, hasAuth)
		if err != nil {
			return nil, err
		}
		t.parts = append(t.parts, part)
		path = path[i+end+1:]
	}
	t.static = len(t.parts) <= 1 && (len(t.parts) == 0 || !t.parts[0].isVar)
	return t, nil
}

// parseVariable parses the inside of ${...}: request.<table>[<key>].
func parseVariable(expr string, params routeParams, hasAuth bool) (templatePart, error) {
	table, rest, ok := strings.Cut(expr, "[")
	if !ok || !strings.HasSuffix(rest, "]") || len(rest) < 2 {
		return templatePart{}, fmt.Errorf("context variable ${%s} is not of the form ${request.<table>[<name>]}", expr)
	}
	key := rest[:len(rest)-1]
	part := templatePart{isVar: true, key: key}
	switch table {
	case "request.path":
		wildcard, declared := params[key]
		if !declared {
			return part, fmt.Errorf("${request.path[%s]}: the route path declares no parameter {%s}", key, key)
		}
		part.source, part.wildcard = fromPath, wildcard
	case "request.query":
		part.source = fromQuery
	case "request.headers":
		part.source = fromHeader
	case "request.auth":
		if !hasAuth {
			return part, fmt.Errorf("${request.auth[%s]}: the deployment has no authentication policy", key)
		}
		part.source = fromAuth
	default:
		return part, fmt.Errorf("context variable table %q is not one of request.path, request.query, request.headers, request.auth", table)
	}
	return part, nil
}

// expand renders the escaped path for one request. Every substituted value
// is path-escaped so it stays one segment; a wildcard parameter keeps its
// '/' separators and has each of its segments escaped (attack R4).
func (t *pathTemplate) expand(r *http.Request, ex *exchange) string {
	if t.static {
		if len(t.parts) == 0 {
			return ""
		}
		return t.parts[0].literal
	}
	var b strings.Builder
	for _, p := range t.parts {
		if !p.isVar {
			b.WriteString(p.literal)
			continue
		}
		value := lookupVariable(r, ex, p)
		if p.wildcard {
			for i, seg := range strings.Split(value, "/") {
				if i > 0 {
					b.WriteByte('/')
				}
				if seg != "" {
					b.WriteString(authz.EscapeSegment(seg))
				}
			}
			continue
		}
		b.WriteString(authz.EscapeSegment(value))
	}
	return b.String()
}

// lookupVariable reads one context variable; missing keys are empty, and a
// repeated parameter gives its first value.
func lookupVariable(r *http.Request, ex *exchange, p templatePart) string {
	switch p.source {
	case fromPath:
		v, _ := ex.params.Get(p.key)
		return v
	case fromQuery:
		return r.URL.Query().Get(p.key)
	case fromHeader:
		return r.Header.Get(p.key)
	case fromAuth:
		if ex.principal == nil {
			return ""
		}
		v, _ := ex.principal.claims.Value(p.key)
		return v
	}
	return ""
}
