//go:build unix

package target

import (
	"fmt"
	"syscall"
)

// SetMaxFDs lowers the process's soft limit of open files to n
// (--max-fds), so a descriptor leak reaches it within a soak test;
// process_max_fds reports it. It never raises the limit past the hard
// one.
func SetMaxFDs(n uint64) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if n > l.Max {
		return fmt.Errorf("--max-fds %d is above the hard limit %d", n, l.Max)
	}
	l.Cur = n
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}
