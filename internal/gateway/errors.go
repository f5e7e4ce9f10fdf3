package gateway

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
)

// OCI execution log codes, as OCI API Gateway writes them.
const (
	codeJWTAuthFailed    = "jwtAuthentication.authenticationFailed"
	codeTokenAuthFailed  = "tokenAuthentication.authenticationFailed"
	codeJWTKeysLoading   = "jwtAuthentication.loadingJsonWebKeySet"
	codeTokenKeysLoading = "tokenAuthentication.loadingJsonWebKeySet"
	codeUnauthorized     = "authorization.unauthorizedRequest"
	codeRouting          = "routing.failed"
	codeBackend          = "backend.failed"
)

// reason is keygate's stable code for why a request was refused, as logs,
// metrics and Decide report it (token.Reason names the token's own).
type reason string

const (
	reasonMissingToken    reason = "missing_token"
	reasonMultipleTokens  reason = "multiple_tokens"
	reasonMalformedCred   reason = "malformed_credential"
	reasonInsufficient    reason = "insufficient_scope"
	reasonBadPath         reason = "bad_path"
	reasonNoRoute         reason = "no_route"
	reasonMethod          reason = "method_not_allowed"
	reasonBackendDown     reason = "backend_unavailable"
	reasonBackendTimeout  reason = "backend_timeout"
	reasonBodyTooLarge    reason = "body_too_large"
	reasonKeysUnavailable reason = "keys_unavailable"
	reasonClientClosed    reason = "client_closed_request"
)

// httpError is a request that ends before (or instead of) the backend. It
// is an error that wraps its cause, and it carries everything the one error
// writer needs: what the client sees (a status, response headers, a generic
// body) and what the log gets (the reason and the detail). Only writeError
// turns it into a response.
type httpError struct {
	// status is the HTTP status sent to the client.
	status int
	// code is OCI's execution log code, e.g. jwtAuthentication.authenticationFailed.
	code string
	// reason is keygate's stable reason code, e.g. unknown_kid.
	reason reason
	// detail says what went wrong for the log; never a token or key.
	detail string
	// cause is the error behind the refusal, if any (Unwrap).
	cause error
	// header holds the response headers the refusal sets
	// (WWW-Authenticate, Allow, Retry-After, Location ...); nil for none.
	header http.Header
	// body, when set, is the whole body, sent as text (a failure policy's
	// responseMessage) instead of the JSON one.
	body string
	// transform changes the response's headers last (a failure policy's
	// responseHeaderTransformations); nil for none.
	transform func(http.Header)
	// message replaces the status text in the JSON body.
	message string
	// level is the execution log level of the line.
	level slog.Level
	// evenAnonymous: the refusal stands on ANONYMOUS routes too (no
	// dynamic authentication server matched).
	evenAnonymous bool
	// attrs are extra log attributes (kid, iss, sub).
	attrs []slog.Attr
}

func (e *httpError) Error() string { return string(e.reason) + ": " + e.detail }

// Unwrap returns the cause, so errors.Is and errors.As see through.
func (e *httpError) Unwrap() error { return e.cause }

// setHeader sets a response header of the refusal.
func (e *httpError) setHeader(name, value string) *httpError {
	if e.header == nil {
		e.header = make(http.Header, 1)
	}
	e.header.Set(name, value)
	return e
}

// writeError is the only place that writes an error response: status,
// headers, the generic JSON body, and the execution log line with the reason.
func (g *Gateway) writeError(w http.ResponseWriter, ex *exchange, e *httpError) {
	if ex.decision != nil {
		ex.decision.record(ex, e, false)
	} else {
		if stage := e.stage(); stage != "" {
			g.metrics.decision(ex, stage, "deny", string(e.reason))
		}
		g.activity.reject(ex, e)
	}
	h := w.Header()
	if ex.route == nil && ex.dep != nil && ex.dep.cors != nil && !ex.preflight {
		// A refusal before a route is known (404, 405, 400) answers with
		// the deployment's CORS headers; a route's own refusals get its
		// policy's through the writer its cors step wraps.
		ex.dep.cors.decorate(h, ex.origin)
	}
	for name, values := range e.header {
		h[name] = values // shared with the compiled error (authorization's challenge): never changed in place
	}
	var body []byte
	if e.body != "" {
		body = []byte(e.body)
		h.Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		message := e.message
		if message == "" {
			message = http.StatusText(e.status)
		}
		body = errorBody(e.status, message)
		h.Set("Content-Type", "application/json")
	}
	h.Set("Cache-Control", "no-store")
	if e.transform != nil {
		e.transform(h)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
	g.logRejection(ex, e)
}

// stage names the decision a rejection belongs to, for metrics: "" for
// routing and backend errors, which are not access decisions.
func (e *httpError) stage() string {
	switch e.code {
	case codeJWTAuthFailed, codeTokenAuthFailed, codeJWTKeysLoading, codeTokenKeysLoading:
		return "authentication"
	case codeUnauthorized:
		return "authorization"
	case codeMTLSInvalid, codeMTLSSanInvalid:
		return "mutual_tls"
	}
	return ""
}

// logRejection writes the execution log line of e, honouring the route's (or
// deployment's) executionLog settings.
func (g *Gateway) logRejection(ex *exchange, e *httpError) {
	if ex.decision != nil && e.level == slog.LevelWarn {
		ex.decision.record(ex, e, true)
	}
	if !ex.executionLogEnabled(e.level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8+len(e.attrs))
	attrs = append(attrs,
		slog.String("code", e.code),
		slog.String("reason", string(e.reason)),
		slog.String("opcRequestId", ex.requestID),
	)
	if e.status != 0 {
		attrs = append(attrs, slog.Int("status", e.status))
	}
	if ex.dep != nil {
		attrs = append(attrs, slog.String("deployment", ex.dep.prefix))
	}
	if ex.route != nil {
		attrs = append(attrs, slog.String("route", ex.route.path))
	}
	if sel := ex.selected; sel != nil {
		code := "dynamicAuthentication.authenticationServerMatched"
		if sel.byDefault {
			code = "dynamicAuthentication.defaultAuthenticationServerMatched"
		}
		attrs = append(attrs, slog.String("authenticationServer", sel.name), slog.String("selection", code))
	}
	attrs = append(attrs, e.attrs...)
	g.log.LogAttrs(ex.ctx, e.level, e.detail, attrs...)
}

// errorBody renders {"code": N, "message": "..."}.
func errorBody(status int, message string) []byte {
	quoted, _ := json.Marshal(message) // a string always marshals
	b := make([]byte, 0, 32+len(quoted))
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"message":`...)
	b = append(b, quoted...)
	return append(b, "}\n"...)
}
