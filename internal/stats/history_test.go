package stats

import (
	"testing"
	"time"
)

var testStart = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func TestHistory_Add(t *testing.T) {
	tests := []struct {
		max, adds, wantMaxLen int
	}{
		{max: 100, adds: 10000, wantMaxLen: 100},
		{max: 100, adds: 50, wantMaxLen: 50},
		{max: 0, adds: 5000, wantMaxLen: DefaultHistoryMax},
		{max: 7, adds: 1000, wantMaxLen: 7},
		{max: 3, adds: 100, wantMaxLen: 3},
		{max: 2, adds: 100, wantMaxLen: 2},
		{max: 1, adds: 100, wantMaxLen: 1},
	}
	for _, tt := range tests {
		h := &History{Max: tt.max}
		for i := range tt.adds {
			h.Add(Tick{Time: testStart.Add(time.Duration(i) * time.Second), Requests: int64(i)})
		}
		pts := h.Ticks()
		if len(pts) == 0 || len(pts) > tt.wantMaxLen {
			t.Errorf("Max %d, %d adds: got %d points, want 1..%d", tt.max, tt.adds, len(pts), tt.wantMaxLen)
			continue
		}
		if tt.adds <= tt.wantMaxLen && len(pts) != tt.adds {
			t.Errorf("Max %d, %d adds: got %d points, want all %d", tt.max, tt.adds, len(pts), tt.adds)
		}
		// The whole run is spanned: the first point (when there is room for
		// two) and the last one are kept, in order.
		if tt.wantMaxLen > 1 && pts[0].Requests != 0 {
			t.Errorf("Max %d: first point is #%d, want #0", tt.max, pts[0].Requests)
		}
		if last := pts[len(pts)-1].Requests; last != int64(tt.adds-1) {
			t.Errorf("Max %d: last point is #%d, want #%d", tt.max, last, tt.adds-1)
		}
		for i := 1; i < len(pts); i++ {
			if !pts[i].Time.After(pts[i-1].Time) {
				t.Fatalf("Max %d: point %d (%v) not after point %d (%v)", tt.max, i, pts[i].Time, i-1, pts[i-1].Time)
			}
		}
	}
}

func TestHistory_evenResolution(t *testing.T) {
	// After halving, kept points are evenly spaced (the stride), except the
	// latest point, which is appended.
	h := &History{Max: 100}
	for i := range 10000 {
		h.Add(Tick{Requests: int64(i), Time: testStart.Add(time.Duration(i) * time.Second)})
	}
	pts := h.Ticks()
	step := pts[1].Requests - pts[0].Requests
	for i := 1; i < len(pts)-1; i++ {
		if d := pts[i].Requests - pts[i-1].Requests; d != step {
			t.Fatalf("gap between points %d and %d is %d, want %d", i-1, i, d, step)
		}
	}
	if len(pts) < 50 {
		t.Errorf("got %d points, want at least half of Max", len(pts))
	}
}

func TestHistory_TicksIsACopy(t *testing.T) {
	var h History
	h.Add(Tick{Users: 1})
	pts := h.Ticks()
	pts[0].Users = 99
	if got := h.Ticks()[0].Users; got != 1 {
		t.Errorf("got Users %d after changing the returned slice, want 1", got)
	}
}

func TestNewTick(t *testing.T) {
	now := testStart.Add(65 * time.Second)
	s := &Snapshot{Time: now, Start: testStart, Total: Entry{
		Name: AggregatedName, Requests: 110, Failures: 2, CurrentRPS: 13, CurrentFailPerSec: 0.1,
		CurrentPercentiles: []float64{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22},
	}}
	got := NewTick(s, 20)
	want := Tick{Time: now, Users: 20, RPS: 13, FailPerSec: 0.1, P50Ms: 2, P95Ms: 12, P99Ms: 16, Requests: 110, Failures: 2}
	if got != want {
		t.Errorf("NewTick = %+v, want %+v", got, want)
	}
	s.Total.CurrentPercentiles = nil
	if got := NewTick(s, 20); got.P50Ms != 0 || got.P99Ms != 0 {
		t.Errorf("NewTick with an empty window: got p50 %v p99 %v, want 0", got.P50Ms, got.P99Ms)
	}
}
