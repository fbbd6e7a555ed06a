package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/horde-load/horde/internal/stats"
)

// minuteOf makes a minute of 20 names at 100 requests a second each,
// lognormal latencies around 20 ms.
func minuteOf(r *rand.Rand, start time.Time) *stats.Minute {
	m := &stats.Minute{Start: start, Hists: map[stats.Key]*hdr.PackedHistogram{}}
	agg := stats.NewCoarse()
	for k := range 20 {
		h := stats.NewCoarse()
		for range 6000 {
			h.RecordValue(int64(20000 * math.Exp(0.5*r.NormFloat64())))
		}
		m.Hists[stats.Key{Method: "GET", Name: fmt.Sprintf("/api/%02d", k)}] = h
		agg.Merge(h)
	}
	m.Hists[stats.Key{Name: stats.AggregatedName}] = agg
	return m
}

// The per-minute histograms: a window's percentiles come from the minutes
// in it, and their size per day (docs/runs.md).
func TestMinutes(t *testing.T) {
	ctx := context.Background()
	s, err := Create(ctx, t.TempDir(), Run{Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	size := func() int64 {
		s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		fi, _ := os.Stat(s.Path())
		return fi.Size()
	}
	r := rand.New(rand.NewPCG(1, 2))
	base := size()
	const n = 60
	for i := range n {
		if err := s.Minute(ctx, minuteOf(r, t0.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	perMinute := float64(size()-base) / n
	t.Logf("20 names, 6,000 requests a minute each: %.0f bytes per minute, %.1f MB per day, %.0f MB per 7 days",
		perMinute, perMinute*1440/1e6, perMinute*1440*7/1e6)
	if perMinute*1440*7 > 300e6 {
		t.Errorf("%.0f MB per 7 days of minute histograms", perMinute*1440*7/1e6)
	}
	// A minute recorded twice (a resumed run) adds up.
	s.Minute(ctx, minuteOf(r, t0))
	hs, mins, err := s.Window(ctx, t0, t0.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	agg := hs[stats.Key{Name: stats.AggregatedName}]
	if mins != 10 || agg == nil || agg.TotalCount() != 11*20*6000 || len(hs) != 21 {
		t.Fatalf("window: %d minutes, %d names, aggregated %v", mins, len(hs), agg)
	}
	if p50 := agg.ValueAtPercentile(50); math.Abs(float64(p50)-20000)/20000 > 0.02 {
		t.Errorf("median %d µs, want about 20000", p50)
	}
}

// TickState writes the minutes it is given in the tick's transaction, with
// the resume state, adding to what the file holds of them.
func TestMinutesWithTheTick(t *testing.T) {
	ctx := context.Background()
	s, err := Create(ctx, t.TempDir(), Run{Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	r := rand.New(rand.NewPCG(3, 4))
	st := &State{Stats: []byte(`{}`), Master: []byte(`{}`)}
	if err := s.Tick(ctx, Tick{Snapshot: gen(2, 0), Interval: ivGen(2, 0), Load: Load{Users: 2}, State: st, Minutes: []*stats.Minute{minuteOf(r, t0)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Tick(ctx, Tick{Snapshot: gen(2, 1), Interval: ivGen(2, 1), Load: Load{Users: 2}, State: st, Minutes: []*stats.Minute{minuteOf(r, t0), minuteOf(r, t0.Add(time.Minute))}}); err != nil {
		t.Fatal(err)
	}
	hs, mins, err := s.Window(ctx, t0, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if agg := hs[stats.Key{Name: stats.AggregatedName}]; mins != 2 || agg == nil || agg.TotalCount() != 3*20*6000 {
		t.Fatalf("window: %d minutes, aggregated %v", mins, agg)
	}
	if got, err := s.State(ctx); err != nil || got == nil {
		t.Fatalf("state %+v %v", got, err)
	}
}
