package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/function"
)

// OCI's execution log codes of CUSTOM_AUTHENTICATION (details_for_api_gateway.htm).
const (
	codeCustomAuthFailed       = "customAuthentication.authenticationFailed"
	codeCustomCacheMiss        = "customAuthentication.cacheMiss"
	codeCustomInvocationFailed = "customAuthentication.failedFunctionInvocation"
	codeCustomSuccess          = "customAuthentication.successfulAuthentication"
	codeCustomInvoked          = "customAuthentication.successfulFunctionInvocation"
	codeCustomUnexpected       = "customAuthentication.unexpectedResponse"
)

// keygate's reasons for an authorizer's outcomes.
const (
	reasonAuthorizerRefused    reason = "authorizer_refused"
	reasonAuthorizerFailed     reason = "authorizer_failed"
	reasonAuthorizerTimeout    reason = "authorizer_timeout"
	reasonAuthorizerUnexpected reason = "authorizer_unexpected_response"
	reasonAuthorizerOffline    reason = "authorizer_not_called"
)

// authorizerBodyLimit bounds the request body a request.body argument
// passes to the function: the body is held in memory to go both to the
// function and to the backend. A larger body is refused with 413.
const authorizerBodyLimit = 1 << 20

// customAuthenticator is a deployment's compiled CUSTOM_AUTHENTICATION
// policy: an authorizer function, called with the request's token
// (single-argument) or with arguments taken from the request
// (multi-argument), whose answer is cached per cache key
// (oci-policies.md §6).
type customAuthenticator struct {
	functionID string
	// functions invokes the function; nil when the gateway was built
	// without a registry (keygate validate, token verify without
	// --call-functions): a request then gets 502, a Decide call the
	// verdict that the function was not asked.
	functions function.Invoker
	// header or queryParam locate the single-argument form's token; both
	// "" in the multi-argument form.
	header, queryParam string
	// args are the multi-argument form's arguments, sorted by name.
	args []authorizerArg
	// readsBody: an argument is request.body.
	readsBody bool
	cache     *authorizerCache
	// failure replaces the 401 of a missing or refused credential when set
	// (validationFailurePolicy MODIFY_RESPONSE).
	failure *failureResponse
	// scrubber removes the single-argument token from what the backend
	// gets unless the function accepted it, as for a token policy.
	scrubber *tokenAuthenticator
	realm    string
	log      *slog.Logger
	now      func() time.Time
	metrics  *authorizerMetrics // nil without metrics
	summary  AuthSummary
}

var _ authentication = (*customAuthenticator)(nil)

// authorizerArg is one argument of a multi-argument authorizer.
type authorizerArg struct {
	name string
	v    config.ContextVariable
	// inKey: the argument is part of the cache key (all but request.body
	// ones, or those cacheKey names).
	inKey bool
}

