package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/function"
	"github.com/keygate/keygate/internal/token"
)

// authorizerVerdict is an authorizer function's answer to one input,
// as cached: both outcomes of a 200 are kept until expires.
type authorizerVerdict struct {
	active bool
	scopes []string
	// context is the answer's context, read by ${request.auth[name]}:
	// strings as they are, other JSON values as their JSON text.
	context token.Claims
	// wwwAuthenticate is the 401's challenge for active: false; "" for
	// the gateway's own.
	wwwAuthenticate string
	// principal names the caller, for the log only (OPEN: principal and
	// clientId are accepted and otherwise ignored).
	principal string
	// expires is when the cached verdict stops being used: the answer's
	// expiresAt, clamped to [authorizerMinTTL, authorizerMaxTTL] from
	// when it was received; authorizerMinTTL when missing or invalid.
	expires time.Time
}

// How long an authorizer's verdict is cached (oci-policies.md §6).
const (
	authorizerMinTTL = time.Minute
	authorizerMaxTTL = time.Hour
)

// authorizerAnswerLimit bounds the function's answer: a verdict is small.
const authorizerAnswerLimit = 1 << 20

// errAuthorizerUnexpected is an answer that is not the authorizer contract.
var errAuthorizerUnexpected = errors.New("the authorizer function's answer is not the CUSTOM_AUTHENTICATION contract")

// lookup returns the verdict on input: the cached one for key, or the
// function's, asked once however many requests with the same key arrive
// while it answers. Failures are not cached.
func (a *customAuthenticator) lookup(r *http.Request, ex *exchange, input authorizerInput, key cacheKey) (*authorizerVerdict, error) {
	now := a.now()
	if v := a.cache.get(key, now); v != nil {
		a.metrics.lookup("hit")
		return v, nil
	}
	call, leader := a.cache.join(key)
	if leader {
		a.metrics.lookup("miss")
		a.logLine(ex, slog.LevelInfo, codeCustomCacheMiss, "no cached authorizer result; calling the function",
			slog.String("functionId", a.functionID))
		// The call outlives a client that goes away: the others waiting
		// on it still want the answer; the registry's timeout bounds it.
		go func(ctx context.Context, input authorizerInput) {
			v, err := a.call(ctx, input)
			a.cache.finish(key, call, v, err)
		}(context.WithoutCancel(r.Context()), input)
	} else {
		a.metrics.lookup("shared")
	}
	select {
	case <-call.done:
	case <-r.Context().Done():
		return nil, &httpError{status: 499, code: "request.clientEof", reason: reasonClientClosed,
			detail: "the client went away while the authorizer function answered", cause: r.Context().Err(), level: slog.LevelInfo}
	}
	if call.err != nil {
		return nil, a.callError(ex, call.err)
	}
	if leader {
		a.logLine(ex, slog.LevelInfo, codeCustomInvoked, "the authorizer function answered",
			slog.String("functionId", a.functionID), slog.Bool("active", call.verdict.active))
	}
	return call.verdict, nil
}

// decide is lookup for a Decide call: the cache is neither read nor
// filled, and the function is called only when the gateway was given an
// invoker for the question (token verify --call-functions).
func (a *customAuthenticator) decide(r *http.Request, ex *exchange, input authorizerInput) (*authorizerVerdict, error) {
	d := ex.decision
	if !d.opts.CallFunctions || a.functions == nil {
		d.Unchecked = append(d.Unchecked, "CUSTOM_AUTHENTICATION: the authorizer function "+a.functionID+
			" decides whether the request is accepted, with which scopes and context; not called offline (give --call-functions)")
		return nil, &httpError{status: 0, code: codeCustomAuthFailed, reason: reasonAuthorizerOffline,
			detail: "the authorizer function " + a.functionID + " was not called", level: slog.LevelInfo}
	}
	v, err := a.call(r.Context(), input)
	if err != nil {
		return nil, a.callError(ex, err)
	}
	d.Authorizer = &AuthorizerAnswer{FunctionID: a.functionID, Active: v.active, Scopes: v.scopes,
		Context: v.context, Principal: v.principal, CachedFor: v.expires.Sub(a.now()).Round(time.Second)}
	return v, nil
}

