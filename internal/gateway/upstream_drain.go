package gateway

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// errHandedOff is exchange's error when a cancelled request's connection
// went to a drainer: the caller must leave the connection alone.
var errHandedOff = errors.New("upstream connection handed to a drainer")

// Bounds of the drain of abandoned exchanges.
const (
	// maxDrainers bounds the abandoned exchanges drained at once per
	// transport (the size of the idle pool); more are aborted.
	maxDrainers = 256
	// maxDrainBody is the most of an abandoned response's body read to keep
	// its connection; a longer body costs more than a new connection.
	maxDrainBody = 64 << 10
	// drainBodyTimeout bounds reading that body.
	drainBodyTimeout = time.Second
)

// handOff lets the backend finish the exchange of a request whose client
// went away before the response began (an HTTP/2 stream reset, a closed
// connection), so that the connection can go back to the pool: without it,
// a flood of reset streams opens and closes a backend connection per
// request. The response head is awaited until the deadline the request
// had; a body of at most maxDrainBody is read and dropped. Beyond
// maxDrainers at once, or when the response cannot be read cleanly, the
// connection is aborted (abortConn: no TIME_WAIT left behind).
func (t *syncTransport) handOff(req *http.Request, uc *upstreamConn, headDeadline time.Time) {
	uc.mu.Lock()
	uc.gen++ // the cancelled exchange's watcher no longer touches uc
	uc.mu.Unlock()
	select {
	case t.drainers <- struct{}{}:
	default:
		abortConn(uc.conn)
		return
	}
	go func() {
		defer func() { <-t.drainers }()
		if t.finishAbandoned(req, uc, headDeadline) {
			t.putIdle(uc)
			return
		}
		abortConn(uc.conn)
	}()
}

// finishAbandoned reads the rest of an abandoned exchange and reports
// whether its connection is ready for another request.
func (t *syncTransport) finishAbandoned(req *http.Request, uc *upstreamConn, headDeadline time.Time) bool {
	if uc.conn.SetWriteDeadline(time.Time{}) != nil || uc.conn.SetReadDeadline(headDeadline) != nil {
		return false
	}
	resp, err := t.readFinalHead(req, uc, false)
	if err != nil || !reusableAfter(req, resp) {
		return false
	}
	uc.headBudget = maxResponseHeader // the body may not grow without bound either
	if uc.conn.SetReadDeadline(t.now().Add(drainBodyTimeout)) != nil {
		return false
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrainBody+1))
	if err != nil || n > maxDrainBody {
		return false
	}
	return uc.conn.SetReadDeadline(time.Time{}) == nil
}