// compileCustomAuthenticator compiles a CUSTOM_AUTHENTICATION policy
// validation accepted.
func (c *compiler) customAuthenticator(a *config.Authentication, prefix string, src config.Source) *customAuthenticator {
	const at = "requestPolicies.authentication"
	auth := &customAuthenticator{
		functionID: a.FunctionId,
		functions:  c.functions,
		header:     http.CanonicalHeaderKey(a.TokenHeader),
		queryParam: a.TokenQueryParam,
		realm:      prefix,
		log:        c.g.log,
		now:        c.g.now,
		metrics:    c.g.metrics.authorizerFor(prefix),
		cache:      newAuthorizerCache(c.authorizerCacheSize),
	}
	if a.TokenQueryParam != "" {
		auth.header = ""
	}
	auth.scrubber = &tokenAuthenticator{header: auth.header, queryParam: auth.queryParam,
		readsAuthorization: auth.header == "Authorization"}
	auth.summary = AuthSummary{Type: a.Type, Anonymous: a.IsAnonymousAccessAllowed, Function: a.FunctionId}
	switch {
	case len(a.Parameters) > 0:
		names := make([]string, 0, len(a.Parameters))
		for name := range a.Parameters {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if len(auth.args) == maxAuthorizerArgs {
				break // an invalid spec in CheckSpec: validation named it
			}
			v, err := config.ParseAuthorizerArgument(a.Parameters[name])
			if err != nil {
				continue // validation named it (CheckSpec on an invalid spec)
			}
			arg := authorizerArg{name: name, v: v, inKey: v.Table != config.VarBody}
			if a.CacheKey != nil {
				arg.inKey = slices.Contains(a.CacheKey, name)
			}
			auth.readsBody = auth.readsBody || v.Table == config.VarBody
			auth.args = append(auth.args, arg)
			auth.summary.Arguments = append(auth.summary.Arguments, name+" = "+strings.TrimSuffix(strings.TrimPrefix(v.String(), "${"), "}"))
		}
		auth.summary.TokenFrom = "arguments " + strings.Join(names, ", ") + " (USER_DEFINED) to function " + a.FunctionId
		auth.summary.CacheKey = a.CacheKey
	case auth.queryParam != "":
		auth.summary.TokenFrom = "query parameter " + auth.queryParam + " (TOKEN) to function " + a.FunctionId
	default:
		auth.summary.TokenFrom = "header " + auth.header + " (whole value, TOKEN) to function " + a.FunctionId
	}
	if fp := a.ValidationFailurePolicy; fp != nil && fp.Type == config.FailureModifyResponse {
		auth.failure = compileFailure(fp, c.g.log, src.Problem(at+".validationFailurePolicy", "").Path)
	}
	return auth
}

func (a *customAuthenticator) credentialQueryParam() string { return a.queryParam }

func (a *customAuthenticator) describe() AuthSummary { return a.summary }

// challenge is the WWW-Authenticate value of a refusal the function did
// not word: a missing token, or an insufficient scope.
func (a *customAuthenticator) challenge(errorCode string) string {
	c := `Bearer realm="` + a.realm + `"`
	if errorCode != "" {
		c += `, error="` + errorCode + `"`
	}
	return c
}

// authenticate asks the authorizer function about the request (or its
// cache), with three outcomes: a principal made of the function's scope
// and context (active: true); a refusal (401, or the failure policy's
// answer) for active: false or a missing single-argument token; or 502
// when the function fails, times out or answers garbage.
func (a *customAuthenticator) authenticate(r *http.Request, ex *exchange) (principal, error) {
	input, key, err := a.input(r, ex)
	if err != nil {
		return principal{}, err
	}
	var v *authorizerVerdict
	if ex.decision != nil {
		v, err = a.decide(r, ex, input)
	} else {
		v, err = a.lookup(r, ex, input, key)
	}
	if err != nil {
		return principal{}, err
	}
	if !v.active {
		return principal{}, a.refused(r, ex, v)
	}
	if ex.executionLogEnabled(slog.LevelInfo) {
		attrs := []slog.Attr{slog.String("functionId", a.functionID)}
		if v.principal != "" {
			attrs = append(attrs, slog.String("principal", bounded(v.principal)))
		}
		a.logLine(ex, slog.LevelInfo, codeCustomSuccess, "the authorizer function accepted the request", attrs...)
	}
	return principal{scopes: v.scopes, claims: v.context, name: v.principal}, nil
}

// authorizerInput is what the function is asked about one request: the
// single-argument form's token, or the multi-argument form's values (one
// list per argument, nil when absent). It becomes JSON only when the
// function is called, not on a cache hit.
type authorizerInput struct {
	token string
	args  []authorizerArg // nil: the single-argument form
	// values[i] are args[i]'s values (held in place: no allocation on a
	// cache hit; validation allows at most maxAuthorizerArgs arguments).
	values [maxAuthorizerArgs][]string
}

// maxAuthorizerArgs is OCI's limit on an authorizer's parameters.
const maxAuthorizerArgs = 10

