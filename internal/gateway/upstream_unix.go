//go:build unix

package gateway

import (
	"net"
	"syscall"
)

// idleConnQuiet reports whether an idle connection has neither been closed
// by its peer nor received bytes: a non-blocking MSG_PEEK read must find
// nothing to read (EAGAIN).
func idleConnQuiet(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	quiet := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		// n > 0: unsolicited bytes; n == 0 and no error: the peer closed.
		_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		quiet = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true // never wait for readability
	})
	return err == nil && quiet
}
