package series

import (
	"math"
	"testing"
	"time"
)

func TestThin(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var pts []Point
	for i := range 10_000 {
		v := 100 + float64(i%50) // a sawtooth
		if i == 7_777 {
			v = 1 // a dip the chart must keep
		}
		pts = append(pts, Point{T: t0.Add(time.Duration(i) * time.Second), V: v})
	}
	got := Thin(pts, 500)
	if len(got) > 1000 || len(got) < 500 {
		t.Fatalf("%d points, want 500..1000", len(got))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, p := range got {
		if i > 0 && p.T.Before(got[i-1].T) {
			t.Fatalf("point %d out of order", i)
		}
		lo, hi = min(lo, p.V), max(hi, p.V)
	}
	if lo != 1 || hi != 149 {
		t.Errorf("min %v max %v, want the dip 1 and the peak 149 kept", lo, hi)
	}
	if !got[0].T.Equal(pts[0].T) && got[0].V != pts[0].V {
		t.Errorf("first point %v", got[0])
	}
	if short := pts[:20]; len(Thin(short, 500)) != 20 {
		t.Errorf("a short series is thinned")
	}
}
