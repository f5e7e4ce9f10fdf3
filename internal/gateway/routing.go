package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/authz"
)

// withRouting checks that the path is canonical (400 otherwise, before any
// routing), finds the deployment by its path prefix, refuses a body on HEAD
// or TRACE (400, attack R13), finds the route, and records both on the
// exchange. On a deployment with mutual TLS on, a client whose certificate
// fails it gets that 401 instead of any of these refusals.
func (g *Gateway) withRouting(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		// RawPath is the path exactly as it arrived whenever that differs
		// from Path's default escaping. EscapedPath would re-escape the
		// decoded Path when RawPath holds a byte such as '|', turning a
		// refused "%2f" into a plain '/' before CanonicalPath sees it.
		escaped := r.URL.RawPath
		if escaped == "" {
			escaped = r.URL.EscapedPath()
		}
		if r.URL.Opaque != "" {
			// An opaque request target has no path to route: refuse rather
			// than guess which spelling a backend would see.
			g.writeError(w, ex, &httpError{status: http.StatusBadRequest, code: codeRouting,
				reason: reasonBadPath, detail: "request target is not a plain absolute path", level: slog.LevelInfo})
			return
		}
		path, err := authz.CanonicalPath(escaped)
		if err != nil {
			// Refused before routing; the deployment whose prefix the raw
			// path starts with, if any, still owns the log line (its log
			// level, its name).
			ex.dep, _ = g.deploymentFor(escaped)
			g.refuseUnrouted(w, r, ex, &httpError{status: http.StatusBadRequest, code: codeRouting,
				reason: reasonBadPath, detail: err.Error(), cause: err, level: slog.LevelInfo})
			return
		}
		dep, rest := g.deploymentFor(path)
		if dep == nil {
			g.writeError(w, ex, &httpError{status: http.StatusNotFound, code: codeRouting,
				reason: reasonNoRoute, detail: "no deployment serves this path", level: slog.LevelInfo})
			return
		}
		ex.dep = dep
		ex.escapedPath = escaped
		if dep.cors != nil {
			ex.origin = r.Header.Get("Origin")
		}
		if bodyRefused(r) {
			g.refuseUnrouted(w, r, ex, bodyNotAllowed())
			return
		}
		if dep.preflights && isPreflight(r) {
			// A preflight asks about another method: the route that method
			// reaches answers it, if that route has a cors policy (then it
			// need not accept OPTIONS); else OPTIONS is routed as usual.
			requested := r.Header.Get("Access-Control-Request-Method")
			match, err := dep.table.Match(requested, rest)
			if err == nil && dep.routes[match.Route].cors != nil {
				ex.route, ex.routePath, ex.params, ex.preflight = dep.routes[match.Route], rest, match.Params, true
				next.ServeHTTP(w, r)
				return
			}
			var notAllowed *authz.MethodNotAllowedError
			if errors.As(err, &notAllowed) && dep.cors != nil {
				// The path is served, not with that method: refused as
				// the deployment's policy refuses a method.
				ex.preflight = true
				g.writeError(w, ex, corsRefusal(reasonCORSMethod, "no route at this path accepts "+strconv.Quote(bounded(requested))))
				return
			}
		}
		match, err := dep.table.Match(r.Method, rest)
		if err != nil {
			g.refuseUnrouted(w, r, ex, routingError(err))
			return
		}
		ex.route = dep.routes[match.Route]
		ex.routePath = rest
		ex.params = match.Params
		next.ServeHTTP(w, r)
	})
}

// routingError maps a route table miss to 404 or 405 with its Allow header.
func routingError(err error) *httpError {
	var notAllowed *authz.MethodNotAllowedError
	if errors.As(err, &notAllowed) {
		return &httpError{status: http.StatusMethodNotAllowed, code: codeRouting, reason: reasonMethod,
			detail: "the route does not accept this method", cause: err,
			header: http.Header{"Allow": {strings.Join(notAllowed.Allow, ", ")}}, level: slog.LevelInfo}
	}
	return &httpError{status: http.StatusNotFound, code: codeRouting, reason: reasonNoRoute,
		detail: "no route matches the path", level: slog.LevelInfo}
}

// deploymentFor returns the deployment whose prefix owns path (the longest
// one, on a segment boundary) and the path relative to it.
func (g *Gateway) deploymentFor(path string) (*deployment, string) {
	for _, dep := range g.deployments { // sorted longest prefix first
		if dep.prefix == "/" {
			return dep, path
		}
		if !strings.HasPrefix(path, dep.prefix) {
			continue
		}
		rest := path[len(dep.prefix):]
		if rest == "" {
			return dep, "/"
		}
		if rest[0] == '/' {
			return dep, rest
		}
	}
	return nil, ""
}
