package gateway

import (
	"errors"
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
	args  []authorizerArg
	cache *authorizerCache
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
// customAuthenticator compiles the CUSTOM_AUTHENTICATION policy at JSON
// path at (requestPolicies.authentication, or a dynamic authentication
// server's authenticationServerDetail).
func (c *compiler) customAuthenticator(a *config.Authentication, prefix string, src config.Source, at string) *customAuthenticator {
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
// multi-argument authorizer are the request's own and stay, a header
// argument under its own name only: the values of its spellings with '_'
// for '-', which the function was asked about with it, join them there
// (a backend folding '_' into '-' reads nothing the function did not).
func (a *customAuthenticator) scrub(r *http.Request, ex *exchange, p *principal) {
	if a.args == nil {
		a.scrubber.scrub(r, ex, p)
		return
	}
	for _, arg := range a.args {
		if arg.v.Table != config.VarHeaders {
			continue
		}
		canonical := http.CanonicalHeaderKey(arg.v.Key)
		values := foldedHeaderValues(r.Header, canonical)
		if len(values) == len(r.Header[canonical]) {
			continue
		}
		deleteUnderscoreSpellings(r.Header, canonical)
		r.Header[canonical] = values
	}
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
