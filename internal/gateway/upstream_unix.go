//go:build unix

package gateway

import "syscall"

// idleConnQuiet reports whether an idle connection has neither been closed
// by its peer nor received bytes: a non-blocking MSG_PEEK read must find
// nothing to read (EAGAIN). A connection without a raw form passes; a
// closed one is still caught when the request on it gets no answer.
func idleConnQuiet(raw syscall.RawConn) bool {
	if raw == nil {
		return true
	}
	quiet := false
	var buf [1]byte
	err := raw.Read(func(fd uintptr) bool {
		// n > 0: unsolicited bytes; n == 0 and no error: the peer closed.
		_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		quiet = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true // never wait for readability
	})
	return err == nil && quiet
}
