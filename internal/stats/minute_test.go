package stats_test

import (
	"math"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/stats"
)

// Per-minute histograms: each interval lands in the minute it ends in, a
// minute is handed over once it is complete, and percentiles read from the
// coarse histograms (encoded and decoded, merged over minutes) are within
// 1 % of the exact ones.
func TestStats_Minutes(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	s := stats.New(start)
	s.KeepMinutes()
	exact := stats.New(start)
	var taken []*stats.Minute
	for sec := 1; sec <= 150; sec++ {
		r := stats.NewRecorder(2)
		for i := range 200 {
			d := time.Duration(5+sec%40) * time.Millisecond
			d += time.Duration(i) * 37 * time.Microsecond
			r.Record(i, &stats.Sample{Method: "GET", Name: "/a", Duration: d, Bytes: 10, WireBytes: 10})
		}
		iv := r.Flush(start.Add(time.Duration(sec-1)*time.Second), start.Add(time.Duration(sec)*time.Second))
		s.Add(iv)
		exact.Add(iv)
		taken = append(taken, s.TakeMinutes(start.Add(time.Duration(sec)*time.Second), false)...)
	}
	if len(taken) != 2 || !taken[0].Start.Equal(start) || !taken[1].Start.Equal(start.Add(time.Minute)) {
		t.Fatalf("minutes taken: %d", len(taken))
	}
	last := s.TakeMinutes(start.Add(150*time.Second), true)
	if len(last) != 1 || !last[0].Start.Equal(start.Add(2*time.Minute)) {
		t.Fatalf("final minute: %+v", last)
	}
	all := append(taken, last...)
	merged := stats.NewCoarse()
	var n int64
	for _, m := range all {
		h := m.Hists[stats.Key{Method: "GET", Name: "/a"}]
		agg := m.Hists[stats.Key{Name: stats.AggregatedName}]
		if h == nil || agg == nil || h.TotalCount() != agg.TotalCount() {
			t.Fatalf("minute %v: %v %v", m.Start, h, agg)
		}
		n += h.TotalCount()
		if err := stats.DecodeCoarse(stats.EncodeCoarse(h), merged); err != nil {
			t.Fatal(err)
		}
	}
	if n != 150*200 || merged.TotalCount() != n {
		t.Fatalf("counts %d, merged %d", n, merged.TotalCount())
	}
	snap := exact.Snapshot(start.Add(150 * time.Second))
	for i, p := range stats.Percentiles[:len(stats.Percentiles)-1] {
		want := snap.Entries[0].Percentiles[i]
		got := float64(merged.ValueAtPercentile(p*100)) / 1000
		if math.Abs(got-want)/want > 0.01 {
			t.Errorf("p%g: coarse %.3f ms, exact %.3f ms", p*100, got, want)
		}
	}
}

// The minute in progress is part of the state: a Stats restored from it
// (with KeepMinutes) goes on filling the same minute, and the minute it
// hands over holds the requests from before and after the restore.
func TestStats_MinuteInProgressSurvivesRestore(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	add := func(s *stats.Stats, sec int) {
		r := stats.NewRecorder(1)
		for i := range 100 {
			r.Record(0, &stats.Sample{Method: "GET", Name: "/a", Duration: time.Duration(10+i) * time.Millisecond, Bytes: 10, WireBytes: 10})
		}
		s.Add(r.Flush(start.Add(time.Duration(sec-1)*time.Second), start.Add(time.Duration(sec)*time.Second)))
	}
	s := stats.New(start)
	s.KeepMinutes()
	for sec := 1; sec <= 30; sec++ {
		add(s, sec)
	}
	if m := s.TakeMinutes(start.Add(30*time.Second), false); len(m) != 0 {
		t.Fatalf("a minute taken before it ended: %+v", m)
	}
	b, err := s.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	r := stats.New(start)
	r.KeepMinutes()
	if err := r.RestoreState(b); err != nil {
		t.Fatal(err)
	}
	for sec := 31; sec <= 61; sec++ {
		add(r, sec)
	}
	got := r.TakeMinutes(start.Add(61*time.Second), false)
	if len(got) != 1 || !got[0].Start.Equal(start) {
		t.Fatalf("minutes taken after the restore: %+v", got)
	}
	if n := got[0].Hists[stats.Key{Method: "GET", Name: "/a"}].TotalCount(); n != 60*100 {
		t.Errorf("the first minute holds %d requests, want 6000 (3000 of them from before the restore)", n)
	}
	// Without KeepMinutes the minute is ignored, and a state without one
	// restores into a Stats that keeps minutes.
	plain := stats.New(start)
	if err := plain.RestoreState(b); err != nil {
		t.Fatal(err)
	}
	if m := plain.TakeMinutes(start.Add(2*time.Minute), true); len(m) != 0 {
		t.Errorf("minutes from a Stats that does not keep them: %+v", m)
	}
}
