package soak

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestOutsideShapes judges shapes written after the rules, never tuned on
// (issue #25's twenty-seventh part: a .NET heap with rare gen-2
// collections, a container's usage with its page cache reclaimed, a
// Python RSS warming up in arena-sized steps, leaks in steps and with a
// diurnal load, sampling every 60 s to 5 min, runs of 12 to 72 hours,
// series without noise, a JVM heap under a name that does not tell its
// kind), 200 series each, raw and as analyze --prometheus reads them. A
// measurement, not a check: it runs with HORDE_SOAK_OUTSIDE=1 and logs
// failed and flagged %; docs/soak.md has the table and what each row
// says.
func TestOutsideShapes(t *testing.T) {
	if os.Getenv("HORDE_SOAK_OUTSIDE") == "" {
		t.Skip("a measurement: HORDE_SOAK_OUTSIDE=1 runs it")
	}
	h := time.Hour
	heap, osk := LeakOptions{Kind: KindHeap}, LeakOptions{Kind: KindOS}
	dotnet := func(r *rand.Rand, live gen, lo, hi int) gen {
		g0 := jsaw(r, time.Duration(2+r.IntN(10))*time.Second)
		g2 := jsaw(r, time.Duration(lo+r.IntN(hi-lo))*time.Minute)
		a0, a2 := 0.05+0.1*r.Float64(), 0.5+0.8*r.Float64()
		return func(t time.Duration) float64 {
			l := live(t)
			return l*(1+a0*g0(t)+a2*g2(t)) + r.NormFloat64()*0.01*l
		}
	}
	// page cache: grows linearly to a limit, reclaimed by 20–40 % at times
	pagecache := func(r *rand.Rand, live gen) gen {
		cyc := jsaw(r, time.Duration(30+r.IntN(60))*time.Minute)
		a := 0.2 + 0.2*r.Float64()
		return func(t time.Duration) float64 {
			l := live(t)
			return l*(1+a*cyc(t)) + r.NormFloat64()*0.01*l
		}
	}
	// staircase: python arenas: +2–5 % steps at random times over the
	// first 30–90 min (warming up), then rare steps of ±2–4 % around the
	// level reached (an arena freed, another taken), never drifting.
	stairs := func(r *rand.Rand, live gen, span time.Duration) gen {
		var at, dv []float64
		warm := (30 + 60*r.Float64()) * 60
		for x := r.ExpFloat64() * 600; x < warm; x += r.ExpFloat64() * 600 {
			at, dv = append(at, x), append(dv, 0.02+0.03*r.Float64())
		}
		up := false
		for x := warm + r.ExpFloat64()*2400; x < span.Seconds(); x += r.ExpFloat64() * 2400 {
			d := 0.02 + 0.02*r.Float64()
			if up {
				d = -d
			}
			up = !up
			at, dv = append(at, x), append(dv, d)
		}
		return func(t time.Duration) float64 {
			l := live(t)
			lv := 1.0
			for i, x := range at {
				if x <= t.Seconds() {
					lv += dv[i]
				}
			}
			return l*lv + r.NormFloat64()*0.005*l
		}
	}
	flat := func(t time.Duration) float64 { return 100 * mb }
	lk := func(pc float64) gen { return leakF(100*mb, pc, 0) }
	// step leak: +1% every 30 min (2%/h)
	stepLeak := func(r *rand.Rand) gen {
		off := r.Float64() * 1800
		return func(t time.Duration) float64 { return 100 * mb * (1 + 0.01*math.Floor((t.Seconds()+off)/1800)) }
	}
	// diurnal traffic-proportional leak over 48h: mean 2%/h
	diurnal := func(r *rand.Rand, pc float64) gen {
		ph := r.Float64() * 2 * math.Pi
		return func(t time.Duration) float64 {
			x := t.Hours()
			// integral of pc*(1+0.5 sin(2πx/24+ph))
			cum := pc/100*x + pc/100*0.5*24/(2*math.Pi)*(math.Cos(ph)-math.Cos(2*math.Pi*x/24+ph))
			load := 1 + 0.15*math.Sin(2*math.Pi*x/24+ph)
			return 100 * mb * (1 + cum) * load
		}
	}
	// batch job every 4h for 1h, +30%
	batch := func(r *rand.Rand) gen {
		off := r.Float64() * 4
		return func(t time.Duration) float64 {
			x := math.Mod(t.Hours()+off, 4)
			if x < 1 {
				return 130 * mb
			}
			return 100 * mb
		}
	}
	cases := []shapeCase{
		{".NET heap (gen 2 every 10–30 min), flat, 6 h every 15 s", false, heap, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, dotnet(r, flat, 10, 30)) }},
		{".NET heap (gen 2 every 10–30 min), leak 2%/h, 6 h", true, heap, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, dotnet(r, lk(2), 10, 30)) }},
		{".NET heap (gen 2 every 10–30 min), flat, 2 h", false, heap, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, dotnet(r, flat, 10, 30)) }},
		{".NET heap (gen 2 every 10–30 min), leak 5%/h, 2 h", true, heap, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, dotnet(r, lk(5), 10, 30)) }},
		{".NET heap (gen 2 every 30–60 min), flat, 6 h", false, heap, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, dotnet(r, flat, 30, 60)) }},
		{".NET heap (gen 2 every 30–60 min), leak 2%/h, 6 h", true, heap, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, dotnet(r, lk(2), 30, 60)) }},
		{".NET heap (gen 2 every 30–60 min), leak 5%/h, 2 h", true, heap, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, dotnet(r, lk(5), 30, 60)) }},
		{"page cache reclaim flat 6h os", false, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, pagecache(r, flat)) }},
		{"page cache reclaim flat 6h os, start-time marker", false, LeakOptions{Kind: KindOS, Restarts: []time.Time{}, RestartEvidence: "process_start_time_seconds"}, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, pagecache(r, flat)) }},
		{"page cache reclaim leak 2%/h 6h os", true, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, pagecache(r, lk(2))) }},
		{"python stairs flat 6h os", false, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, stairs(r, flat, 6*h)) }},
		{"python stairs leak 2%/h 6h os", true, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, stairs(r, lk(2), 6*h)) }},
		{"python stairs flat 2h os", false, osk, func(r *rand.Rand) []Point { return sample(2*h, 15*time.Second, stairs(r, flat, 2*h)) }},
		{"step leak 1% per 30 min 6h os", true, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, sawtooth(r, stepLeak(r), 0.01)) }},
		{"step leak 1% per 30 min 6h jvm", true, heap, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, jvmHeap(r, stepLeak(r), 0.01)) }},
		{"diurnal leak 2%/h 48h 60s os", true, osk, func(r *rand.Rand) []Point { return sample(48*h, time.Minute, sawtooth(r, diurnal(r, 2), 0.01)) }},
		{"diurnal no leak 48h 60s os", false, osk, func(r *rand.Rand) []Point { return sample(48*h, time.Minute, sawtooth(r, diurnal(r, 0), 0.01)) }},
		{"batch job 4h +30% 24h 30s os", false, osk, func(r *rand.Rand) []Point { return sample(24*h, 30*time.Second, sawtooth(r, batch(r), 0.01)) }},
		{"jvmLongGC flat 12h 30s heap", false, heap, func(r *rand.Rand) []Point { return sample(12*h, 30*time.Second, jvmLongGC(r, flat)) }},
		{"jvmLongGC leak 2%/h 12h 30s heap", true, heap, func(r *rand.Rand) []Point { return sample(12*h, 30*time.Second, jvmLongGC(r, lk(2))) }},
		{"Go heap leak 2%/h 6h 60s", true, heap, func(r *rand.Rand) []Point { return sample(6*h, time.Minute, goHeap(r, lk(2), 0.01)) }},
		{"Go heap flat 6h 60s", false, heap, func(r *rand.Rand) []Point { return sample(6*h, time.Minute, goHeap(r, flat, 0.01)) }},
		{"JVM heap leak 2%/h 6h 60s", true, heap, func(r *rand.Rand) []Point { return sample(6*h, time.Minute, jvmHeap(r, lk(2), 0.01)) }},
		{"RSS leak 2%/h 6h 60s 3% noise", true, osk, func(r *rand.Rand) []Point { return sample(6*h, time.Minute, sawtooth(r, lk(2), 0.03)) }},
		{"RSS flat 72h 5m", false, osk, func(r *rand.Rand) []Point { return sample(72*h, 5*time.Minute, sawtooth(r, flat, 0.01)) }},
		{"RSS leak 2%/h 72h 5m", true, osk, func(r *rand.Rand) []Point { return sample(72*h, 5*time.Minute, sawtooth(r, lk(2), 0.01)) }},
		{"constant, no noise, 6h", false, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, flat) }},
		{"linear leak 2%/h, no noise, 6h", true, osk, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, lk(2)) }},
		{"unknown kind flat JVM 6h", false, LeakOptions{}, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, jvmLongGC(r, flat)) }},
		{"unknown kind leak 2%/h JVM 6h", true, LeakOptions{}, func(r *rand.Rand) []Point { return sample(6*h, 15*time.Second, jvmLongGC(r, lk(2))) }},
	}
	judgeShapes(t, 99, 7, cases)
}

