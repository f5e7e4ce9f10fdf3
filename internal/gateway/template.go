package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/keygate/keygate/internal/authz"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/token"
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
		if v.Member != "" {
			obj, _ := ex.principal.claims[v.Key].(map[string]any)
			value, _ := token.Claims(obj).Value(v.Member)
			return value
		}
		value, _ := ex.principal.claims.Value(v.Key)
		return value
	case config.VarCert:
		value, _ := ex.clientCertBase64()
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

// Backend urls whose host holds context variables: OCI's log code, and
// keygate's reason for a request whose values make no DNS name.
const (
	codeURLInvalid          = "httpBackend.urlInvalid"
	reasonURLInvalid reason = "backend_url_invalid"
)

// hostTemplate is the host of a backend url with context variables, and
// the url's port as written.
type hostTemplate struct {
	parts config.Template
	port  string
}

// compileHostTemplate compiles a url's host with context variables (any
// table but request.body and request.cert, as in a path).
func compileHostTemplate(host, port string, params routeParams, hasAuth bool) (*hostTemplate, error) {
	parsed, err := config.ParseTemplate(host)
	if err != nil {
		return nil, err
	}
	for _, v := range parsed.Variables() {
		switch v.Table {
		case config.VarPath:
			if _, declared := params[v.Key]; !declared {
				return nil, fmt.Errorf("%s: the route path declares no parameter {%s}", v, v.Key)
			}
		case config.VarAuth:
			if !hasAuth {
				return nil, fmt.Errorf("%s: the deployment has no authentication policy", v)
			}
		case config.VarQuery, config.VarHeaders, config.VarHost, config.VarSubdomain:
		default:
			return nil, fmt.Errorf("%s is not available in a backend url's host", v)
		}
	}
	return &hostTemplate{parts: parsed, port: port}, nil
}

// expand computes the host:port for one request. Each substituted value
// must be a non-empty run of DNS name characters (letters, digits, '-',
// '.'), and the host no empty label: a value cannot add a port, a user, a
// path or an IP literal of its own, so a client cannot send the gateway to
// a host the spec did not mean (SSRF).
func (h *hostTemplate) expand(r *http.Request, ex *exchange) (string, bool) {
	var b strings.Builder
	for _, p := range h.parts {
		if p.Var == nil {
			b.WriteString(p.Literal)
			continue
		}
		v := evalVariable(r, ex, *p.Var)
		if v == "" {
			return "", false
		}
		for i := 0; i < len(v); i++ {
			c := v[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
				return "", false
			}
		}
		b.WriteString(strings.ToLower(v))
	}
	host := b.String()
	if host == "" || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") || strings.Contains(host, "..") {
		return "", false
	}
	if h.port != "" {
		return host + ":" + h.port, true
	}
	return host, true
}
