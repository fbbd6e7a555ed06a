package engine

import (
	"testing"
	"time"
)

// Each sleep lasts at least its time, one after another: an expiry of an
// earlier wait (never read from the timerfd) does not end a later one.
func TestWaiter_EachSleepWaits(t *testing.T) {
	w := newWaiter()
	defer w.close()
	if w.f == nil {
		t.Skip("no timerfd here")
	}
	for _, d := range []time.Duration{time.Microsecond, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		for i := range 50 {
			t0 := time.Now()
			w.sleep(d)
			if got := time.Since(t0); got < d {
				t.Fatalf("sleep(%v) #%d returned after %v", d, i, got)
			}
		}
	}
}

// A sleep allocates nothing.
func TestWaiter_NoAllocations(t *testing.T) {
	w := newWaiter()
	defer w.close()
	if a := testing.AllocsPerRun(100, func() { w.sleep(20 * time.Microsecond) }); a != 0 {
		t.Errorf("%v allocations per sleep, want 0", a)
	}
}

// A closed waiter still sleeps (on a Go timer).
func TestWaiter_Closed(t *testing.T) {
	w := newWaiter()
	w.close()
	t0 := time.Now()
	w.sleep(time.Millisecond)
	if got := time.Since(t0); got < time.Millisecond {
		t.Errorf("sleep after close returned after %v", got)
	}
}
