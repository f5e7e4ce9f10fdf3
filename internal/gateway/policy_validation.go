package gateway

import (
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// Request validation (oci-policies.md §4; the README's "Validations" for
// keygate's decisions where OCI is silent).
const (
	codeValidationError     = "requestValidation.validationError"
	codeValidationPermitted = "requestValidation.validationPermitted"

	reasonMissingHeader reason = "missing_header"
	reasonMissingQuery  reason = "missing_query_parameter"
	reasonMissingBody   reason = "missing_body"
	reasonMediaType     reason = "unsupported_media_type"

	// defaultMediaType is what a body without Content-Type is taken to be
	// (RFC 9110 §8.3: a recipient may assume application/octet-stream).
	defaultMediaType = "application/octet-stream"
)

// validationPolicy is a route's compiled headerValidations,
// queryParameterValidations and bodyValidation: one check per policy that
// is not DISABLED and has something to check, in the order they run.
type validationPolicy struct {
	checks []validationCheck
}

// validationCheck is one compiled validation policy.
type validationCheck struct {
	// policy is the OCI field name, for the log.
	policy string
	// mode is ENFORCING or PERMISSIVE.
	mode string
	// check returns the refusal of a request that fails the policy, nil
	// for one that passes. It never reads the body.
	check func(r *http.Request) *httpError
}

// compileValidations compiles a route's validation policies; nil when none
// checks anything (absent, DISABLED, or listing no required name), so the
// route has no validation step at all.
func compileValidations(rq *config.RouteRequestPolicies) *validationPolicy {
	if rq == nil {
		return nil
	}
	var checks []validationCheck
	if hv := rq.HeaderValidations; hv != nil && hv.ValidationMode != config.ValidationDisabled {
		if names := requiredNames(hv.Headers, http.CanonicalHeaderKey); len(names) > 0 {
			checks = append(checks, validationCheck{"headerValidations", hv.ValidationMode, requiredHeaders(names)})
		}
	}
	if qv := rq.QueryParameterValidations; qv != nil && qv.ValidationMode != config.ValidationDisabled {
		if names := requiredNames(qv.Parameters, func(s string) string { return s }); len(names) > 0 {
			checks = append(checks, validationCheck{"queryParameterValidations", qv.ValidationMode, requiredParameters(names)})
		}
	}
	if bv := rq.BodyValidation; bv != nil && bv.ValidationMode != config.ValidationDisabled {
		checks = append(checks, validationCheck{"bodyValidation", bv.ValidationMode, compileBodyRule(bv).check})
	}
	if len(checks) == 0 {
		return nil
	}
	return &validationPolicy{checks: checks}
}

// requiredNames lists the required items' names, each as spell makes it.
func requiredNames(items []config.ValidationItem, spell func(string) string) []string {
	var names []string
	for _, item := range items {
		if item.Required {
			names = append(names, spell(item.Name))
		}
	}
	return names
}

// withValidation is the route step of its validation policies, after
// authentication and authorization and before the request hygiene (OCI:
// "after authentication and authorization ... before transformation"). A
// failing ENFORCING policy refuses the request (400, or 415 for a body's
// media type) with requestValidation.validationError; a failing PERMISSIVE
// one is logged at WARN with requestValidation.validationPermitted and the
// request goes on. Both are counted in keygate_validation_failures_total.
func (g *Gateway) withValidation(v *validationPolicy, rt *route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		for i := range v.checks {
			c := &v.checks[i]
			e := c.check(r)
			if e == nil {
				continue
			}
			e.attrs = append(e.attrs, slog.String("policy", c.policy), slog.String("validationMode", c.mode))
			if ex.decision == nil {
				rt.metrics.validationFailure(c.mode, e.reason)
			}
			if c.mode == config.ValidationPermissive {
				e.code, e.status, e.level = codeValidationPermitted, 0, slog.LevelWarn
				g.logRejection(ex, e)
				continue
			}
			g.writeError(w, ex, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validationError is the refusal of a request that fails a validation.
func validationError(status int, why reason, detail string, attrs ...slog.Attr) *httpError {
	return &httpError{status: status, code: codeValidationError, reason: why, detail: detail, level: slog.LevelInfo, attrs: attrs}
}

// requiredHeaders checks that a request carries every header of names
// (canonical): present with any value, an empty one included.
func requiredHeaders(names []string) func(*http.Request) *httpError {
	return func(r *http.Request) *httpError {
		var missing []string
		for _, name := range names {
			if !headerPresent(r, name) {
				missing = append(missing, name)
			}
		}
		if missing == nil {
			return nil
		}
		return validationError(http.StatusBadRequest, reasonMissingHeader,
			missingDetail("header", missing), slog.Any("headers", missing))
	}
}

// headerPresent reports whether r carries the header canonical. Header
// names compare case-insensitively: net/http stores them canonical, and
// keeps Host and Transfer-Encoding out of the map.
func headerPresent(r *http.Request, canonical string) bool {
	switch canonical {
	case "Host":
		return r.Host != ""
	case "Transfer-Encoding":
		return len(r.TransferEncoding) > 0
	}
	return len(r.Header[canonical]) > 0
}

// requiredParameters checks that a request's query holds every parameter
// of names, case-insensitively, with any value or none (?debug, ?debug=).
func requiredParameters(names []string) func(*http.Request) *httpError {
	return func(r *http.Request) *httpError {
		var missing []string
		for _, name := range names {
			if !queryHas(r.URL.RawQuery, name) {
				missing = append(missing, name)
			}
		}
		if missing == nil {
			return nil
		}
		return validationError(http.StatusBadRequest, reasonMissingQuery,
			missingDetail("query parameter", missing), slog.Any("parameters", missing))
	}
}

// queryHas reports whether the raw query holds a parameter called name,
// ASCII case ignored, after decoding it as url.ParseQuery does ('+' is a
// space, %XX its byte); a name that does not decode is compared as sent.
func queryHas(rawQuery, name string) bool {
	for rest := rawQuery; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		key, _, _ := strings.Cut(pair, "=")
		if strings.IndexByte(key, '%') >= 0 || strings.IndexByte(key, '+') >= 0 {
			if decoded, err := url.QueryUnescape(key); err == nil {
				key = decoded
			}
		}
		if strings.EqualFold(key, name) {
			return true
		}
	}
	return false
}

// missingDetail says which required headers or parameters are missing.
func missingDetail(what string, missing []string) string {
	if len(missing) == 1 {
		return "required " + what + " " + missing[0] + " is missing"
	}
	return "required " + what + "s " + strings.Join(missing, ", ") + " are missing"
}

// bodyRule is a compiled bodyValidation: whether a body is required and
// the media ranges it may have, lower case.
type bodyRule struct {
	required bool
	types    map[string]bool // "type/subtype"
	ranges   map[string]bool // "type", from "type/*"
	any      bool            // "*/*"
	keys     string          // the content keys as written, for the log
}

func compileBodyRule(bv *config.BodyValidation) *bodyRule {
	b := &bodyRule{required: bv.Required, types: map[string]bool{}, ranges: map[string]bool{}}
	keys := make([]string, 0, len(bv.Content))
	for k := range bv.Content {
		keys = append(keys, k)
		typ, sub, _ := strings.Cut(strings.ToLower(k), "/")
		switch {
		case typ == "*":
			b.any = true
		case sub == "*":
			b.ranges[typ] = true
		default:
			b.types[typ+"/"+sub] = true
		}
	}
	slices.Sort(keys)
	b.keys = strings.Join(keys, ", ")
	return b
}

// check refuses a request without a body when one is required (400), and
// a body whose media type matches no content key (415). Whether there is a
// body is told from the framing alone (hasRequestBody): it is never read.
func (b *bodyRule) check(r *http.Request) *httpError {
	if !hasRequestBody(r) {
		if b.required {
			return validationError(http.StatusBadRequest, reasonMissingBody, "the route requires a request body and there is none")
		}
		return nil
	}
	values := r.Header["Content-Type"]
	if len(values) > 1 {
		// Backends disagree on which of several they read.
		return validationError(http.StatusUnsupportedMediaType, reasonMediaType,
			strconv.Itoa(len(values))+" Content-Type fields; the body's media type must be one of "+b.keys)
	}
	mediaType, ok := defaultMediaType, true
	if len(values) == 1 {
		mediaType, ok = parseMediaType(values[0])
	}
	if ok && b.match(mediaType) != "" {
		return nil
	}
	if len(values) == 0 {
		return validationError(http.StatusUnsupportedMediaType, reasonMediaType,
			"a body without Content-Type is "+defaultMediaType+", which matches none of "+b.keys)
	}
	sent := bounded(values[0])
	return validationError(http.StatusUnsupportedMediaType, reasonMediaType,
		"content type "+strconv.Quote(sent)+" matches none of "+b.keys, slog.String("contentType", sent))
}

// match returns the most specific content key mediaType (lower case
// type/subtype) matches: "type/subtype" over "type/*" over "*/*"; "" when
// none does. As NONE is the only validation type, which key matched does
// not change the outcome yet; it will when a key carries a schema.
func (b *bodyRule) match(mediaType string) string {
	typ, _, _ := strings.Cut(mediaType, "/")
	switch {
	case b.types[mediaType]:
		return mediaType
	case b.ranges[typ]:
		return typ + "/*"
	case b.any:
		return "*/*"
	}
	return ""
}

// parseMediaType returns the type/subtype of a Content-Type value, lower
// case, its parameters (charset ...) dropped; false when it is not a media
// type (no '/', not tokens, a wildcard).
func parseMediaType(value string) (string, bool) {
	mt, _, _ := strings.Cut(value, ";")
	mt = textproto.TrimString(mt)
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || !isTokenText(typ) || !isTokenText(sub) || typ == "*" || sub == "*" {
		return "", false
	}
	return strings.ToLower(mt), true
}

// isTokenText reports whether s is an RFC 9110 token.
func isTokenText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validationSummaries says in one line per policy what a route's
// validations check and what a failure gets, for keygate validate.
func validationSummaries(rq *config.RouteRequestPolicies) []string {
	if rq == nil {
		return nil
	}
	var lines []string
	if hv := rq.HeaderValidations; hv != nil {
		lines = append(lines, "headerValidations "+modeSummary(hv.ValidationMode, "400")+itemsSummary(hv.ValidationMode, hv.Headers))
	}
	if qv := rq.QueryParameterValidations; qv != nil {
		lines = append(lines, "queryParameterValidations "+modeSummary(qv.ValidationMode, "400")+itemsSummary(qv.ValidationMode, qv.Parameters))
	}
	if bv := rq.BodyValidation; bv != nil {
		refused, body := "415 for another type", "body optional"
		if bv.Required {
			refused, body = "400 without a body, "+refused, "body required"
		}
		line := "bodyValidation " + modeSummary(bv.ValidationMode, refused)
		if bv.ValidationMode != config.ValidationDisabled {
			line += ": " + body + ", of type " + compileBodyRule(bv).keys
		}
		lines = append(lines, line)
	}
	return lines
}

// modeSummary says what a validation mode does with a failing request;
// refused is the status an ENFORCING refusal gets.
func modeSummary(mode, refused string) string {
	switch mode {
	case config.ValidationPermissive:
		return "PERMISSIVE (failures logged, let through)"
	case config.ValidationDisabled:
		return "DISABLED (not checked)"
	}
	return "ENFORCING (refused with " + refused + ")"
}

// itemsSummary lists the required and the optional names of a header or
// query parameter policy.
func itemsSummary(mode string, items []config.ValidationItem) string {
	if mode == config.ValidationDisabled {
		return ""
	}
	var required, optional []string
	for _, item := range items {
		if item.Required {
			required = append(required, item.Name)
		} else {
			optional = append(optional, item.Name)
		}
	}
	s := ": none required (no check)"
	if len(required) > 0 {
		s = ": " + strings.Join(required, ", ") + " required"
	}
	if len(optional) > 0 {
		s += "; " + strings.Join(optional, ", ") + " optional (not checked)"
	}
	return s
}
