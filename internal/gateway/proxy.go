package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxRequestBody bounds what a client may send through to a backend (OCI's
// payload limit is 20 MB).
const maxRequestBody = 20 << 20

// transportKey identifies the settings an upstream transport depends on, so
// routes with the same settings share connections.
type transportKey struct {
	connect, read, send time.Duration
	insecure            bool
}

// newTransport returns the http.Transport behind syncTransport (requests
// with bodies, https, upgrades) with the spec's timeouts:
// connect bounds the dial and TLS handshake, send bounds each write to the
// backend, read bounds the wait for the response headers. Its HTTP/1.1
// connections are guardedConns (a backend that writes past a response never
// gets its connection back in the pool), so it makes the TLS connections
// itself.
func newTransport(k transportKey) *guardedTransport {
	dialer := &net.Dialer{Timeout: k.connect, KeepAlive: 30 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tcp, _ := c.(*net.TCPConn)
		return &guardedConn{Conn: c, send: k.send, tcp: tcp}, nil
	}
	tlsConfig := &tls.Config{}
	if k.insecure {
		tlsConfig.InsecureSkipVerify = true //nolint:gosec // isSslVerifyDisabled, set by the operator
	}
	gt := &guardedTransport{}
	gt.Transport = &http.Transport{
		Proxy:                  nil, // a gateway talks to its backends directly
		DialContext:            dial,
		DialTLSContext:         dialTLSGuarded(dialer, tlsConfig, k.connect, k.send, &gt.http2Hosts),
		ResponseHeaderTimeout:  k.read,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeader,
		ForceAttemptHTTP2:      true,
		// The client's Accept-Encoding (or none) goes to the backend as it
		// is: http.Transport would otherwise ask for gzip on its own and
		// decompress the answer, dropping its length (the inline path adds
		// nothing; TestUpstreamPathsAgree).
		DisableCompression: true,
	}
	return gt
}

// sendDeadlineConn gives every write to the backend its own deadline, the
// meaning of OCI's sendTimeoutInSeconds (time between two writes).
type sendDeadlineConn struct {
	net.Conn
	send time.Duration
}

func (c *sendDeadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.send)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// bufferPool lends the proxy its copy buffers, so a response body copy does
// not allocate 32 KiB per request.
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (p *bufferPool) Get() []byte  { return *(p.pool.Get().(*[]byte)) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// httpBackend forwards to an HTTP_BACKEND through httputil.ReverseProxy.
type httpBackend struct {
	target *url.URL      // scheme, host and query of the backend url
	path   *pathTemplate // the url's escaped path, with context variables
	// tokenQueryParam is removed from the forwarded query (RFC 6750 §5.3).
	tokenQueryParam string
	// keepAlive false closes the upstream connection after every response
	// (keygate config backends[].keepAlive). Default true.
	keepAlive bool
	// http2 tells whether an https target speaks HTTP/2 (nil for http, and
	// for a host computed per request).
	http2 func() bool
	// host computes the target's host per request when the url's host
	// holds context variables; nil for a literal host.
	host  *hostTemplate
	g     *Gateway
	proxy *httputil.ReverseProxy
	// duration observes the backend's latency; nil without metrics.
	duration prometheus.Observer
}

// newHTTPBackend builds the proxy for one route. Rewrite (not Director) runs
// after hop-by-hop headers are gone, so the gateway's own headers survive a
// hostile Connection header (golang/go#50580).
func (g *Gateway) newHTTPBackend(target *url.URL, path *pathTemplate, tokenQueryParam string, transport http.RoundTripper) *httpBackend {
	b := &httpBackend{target: target, path: path, tokenQueryParam: tokenQueryParam, keepAlive: true, g: g}
	b.proxy = &httputil.ReverseProxy{
		Rewrite:        b.rewrite,
		ModifyResponse: keepRequestID,
		Transport:      transport,
		BufferPool:     g.buffers,
		ErrorHandler:   g.backendError,
		ErrorLog:       slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	return b
}

func (b *httpBackend) rewrite(pr *httputil.ProxyRequest) {
	ex := exchangeFrom(pr.In)
	out := pr.Out.URL
	out.Scheme = b.target.Scheme
	out.Host = b.target.Host
	if ex.backendHost != "" {
		out.Host = ex.backendHost
	}
	escaped := b.path.expand(pr.In, ex)
	if escaped == "" {
		escaped = "/"
	}
	out.RawPath = escaped
	if p, err := url.PathUnescape(escaped); err == nil {
		out.Path = p
	}
	out.RawQuery = b.query(pr.In)
	pr.Out.Host = ""
	if ex.trustedChain {
		// ReverseProxy cleared it for Rewrite; SetXForwarded appends the
		// peer to what is there.
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
	}
	pr.SetXForwarded()
	pr.Out.Header[requestIDKey] = ex.requestIDValues[1:2:2]
	// Connection: close, and the connection never pooled, after exchanges
	// that could leave bytes on it for the next client: a request body a
	// backend may ignore (R13), a HEAD response a backend may give a body
	// (R14), or a backend configured as misbehaving. HTTP/2 frames every
	// request and response, so it needs none of that but the last.
	pr.Out.Close = !b.keepAlive ||
		(pr.In.Method == http.MethodHead || bodyOnOwnConnection(pr.In)) && (b.http2 == nil || !b.http2())
	if ex.credentialHeader != "" {
		// A client's Connection header may have named it (attack R12).
		pr.Out.Header[ex.credentialHeader] = ex.credential
	}
}

// forwarded is the request b would send for r, as ReverseProxy would make
// it: hop-by-hop headers removed, then rewrite (for Decide: nothing is sent).
func (b *httpBackend) forwarded(r *http.Request) *Forwarded {
	out := r.Clone(r.Context())
	for _, v := range out.Header["Connection"] {
		for _, name := range strings.Split(v, ",") {
			out.Header.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		out.Header.Del(name)
	}
	b.rewrite(&httputil.ProxyRequest{In: r, Out: out})
	return &Forwarded{Method: out.Method, URL: out.URL.String(), Header: out.Header}
}

// keepRequestID makes the gateway's opc-request-id the one the client gets:
// a backend's own is dropped (it would be added beside the gateway's), and
// the gateway's is set again when ReverseProxy cleared the response headers
// after forwarding a 1xx.
//
// It also keeps a response without a Content-Type without one: net/http
// would otherwise sniff one from the first body bytes, or not, depending on
// whether ReverseProxy's immediate flush of a streamed response (no
// Content-Length) runs before its first write, a race whose outcome
// differed between the two upstream paths (TestUpstreamPathsAgree). A
// proxy passes on the backend's headers; it does not guess new ones.
func keepRequestID(resp *http.Response) error {
	delete(resp.Header, requestIDKey)
	ex := exchangeFrom(resp.Request)
	if ex == nil {
		return nil
	}
	if firstValue(ex.header[requestIDKey]) == "" {
		ex.header[requestIDKey] = []string{ex.requestID}
	}
	if _, typed := resp.Header["Content-Type"]; !typed && resp.StatusCode >= 200 {
		ex.header["Content-Type"] = nil // present but empty: net/http does not sniff
	}
	return nil
}

// firstValue is what http.Header.Get gives for a key's values.
func firstValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// query joins the backend url's query and the client's, without the token.
func (b *httpBackend) query(in *http.Request) string {
	q := in.URL.RawQuery
	if b.tokenQueryParam != "" && q != "" {
		q = withoutQueryParam(q, b.tokenQueryParam)
	}
	switch {
	case b.target.RawQuery == "":
		return q
	case q == "":
		return b.target.RawQuery
	}
	return b.target.RawQuery + "&" + q
}

// withoutQueryParam drops every name=value pair of raw whose unescaped name
// is name, and keeps the others byte for byte and in order (re-encoding
// through url.Values would sort them and drop any the parser refuses).
func withoutQueryParam(raw, name string) string {
	var kept strings.Builder
	first := true
	for pair := range strings.SplitSeq(raw, "&") {
		if isQueryParam(pair, name) {
			continue
		}
		if strings.IndexByte(pair, ';') >= 0 {
			// Backends that also split on ';' (Python before 3.9.2,
			// CVE-2021-23336; some Java and PHP stacks) would read the
			// parameter in "x=1;name=v", which Go's parser skips: such
			// a segment goes too (attack R22).
			pair = withoutSemicolonParam(pair, name)
			if pair == "" {
				continue
			}
		}
		if !first {
			kept.WriteByte('&')
		}
		first = false
		kept.WriteString(pair)
	}
	return kept.String()
}

// isQueryParam reports whether the name=value pair names name (unescaped).
func isQueryParam(pair, name string) bool {
	key, _, _ := strings.Cut(pair, "=")
	k, err := url.QueryUnescape(key)
	return err == nil && k == name
}

// withoutSemicolonParam drops the ';'-separated segments of pair that name
// name; pair comes back unchanged when none does.
func withoutSemicolonParam(pair, name string) string {
	var kept []string
	dropped := false
	for seg := range strings.SplitSeq(pair, ";") {
		if isQueryParam(seg, name) {
			dropped = true
			continue
		}
		kept = append(kept, seg)
	}
	if !dropped {
		return pair
	}
	return strings.Join(kept, ";")
}

func (b *httpBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.host != nil {
		ex := exchangeFrom(r)
		host, ok := b.host.expand(r, ex)
		if !ok {
			b.g.writeError(w, ex, &httpError{status: http.StatusNotFound, code: codeURLInvalid, reason: reasonURLInvalid,
				detail: "a context variable of the backend url's host is not a DNS name (letters, digits, '-', '.')", level: slog.LevelInfo})
			return
		}
		ex.backendHost = host
	}
	if r.ContentLength > maxRequestBody {
		// Announced too large: refuse before the backend sees a byte.
		b.proxy.ErrorHandler(w, r, &http.MaxBytesError{Limit: maxRequestBody})
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	}
	if b.duration == nil {
		b.proxy.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	b.proxy.ServeHTTP(w, r)
	b.duration.Observe(time.Since(start).Seconds())
}

// backendError is the ReverseProxy ErrorHandler: a backend that cannot be
// reached is 502, one that does not answer in time 504.
func (g *Gateway) backendError(w http.ResponseWriter, r *http.Request, err error) {
	ex := exchangeFrom(r)
	e := &httpError{status: http.StatusBadGateway, code: codeBackend, reason: reasonBackendDown,
		detail: "backend request failed: " + redactURL(err.Error()), cause: err, level: slog.LevelError}
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		e.status, e.reason, e.level = http.StatusRequestEntityTooLarge, reasonBodyTooLarge, slog.LevelInfo
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		e.status, e.reason = http.StatusGatewayTimeout, reasonBackendTimeout
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this response.
		e.status, e.reason, e.level = 499, reasonClientClosed, slog.LevelInfo
	}
	g.writeError(w, ex, e)
}

// redactURL drops the query string from a url.Error message: the forwarded
// query may hold values a log must not keep.
func redactURL(msg string) string {
	if i := strings.IndexByte(msg, '?'); i >= 0 {
		if j := strings.IndexAny(msg[i:], "\": "); j >= 0 {
			return msg[:i] + msg[i+j:]
		}
		return msg[:i]
	}
	return msg
}
