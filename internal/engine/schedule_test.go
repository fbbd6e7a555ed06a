package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/shape"
)

// simClock is a simulated clock for the open model's scheduler: a wait or
// a sleep advances it at once, each precise sleep waking late by late (as
// a real wake-up does) and the n-th one by stall[n] more; the run is
// stopped from stop on.
type simClock struct {
	t      time.Time
	late   time.Duration
	stall  map[int]time.Duration
	stop   time.Time
	sleeps int // precise sleeps (wake-ups)
	waits  int
	onWait func(n int) waitEnd // optional: the n-th long wait's end
	bad    []string            // sleeps the scheduler should not ask for
}

func (c *simClock) now() time.Time { return c.t }
func (c *simClock) stopped() bool  { return !c.t.Before(c.stop) }

func (c *simClock) sleep(d time.Duration) {
	c.sleeps++
	if d <= 0 || d > preciseWait+wakeSlack {
		c.bad = append(c.bad, fmt.Sprintf("sleep(%v) at %v", d, c.t))
	}
	c.t = c.t.Add(d + c.late + c.stall[c.sleeps])
}

func (c *simClock) wait(d time.Duration) waitEnd {
	c.waits++
	if d <= 0 {
		c.bad = append(c.bad, fmt.Sprintf("wait(%v) at %v", d, c.t))
	}
	c.t = c.t.Add(d)
	if c.onWait != nil {
		if end := c.onWait(c.waits); end != waitDone {
			return end
		}
	}
	if c.stopped() {
		return waitStopped
	}
	return waitDone
}

// release is one iteration handed out by the scheduler: its intended start
// and the (simulated) time it was released at.
type release struct{ intended, at time.Time }

// runSchedule runs the scheduler for s from start on clk and returns what
// it released.
func runSchedule(t *testing.T, e *Engine, clk *simClock, start time.Time, s shape.Shape) []release {
	t.Helper()
	var got []release
	e.schedule(clk, start, shape.NewSchedule(s), func(intended time.Time) {
		got = append(got, release{intended, clk.t})
	})
	for _, b := range clk.bad {
		t.Errorf("scheduler asked for %s", b)
	}
	return got
}

// expected returns the intended start times of s's iterations before end,
// from the schedule itself (the oracle the scheduler must follow exactly).
func expected(start time.Time, s shape.Shape, end time.Time) []time.Time {
	var want []time.Time
	sc := shape.NewSchedule(s)
	for {
		at, ended := sc.Next()
		if ended || !start.Add(at).Before(end) {
			return want
		}
		want = append(want, start.Add(at))
	}
}

// checkReleases checks that got is the schedule's sequence of intended
// times from its start, in order, none lost or repeated, complete up to
// end, and none released before its intended time.
func checkReleases(t *testing.T, got []release, want []time.Time) {
	t.Helper()
	if len(got) < len(want) {
		t.Errorf("released %d iterations, want at least the %d due before the stop", len(got), len(want))
	}
	for i, r := range got {
		if i < len(want) && !r.intended.Equal(want[i]) {
			t.Fatalf("iteration %d: intended %v, want %v (order, loss or the intended time)", i, r.intended, want[i])
		}
		if i > 0 && !r.intended.After(got[i-1].intended) {
			t.Fatalf("iteration %d intended at %v, not after %d's %v", i, r.intended, i-1, got[i-1].intended)
		}
		if r.at.Before(r.intended) {
			t.Fatalf("iteration %d released %v before its intended time", i, r.intended.Sub(r.at))
		}
	}
}

// Every iteration of the schedule is released once, in order, with its own
// intended time, never before it and at most wakeSlack (plus the wake-up's
// own lateness) after it; arrivals sparser than wakeSlack are released at
// their time; a wake-up serves every iteration due by it, so there are at
// most one per wakeSlack.
func TestSchedule_ReleasesEveryArrivalInOrder(t *testing.T) {
	const late = 40 * time.Microsecond
	ramp := shape.Shape{Open: true, Start: 0, Stages: []shape.Stage{{Duration: 2 * time.Second, Target: 30000}}}
	cases := []struct {
		name string
		s    shape.Shape
		run  time.Duration
	}{
		{"1/s", shape.Shape{Open: true, Start: 1}, 10 * time.Second},
		{"300/s", shape.Shape{Open: true, Start: 300}, 2 * time.Second},
		{"900/s", shape.Shape{Open: true, Start: 900}, 2 * time.Second},
		{"1000/s", shape.Shape{Open: true, Start: 1000}, 2 * time.Second},
		{"2000/s", shape.Shape{Open: true, Start: 2000}, 2 * time.Second},
		{"3333/s", shape.Shape{Open: true, Start: 3333}, 2 * time.Second},
		{"20000/s", shape.Shape{Open: true, Start: 20000}, 2 * time.Second},
		{"100000/s", shape.Shape{Open: true, Start: 100000}, time.Second},
		{"ramp 0 to 30000/s", ramp, 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Unix(1_000_000, 0)
			clk := &simClock{t: start, late: late, stop: start.Add(tc.run)}
			got := runSchedule(t, &Engine{}, clk, start, tc.s)
			// Every iteration due before the stop less the largest lag.
			checkReleases(t, got, expected(start, tc.s, clk.stop.Add(-wakeSlack-late)))
			rate, _ := tc.s.At(0)
			var maxLag time.Duration
			for _, r := range got {
				maxLag = max(maxLag, r.at.Sub(r.intended))
			}
			if maxLag > wakeSlack+late {
				t.Errorf("largest lag %v, want at most wakeSlack %v + the wake-up's %v", maxLag, wakeSlack, late)
			}
			if tc.s.Stages == nil && time.Duration(float64(time.Second)/rate) >= wakeSlack+late && maxLag > late {
				t.Errorf("at %v/s (sparser than wakeSlack) the largest lag is %v, want only the wake-up's %v", rate, maxLag, late)
			}
			if most := int(tc.run/wakeSlack) + 1; clk.sleeps > most {
				t.Errorf("%d wake-ups in %v, want at most one per wakeSlack (%d)", clk.sleeps, tc.run, most)
			}
			if rate > float64(time.Second/wakeSlack) && clk.sleeps > len(got)/2+1 {
				t.Errorf("%d wake-ups for %d iterations at %v/s, want batches of at least two", clk.sleeps, len(got), rate)
			}
		})
	}
}

