package soak

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestOutsideShapes2 judges shapes written after issue #25's twenty-ninth
// part and never tuned on, as TestOutsideShapes does: a gauge of the live
// set that moves only when a collection ends, a Go process's resident
// memory that the scavenger returns after load bursts, a value rounded to
// whole megabytes, and a C allocator's high-water mark trimmed at times.
// A measurement, not a gate: HORDE_SOAK_OUTSIDE=1 runs it.
func TestOutsideShapes2(t *testing.T) {
	if os.Getenv("HORDE_SOAK_OUTSIDE") == "" {
		t.Skip("a measurement: HORDE_SOAK_OUTSIDE=1 runs it")
	}
	h := time.Hour
	heap, osk := LeakOptions{Kind: KindHeap}, LeakOptions{Kind: KindOS}
	marked := LeakOptions{Kind: KindOS, Restarts: []time.Time{}, RestartEvidence: "process_start_time_seconds"}
	flat := func(t time.Duration) float64 { return 100 * mb }
	lk := func(pc float64) gen { return leakF(100*mb, pc, 0) }
	// goRSS: a Go process's resident memory: 1.6–2× the live set, load
	// bursts every 20–90 min raise it by 30–60 %, and the scavenger
	// returns the pages over 3–10 min after.
	goRSS := func(r *rand.Rand, live gen) gen {
		type burst struct{ at, up, decay float64 }
		var bs []burst
		for x := r.ExpFloat64() * 3000; x < 80*3600; x += 1200 + r.Float64()*4200 {
			bs = append(bs, burst{x, 0.3 + 0.3*r.Float64(), 180 + 420*r.Float64()})
		}
		k := 1.6 + 0.4*r.Float64()
		return func(t time.Duration) float64 {
			x, m := t.Seconds(), 0.0
			for _, b := range bs {
				switch {
				case x >= b.at && x < b.at+300:
					m = math.Max(m, b.up)
				case x >= b.at+300:
					m = math.Max(m, b.up*math.Exp(-(x-b.at-300)/b.decay))
				}
			}
			l := live(t)
			return l*k*(1+m) + r.NormFloat64()*0.005*l
		}
	}
	// mbRound: resident memory reported in whole megabytes.
	mbRound := func(r *rand.Rand, live gen) gen {
		s := sawtooth(r, live, 0.005)
		return func(t time.Duration) float64 { return math.Round(s(t)/mb) * mb }
	}
	// trimmed: a C allocator's resident memory: the running maximum of a
	// noisy level, trimmed back by 10–20 % every 1–2 h (malloc_trim).
	trimmed := func(r *rand.Rand, live gen) gen {
		hi, next := 0.0, 3600*(1+r.Float64())
		return func(t time.Duration) float64 {
			l := live(t)
			v := l * (1 + 0.05*math.Abs(r.NormFloat64()))
			if t.Seconds() >= next {
				hi *= 0.8 + 0.1*r.Float64()
				next += 3600 * (1 + r.Float64())
			}
			hi = math.Max(hi, v)
			return hi
		}
	}
	cases := []shapeCase{
		{"live set after each major GC (every 1–10 min), flat, 6 h (heap)", false, heap, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, liveAfterGC(r, flat, 60, 600)) }},
		{"the same, leak 2%/h, 6 h", true, heap, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, liveAfterGC(r, lk(2), 60, 600)) }},
		{"the same, flat, 2 h", false, heap, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, liveAfterGC(r, flat, 60, 600)) }},
		{"the same, leak 5%/h, 2 h", true, heap, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, liveAfterGC(r, lk(5), 60, 600)) }},
		{"live set after each Go GC (every 10 s–2 min), flat, 2 h (heap)", false, heap, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, liveAfterGC(r, flat, 10, 120)) }},
		{"the same, leak 5%/h, 2 h", true, heap, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, liveAfterGC(r, lk(5), 10, 120)) }},
		{"the same, flat, 6 h", false, heap, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, liveAfterGC(r, flat, 10, 120)) }},
		{"the same, leak 2%/h, 6 h", true, heap, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, liveAfterGC(r, lk(2), 10, 120)) }},
		{"Go RSS, bursts returned by the scavenger, flat, 6 h (os)", false, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, goRSS(r, flat)) }},
		{"the same, flat, 2 h", false, osk, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, goRSS(r, flat)) }},
		{"the same, leak 2%/h, 6 h", true, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, goRSS(r, lk(2))) }},
		{"the same, leak 5%/h, 2 h", true, osk, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, goRSS(r, lk(5))) }},
		{"RSS in whole MB (100 MB), flat, 6 h (os)", false, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, mbRound(r, flat)) }},
		{"the same, leak 2%/h, 6 h", true, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, mbRound(r, lk(2))) }},
		{"the same, leak 5%/h, 2 h", true, osk, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, mbRound(r, lk(5))) }},
		{"malloc high-water, trimmed 10–20 % every 1–2 h, flat, 6 h (os)", false, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, trimmed(r, flat)) }},
		{"the same, leak 2%/h, 6 h", true, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, trimmed(r, lk(2))) }},
		{"the same, flat, 2 h", false, osk, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, trimmed(r, flat)) }},
		{"the same, flat, 6 h, with the start-time marker", false, marked, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, trimmed(r, flat)) }},
		{"the same, leak 2%/h, 6 h, with the start-time marker", true, marked, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, trimmed(r, lk(2))) }},
	}
	judgeShapes(t, 1234, 5, cases)
}

// liveAfterGC is a gauge of the live set measured at each collection's end
// (every lo–hi s) and held until the next (jvm_gc_live_data_size_bytes,
// go_gc_heap_live_bytes): a staircase, 1–3 % noise per step.
func liveAfterGC(r *rand.Rand, live gen, lo, hi int) gen {
	var next, v float64 = -1, 0
	sd := 0.01 + 0.02*r.Float64()
	return func(t time.Duration) float64 {
		x := t.Seconds()
		for next < x {
			next = max(next, 0)
			v = live(time.Duration(next*float64(time.Second))) * (1 + sd*r.NormFloat64())
			next += float64(lo) + float64(hi-lo)*r.Float64()
		}
		return v
	}
}
