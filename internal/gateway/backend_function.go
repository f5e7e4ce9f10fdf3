package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/function"
)

// maxFunctionBody bounds a request body sent to a function: OCI's limit for
// function backends is 6 MB (20 MB elsewhere).
const maxFunctionBody = 6 << 20

// OCI execution log codes of function backends.
const (
	codeFunctionSuccess     = "functionBackend.successfulRequest"
	codeFunctionTimeout     = "functionBackend.timeout"
	codeFunctionBadGateway  = "functionBackend.badGateway"
	codeFunctionBadResponse = "functionBackend.badResponse"
	codeFunctionUnavailable = "functionBackend.serviceUnavailable"
	codeFunctionNotFound    = "functionBackend.notFoundOrNotAuthorized"
	codeBodyTooLarge        = "request.bodyTooLarge"
	reasonFunctionFailed    = "function_failed"
)

// functionBackend delivers a route's requests to an ORACLE_FUNCTIONS_BACKEND
// function as OCI does (function.Request HTTP), and its answer to the
// client.
type functionBackend struct {
	id        string
	functions function.Invoker // nil where nothing may be invoked (validate)
	// tokenQueryParam is removed from the delivered query, as for
	// HTTP_BACKEND (RFC 6750 §5.3).
	tokenQueryParam string
	g               *Gateway
	// duration observes the invocation's latency; nil without metrics.
	duration prometheus.Observer
}

