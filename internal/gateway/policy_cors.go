package gateway

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// CORS refusals: a preflight the policy does not allow gets 403 without any
// Access-Control-* header (OCI has no log code for CORS; this is keygate's).
const (
	codeCORS                  = "cors.preflightRejected"
	reasonCORSOrigin   reason = "cors_origin_not_allowed"
	reasonCORSMethod   reason = "cors_method_not_allowed"
	reasonCORSHeaders  reason = "cors_headers_not_allowed"
	defaultCORSMethods        = "GET, HEAD, POST" // an empty allowedMethods: the simple methods
)

// corsPolicy is a compiled cors policy (oci-policies.md §1, and the
// README's "CORS" for keygate's decisions).
type corsPolicy struct {
	anyOrigin   bool
	origins     map[string]bool // canonical origins, and "null"
	anyMethod   bool
	methods     map[string]bool // upper case
	methodsList string          // Access-Control-Allow-Methods
	anyHeader   bool
	headers     map[string]bool // lower case
	headersList string          // Access-Control-Allow-Headers
	anyExposed  bool
	exposedList string // Access-Control-Expose-Headers
	credentials bool
	maxAge      string // Access-Control-Max-Age; "" when 0
	// varyOrigin: the allowed origin is echoed, so responses differ by Origin.
	varyOrigin bool
}

// compileCORS compiles cp; log receives a warning for an origin with an
// inner '*', which OCI does not document as a pattern and keygate matches
// literally.
func compileCORS(cp *config.CorsPolicy, log *slog.Logger, at string) *corsPolicy {
	p := &corsPolicy{origins: map[string]bool{}, methods: map[string]bool{}, headers: map[string]bool{},
		credentials: cp.IsAllowCredentialsEnabled}
	for _, o := range cp.AllowedOrigins {
		switch {
		case o == "*":
			p.anyOrigin = true
		case o == "null":
			p.origins["null"] = true
		default:
			if strings.Contains(o, "*") {
				log.Warn("cors: an origin with '*' inside is no pattern; it is matched literally", "at", at, "origin", o)
			}
			p.origins[canonicalOrigin(o)] = true
		}
	}
	p.varyOrigin = !p.anyOrigin || p.credentials
	for _, m := range cp.AllowedMethods {
		if m == "*" {
			p.anyMethod = true
			continue
		}
		p.methods[strings.ToUpper(m)] = true
	}
	p.methodsList = strings.Join(cp.AllowedMethods, ", ")
	if len(cp.AllowedMethods) == 0 {
		p.methodsList = defaultCORSMethods
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
			p.methods[m] = true
		}
	}
	for _, h := range cp.AllowedHeaders {
		if h == "*" {
			p.anyHeader = true
			continue
		}
		p.headers[strings.ToLower(h)] = true
	}
	p.headersList = strings.Join(cp.AllowedHeaders, ", ")
	p.anyExposed = slices.Contains(cp.ExposedHeaders, "*")
	p.exposedList = strings.Join(cp.ExposedHeaders, ", ")
	if cp.MaxAgeInSeconds > 0 {
		p.maxAge = strconv.Itoa(cp.MaxAgeInSeconds)
	}
	return p
}

// canonicalOrigin is an origin as browsers serialize it: scheme and host in
// lower case, the scheme's default port left out. A value that is no URL is
// returned lower-cased (it then matches only itself).
func canonicalOrigin(origin string) string {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return strings.ToLower(origin)
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}

// allowOrigin returns the Access-Control-Allow-Origin value for a request
// from origin, and whether the origin is allowed at all. With credentials a
// browser refuses "*", so the origin is echoed then.
func (p *corsPolicy) allowOrigin(origin string) (string, bool) {
	switch {
	case origin == "":
		return "", false
	case p.anyOrigin && !p.credentials:
		return "*", true
	case p.anyOrigin:
		return origin, true
	case origin == "null":
		return "null", p.origins["null"]
	}
	return origin, p.origins[canonicalOrigin(origin)]
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && len(r.Header["Origin"]) == 1 && len(r.Header["Access-Control-Request-Method"]) == 1
}

// withCORS is the route step of a cors policy. A preflight (routed by the
// method it asks about) is answered here: 204 with the policy's headers, or
// 403 without any; it never reaches authentication or the backend. Every
// other response of the route (the backend's, a stock response, a refusal
// by a later step) gets the policy's headers for an allowed origin, and the
// backend's own Access-Control-* headers never reach the client: the
// policy owns them.
func (g *Gateway) withCORS(p *corsPolicy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		if ex.preflight {
			g.answerPreflight(w, r, ex, p)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withCORSHeaders is the outermost step of a route with a cors policy: it
// wraps the writer so every response but a preflight's gets the policy's
// headers (withCORS answers preflights with their own).
func (g *Gateway) withCORSHeaders(p *corsPolicy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if exchangeFrom(r).preflight {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&corsWriter{ResponseWriter: w, policy: p, origin: r.Header.Get("Origin")}, r)
	})
}