// call invokes the function with input and reads its answer.
func (a *customAuthenticator) call(ctx context.Context, input authorizerInput) (*authorizerVerdict, error) {
	if a.functions == nil {
		return nil, errNoRegistry
	}
	body := input.json()
	start := time.Now()
	resp, err := a.functions.Invoke(ctx, a.functionID, &function.Request{ContentType: "application/json",
		Body: bytes.NewReader(body), ContentLength: int64(len(body))})
	a.metrics.duration(time.Since(start))
	if err != nil {
		a.metrics.invocation("failed")
		return nil, err
	}
	defer resp.Body.Close()
	if resp.Status != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, authorizerAnswerLimit))
		a.metrics.invocation("failed")
		return nil, &authorizerStatusError{status: resp.Status}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, authorizerAnswerLimit+1))
	if err != nil {
		a.metrics.invocation("failed")
		return nil, err
	}
	v, err := parseVerdict(data, a.now())
	if err != nil {
		a.metrics.invocation("unexpected")
		return nil, err
	}
	a.metrics.invocation("success")
	return v, nil
}

// errNoRegistry is a call by a gateway built without a function registry.
var errNoRegistry = errors.New("keygate was started without a function registry")

// authorizerStatusError is an answer with a status other than 200.
type authorizerStatusError struct{ status int }

func (e *authorizerStatusError) Error() string {
	return "the authorizer function answered status " + strconv.Itoa(e.status)
}

// callError is the 502 of a call that gave no verdict (OPEN: a failure, a
// timeout, a 4xx or 5xx, garbage): the client learns nothing of why, the
// log says it.
func (a *customAuthenticator) callError(ex *exchange, err error) *httpError {
	e := &httpError{status: http.StatusBadGateway, code: codeCustomInvocationFailed, reason: reasonAuthorizerFailed,
		detail: "the authorizer function gave no verdict: " + err.Error(), cause: err, level: slog.LevelError,
		attrs: []slog.Attr{slog.String("functionId", a.functionID)}}
	var se *authorizerStatusError
	switch {
	case errors.Is(err, function.ErrTimeout):
		e.reason = reasonAuthorizerTimeout
	case errors.Is(err, errAuthorizerUnexpected):
		e.code, e.reason = codeCustomUnexpected, reasonAuthorizerUnexpected
	case errors.As(err, &se):
		e.attrs = append(e.attrs, slog.Int("functionStatus", se.status))
		if se.status < 400 {
			e.code, e.reason = codeCustomUnexpected, reasonAuthorizerUnexpected
		}
	}
	return e
}

// parseVerdict reads a 200 answer received at now. active must be a
// boolean when present (default false); scope a JSON array of strings or
// a space-separated string; context an object; wwwAuthenticate,
// principal and clientId strings; expiresAt an ISO-8601 time (anything
// else in it only shortens the cache to the minimum).
func parseVerdict(data []byte, now time.Time) (*authorizerVerdict, error) {
	if len(data) > authorizerAnswerLimit {
		return nil, fmt.Errorf("%w: the answer exceeds 1 MiB", errAuthorizerUnexpected)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var answer map[string]any
	if err := dec.Decode(&answer); err != nil || answer == nil {
		return nil, fmt.Errorf("%w: the answer is not a JSON object", errAuthorizerUnexpected)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: the answer holds more than one JSON value", errAuthorizerUnexpected)
	}
	v := &authorizerVerdict{expires: now.Add(authorizerMinTTL)}
	bad := func(field, want string) error {
		return fmt.Errorf("%w: %s is not %s", errAuthorizerUnexpected, field, want)
	}
	switch x := answer["active"].(type) {
	case nil:
	case bool:
		v.active = x
	default:
		return nil, bad("active", "a boolean")
	}
	switch x := answer["scope"].(type) {
	case nil:
	case string:
		v.scopes = strings.Fields(x)
	case []any:
		for _, s := range x {
			str, ok := s.(string)
			if !ok {
				return nil, bad("scope", "an array of strings or a space-separated string")
			}
			if str != "" {
				v.scopes = append(v.scopes, str)
			}
		}
	default:
		return nil, bad("scope", "an array of strings or a space-separated string")
	}
	switch x := answer["context"].(type) {
	case nil:
	case map[string]any:
		v.context = token.Claims(x)
	default:
		return nil, bad("context", "an object")
	}
	for _, f := range []struct {
		name string
		to   *string
	}{{"wwwAuthenticate", &v.wwwAuthenticate}, {"principal", &v.principal}, {"clientId", nil}} {
		switch x := answer[f.name].(type) {
		case nil:
		case string:
			if f.to != nil {
				*f.to = x
			}
		default:
			return nil, bad(f.name, "a string")
		}
	}
	if !validHeaderValue(v.wwwAuthenticate) {
		v.wwwAuthenticate = "" // the gateway's own challenge instead of a broken header
	}
	if s, ok := answer["expiresAt"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			ttl := min(max(t.Sub(now), authorizerMinTTL), authorizerMaxTTL)
			v.expires = now.Add(ttl)
		}
	}
	return v, nil
}

// validHeaderValue reports whether s can go out as a header value: no
// control character but tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