// json is the function's input: {"type":"TOKEN","token":...} or
// {"type":"USER_DEFINED","data":{...}}, an absent argument omitted, a
// repeated header or query parameter as an array.
func (in authorizerInput) json() []byte {
	if in.args == nil {
		body, _ := json.Marshal(struct {
			Type  string `json:"type"`
			Token string `json:"token"`
		}{"TOKEN", in.token})
		return body
	}
	data := make(map[string]any, len(in.args))
	for i, arg := range in.args {
		switch values := in.values[i]; len(values) {
		case 0:
		case 1:
			data[arg.name] = values[0]
		default:
			data[arg.name] = values
		}
	}
	body, _ := json.Marshal(struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}{"USER_DEFINED", data})
	return body
}

// input reads what the function is asked and the request's cache key: the
// single-argument form's token (errNoCredential without one: the function
// is not called), or the multi-argument form's arguments.
func (a *customAuthenticator) input(r *http.Request, ex *exchange) (authorizerInput, cacheKey, error) {
	if a.args == nil {
		tok, folded, err := a.token(r)
		ex.credentialFolded = folded
		if err != nil {
			if err == errNoCredential {
				return authorizerInput{}, cacheKey{}, err
			}
			return authorizerInput{}, cacheKey{}, a.credentialError(r, ex, err)
		}
		return authorizerInput{token: tok}, a.cache.key("T", tok), nil
	}
	in := authorizerInput{args: a.args}
	var parts [2 * maxAuthorizerArgs]string
	keyParts := parts[:0]
	for i, arg := range a.args {
		values, err := a.argument(r, ex, arg)
		if err != nil {
			return authorizerInput{}, cacheKey{}, err
		}
		in.values[i] = values
		if arg.inKey && len(values) > 0 {
			keyParts = append(keyParts, arg.name, strings.Join(values, "\x00"))
		}
	}
	return in, a.cache.key("U", keyParts...), nil
}

// argument reads one argument's values from the request; none when it is
// absent.
func (a *customAuthenticator) argument(r *http.Request, ex *exchange, arg authorizerArg) ([]string, error) {
	switch arg.v.Table {
	case config.VarHeaders:
		return r.Header.Values(arg.v.Key), nil
	case config.VarQuery:
		return r.URL.Query()[arg.v.Key], nil
	case config.VarHost:
		if host := requestHost(r); host != "" {
			return []string{host}, nil
		}
	case config.VarCert:
		if value, ok := ex.clientCertBase64(); ok {
			return []string{value}, nil
		}
	case config.VarBody:
		return a.body(r)
	}
	return nil, nil
}

// body reads the request body for a request.body argument, as text, and
// puts it back for the backend; a body over authorizerBodyLimit is
// refused with 413.
func (a *customAuthenticator) body(r *http.Request) ([]string, error) {
	if !hasRequestBody(r) {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, authorizerBodyLimit+1))
	if err != nil {
		return nil, &httpError{status: http.StatusBadRequest, code: "request.clientEof", reason: "client_body_error",
			detail: "reading the request body for the authorizer: " + err.Error(), cause: err, level: slog.LevelInfo}
	}
	if len(data) > authorizerBodyLimit {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, code: "request.bodyTooLarge", reason: reasonBodyTooLarge,
			detail: "the request body exceeds the 1 MiB an authorizer's request.body argument reads", level: slog.LevelInfo}
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	r.TransferEncoding = nil
	if len(data) == 0 {
		r.Body = http.NoBody
		return nil, nil
	}
	return []string{string(data)}, nil
}

