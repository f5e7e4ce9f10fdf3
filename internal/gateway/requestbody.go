package gateway

import (
	"log/slog"
	"net/http"
)

// reasonBodyNotAllowed is the refusal of a request body on HEAD or TRACE.
const reasonBodyNotAllowed = "body_not_allowed"

// Request bodies on methods whose requests normally have none (attack R13,
// "CL.0" desync): a backend that ignores Content-Length on such a method
// reads the body as the next request on the connection, unauthenticated.
//
//   - HEAD and TRACE: refused with 400. A body has no meaning there (TRACE
//     must not have one, RFC 9110 §9.3.8) and HEAD is where servers most
//     often ignore it.
//   - POST, PUT, PATCH: forwarded on pooled connections, as always.
//   - Every other method (GET, DELETE, OPTIONS, ...): forwarded with its
//     body, which some APIs use (search queries on GET, DELETE with a
//     payload), but with Connection: close on a connection that is never
//     reused, so whatever the backend makes of the body cannot reach another
//     client; a server that gets "close" must not read further requests on
//     that connection (RFC 9112 §9.6).
func bodyRefused(r *http.Request) bool {
	return hasRequestBody(r) && (r.Method == http.MethodHead || r.Method == http.MethodTrace)
}

// bodyOnOwnConnection reports whether r carries a body that goes to the
// backend only on a connection of its own (see bodyRefused).
func bodyOnOwnConnection(r *http.Request) bool {
	if !hasRequestBody(r) {
		return false
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return false
	}
	return true
}

// hasRequestBody reports whether the client sent, or announced, a body:
// a Content-Length above 0, chunked framing, or an HTTP/2 stream left open
// after its headers.
func hasRequestBody(r *http.Request) bool {
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}

// bodyNotAllowed is the 400 of a request body on HEAD or TRACE.
func bodyNotAllowed() *httpError {
	return &httpError{status: http.StatusBadRequest, code: codeRouting, reason: reasonBodyNotAllowed,
		detail: "a HEAD or TRACE request may not carry a body", level: slog.LevelInfo}
}