// shapeCase is a shape judged by judgeShapes: its name, whether it leaks,
// the leak check's options, and its generator.
type shapeCase struct {
	name string
	leak bool
	o    LeakOptions
	g    func(r *rand.Rand) []Point
}

// judgeShapes judges 200 series of each case, on the raw samples and as
// `horde analyze --prometheus` reads them (promRange), and logs the failed
// and flagged shares with the first verdict that misses (a leak not
// failed, a leak-free series flagged).
func judgeShapes(t *testing.T, seed1, seed2 uint64, cases []shapeCase) {
	const n = 200
	for _, c := range cases {
		r := rand.New(rand.NewPCG(seed1, seed2))
		var f, w, inc, f2, w2 int
		ex := ""
		for range n {
			pts := c.g(r)
			res := Leak("memory", pts, c.o)
			switch res.Status {
			case Fail:
				f++
			case Warn:
				w++
			case Inconclusive:
				inc++
			}
			if ex == "" && ((c.leak && res.Status != Fail) || (!c.leak && (res.Status == Fail || res.Status == Warn))) {
				ex = string(res.Status) + " " + res.Reason
			}
			switch Leak("memory", promRange(pts), c.o).Status {
			case Fail:
				f2++
			case Warn:
				w2++
			}
		}
		if len(ex) > 300 {
			ex = ex[:300]
		}
		pc := func(k int) float64 { return 100 * float64(k) / float64(n) }
		t.Logf("%-62s leak=%v failed %5.1f%% flagged %5.1f%% inc %d | prom failed %5.1f%% flagged %5.1f%%\n      e.g. %s",
			c.name, c.leak, pc(f), pc(f+w), inc, pc(f2), pc(f2+w2), ex)
	}
}
