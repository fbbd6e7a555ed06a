package soak

import (
	"math"
	"math/rand/v2"
	"time"
)

// series generates memory samples with a known truth, every step over span:
// a floor of base bytes growing leakPerHour % per hour (of base), a GC
// sawtooth rising gc × base over each period then dropping back, Gaussian
// noise of noise × base, an optional step of stepPct % at stepAt, and an
// optional diurnal sine of ±diurnal × base over 24 h.
type series struct {
	base        float64
	leakPerHour float64
	gc          float64
	gcPeriod    time.Duration
	noise       float64
	stepPct     float64
	stepAt      time.Duration
	diurnal     float64
	span, step  time.Duration
}

func (s series) points(r *rand.Rand) []Point {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	phase := r.Float64()
	var out []Point
	for t := time.Duration(0); t <= s.span; t += s.step {
		h := t.Hours()
		v := s.base * (1 + s.leakPerHour/100*h)
		if s.gc > 0 {
			frac := math.Mod(t.Seconds()/s.gcPeriod.Seconds()+phase, 1)
			v += s.gc * s.base * frac
		}
		if s.stepPct != 0 && t >= s.stepAt {
			v += s.base * s.stepPct / 100
		}
		if s.diurnal > 0 {
			v += s.diurnal * s.base * math.Sin(2*math.Pi*h/24+phase*2*math.Pi)
		}
		v += r.NormFloat64() * s.noise * s.base
		out = append(out, Point{T: t0.Add(t), V: v})
	}
	return out
}
