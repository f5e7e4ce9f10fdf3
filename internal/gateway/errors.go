package gateway

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
)

// OCI execution log codes, as OCI API Gateway writes them.
const (
	codeJWTAuthFailed     = "jwtAuthentication.authenticationFailed"
	codeTokenAuthFailed   = "tokenAuthentication.authenticationFailed"
	codeJWTKeysLoading    = "jwtAuthentication.loadingJsonWebKeySet"
	codeTokenKeysLoading  = "tokenAuthentication.loadingJsonWebKeySet"
	codeUnauthorized      = "authorization.unauthorizedRequest"
	codeRouting           = "routing.failed"
	codeBackend           = "backend.failed"
	reasonMissingToken    = "missing_token"
	reasonInsufficient    = "insufficient_scope"
	reasonBadPath         = "bad_path"
	reasonNoRoute         = "no_route"
	reasonMethod          = "method_not_allowed"
	reasonBackendDown     = "backend_unavailable"
	reasonBackendTimeout  = "backend_timeout"
	reasonBodyTooLarge    = "body_too_large"
	reasonKeysUnavailable = "keys_unavailable"
)

// httpError is a request that ends before (or instead of) the backend. It
// carries everything the one error writer needs: what the client sees (a
// status, a challenge, a generic body) and what the log gets (the reason and
// the detail). Only writeError turns it into a response.
type httpError struct {
	// status is the HTTP status sent to the client.
	status int
	// code is OCI's execution log code, e.g. jwtAuthentication.authenticationFailed.
	code string
	// reason is keygate's stable reason code, e.g. unknown_kid.
	reason string
	// detail says what went wrong for the log; never a token or key.
	detail string
	// challenge is the WWW-Authenticate value; empty for none.
	challenge string
	// allow is the Allow header of a 405.
	allow string
	// message replaces the status text in the body (validationFailurePolicy).
	message string
	// level is the execution log level of the line.
	level slog.Level
	// attrs are extra log attributes (kid, iss, sub).
	attrs []slog.Attr
}

// writeError is the only place that writes an error response: status,
// headers, the generic JSON body, and the execution log line with the reason.
func (g *Gateway) writeError(w http.ResponseWriter, ex *exchange, e *httpError) {
	if ex.decision != nil {
		ex.decision.record(ex, e, false)
	} else if stage := e.stage(); stage != "" {
		g.metrics.decision(ex, stage, "deny", e.reason)
	}
	h := w.Header()
	if e.challenge != "" {
		h.Set("WWW-Authenticate", e.challenge)
	}
	if e.allow != "" {
		h.Set("Allow", e.allow)
	}
	message := e.message
	if message == "" {
		message = http.StatusText(e.status)
	}
	body := errorBody(e.status, message)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
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
		slog.String("reason", e.reason),
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
