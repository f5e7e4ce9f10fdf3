package config

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// OCI's backend limits, kept by keygate.
const (
	maxStockBody      = 5120
	maxStockHeaders   = 50
	maxConnectTimeout = 75
	maxReadTimeout    = 300
	maxSendTimeout    = 300
)

// supportedBackends names the backend types keygate runs, for messages.
const supportedBackends = "HTTP_BACKEND, STOCK_RESPONSE_BACKEND, ORACLE_FUNCTIONS_BACKEND or DYNAMIC_ROUTING_BACKEND"

// contextVariable matches a context variable such as ${request.path[id]};
// its inner syntax is checked by the route compiler.
var contextVariable = regexp.MustCompile(`\$\{[^}]*\}`)

// backend validates a route's backend.
func (c *checker) backend(p string, b *Backend) {
	if b.Type != BackendOAuth2Logout {
		if b.AllowedPostLogoutUris != nil {
			c.addf(at(p, "allowedPostLogoutUris"), "only for OAUTH2_LOGOUT_BACKEND; remove it")
		}
		if b.PostLogoutState != "" {
			c.addf(at(p, "postLogoutState"), "only for OAUTH2_LOGOUT_BACKEND; remove it")
		}
	}
	switch b.Type {
	case BackendHTTP:
		c.httpBackend(p, b)
	case BackendStockResponse:
		c.stockBackend(p, b)
	case BackendFunction:
		c.functionBackend(p, b)
	case BackendDynamic:
		c.dynamicBackend(p, b)
	case BackendOAuth2Logout:
		c.logoutBackend(p, b)
	case BackendOAuth2Login:
		c.loginBackend(p, b)
	case "":
		if b.URL == "" && b.Status == nil && len(b.Headers) == 0 && b.Body == "" && b.FunctionID == "" {
			c.addf(p, "missing; add a backend of type %s", supportedBackends)
			return
		}
		c.addf(at(p, "type"), "missing; use %s", supportedBackends)
	default:
		if _, opaque := (Backend{}).opaqueVariants(); slices.Contains(opaque, b.Type) {
			c.addf(at(p, "type"), "%s is not supported yet by keygate; use %s", b.Type, supportedBackends)
			return
		}
		c.addf(at(p, "type"), "unknown type %q; use %s", b.Type, supportedBackends)
	}
}

func (c *checker) httpBackend(p string, b *Backend) {
	if b.URL == "" {
		c.addf(at(p, "url"), "missing; give the backend's http:// or https:// URL")
	} else {
		c.backendURL(at(p, "url"), b.URL)
	}
	c.seconds(at(p, "connectTimeoutInSeconds"), b.ConnectTimeoutInSeconds, maxConnectTimeout, defaultConnectTimeout)
	c.seconds(at(p, "readTimeoutInSeconds"), b.ReadTimeoutInSeconds, maxReadTimeout, defaultReadTimeout)
	c.seconds(at(p, "sendTimeoutInSeconds"), b.SendTimeoutInSeconds, maxSendTimeout, defaultSendTimeout)
	if b.FunctionID != "" {
		c.addf(at(p, "functionId"), "only for ORACLE_FUNCTIONS_BACKEND; remove it")
	}
	c.noRouting(p, b)
	c.noStockFields(p, b, "only for STOCK_RESPONSE_BACKEND; remove it")
}

