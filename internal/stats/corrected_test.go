package stats_test

import (
	"math"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/stats"
)

// Open-model samples keep both figures: corrected (from the intended start)
// in the main fields, uncorrected (from the actual send) beside them.
func TestRecorder_RecordCorrected(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	ra, rb := stats.NewRecorder(2), stats.NewRecorder(2)
	for i := range 100 {
		lag := time.Duration(0)
		if i >= 95 { // five iterations started a second late (a stalled target)
			lag = time.Second
		}
		r := ra
		if i%2 == 1 {
			r = rb
		}
		r.Record(i, &stats.Sample{Method: "GET", Name: "/x", Duration: 2 * time.Millisecond, Corrected: true, Lag: lag, Bytes: 10, WireBytes: 10})
	}
	iv := ra.Flush(t0, t0.Add(time.Second))
	iv.Merge(rb.Flush(t0, t0.Add(time.Second)))
	st := stats.New(t0)
	st.Add(iv)
	snap := st.Snapshot(t0.Add(time.Second))
	if len(snap.Entries) != 1 {
		t.Fatalf("entries: %+v", snap.Entries)
	}
	e := snap.Entries[0]
	p99 := e.Percentile(0.99)
	if p99 < 1000 {
		t.Errorf("corrected p99 = %v ms, want >= 1000 (the stall)", p99)
	}
	if e.Uncorrected == nil {
		t.Fatal("no uncorrected figures")
	}
	if got := e.Uncorrected.Percentiles[len(e.Uncorrected.Percentiles)-1]; math.Abs(got-2) > 0.01 {
		t.Errorf("uncorrected max = %v ms, want 2", got)
	}
	if e.Uncorrected.Requests != 100 || e.Requests != 100 {
		t.Errorf("requests: %d corrected, %d uncorrected; want 100 each", e.Requests, e.Uncorrected.Requests)
	}
	if snap.Total.Uncorrected == nil || snap.Total.Uncorrected.Requests != 100 {
		t.Errorf("Aggregated uncorrected: %+v", snap.Total.Uncorrected)
	}

	// Closed-model samples have no uncorrected figures.
	rc := stats.NewRecorder(1)
	rc.Record(1, &stats.Sample{Method: "GET", Name: "/y", Duration: time.Millisecond, Bytes: 0, WireBytes: 0})
	st2 := stats.New(t0)
	st2.Add(rc.Flush(t0, t0.Add(time.Second)))
	if u := st2.Snapshot(t0.Add(time.Second)).Entries[0].Uncorrected; u != nil {
		t.Errorf("closed model has uncorrected figures: %+v", u)
	}
}
