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
// retired after a response that cannot carry a body.
var errConnRetired = errors.New("upstream connection retired after a bodyless response")

// guardedConn is an HTTP/1.1 connection to a backend that http.Transport
// owns (the syncTransport fallback: request bodies, https, upgrades). It
// gives every write its own deadline, the meaning of OCI's
// sendTimeoutInSeconds (time between two writes), and keeps the connection
// out of the pool after a 204 or 304 response (attack R14).
//
// A 204 or 304 has no body whatever its headers say, so a backend that
// sends one anyway leaves bytes on the connection that http.Transport would
// read as the next client's response. http.Transport offers no hook between
// reading a response head and pooling its connection, and it pools a
// bodyless response's connection before handing the response over, so a
// close afterwards races the next request. Instead the connection watches
// the status line of each response it carries (armed per request through
// httptrace's GotConn): after the head of a 204 or 304 its Read reports
// io.EOF together with the head's last bytes, which http.Transport takes
// as the peer closing, so it never pools the connection; anything after the
// head is discarded. HEAD requests are sent with Connection: close instead
// (see httpBackend.rewrite), and the inline path does the same on its own
// connections (upstreamBody.reusable).
type guardedConn struct {
	net.Conn
	send time.Duration // per-write deadline; 0: none (set beneath, under TLS)

	mu      sync.Mutex
	scan    headScan
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
	if end, bodyless := c.scan.feed(p[:n]); bodyless {
		c.retired = true
		return end, io.EOF
	}
	return n, err
}

// expectResponse arms the status-line watch for the response to the request
// about to be written on c.
func (c *guardedConn) expectResponse() {
	c.mu.Lock()
	c.scan.start()
	c.mu.Unlock()
}

// ConnectionState reports the TLS state of a guarded https connection, as
// http.Transport asks a custom TLS dialer's connection.
func (c *guardedConn) ConnectionState() tls.ConnectionState {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// headScan follows the response heads on a connection far enough to find
// where the head of a 204 or 304 ends. Informational (1xx) heads are
// skipped; any other status, or bytes that are not a status line, end the
// watch until the next request: framing the body is http.Transport's job.
type headScan struct {
	state    scanState
	status   [12]byte // "HTTP/1.1 204"
	got      int      // bytes of status collected
	lineLen  int      // bytes of the current head line, CR not counted
	bodyless bool     // the head being scanned is a 204 or 304
}

type scanState uint8

const (
	scanOff scanState = iota
	scanStatus
	scanHead
)

func (s *headScan) start() {
	*s = headScan{state: scanStatus}
}

// feed scans b, the next bytes read. When b completes the head of a 204 or
// 304 it returns the length of b up to and including that head's last byte.
func (s *headScan) feed(b []byte) (end int, bodyless bool) {
	for i := 0; i < len(b) && s.state != scanOff; i++ {
		c := b[i]
		switch s.state {
		case scanStatus:
			s.status[s.got] = c
			if s.got++; s.got < len(s.status) {
				continue
			}
			code, ok := statusCode(s.status)
			switch {
			case !ok, code == http.StatusSwitchingProtocols:
				s.state = scanOff
			case code < 200:
				s.state, s.lineLen, s.bodyless = scanHead, s.got, false
			case code == http.StatusNoContent, code == http.StatusNotModified:
				s.state, s.lineLen, s.bodyless = scanHead, s.got, true
			default:
				s.state = scanOff
			}
		case scanHead:
			switch c {
			case '\r':
			case '\n':
				if s.lineLen > 0 {
					s.lineLen = 0
					continue
				}
				// An empty line: the head ends here.
				if s.bodyless {
					s.state = scanOff
					return i + 1, true
				}
				s.state, s.got = scanStatus, 0 // a final response follows the 1xx
			default:
				s.lineLen++
			}
		}
	}
	return len(b), false
}

// statusCode parses "HTTP/1.x NNN".
func statusCode(line [12]byte) (int, bool) {
	if string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return 0, false
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, false
		}
		code = code*10 + int(d-'0')
	}
	return code, true
}

// guardTrace arms a guarded connection when http.Transport picks it for a
// request. It is copied per request: httptrace.WithClientTrace composes
// hooks into the trace it is given.
var guardTrace = httptrace.ClientTrace{
	GotConn: func(info httptrace.GotConnInfo) {
		if gc, ok := info.Conn.(*guardedConn); ok {
			gc.expectResponse()
		}
	},
}

// guardedTransport is the http.Transport of the fallback path with the
// response watch armed on every request.
type guardedTransport struct{ *http.Transport }

func (t guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	trace := guardTrace
	return t.Transport.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), &trace)))
}

// dialTLSGuarded is http.Transport's DialTLSContext: it makes the TLS
// connection itself so that an HTTP/1.1 exchange inside it can be guarded.
// A connection that negotiated HTTP/2 is returned as the *tls.Conn, so that
// http.Transport speaks HTTP/2 on it (HTTP/2 frames every response: nothing
// to guard); its writes get their deadline beneath TLS.
func dialTLSGuarded(dialer *net.Dialer, base *tls.Config, handshakeTimeout, send time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
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
		tc := tls.Client(&sendDeadlineConn{Conn: raw, send: send}, cfg)
		if err := tc.HandshakeContext(hctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			return tc, nil
		}
		return &guardedConn{Conn: tc}, nil // its writes have their deadline beneath TLS
	}
}