// A scheduler that falls behind (a wake-up 20 ms late: a stalled CPU)
// releases every iteration due by then at once, each with its own
// intended time (so its lag, counted in its latency, is the stall), and
// then goes back to the schedule.
func TestSchedule_CatchesUpAfterAStall(t *testing.T) {
	const late = 30 * time.Microsecond
	s := shape.Shape{Open: true, Start: 2000}
	start := time.Unix(1_000_000, 0)
	clk := &simClock{t: start, late: late, stop: start.Add(time.Second), stall: map[int]time.Duration{10: 20 * time.Millisecond}}
	var got []release
	var sleepsAt []int // wake-ups done when each iteration was released
	(&Engine{}).schedule(clk, start, shape.NewSchedule(s), func(intended time.Time) {
		got = append(got, release{intended, clk.t})
		sleepsAt = append(sleepsAt, clk.sleeps)
	})
	checkReleases(t, got, expected(start, s, clk.stop.Add(-wakeSlack-late)))
	// The stalled wake-up is the 10th: every iteration due by its end is
	// released without another wake-up.
	woke := -1
	for i := range got {
		if sleepsAt[i] == 10 {
			woke = i
			break
		}
	}
	if woke < 0 {
		t.Fatal("no iteration released after the stalled wake-up")
	}
	end := got[woke].at
	caughtUp := woke
	for i := woke; i < len(got) && !got[i].intended.After(end); i++ {
		if sleepsAt[i] != 10 || !got[i].at.Equal(end) {
			t.Fatalf("iteration %d (intended %v before the stall's end) released after %d wake-ups at %v, want at once at %v",
				i, got[i].intended.Sub(start), sleepsAt[i], got[i].at.Sub(start), end.Sub(start))
		}
		caughtUp = i
	}
	if n := caughtUp - woke + 1; n < 40 {
		t.Errorf("%d iterations released at the stall's end, want the ~40 due in 20 ms at 2,000/s", n)
	}
	// Back on schedule.
	for i := caughtUp + 1; i < len(got); i++ {
		if lag := got[i].at.Sub(got[i].intended); lag > wakeSlack+late {
			t.Fatalf("iteration %d, after the catch-up: lag %v, want at most %v", i, lag, wakeSlack+late)
		}
	}
}

// A new shape set during a long wait takes over from the time it was set
// at: the iteration pending under the old shape is not released, and the
// following ones follow the new shape's schedule.
func TestSchedule_NewShapeTakesOver(t *testing.T) {
	start := time.Unix(1_000_000, 0)
	e := &Engine{retarget: make(chan struct{}, 1)}
	old := shape.Shape{Open: true, Start: 1} // one a second: long waits
	next := shape.Shape{Open: true, Start: 500}
	var clk *simClock
	clk = &simClock{t: start, stop: start.Add(4 * time.Second), onWait: func(n int) waitEnd {
		if n != 1 { // during the wait for the second iteration (1 s)
			return waitDone
		}
		e.SetShape(next, clk.t.Sub(start), 0)
		<-e.retarget
		return waitRetarget
	}}
	got := runSchedule(t, e, clk, start, old)
	if len(got) < 2 || !got[0].intended.Equal(start) || !got[0].at.Equal(start) {
		t.Fatalf("released %v, want the first at the start and then the new shape's", got)
	}
	setAt := 1*time.Second - preciseWait/2 // where the second wait ended
	sc := shape.NewScheduleAt(next, setAt)
	for i, r := range got[1:] {
		at, _ := sc.Next()
		if !r.intended.Equal(start.Add(at)) {
			t.Fatalf("iteration %d after the new shape: intended %v, want %v", i+1, r.intended.Sub(start), at)
		}
	}
	if n := len(got) - 1; n < 1400 {
		t.Errorf("%d iterations in the 3 s after the new shape of 500/s", n)
	}
}
