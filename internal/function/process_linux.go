//go:build linux

package function

import "syscall"

// sysProcAttr puts the function in a process group of its own and has the
// kernel kill it if keygate dies without stopping it, so it is never
// orphaned.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
