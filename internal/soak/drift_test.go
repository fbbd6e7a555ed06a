package soak

import (
	"math/rand/v2"
	"testing"
	"time"
)

func latencies(r *rand.Rand, n int, base, growthPerStep, noise float64) []Point {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Point, n)
	for i := range out {
		out[i] = Point{T: t0.Add(time.Duration(i) * 2 * time.Second), V: base + growthPerStep*float64(i) + r.NormFloat64()*noise}
	}
	return out
}

func TestDrift(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		pts  []Point
		o    DriftOptions
		want Status
	}{
		{"steady p95", latencies(r, 900, 100, 0, 5), DriftOptions{}, Pass},
		{"p95 grows 50%", latencies(r, 900, 100, 50.0/900, 5), DriftOptions{}, Fail},
		{"p95 grows 18%", latencies(r, 900, 100, 18.0/900, 2), DriftOptions{}, Warn},
		{"throughput falls 30%", latencies(r, 900, 1000, -300.0/900, 20), DriftOptions{Worse: -1}, Fail},
		{"throughput rises: fine", latencies(r, 900, 1000, 300.0/900, 20), DriftOptions{Worse: -1}, Pass},
		{"error rate 0 to 3 points", latencies(r, 900, 0, 3.0/900, 0.1), DriftOptions{Absolute: true, FailPct: 1}, Fail},
		{"too short", latencies(r, 5, 100, 10, 0), DriftOptions{}, Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Drift("p95", tt.pts, tt.o)
			if got.Status != tt.want {
				t.Errorf("got %s (%s), want %s", got.Status, got.Reason, tt.want)
			}
		})
	}
}
