package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"syscall"
	"time"
)

// maxResponseHeader bounds the head of a backend's response; both upstream
// paths use it, so a backend cannot make the gateway buffer without limit.
const maxResponseHeader = 1 << 20

// max1xxResponses bounds the informational responses read before the final
// one when nobody receives them; those ReverseProxy forwards are not counted
// (nor held against the header limit), as http.Transport does.
const max1xxResponses = 5

var (
	errResponseHeaderTooLarge = errors.New("backend response header exceeds 1 MiB")
	errUnexpectedUpgrade      = errors.New("backend switched protocols without being asked to")
	errTooMany1xx             = errors.New("backend sent too many 1xx responses")
	errBadStatus              = errors.New("backend sent a status code under 100")
)

// syncTransport is the upstream RoundTripper. The common proxied request, an
// http:// backend, no request body and no protocol upgrade, is written and
// its response head read on
// the calling goroutine over a pooled HTTP/1.1 connection, with the
// standard library's own request writer and response parser. http.Transport
// hands every exchange to two goroutines per connection (writeLoop,
// readLoop) and back through channels; measured under wrk on 2 cores,
// doing the exchange inline took 15-30% off the CPU a proxied GET costs.
// Everything else (bodies, which http.Transport streams while it reads the
// response; https and HTTP/2; upgrades) goes to the http.Transport it
// wraps. A request is sent again on a new connection only when its method
// is replayable (as http.Transport decides).
type syncTransport struct {
	fallback       *guardedTransport
	dialer         *net.Dialer
	read, send     time.Duration // response-head and per-write timeouts
	maxIdlePerHost int
	idleTimeout    time.Duration
	now            func() time.Time
	// inlineOff sends everything to fallback (Options.DisableInlineUpstream).
	inlineOff bool

	// drainers holds a slot per abandoned exchange being drained (handOff).
	drainers chan struct{}

	mu     sync.Mutex
	idle   map[string][]*upstreamConn // by host:port, most recently used last
	reaper *time.Timer                // closes connections idle too long; nil when none are idle
}

func newSyncTransport(k transportKey, fallback *guardedTransport) *syncTransport {
	return &syncTransport{
		fallback:       fallback,
		dialer:         &net.Dialer{Timeout: k.connect, KeepAlive: 30 * time.Second},
		read:           k.read,
		send:           k.send,
		maxIdlePerHost: fallback.MaxIdleConnsPerHost,
		idleTimeout:    fallback.IdleConnTimeout,
		now:            time.Now,
		idle:           map[string][]*upstreamConn{},
		drainers:       make(chan struct{}, maxDrainers),
	}
}

// upstreamConn is one pooled connection to a backend. It is the io.Reader
// behind br, so the response head can be bounded by headBudget.
type upstreamConn struct {
	conn       net.Conn
	raw        syscall.RawConn // for the idle check; nil if conn has none
	addr       string
	br         *bufio.Reader
	bw         *bufio.Writer
	headBudget int64 // bytes the reader may still take from conn
	idleSince  time.Time
	// written and started record how far the current exchange got: the
	// request is on the wire, a response byte has arrived.
	written, started bool

	// mu guards the exchange's phase against its context watcher.
	mu     sync.Mutex
	inBody bool   // the response head was read; a cancellation closes
	gen    uint64 // the exchange a watcher belongs to; bumped on hand-off
}

// interrupt is the context watcher of exchange gen: waiting for the head,
// it stops the wait with a past deadline and leaves the connection open
// (the exchange may hand it to a drainer); in the body, it aborts the
// connection, which also frees one whose body nobody closes.
func (uc *upstreamConn) interrupt(gen uint64) {
	uc.mu.Lock()
	defer uc.mu.Unlock()
	switch {
	case uc.gen != gen:
	case uc.inBody:
		abortConn(uc.conn)
	default:
		_ = uc.conn.SetDeadline(aLongTimeAgo)
	}
}

// aLongTimeAgo is a deadline in the past: it wakes a blocked read or write.
var aLongTimeAgo = time.Unix(1, 0)