// answerPreflight checks a preflight against p and answers it.
func (g *Gateway) answerPreflight(w http.ResponseWriter, r *http.Request, ex *exchange, p *corsPolicy) {
	origin := r.Header.Get("Origin")
	allowOrigin, ok := p.allowOrigin(origin)
	if !ok {
		g.writeError(w, ex, corsRefusal(reasonCORSOrigin, "origin "+strconv.Quote(bounded(origin))+" is not in allowedOrigins"))
		return
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if !p.anyMethod && !p.methods[strings.ToUpper(method)] {
		g.writeError(w, ex, corsRefusal(reasonCORSMethod, "method "+strconv.Quote(bounded(method))+" is not in allowedMethods"))
		return
	}
	requested := requestedHeaders(r)
	if !p.anyHeader {
		for _, name := range requested {
			if !p.headers[name] && !corsSafelisted(name) {
				g.writeError(w, ex, corsRefusal(reasonCORSHeaders, "header "+strconv.Quote(bounded(name))+" is not in allowedHeaders"))
				return
			}
		}
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", allowOrigin)
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	switch {
	case p.anyMethod && p.credentials:
		h.Set("Access-Control-Allow-Methods", method) // "*" is literal with credentials
	case p.anyMethod:
		h.Set("Access-Control-Allow-Methods", "*")
	default:
		h.Set("Access-Control-Allow-Methods", p.methodsList)
	}
	switch {
	case p.anyHeader && p.credentials && len(requested) > 0:
		h.Set("Access-Control-Allow-Headers", strings.Join(requested, ", "))
	case p.anyHeader && !p.credentials:
		h.Set("Access-Control-Allow-Headers", "*")
	case p.headersList != "":
		h.Set("Access-Control-Allow-Headers", p.headersList)
	}
	if p.maxAge != "" {
		h.Set("Access-Control-Max-Age", p.maxAge)
	}
	h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
}

// corsRefusal is the 403 of a preflight the policy does not allow.
func corsRefusal(why reason, detail string) *httpError {
	return &httpError{status: http.StatusForbidden, code: codeCORS, reason: why, detail: detail, level: slog.LevelInfo}
}

// requestedHeaders lists a preflight's Access-Control-Request-Headers, lower
// case.
func requestedHeaders(r *http.Request) []string {
	var names []string
	for _, v := range r.Header["Access-Control-Request-Headers"] {
		for _, name := range strings.Split(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

// corsSafelisted reports request headers a browser may send cross-origin
// without the server's leave (Fetch's CORS-safelisted request headers;
// Content-Type is listed by browsers only when its value is not safelisted,
// so it needs allowedHeaders then).
func corsSafelisted(name string) bool {
	switch name {
	case "accept", "accept-language", "content-language", "range":
		return true
	}
	return false
}

// decorate sets p's headers for an actual (not preflight) response to a
// request from origin on h, after removing any Access-Control-* header a
// backend set: the policy owns them.
func (p *corsPolicy) decorate(h http.Header, origin string) {
	for name := range h {
		if strings.HasPrefix(name, "Access-Control-") {
			delete(h, name)
		}
	}
	if p.varyOrigin {
		h.Add("Vary", "Origin")
	}
	allowOrigin, ok := p.allowOrigin(origin)
	if !ok {
		return
	}
	h.Set("Access-Control-Allow-Origin", allowOrigin)
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	switch {
	case p.anyExposed && p.credentials:
		// "*" is literal with credentials: name what this response has.
		names := make([]string, 0, len(h))
		for name := range h {
			names = append(names, name)
		}
		slices.Sort(names)
		h.Set("Access-Control-Expose-Headers", strings.Join(names, ", "))
	case p.anyExposed:
		h.Set("Access-Control-Expose-Headers", "*")
	case p.exposedList != "":
		h.Set("Access-Control-Expose-Headers", p.exposedList)
	}
}

// corsWriter decorates the response of a route with a cors policy when its
// status is written. Informational responses pass undecorated.
type corsWriter struct {
	http.ResponseWriter
	policy  *corsPolicy
	origin  string
	written bool
}

func (cw *corsWriter) WriteHeader(status int) {
	if !cw.written && status >= 200 {
		cw.written = true
		cw.policy.decorate(cw.ResponseWriter.Header(), cw.origin)
	}
	cw.ResponseWriter.WriteHeader(status)
}

func (cw *corsWriter) Write(p []byte) (int, error) {
	if !cw.written {
		cw.WriteHeader(http.StatusOK)
	}
	return cw.ResponseWriter.Write(p)
}

// Flush passes flushes through, so streamed responses stay streamed.
func (cw *corsWriter) Flush() {
	if !cw.written {
		cw.WriteHeader(http.StatusOK)
	}
	if f, ok := cw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (cw *corsWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }
