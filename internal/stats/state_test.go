package stats_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/horde-load/horde/internal/stats"
)

// TestStats_StateRoundTrip: a restored state has the same cumulative
// table (counts, percentiles, errors, uncorrected latencies) and goes on
// accumulating as the original does.
func TestStats_StateRoundTrip(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	orig := stats.New(start)
	add := func(s *stats.Stats, seed uint64, sec int) {
		r := stats.NewRecorder(4)
		record(r, samples(seed, 5000))
		r.Record(0, &stats.Sample{Method: "GET", Name: "/open", Duration: 30 * time.Millisecond, Corrected: true, Lag: 5 * time.Millisecond, Bytes: 10, WireBytes: 10})
		s.Add(r.Flush(start.Add(time.Duration(sec-1)*time.Second), start.Add(time.Duration(sec)*time.Second)))
	}
	for sec := 1; sec <= 3; sec++ {
		add(orig, uint64(sec), sec)
	}
	b, err := orig.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	restored := stats.New(time.Now())
	if err := restored.RestoreState(b); err != nil {
		t.Fatal(err)
	}
	// The window is not part of the state: compare 20 s later, when the
	// original's window is empty too.
	later := start.Add(30 * time.Second)
	ignoreWindow := cmpopts.IgnoreFields(stats.Entry{}, "CurrentRPS", "CurrentFailPerSec", "CurrentPercentiles")
	if diff := cmp.Diff(orig.Snapshot(later), restored.Snapshot(later), ignoreWindow); diff != "" {
		t.Fatalf("restored snapshot differs (-orig +restored):\n%s", diff)
	}
	// Both go on the same way.
	add(orig, 9, 31)
	add(restored, 9, 31)
	if diff := cmp.Diff(orig.Snapshot(later.Add(2*time.Second)), restored.Snapshot(later.Add(2*time.Second))); diff != "" {
		t.Fatalf("after one more interval (-orig +restored):\n%s", diff)
	}
}

func TestStats_RestoreStateBad(t *testing.T) {
	s := stats.New(time.Unix(1, 0))
	for _, in := range []string{``, `{}`, `{"start":"2026-01-01T00:00:00Z","total":{"name":"x","hist":"AQ=="}}`, `{"start":"2026-01-01T00:00:00Z","total":{"name":"x","hist":"gICAgICAgICAAQE="}}`} {
		if err := s.RestoreState([]byte(in)); err == nil {
			t.Errorf("RestoreState(%q): no error", in)
		}
	}
}

// BenchmarkStats_MarshalState is a master's checkpoint cost per tick with
// 20 names (docs/runs.md), the minute in progress (59 s of it) included.
func BenchmarkStats_MarshalState(b *testing.B) {
	s := stats.New(sec(0))
	s.KeepMinutes()
	for k := 1; k <= 59; k++ {
		r := stats.NewRecorder(4)
		for i, smp := range samples(uint64(k), 2000) {
			r.Record(smp.shard, &stats.Sample{Method: "GET", Name: fmt.Sprintf("/api/%02d", i%20), Duration: smp.d, Bytes: smp.bytes, WireBytes: smp.bytes, Failure: smp.failure})
		}
		s.Add(r.Flush(sec(float64(k-1)), sec(float64(k))))
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		out, err := s.MarshalState()
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "bytes/state")
}
