//go:build unix

package function

import (
	"os"
	"syscall"
)

// signalGroup signals the process group the function's process leads, so
// that children (a shell, npm) stop with it.
func signalGroup(p *os.Process, sig syscall.Signal) {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		_ = p.Signal(sig)
	}
}
