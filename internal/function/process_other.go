//go:build !unix

package function

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills the process: without unix signals there is no
// graceful stop.
func signalGroup(p *os.Process, _ syscall.Signal) { _ = p.Kill() }