// backendURL checks an HTTP_BACKEND url. Context variables may appear in the
// path only, so they are replaced by a placeholder before parsing and any
// left in scheme, host or port are an error. The host must be one a request
// could be sent to: a template's "<OKE-LB-SVC-PUB-IP>" left in place is
// caught here, not by the first request.
func (c *checker) backendURL(p, raw string) {
	if strings.Contains(portPart(hostPart(raw)), "${") {
		c.addf(p, "context variables may appear only in the URL's host and path; write the port literally")
		return
	}
	u, err := url.Parse(contextVariable.ReplaceAllString(raw, "x"))
	switch {
	case err != nil:
		if msg := authorityProblem(raw); msg != "" {
			c.addf(p, "%s", msg)
			return
		}
		c.addf(p, "%q is not a URL; use an http:// or https:// URL", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		if strings.Contains(u.Scheme, "$") || strings.HasPrefix(raw, "${") {
			c.addf(p, "context variables may appear only in the URL's host and path; write the scheme literally")
			return
		}
		if u.Scheme == "" {
			c.addf(p, "%q has no scheme; use an http:// or https:// URL", raw)
			return
		}
		c.addf(p, "scheme %q is not http or https; use an http:// or https:// URL", u.Scheme)
	case u.Hostname() == "":
		c.addf(p, "%q has no host; use an http:// or https:// URL with a host", raw)
	case strings.Contains(hostPart(raw), "@") && strings.Contains(hostPart(raw), "${"):
		c.addf(p, "credentials in the URL are not allowed; remove the user:password@ part")
	case u.User != nil:
		c.addf(p, "credentials in the URL are not allowed; remove the user:password@ part")
	default:
		if msg := hostPortProblem(u.Hostname(), strings.HasPrefix(u.Host, "["), u.Port()); msg != "" {
			c.addf(p, "%s", msg)
		}
	}
}

// authorityProblem finds, in an http(s) URL that url.Parse refused, a host
// or port that is not one (a space or a '%' in the host, a "<PORT>"), so
// the message names it rather than the whole URL. It returns "" when the
// authority is not the problem, or holds a context variable (named by
// another message).
func authorityProblem(raw string) string {
	scheme, _, ok := strings.Cut(raw, "://")
	authority := hostPart(raw)
	if !ok || !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") || strings.Contains(authority, "${") {
		return ""
	}
	host, bracketed, port := splitAuthority(authority)
	if host == "" {
		return ""
	}
	return hostPortProblem(host, bracketed, port)
}

// SplitAuthority splits a URL authority that may hold context variables
// into its host and port as written ("" for no port).
func SplitAuthority(authority string) (host, port string) {
	port = portPart(authority)
	if port == "" && !strings.HasSuffix(authority, ":") {
		return authority, ""
	}
	return authority[:len(authority)-len(port)-1], port
}

// portPart is the port of an authority as written ("" for none): what
// follows the last ':' outside brackets and context variables.
func portPart(authority string) string {
	depth := 0
	for i := len(authority) - 1; i >= 0; i-- {
		switch authority[i] {
		case '}', ']':
			depth++
		case '{', '[':
			depth--
		case ':':
			if depth == 0 {
				return authority[i+1:]
			}
		}
	}
	return ""
}

// hostPart returns the authority of an absolute URL text, unparsed.
func hostPart(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// seconds checks an optional timeout of 0 to limit seconds, as OCI takes
// them (a number, minimum 0.0); 0 stands for the default def.
func (c *checker) seconds(p string, v *float64, limit, def float64) {
	if v != nil && (*v < 0 || *v > limit) {
		c.addf(p, "%v is out of range; give 0 to %v seconds (fractions allowed; 0 means the default, %v)", *v, limit, def)
	}
}

func (c *checker) stockBackend(p string, b *Backend) {
	switch {
	case b.Status == nil:
		c.addf(at(p, "status"), "missing; give an HTTP status from 100 to 599")
	case *b.Status < 100 || *b.Status > 599:
		c.addf(at(p, "status"), "%d is not an HTTP status; give 100 to 599", *b.Status)
	}
	if len(b.Body) > maxStockBody {
		c.addf(at(p, "body"), "%d bytes; OCI allows at most %d; shorten it", len(b.Body), maxStockBody)
	}
	if len(b.Headers) > maxStockHeaders {
		c.addf(at(p, "headers"), "%d headers; OCI allows at most %d; remove some", len(b.Headers), maxStockHeaders)
	}
	for i, h := range b.Headers {
		hp := idx(at(p, "headers"), i)
		if !isToken(h.Name) {
			c.addf(at(hp, "name"), "%q is not a valid header name; use letters, digits and -", h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			c.addf(at(hp, "value"), "contains a line break or NUL; remove it")
		}
	}
	if b.FunctionID != "" {
		c.addf(at(p, "functionId"), "only for ORACLE_FUNCTIONS_BACKEND; remove it")
	}
	c.noRouting(p, b)
	c.noHTTPFields(p, b, "only for HTTP_BACKEND; remove it")
}

// isToken reports whether s is an RFC 9110 token, the syntax of header names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// functionBackend validates an ORACLE_FUNCTIONS_BACKEND; whether its
// function is in keygate's registry is checked with the gateway file.
func (c *checker) functionBackend(p string, b *Backend) {
	if b.FunctionID == "" {
		c.addf(at(p, "functionId"), "missing; give the function's OCID (or any id), mapped in keygate's functions: list")
	}
	c.noRouting(p, b)
	const other = "not a field of ORACLE_FUNCTIONS_BACKEND; remove it"
	c.noHTTPFields(p, b, other)
	c.noStockFields(p, b, other)
}

// noHTTPFields reports, with msg, each HTTP_BACKEND member set in a
// backend of another type.
func (c *checker) noHTTPFields(p string, b *Backend, msg string) {
	c.unsetFields(p, msg, []setField{
		{"url", b.URL != ""},
		{"connectTimeoutInSeconds", b.ConnectTimeoutInSeconds != nil},
		{"readTimeoutInSeconds", b.ReadTimeoutInSeconds != nil},
		{"sendTimeoutInSeconds", b.SendTimeoutInSeconds != nil},
		{"isSslVerifyDisabled", b.IsSslVerifyDisabled},
	})
}

// noStockFields reports, with msg, each STOCK_RESPONSE_BACKEND member set
// in a backend of another type.
func (c *checker) noStockFields(p string, b *Backend, msg string) {
	c.unsetFields(p, msg, []setField{
		{"status", b.Status != nil},
		{"body", b.Body != ""},
		{"headers", len(b.Headers) > 0},
	})
}
