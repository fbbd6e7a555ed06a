package target

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The CPU knob spends CPU time, not wall time: where another goroutine
// shares the only processor, spin(d) still spends d of its own, and so
// takes about twice d of wall time (a wall-time spin would take d and
// spend half of it). The bound holds however busy the machine is.
func TestSpin_SpendsCPUTimeNotWallTime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		x := 1.0
		for !stop.Load() {
			x = burn(x)
		}
		runtime.KeepAlive(x)
	}()
	runtime.Gosched()
	const d = 60 * time.Millisecond
	start := time.Now()
	spin(d)
	took := time.Since(start)
	stop.Store(true)
	<-done
	if took < d*3/2 {
		t.Errorf("spin(%s) beside a busy goroutine on one processor took %s of wall time, want ≥ %s: it spins on wall time", d, took, d*3/2)
	}

	// Alone, the process spends at least d.
	before := processCPU(t)
	spin(d)
	if used := processCPU(t) - before; used < d {
		t.Errorf("spin(%s) spent %s of CPU", d, used)
	}
}

func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
