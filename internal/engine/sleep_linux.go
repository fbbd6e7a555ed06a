package engine

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// waiter sleeps for short waits precisely. Go's timers wake late by up to
// a millisecond when the wait is under one (the runtime polls with
// millisecond timeouts), which would show as schedule lag at rates above
// 1,000 iterations a second. A timerfd read through Go's netpoller wakes
// within tens of microseconds, for about the CPU of a Go timer (measured in
// docs/performance.md), and parks only the goroutine.
type waiter struct {
	f  *os.File // nil: no timerfd here; time.Sleep
	fd int
}

func newWaiter() *waiter {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &waiter{}
	}
	return &waiter{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd}
}

// sleep waits for d (> 0).
func (w *waiter) sleep(d time.Duration) {
	if w.f == nil {
		time.Sleep(d)
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(w.fd, 0, &spec, nil); err != nil {
		time.Sleep(d)
		return
	}
	var b [8]byte
	w.f.Read(b[:]) // the expiration count; an error (closed) ends the wait too
}

func (w *waiter) close() {
	if w.f != nil {
		w.f.Close()
	}
}
