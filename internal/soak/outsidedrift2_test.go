package soak

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestOutsideDrift2 judges latency, error-rate and throughput shapes
// written after issue #25's twenty-ninth part and never tuned on, with the
// options a run gives each check (200 series each, 2 hours every 15 s
// unless said). A measurement, not a gate: HORDE_SOAK_OUTSIDE=1 runs it;
// docs/soak.md (the thirtieth part) has the table.
func TestOutsideDrift2(t *testing.T) {
	if os.Getenv("HORDE_SOAK_OUTSIDE") == "" {
		t.Skip("a measurement: HORDE_SOAK_OUTSIDE=1 runs it")
	}
	h := 2 * time.Hour
	lat := DriftOptions{Worse: 1, FailPct: 20, MinAbs: 1}
	cases := []struct {
		name string
		o    DriftOptions
		g    func(r *rand.Rand) []Point
	}{
		{"p99 heavy tail (5% samples x2-10)", lat, func(r *rand.Rand) []Point {
			return sample(h, 15*time.Second, func(time.Duration) float64 {
				v := 100 * math.Exp(0.1*r.NormFloat64())
				if r.Float64() < 0.05 {
					v *= 2 + 8*r.Float64()
				}
				return v
			})
		}},
		{"sparse p95 (30% NaN, 40% noise)", lat, func(r *rand.Rand) []Point {
			return sample(h, 15*time.Second, func(time.Duration) float64 {
				if r.Float64() < 0.3 {
					return math.NaN()
				}
				return 100 * math.Exp(0.4*r.NormFloat64())
			})
		}},
		{"error rate bursts", DriftOptions{Worse: 1, Absolute: true, FailPct: 1}, func(r *rand.Rand) []Point {
			var bs []float64
			for x := r.ExpFloat64() * 1200; x < 8000; x += r.ExpFloat64() * 1200 {
				bs = append(bs, x)
			}
			return sample(h, 15*time.Second, func(t time.Duration) float64 {
				for _, b := range bs {
					if t.Seconds() >= b && t.Seconds() < b+90 {
						return 2 + 3*r.Float64()
					}
				}
				return 0
			})
		}},
		{"throughput cron dip", DriftOptions{Worse: -1, FailPct: 20}, func(r *rand.Rand) []Point {
			off := r.Float64() * 600
			return sample(h, 15*time.Second, func(t time.Duration) float64 {
				l := 50.0
				if math.Mod(t.Seconds()+off, 600) < 60 {
					l = 25
				}
				return l + math.Sqrt(l/15)*r.NormFloat64()
			})
		}},
		{"latency pool recycle sawtooth 30 min +20%", lat, func(r *rand.Rand) []Point {
			s := jsaw(r, 30*time.Minute)
			return sample(h, 15*time.Second, func(t time.Duration) float64 { return 50 * (1 + 0.2*s(t)) * math.Exp(0.05*r.NormFloat64()) })
		}},
		{"bimodal p95 (5 or 50 ms)", lat, func(r *rand.Rand) []Point {
			return sample(h, 15*time.Second, func(time.Duration) float64 {
				if r.Float64() < 0.5 {
					return 5 * math.Exp(0.1*r.NormFloat64())
				}
				return 50 * math.Exp(0.1*r.NormFloat64())
			})
		}},
		{"bimodal p95 slow switching (AR)", lat, func(r *rand.Rand) []Point {
			hi := false
			return sample(h, 15*time.Second, func(time.Duration) float64 {
				if r.Float64() < 0.05 {
					hi = !hi
				}
				if hi {
					return 50 * math.Exp(0.1*r.NormFloat64())
				}
				return 5 * math.Exp(0.1*r.NormFloat64())
			})
		}},
		{"sub-ms latency 0.4 ms, 30% noise", lat, func(r *rand.Rand) []Point {
			return sample(h, 15*time.Second, func(time.Duration) float64 { return 0.4 * math.Exp(0.3*r.NormFloat64()) })
		}},
		{"steady 6h, 5 s samples, 20% noise", lat, func(r *rand.Rand) []Point {
			return sample(6*time.Hour, 5*time.Second, func(time.Duration) float64 { return 80 * math.Exp(0.2*r.NormFloat64()) })
		}},
		{"RAMP +25% with heavy tail", lat, func(r *rand.Rand) []Point {
			return sample(h, 15*time.Second, func(t time.Duration) float64 {
				v := 100 * (1 + 0.25*t.Hours()/2) * math.Exp(0.1*r.NormFloat64())
				if r.Float64() < 0.05 {
					v *= 2 + 8*r.Float64()
				}
				return v
			})
		}},
		{"RAMP +25% sparse", lat, func(r *rand.Rand) []Point {
			return sample(h, 15*time.Second, func(t time.Duration) float64 {
				if r.Float64() < 0.3 {
					return math.NaN()
				}
				return 100 * (1 + 0.25*t.Hours()/2) * math.Exp(0.4*r.NormFloat64())
			})
		}},
	}
	for _, c := range cases {
		r := rand.New(rand.NewPCG(4242, 3))
		var f, w int
		ex := ""
		for range 200 {
			res := Drift("x", c.g(r), c.o)
			switch res.Status {
			case Fail:
				f++
			case Warn:
				w++
			}
			if ex == "" && (res.Status == Fail || res.Status == Warn) {
				ex = res.Reason
			}
		}
		if len(ex) > 250 {
			ex = ex[:250]
		}
		t.Logf("%-45s failed %d flagged %d of 200 | %s", c.name, f, f+w, ex)
	}
}
