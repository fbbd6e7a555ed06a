//go:build unix

package engine

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/stats"
)

// BenchmarkOpen_Schedule measures the open model's own cost: a user whose
// task records one sample and returns, at 2,000 and 20,000 iterations a
// second. It reports the process's CPU time (user+system) per iteration,
// the figure bench/run.sh compares with vegeta's at the same rate (ns/op is
// the schedule's interval). One wake-up serves two iterations at 2,000/s
// and twenty at 20,000/s (wakeSlack).
func BenchmarkOpen_Schedule(b *testing.B) {
	for _, rate := range []int{2000, 20000} {
		b.Run(strconv.Itoa(rate), func(b *testing.B) { benchSchedule(b, rate) })
	}
}

func benchSchedule(b *testing.B, rate int) {
	rec := stats.NewRecorder(0)
	e, err := New(Config{
		Classes:  []horde.Class{{Name: "n", Weight: 1, New: func() horde.User { return noop{} }}},
		Recorder: rec,
		Shape:    shape.Shape{Open: true, Start: float64(rate)},
	})
	if err != nil {
		b.Fatal(err)
	}
	d := time.Duration(b.N) * time.Second / time.Duration(rate)
	c0 := cpuTime()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	b.ResetTimer()
	if err := e.Run(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	o := e.Open()
	if o.Iterations > 0 {
		b.ReportMetric(float64(cpuTime()-c0)/float64(o.Iterations), "cpu-ns/iter")
		b.ReportMetric(float64(o.Dropped), "dropped")
		b.ReportMetric(float64(o.LagMean.Microseconds()), "lag-µs")
	}
}

type noop struct{}

func (noop) OnStart(ctx context.Context, vu horde.VU) error { return nil }
func (noop) OnStop(ctx context.Context, vu horde.VU) error  { return nil }
func (noop) Task(ctx context.Context, vu horde.VU) error {
	vu.Record(horde.Sample{Method: "GET", Name: "/", Duration: time.Millisecond})
	return nil
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
