//go:build unix && !linux

package function

import "syscall"

// sysProcAttr puts the function in a process group of its own.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
