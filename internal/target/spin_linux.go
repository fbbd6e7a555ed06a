package target

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// spinThread burns d of the calling thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID), with the goroutine locked to the thread so
// the clock is the one that runs. It reports false where the clock cannot
// be read.
func spinThread(d time.Duration) bool {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	if !ok {
		return false
	}
	x := 1.0
	defer runtime.KeepAlive(&x)
	for {
		x = burn(x)
		now, ok := threadCPU()
		if !ok || now-start >= d {
			return true
		}
	}
}

func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
