package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/keygate/keygate/internal/authz"
	"github.com/keygate/keygate/internal/config"
)

// templatePart is a literal piece of a backend URL path (already escaped as
// written in the spec) or one context variable.
type templatePart struct {
	literal  string
	isVar    bool
	v        config.ContextVariable
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

// compileTemplate compiles a backend URL path, parsed by the one grammar
// (config.ParseTemplate), with ${request.path[x]}, ${request.query[x]},
// ${request.headers[X]} and ${request.auth[x]}.
func compileTemplate(path string, params routeParams, hasAuth bool) (*pathTemplate, error) {
	parsed, err := config.ParseTemplate(path)
	if err != nil {
		return nil, err
	}
	t := &pathTemplate{static: parsed.Static()}
	for _, p := range parsed {
		if p.Var == nil {
			t.parts = append(t.parts, templatePart{literal: p.Literal})
			continue
		}
		v := *p.Var
		part := templatePart{isVar: true, v: v}
		switch v.Table {
		case config.VarPath:
			wildcard, declared := params[v.Key]
			if !declared {
				return nil, fmt.Errorf("%s: the route path declares no parameter {%s}", v, v.Key)
			}
			part.wildcard = wildcard
		case config.VarAuth:
			if !hasAuth {
				return nil, fmt.Errorf("%s: the deployment has no authentication policy", v)
			}
		case config.VarQuery, config.VarHeaders:
		default:
			return nil, fmt.Errorf("%s is not available in a backend URL; use request.path, request.query, request.headers or request.auth", v)
		}
		t.parts = append(t.parts, part)
	}
	return t, nil
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
		value := evalVariable(r, ex, p.v)
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

// evalTemplate renders t for one request, values as they are (no
// escaping: the caller's place decides what a value may hold).
func evalTemplate(t config.Template, r *http.Request, ex *exchange) string {
	if len(t) == 1 && t[0].Var == nil {
		return t[0].Literal
	}
	var b strings.Builder
	for _, p := range t {
		if p.Var == nil {
			b.WriteString(p.Literal)
			continue
		}
		b.WriteString(evalVariable(r, ex, *p.Var))
	}
	return b.String()
}

// evalVariable reads one context variable; missing keys are empty, and a
// repeated parameter or header gives its first value.
func evalVariable(r *http.Request, ex *exchange, v config.ContextVariable) string {
	switch v.Table {
	case config.VarPath:
		value, _ := ex.params.Get(v.Key)
		return value
	case config.VarQuery:
		return r.URL.Query().Get(v.Key)
	case config.VarHeaders:
		return r.Header.Get(v.Key)
	case config.VarAuth:
		if ex.principal == nil {
			return ""
		}
		value, _ := ex.principal.claims.Value(v.Key)
		return value
	case config.VarHost:
		return requestHost(r)
	case config.VarSubdomain:
		host := requestHost(r)
		if sub, ok := strings.CutSuffix(host, "."+strings.ToLower(v.Key)); ok {
			return sub
		}
		return ""
	}
	return ""
}

// requestHost is the request's host without port, lower case (OCI's
// request.host).
func requestHost(r *http.Request) string {
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.ToLower(strings.Trim(host, "[]"))
}
