// Package function invokes the functions keygate's specs name by functionId
// (ORACLE_FUNCTIONS_BACKEND, CUSTOM_AUTHENTICATION) where keygate's config
// says they run: a plain HTTP endpoint (url:), or a function built with an Fn
// FDK listening on a unix socket (listener:), spoken to with the FDK's
// http-stream protocol as OCI Functions does, optionally started and
// supervised by keygate (command:).
package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Request is one invocation.
type Request struct {
	// HTTP true delivers an HTTP request through the function as OCI API
	// Gateway does for ORACLE_FUNCTIONS_BACKEND (Fn FDK: Fn-Intent:
	// httprequest, Fn-Http-Method, Fn-Http-Request-Url, Fn-Http-H-<Name>,
	// unprefixed Content-Type). false: Body is the function's input as such
	// (an authorizer's JSON), sent with ContentType.
	HTTP bool
	// Method is the client's method (HTTP only). Default "": GET.
	Method string
	// URL is the path and query as received (HTTP only). Default "": "/".
	URL string
	// Header holds the client's headers (HTTP only). Default nil: none.
	Header http.Header
	// ContentType is the body's media type. Default "": none sent.
	ContentType string
	// Body is the input. Default nil: empty.
	Body io.Reader
	// ContentLength is Body's length; -1 means unknown. Default 0: empty
	// (with a non-nil Body, 0 is taken as unknown).
	ContentLength int64
}

// Response is the function's answer (for HTTP requests: Fn-Http-Status and
// Fn-Http-H-* already decoded into Status and Header). The caller closes
// Body; the function's timeout goes on applying while Body is read.
type Response struct {
	// Status is the HTTP status the function chose (200 when it chose none).
	Status int
	// Header holds the response headers the function set, Content-Type
	// included.
	Header http.Header
	// Body is the function's output; never nil.
	Body io.ReadCloser
}

// Invoker calls functions by the functionId written in specs.
type Invoker interface {
	Invoke(ctx context.Context, id string, req *Request) (*Response, error)
}

var (
	// ErrUnknownFunction is returned for an id not in the registry.
	ErrUnknownFunction = errors.New("function is not in the registry")
	// ErrTimeout is returned when the function's timeout (or ctx's
	// deadline) passed before it answered.
	ErrTimeout = errors.New("function timed out")
	// ErrUnavailable is returned when the function could not be invoked:
	// connection refused, its process down, or an answer that does not
	// follow the protocol.
	ErrUnavailable = errors.New("function is unavailable")
	// ErrFailed is returned when the function was invoked and failed: the
	// FDK reported an error in the function's code (an uncaught exception)
	// instead of the function's response.
	ErrFailed = errors.New("function failed")
	// ErrBadResponse is the ErrUnavailable of an answer that does not
	// follow the protocol (an Fn-Http-Status that is not a status).
	ErrBadResponse = fmt.Errorf("%w: its answer does not follow the Fn protocol", ErrUnavailable)
)