// token reads the single-argument form's token: the whole value of the
// header (scheme included: CUSTOM_AUTHENTICATION has no tokenAuthScheme)
// or query parameter. Several values are refused without calling the
// function: which one the function would see and which one a backend
// reads could differ. folded reports a spelling of the header with '_'
// for '-' (see tokenAuthenticator.credential).
func (a *customAuthenticator) token(r *http.Request) (string, bool, error) {
	var values []string
	folded := false
	if a.queryParam != "" {
		values = r.URL.Query()[a.queryParam]
	} else {
		values = r.Header[a.header]
		for name, vs := range r.Header {
			if len(name) == len(a.header) && name != a.header && sameHeaderFolded(name, a.header) {
				values = append(values[:len(values):len(values)], vs...)
				folded = true
			}
		}
	}
	switch {
	case len(values) == 0 || len(values) == 1 && strings.TrimSpace(values[0]) == "":
		return "", folded, errNoCredential
	case len(values) > 1:
		return "", folded, errMultipleCredentials
	}
	return values[0], folded, nil
}

// credentialError is the 401 of a request whose credential is unusable
// before the function is asked (none, or several).
func (a *customAuthenticator) credentialError(r *http.Request, ex *exchange, err error) *httpError {
	e := &httpError{status: http.StatusUnauthorized, code: codeCustomAuthFailed, reason: reasonMissingToken,
		detail: err.Error(), cause: err, level: slog.LevelInfo}
	e.setHeader("WWW-Authenticate", a.challenge(""))
	if errors.Is(err, errMultipleCredentials) {
		e.reason = reasonMultipleTokens
		e.setHeader("WWW-Authenticate", a.challenge("invalid_token"))
	}
	if a.failure != nil {
		a.failure.apply(r, ex, e)
	}
	return e
}

// refused is the refusal of a request the function answered active:
// false: 401 with the function's wwwAuthenticate, or the failure
// policy's response, whose context variables read the function's
// context (OPEN: for this policy only).
func (a *customAuthenticator) refused(r *http.Request, ex *exchange, v *authorizerVerdict) *httpError {
	e := &httpError{status: http.StatusUnauthorized, code: codeCustomAuthFailed, reason: reasonAuthorizerRefused,
		detail: "the authorizer function refused the request (active: false)", level: slog.LevelInfo,
		attrs: []slog.Attr{slog.String("functionId", a.functionID)}}
	challenge := v.wwwAuthenticate
	if challenge == "" {
		challenge = a.challenge("invalid_token")
	}
	e.setHeader("WWW-Authenticate", challenge)
	if a.failure != nil {
		saved, savedValue := ex.principal, ex.principalValue
		ex.principalValue = principal{claims: v.context}
		ex.principal = &ex.principalValue
		a.failure.apply(r, ex, e)
		ex.principal, ex.principalValue = saved, savedValue
	}
	return e
}

// refusal is the answer to err from authenticate.
func (a *customAuthenticator) refusal(r *http.Request, ex *exchange, err error) *httpError {
	var e *httpError
	if errors.As(err, &e) {
		return e
	}
	return a.credentialError(r, ex, err)
}

// scrub leaves the backend the single-argument token only when the
// function accepted it, as a token policy does; the arguments of a
// multi-argument authorizer are the request's own and stay.
func (a *customAuthenticator) scrub(r *http.Request, ex *exchange, p *principal) {
	if a.args != nil {
		return
	}
	a.scrubber.scrub(r, ex, p)
}

// logLine writes an execution log line of the authorizer, honouring the
// route's executionLog level.
func (a *customAuthenticator) logLine(ex *exchange, level slog.Level, code, msg string, attrs ...slog.Attr) {
	if ex.decision != nil || !ex.executionLogEnabled(level) {
		return
	}
	all := make([]slog.Attr, 0, 5+len(attrs))
	all = append(all, slog.String("code", code), slog.String("opcRequestId", ex.requestID))
	if ex.dep != nil {
		all = append(all, slog.String("deployment", ex.dep.prefix))
	}
	if ex.route != nil {
		all = append(all, slog.String("route", ex.route.path))
	}
	all = append(all, attrs...)
	a.log.LogAttrs(ex.ctx, level, msg, all...)
}