// abortConn closes a connection with a reset instead of a FIN, so that the
// gateway keeps no TIME_WAIT socket for it: under a flood of cancelled
// requests (HTTP/2 rapid reset), or of responses after which a connection
// is not reused (204, 304), ports would run out otherwise. It is for
// connections nobody waits on any more: an abandoned exchange, a finished
// one that is not reused, an idle one the pool cannot keep.
func abortConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (c *upstreamConn) Read(p []byte) (int, error) {
	if c.headBudget <= 0 {
		return 0, errResponseHeaderTooLarge
	}
	if int64(len(p)) > c.headBudget {
		p = p[:c.headBudget]
	}
	n, err := c.conn.Read(p)
	c.headBudget -= int64(n)
	return n, err
}

// RoundTrip implements http.RoundTripper.
func (t *syncTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.inlineOff || !handledInline(req) {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	addr := canonicalAddr(req)
	uc, reused := t.getIdle(addr)
	for {
		if uc == nil {
			var err error
			if uc, err = t.dialFor(ctx, addr); err != nil {
				return nil, err
			}
		}
		resp, err := t.exchange(ctx, req, uc)
		if err == nil {
			return resp, nil
		}
		if errors.Is(err, errHandedOff) {
			return nil, ctx.Err()
		}
		if ctx.Err() != nil {
			abortConn(uc.conn)
			return nil, ctx.Err()
		}
		_ = uc.conn.Close()
		// A pooled connection the backend closed while it was idle fails
		// before a byte of the response arrives. A request without a body
		// and with a replayable method is then sent once more on a new
		// connection, as http.Transport does; a POST is not (the backend may
		// have acted on it before closing).
		var retry *retryableError
		canRetry := errors.As(err, &retry)
		if !reused || !canRetry || !replayable(req) {
			if canRetry {
				err = retry.err
			}
			return nil, err
		}
		uc, reused = nil, false
	}
}

// handledInline reports whether req takes the inline path (see
// syncTransport).
func handledInline(req *http.Request) bool {
	return req.URL.Scheme == "http" && (req.Body == nil || req.Body == http.NoBody) &&
		req.Header.Get("Upgrade") == "" && req.Method != http.MethodConnect
}

// replayable reports whether req, which has no body, may be sent again
// after a failure before any response byte: its method is safe, or the
// client said it is idempotent (the rule of http.Transport).
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// canonicalAddr is the URL's host:port, with the scheme's default port.
func canonicalAddr(req *http.Request) string {
	if req.URL.Port() != "" {
		return req.URL.Host
	}
	return net.JoinHostPort(req.URL.Hostname(), "80")
}

// retryableError marks a failure on which no response byte arrived.
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// retryable marks err as a failure to retry on a new connection, unless it
// is a timeout: a backend that is merely slow must not get the request twice.
func retryable(err error) error {
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return err
	}
	return &retryableError{err}
}

// exchange sends req on uc and reads the response head. On success the
// response body owns uc: it returns it to the pool once read to the end, or
// closes it. A client that goes away while the backend is still working on
// the request leaves the connection to a drainer (errHandedOff).
func (t *syncTransport) exchange(ctx context.Context, req *http.Request, uc *upstreamConn) (*http.Response, error) {
	now := t.now()
	headDeadline := now.Add(t.read)
	if err := uc.conn.SetWriteDeadline(now.Add(t.send)); err != nil {
		return nil, retryable(err)
	}
	if err := uc.conn.SetReadDeadline(headDeadline); err != nil {
		return nil, retryable(err)
	}
	uc.written, uc.started, uc.inBody = false, false, false
	// A client that goes away interrupts the exchange and the body copy.
	stop := func() bool { return true }
	if ctx.Done() != nil {
		gen := uc.gen
		stop = context.AfterFunc(ctx, func() { uc.interrupt(gen) })
	}
	resp, err := t.readHead(req, uc, true)
	if err == nil {
		uc.mu.Lock()
		uc.inBody = true
		uc.mu.Unlock()
		// http.Transport's read timeout covers the head only; the body is
		// bounded by the client staying connected.
		// (The caller closes the connection on error: closing the body
		// here would drain it.)
		err = uc.conn.SetReadDeadline(time.Time{})
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		if !stop() && uc.written && !uc.started {
			// Cancelled while the backend works on the request: its answer
			// will come, and reading it keeps the connection (closing it
			// would open a new one for every cancelled request).
			t.handOff(req, uc, headDeadline)
			return nil, errHandedOff
		}
		return nil, err
	}
	uc.headBudget = math.MaxInt64
	// A 204 or 304 has no body, whatever a backend writes after its head:
	// those bytes must not become the next client's response (R14).
	resp.Body = &upstreamBody{t: t, uc: uc, body: resp.Body, stop: stop, reusable: reusableAfter(req, resp)}
	return resp, nil
}

