package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// errConnRetired is the write error of an upstream connection that was
// retired: its backend wrote past a response, or sent one without a body.
var errConnRetired = errors.New("upstream connection retired")

// guardedConn is an HTTP/1.1 connection to a backend that http.Transport
// owns (the syncTransport fallback: request bodies, https, upgrades). It
// gives every write its own deadline, the meaning of OCI's
// sendTimeoutInSeconds (time between two writes), and keeps the connection
// out of the pool when its backend writes past a response (attack R14).
//
// Bytes a backend sends after the end of a response (a body on a 204, 304
// or HEAD response, more than Content-Length, a whole second response)
// would be read by http.Transport as the next client's response.
// http.Transport catches such bytes only while the connection is idle, and
// it pools a connection as soon as the response's body has been read (a
// bodyless response's before the response is even handed over), so bytes
// that came with the response race the next request. http.Transport offers
// no hook between reading a response and pooling its connection. Instead
// the connection follows the framing of each response it carries
// (responseScan, armed per request through httptrace's GotConn): at the end
// of a response followed by more bytes, and at the end of any response to
// HEAD or with status 204 or 304, its Read reports io.EOF together with the
// response's last bytes, which http.Transport takes as the peer closing, so
// it never pools the connection; the bytes after the end are discarded. The
// inline path checks for unread bytes before every reuse instead
// (syncTransport.getIdle).
type guardedConn struct {
	net.Conn
	send time.Duration // per-write deadline; 0: none (set beneath, under TLS)
	tcp  *net.TCPConn  // the TCP connection beneath, for abort

	mu      sync.Mutex
	scan    responseScan
	retired bool
}

func (c *guardedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	retired := c.retired
	c.mu.Unlock()
	if retired {
		return 0, errConnRetired
	}
	if c.send > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.send)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

func (c *guardedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	retired := c.retired
	c.mu.Unlock()
	if retired {
		return 0, io.EOF
	}
	n, err := c.Conn.Read(p)
	if n == 0 {
		return n, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if end, retire := c.scan.feed(p[:n]); retire {
		c.retired = true
		return end, io.EOF
	}
	return n, err
}

// expectResponse arms the scan for the response to the request about to be
// written on c.
func (c *guardedConn) expectResponse(method string) {
	c.mu.Lock()
	c.scan.start(method)
	c.mu.Unlock()
}

// Close closes c with a reset instead of a FIN, so that the gateway keeps
// no TIME_WAIT socket for it: under a flood of cancelled requests (HTTP/2
// rapid reset) every exchange http.Transport gives up closes its connection,
// and the ports would run out. http.Transport closes a connection when its
// exchange is abandoned (cancelled, failed, its body left unread), after a
// response that ends the connection, or when it is idle too long or the
// idle pool is full; in none of those does anybody wait for more on it,
// and a backend takes a reset on an idle keep-alive connection as the
// client going away.
func (c *guardedConn) Close() error {
	if c.tcp == nil {
		return c.Conn.Close()
	}
	// Beneath TLS too: a close_notify would only delay the reset.
	_ = c.tcp.SetLinger(0)
	err := c.tcp.Close()
	_ = c.Conn.Close() // frees the TLS state; the socket is already gone
	return err
}

// ConnectionState reports the TLS state of a guarded https connection, as
// http.Transport asks a custom TLS dialer's connection.
func (c *guardedConn) ConnectionState() tls.ConnectionState {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// guardedTransport is the http.Transport of the fallback path with the
// scan of its guarded connections armed on every request.
type guardedTransport struct {
	*http.Transport
	// http2Hosts holds the host:port of the https backends that negotiated
	// HTTP/2: a request there needs no connection of its own (HTTP/2 frames
	// every request and response), and asking for one would cost a TLS
	// handshake per request.
	http2Hosts sync.Map
}

// speaksHTTP2 reports whether the https backend at addr (host:port) has
// negotiated HTTP/2 with this transport.
func (t *guardedTransport) speaksHTTP2(addr string) bool {
	_, ok := t.http2Hosts.Load(addr)
	return ok
}

// RoundTrip arms the scan of the guarded connection the request gets.
func (t *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	method := req.Method
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if gc, ok := info.Conn.(*guardedConn); ok {
			gc.expectResponse(method)
		}
	}}
	resp, err := t.Transport.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err == nil && resp.StatusCode < 100 {
		// http.Transport passes "HTTP/1.1 099" on, and ReverseProxy's
		// WriteHeader(99) panics: a 502 instead, as on the inline path
		// (found by TestUpstreamPathsAgree).
		resp.Body.Close()
		return nil, errBadStatus
	}
	return resp, err
}

// dialTLSGuarded is http.Transport's DialTLSContext: it makes the TLS
// connection itself so that an HTTP/1.1 exchange inside it can be guarded.
// A connection that negotiated HTTP/2 is returned as the *tls.Conn, so that
// http.Transport speaks HTTP/2 on it (HTTP/2 frames every response: nothing
// to guard); its writes get their deadline beneath TLS.
func dialTLSGuarded(dialer *net.Dialer, base *tls.Config, handshakeTimeout, send time.Duration, http2Hosts *sync.Map) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := base.Clone()
		if cfg.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			cfg.ServerName = host
		}
		cfg.NextProtos = []string{"h2", "http/1.1"}
		hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
		defer cancel()
		tcp, _ := raw.(*net.TCPConn)
		tc := tls.Client(&sendDeadlineConn{Conn: raw, send: send}, cfg)
		if err := tc.HandshakeContext(hctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			http2Hosts.Store(addr, struct{}{})
			return tc, nil
		}
		http2Hosts.Delete(addr)
		return &guardedConn{Conn: tc, tcp: tcp}, nil // its writes have their deadline beneath TLS
	}
}
