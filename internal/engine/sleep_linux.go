package engine

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// waiter sleeps for short waits precisely. Go's timers wake late by up to
// a millisecond when the wait is under one (the runtime polls with
// millisecond timeouts), which would show as schedule lag at rates above
// 1,000 iterations a second. A timerfd waited on through Go's netpoller
// wakes within tens of microseconds and parks only the goroutine.
//
// A wait costs one system call: the timerfd is armed (timerfd_settime,
// which also clears an earlier expiry) and the goroutine parks on the
// poller until the expiry makes the descriptor readable. The expiry count
// is never read: reading it would cost a read that fails with EAGAIN
// before the wait and one more after it, three calls a wait instead of
// one (docs/performance.md). Arming happens inside the raw read callback,
// after the poller forgot any earlier readiness, so the expiry cannot
// slip in before the goroutine waits for it.
type waiter struct {
	f  *os.File // nil: no timerfd here; time.Sleep
	rc syscall.RawConn
	fd int

	// One wait's state, read by poll (a method value made once, so a
	// wait allocates nothing).
	until time.Time // when the wait ends
	err   error     // arming failed
	pollF func(uintptr) bool
}

func newWaiter() *waiter {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &waiter{}
	}
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return &waiter{}
	}
	w := &waiter{f: f, rc: rc, fd: fd}
	w.pollF = w.poll
	return w
}

// sleep waits for d (> 0).
func (w *waiter) sleep(d time.Duration) {
	if w.f == nil {
		time.Sleep(d)
		return
	}
	w.until, w.err = time.Now().Add(d), nil
	if err := w.rc.Read(w.pollF); err != nil || w.err != nil {
		// Closed, or the timer could not be set: the rest on a Go timer.
		if r := time.Until(w.until); r > 0 {
			time.Sleep(r)
		}
	}
}

// poll is the raw read callback: false parks the goroutine until the
// timerfd is readable. It ends the wait once its time has come, else arms
// the timer for what is left: on the first call, and again after a
// wake-up before the time (which a timerfd does not give, but a wait for
// an expiry already consumed would never end).
func (w *waiter) poll(uintptr) bool {
	r := time.Until(w.until)
	if r <= 0 {
		return true
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(r))}
	if err := unix.TimerfdSettime(w.fd, 0, &spec, nil); err != nil {
		w.err = err
		return true
	}
	return false
}

func (w *waiter) close() {
	if w.f != nil {
		w.f.Close()
	}
}