// reusableAfter reports whether the connection of req's exchange may carry
// another request once resp's body is read: not when either side asked to
// close, and not after a 204 or 304, whose bytes after the head (a backend
// sending a body anyway) would be the next client's response (R14). HEAD
// requests are sent with Connection: close (httpBackend.rewrite).
func reusableAfter(req *http.Request, resp *http.Response) bool {
	return !resp.Close && !req.Close && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
}

// readHead writes req on uc and reads the final response head.
// With forward1xx, informational responses go to the request's
// httptrace hook (ReverseProxy forwards them to the client).
func (t *syncTransport) readHead(req *http.Request, uc *upstreamConn, forward1xx bool) (*http.Response, error) {
	err := req.Write(uc.bw)
	if err == nil {
		err = uc.bw.Flush()
	}
	if err != nil {
		return nil, retryable(err)
	}
	uc.written = true
	return t.readFinalHead(req, uc, forward1xx)
}

// readFinalHead reads the response to req, which is on the wire, up to the
// head of its final response.
func (t *syncTransport) readFinalHead(req *http.Request, uc *upstreamConn, forward1xx bool) (*http.Response, error) {
	uc.headBudget = maxResponseHeader
	if _, err := uc.br.Peek(1); err != nil {
		return nil, retryable(err)
	}
	uc.started = true
	for n1xx := 0; ; {
		resp, err := http.ReadResponse(uc.br, req)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode < 100:
			return nil, errBadStatus
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, errUnexpectedUpgrade
		case resp.StatusCode >= 200:
			return resp, nil
		}
		// ReverseProxy forwards informational responses through this hook.
		if trace := httptrace.ContextClientTrace(req.Context()); forward1xx && trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
				return nil, err
			}
			uc.headBudget = maxResponseHeader
			continue
		}
		if n1xx++; n1xx > max1xxResponses {
			return nil, errTooMany1xx
		}
	}
}

// dialFor dials a connection for a request. The dial does not end with the
// request: a request cancelled meanwhile returns at once, and the
// connection, once made, goes to the pool, as http.Transport does. Ending
// the dial with the request would close a connection the backend may
// already have accepted, leaving a TIME_WAIT socket per cancelled request.
func (t *syncTransport) dialFor(ctx context.Context, addr string) (*upstreamConn, error) {
	if ctx.Done() == nil {
		return t.dial(ctx, addr)
	}
	type dialed struct {
		uc  *upstreamConn
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		uc, err := t.dial(context.WithoutCancel(ctx), addr)
		done <- dialed{uc, err}
	}()
	select {
	case d := <-done:
		return d.uc, d.err
	case <-ctx.Done():
		go func() {
			if d := <-done; d.err == nil {
				t.putIdle(d.uc)
			}
		}()
		return nil, ctx.Err()
	}
}

func (t *syncTransport) dial(ctx context.Context, addr string) (*upstreamConn, error) {
	c, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	uc := &upstreamConn{conn: c, addr: addr, bw: bufio.NewWriterSize(c, 4<<10)}
	uc.br = bufio.NewReaderSize(uc, 4<<10)
	if sc, ok := c.(syscall.Conn); ok {
		uc.raw, _ = sc.SyscallConn()
	}
	return uc, nil
}

// getIdle takes the most recently used idle connection to addr that is
// still usable, if any.
func (t *syncTransport) getIdle(addr string) (*upstreamConn, bool) {
	for {
		uc := t.popIdle(addr)
		if uc == nil {
			return nil, false
		}
		// A connection the backend closed, or wrote to while it was idle,
		// would answer this request with EOF or with bytes that are not its
		// response: never send on it.
		if uc.br.Buffered() == 0 && idleConnQuiet(uc.raw) {
			return uc, true
		}
		_ = uc.conn.Close()
	}
}