func (b *functionBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := exchangeFrom(r)
	if r.ContentLength > maxFunctionBody {
		b.g.writeError(w, ex, bodyTooLarge())
		return
	}
	if b.functions == nil {
		b.fail(w, ex, function.ErrUnknownFunction)
		return
	}
	var body *limitedBody
	req := b.request(r, ex)
	if hasRequestBody(r) {
		body = &limitedBody{r: r.Body, left: maxFunctionBody}
		req.Body, req.ContentLength = body, r.ContentLength
	}
	start := time.Now()
	resp, err := b.functions.Invoke(r.Context(), b.id, req)
	if err != nil {
		if body != nil && body.exceeded {
			b.g.writeError(w, ex, bodyTooLarge())
			return
		}
		b.fail(w, ex, err)
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	for name, values := range resp.Header {
		if http.CanonicalHeaderKey(name) == http.CanonicalHeaderKey(requestIDHeader) {
			continue // the gateway's own is the one the client gets
		}
		h[name] = values
	}
	w.WriteHeader(resp.Status)
	err = b.copyBody(w, resp.Body)
	if b.duration != nil {
		b.duration.Observe(time.Since(start).Seconds())
	}
	if err != nil && r.Context().Err() == nil {
		// The status is sent: the client can only learn of the failure
		// by the connection ending early, as with an HTTP_BACKEND.
		b.logStreamFailure(ex, err)
		panic(http.ErrAbortHandler)
	}
	b.g.metrics.functionCall(b.id, codeFunctionSuccess)
}

// copyBody streams the function's body to the client, flushing whenever
// the function pauses (a read that did not fill the buffer), so a
// streamed answer reaches the client as it is written. A write error (the
// client gone) ends the copy without being the function's failure.
func (b *functionBackend) copyBody(w http.ResponseWriter, body io.Reader) error {
	buf := b.g.buffers.Get()
	defer b.g.buffers.Put(buf)
	rc := http.NewResponseController(w)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil
			}
			if n < len(buf) {
				_ = rc.Flush()
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// request is what the function receives for r: the method, the path as
// received with the (transformed) query, and the headers an HTTP_BACKEND
// would get (hop-by-hop ones removed, X-Forwarded-*, opc-request-id).
func (b *functionBackend) request(r *http.Request, ex *exchange) *function.Request {
	out := forwardedHeaders(r, ex)
	if r.Host != "" {
		out.Set("Host", r.Host)
	}
	target := ex.escapedPath
	if target == "" {
		target = r.URL.EscapedPath()
	}
	q := r.URL.RawQuery
	if b.tokenQueryParam != "" && q != "" {
		q = withoutQueryParam(q, b.tokenQueryParam)
	}
	if q != "" {
		target += "?" + q
	}
	return &function.Request{HTTP: true, Method: r.Method, URL: target, Header: out,
		ContentType: r.Header.Get("Content-Type")}
}

// forwardedHeaders are r's headers as ReverseProxy would forward them to
// an HTTP_BACKEND: the ones Connection names and the hop-by-hop ones
// removed, the verified credential set again, X-Forwarded-* and the
// gateway's request id added.
func forwardedHeaders(r *http.Request, ex *exchange) http.Header {
	// Only the headers are needed: a request holding a copy of them is
	// all SetXForwarded reads and writes, cheaper than cloning r.
	out := &http.Request{Header: r.Header.Clone()}
	for _, v := range out.Header["Connection"] {
		for _, name := range strings.Split(v, ",") {
			out.Header.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length"} {
		out.Header.Del(name)
	}
	pr := &httputil.ProxyRequest{In: r, Out: out}
	out.Header.Del("X-Forwarded-For")
	if ex.trustedChain {
		out.Header["X-Forwarded-For"] = r.Header["X-Forwarded-For"]
	}
	pr.SetXForwarded()
	out.Header.Set(requestIDHeader, ex.requestID)
	if ex.credentialHeader != "" {
		out.Header[ex.credentialHeader] = ex.credential
	}
	return out.Header
}

// fail answers a failed invocation: 504 for a timeout, 499 (logged only)
// when the client went away, 502 for everything else.
func (b *functionBackend) fail(w http.ResponseWriter, ex *exchange, err error) {
	e := &httpError{status: http.StatusBadGateway, code: codeFunctionUnavailable, reason: reasonBackendDown,
		detail: "function invocation failed: " + err.Error(), cause: err, level: slog.LevelError,
		attrs: []slog.Attr{slog.String("functionId", b.id)}}
	switch {
	case errors.Is(err, context.Canceled):
		e.status, e.reason, e.level, e.code = 499, reasonClientClosed, slog.LevelInfo, codeBackend
	case errors.Is(err, function.ErrTimeout):
		e.status, e.reason, e.code = http.StatusGatewayTimeout, reasonBackendTimeout, codeFunctionTimeout
	case errors.Is(err, function.ErrFailed):
		e.reason, e.code = reasonFunctionFailed, codeFunctionBadGateway
	case errors.Is(err, function.ErrBadResponse):
		e.code = codeFunctionBadResponse
	case errors.Is(err, function.ErrUnknownFunction):
		e.code = codeFunctionNotFound
	}
	b.g.metrics.functionCall(b.id, e.code)
	b.g.writeError(w, ex, e)
}

// logStreamFailure logs a function answer cut off after its status.
func (b *functionBackend) logStreamFailure(ex *exchange, err error) {
	code := codeFunctionBadResponse
	if errors.Is(err, function.ErrTimeout) {
		code = codeFunctionTimeout
	}
	b.g.metrics.functionCall(b.id, code)
	if ex.executionLogEnabled(slog.LevelError) {
		b.g.log.LogAttrs(ex.ctx, slog.LevelError, "function response cut off: "+err.Error(),
			slog.String("code", code), slog.String("opcRequestId", ex.requestID), slog.String("functionId", b.id))
	}
}

// bodyTooLarge is the 413 of a request body over the function limit,
// announced or found while it was sent.
func bodyTooLarge() *httpError {
	return &httpError{status: http.StatusRequestEntityTooLarge, code: codeBodyTooLarge, reason: reasonBodyTooLarge,
		detail: "the request body is over the 6 MB a function accepts", level: slog.LevelInfo}
}

// limitedBody passes at most left bytes of a request body, failing the
// read that would pass more and remembering it.
type limitedBody struct {
	r        io.Reader
	left     int64
	exceeded bool
}

var errFunctionBodyTooLarge = errors.New("request body over the function limit")

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body of exactly the limit from a larger one.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			l.exceeded = true
			return 0, errFunctionBodyTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// describeBackend records on d what backend r would reach, never calling it.
func describeBackend(d *Decision, backend http.Handler, r *http.Request) {
	switch b := backend.(type) {
	case *httpBackend:
		d.Forward = b.forwarded(r)
		d.Backend = "HTTP_BACKEND " + d.Forward.URL
	case *functionBackend:
		d.Function = b.id
		d.Backend = "ORACLE_FUNCTIONS_BACKEND " + b.id
		req := b.request(r, exchangeFrom(r))
		d.Forward = &Forwarded{Method: req.Method, URL: req.URL, Header: req.Header}
	case *stockBackend:
		d.Backend = "STOCK_RESPONSE_BACKEND " + strconv.Itoa(b.status)
	case *dynamicBackend:
		b.describe(d, r)
	}
}

// functionBackend compiles an ORACLE_FUNCTIONS_BACKEND; its functionId was
// checked against the registry with the configuration.
func (c *compiler) functionBackend(b *config.Backend, dep *deployment, rm *routeMetrics) *functionBackend {
	fb := &functionBackend{id: b.FunctionID, functions: c.functions, g: c.g}
	if dep.auth != nil {
		fb.tokenQueryParam = dep.auth.credentialQueryParam()
	}
	if rm != nil {
		fb.duration = rm.backendDuration
	}
	return fb
}