func (t *syncTransport) popIdle(addr string) *upstreamConn {
	oldest := t.now().Add(-t.idleTimeout)
	t.mu.Lock()
	defer t.mu.Unlock()
	conns := t.idle[addr]
	for len(conns) > 0 {
		uc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		conns = conns[:len(conns)-1]
		if uc.idleSince.After(oldest) {
			t.idle[addr] = conns
			return uc
		}
		_ = uc.conn.Close() // idle too long; the backend may be about to close it
	}
	delete(t.idle, addr)
	return nil
}

func (t *syncTransport) putIdle(uc *upstreamConn) {
	uc.idleSince = t.now()
	t.mu.Lock()
	conns := t.idle[uc.addr]
	if len(conns) < t.maxIdlePerHost {
		t.idle[uc.addr] = append(conns, uc)
		uc = nil
		if t.reaper == nil {
			t.reaper = time.AfterFunc(t.idleTimeout, t.reap)
		}
	}
	t.mu.Unlock()
	if uc != nil {
		// The pool is full: this happens when bursts of requests (or of
		// cancelled ones, whose dials still complete) opened more
		// connections than it keeps. Aborted, not closed, so that no
		// TIME_WAIT socket is left behind for each.
		abortConn(uc.conn)
	}
}

// reap closes the connections idle for longer than idleTimeout, so a
// transport that a reload retired does not keep its connections open.
func (t *syncTransport) reap() {
	now := t.now()
	oldest := now.Add(-t.idleTimeout)
	var expired []*upstreamConn
	t.mu.Lock()
	next := time.Time{}
	for addr, conns := range t.idle {
		// Oldest first: connections are pushed in the order they go idle.
		i := 0
		for i < len(conns) && !conns[i].idleSince.After(oldest) {
			i++
		}
		expired = append(expired, conns[:i]...)
		if i == len(conns) {
			delete(t.idle, addr)
			continue
		}
		t.idle[addr] = append(conns[:0], conns[i:]...)
		if first := t.idle[addr][0].idleSince; next.IsZero() || first.Before(next) {
			next = first
		}
	}
	if next.IsZero() {
		t.reaper = nil
	} else {
		t.reaper.Reset(next.Add(t.idleTimeout).Sub(now))
	}
	t.mu.Unlock()
	for _, uc := range expired {
		_ = uc.conn.Close()
	}
}

// CloseIdleConnections closes the idle connections of both paths (a
// reloaded configuration no longer uses this transport).
func (t *syncTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*upstreamConn{}
	if t.reaper != nil {
		t.reaper.Stop()
		t.reaper = nil
	}
	t.mu.Unlock()
	for _, conns := range idle {
		for _, uc := range conns {
			_ = uc.conn.Close()
		}
	}
	t.fallback.CloseIdleConnections()
}

// upstreamBody is the body of an inline response. Read to the end, its
// connection goes back to the pool; closed early, the connection is closed
// (draining an unknown rest of a body would stall the caller).
type upstreamBody struct {
	t        *syncTransport
	uc       *upstreamConn
	body     io.ReadCloser
	stop     func() bool // unregisters the context watcher; false if it fired
	reusable bool
	eof      bool
	done     bool
}

var errReadAfterClose = errors.New("read on a closed backend response body")

func (b *upstreamBody) Read(p []byte) (int, error) {
	if b.done {
		if b.eof {
			return 0, io.EOF
		}
		return 0, errReadAfterClose
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.eof = true
		b.release()
	}
	return n, err
}

func (b *upstreamBody) Close() error {
	b.release()
	return nil
}

func (b *upstreamBody) release() {
	if b.done {
		return
	}
	b.done = true
	// stop first: a watcher that already fired has set a past deadline on
	// the connection, which must not go back to the pool.
	if b.stop() && b.eof && b.reusable {
		b.t.putIdle(b.uc)
		return
	}
	// Not reusable (a 204, a 304, a body left unread, a close asked for):
	// aborted, so that a backend answering 204 to every request costs the
	// gateway no TIME_WAIT socket per request.
	abortConn(b.uc.conn)
}
