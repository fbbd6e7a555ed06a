package soak

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The corpus: generators of memory and latency series with a known truth,
// sampled as Prometheus would give them (every 5 s to 60 s), many seeds per
// case. TestCorpus prints the table docs/soak.md publishes and holds the
// detectors to the acceptance rates:
//
//	go test ./internal/soak -run TestCorpus -v
//
// With HORDE_SOAK_TABLE=FILE it also writes the table as Markdown.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// gen is a value over time; sample turns it into points.
type gen func(t time.Duration) float64

func sample(span, step time.Duration, f gen) []Point {
	out := make([]Point, 0, int(span/step)+1)
	for t := time.Duration(0); t <= span; t += step {
		out = append(out, Point{T: t0.Add(t), V: f(t)})
	}
	return out
}

// saw is a sawtooth in [0, 1) of the given period and phase.
func saw(t, period time.Duration, phase float64) float64 {
	return math.Mod(t.Seconds()/period.Seconds()+phase, 1)
}

// jsaw is a sawtooth whose cycles last period ± 30 % each, as a
// collector's do (a strict period sampled every 15 s aliases into slow
// waves no real heap shows). It is in [0, 1) at t.
func jsaw(r *rand.Rand, period time.Duration) func(t time.Duration) float64 {
	starts := []float64{-r.Float64() * period.Seconds()}
	return func(t time.Duration) float64 {
		x := t.Seconds()
		for starts[len(starts)-1] <= x {
			last := starts[len(starts)-1]
			starts = append(starts, last+period.Seconds()*(0.7+0.6*r.Float64()))
		}
		i := len(starts) - 1
		for i > 0 && starts[i] > x {
			i--
		}
		return (x - starts[i]) / (starts[i+1] - starts[i])
	}
}

// leakF is the live set: base, growing perHour % of base an hour from
// start on.
func leakF(base, perHour float64, start time.Duration) gen {
	return func(t time.Duration) float64 {
		if t < start {
			return base
		}
		return base * (1 + perHour/100*(t-start).Hours())
	}
}

// goHeap is a Go heap with GOGC=100: it grows from the live set to twice
// it, then the collector brings it back; the period is 10 s to 2 min.
func goHeap(r *rand.Rand, live gen, noise float64) gen {
	g := jsaw(r, time.Duration(10+r.IntN(110))*time.Second)
	return func(t time.Duration) float64 {
		l := live(t)
		return l*(1+g(t)) + r.NormFloat64()*noise*l
	}
}

// jvmHeap is a JVM heap: a young generation filling (20–40 % of the live
// set, every 5–30 s) on an old generation that ramps up by 30–60 % between
// full GCs (every 3–8 min), each returning it to the live set.
func jvmHeap(r *rand.Rand, live gen, noise float64) gen {
	young := jsaw(r, time.Duration(5+r.IntN(25))*time.Second)
	full := jsaw(r, time.Duration(180+r.IntN(300))*time.Second)
	ya, oa := 0.2+0.2*r.Float64(), 0.3+0.3*r.Float64()
	return func(t time.Duration) float64 {
		l := live(t)
		return l*(1+oa*full(t)+ya*young(t)) + r.NormFloat64()*noise*l
	}
}

// sawtooth is a generic GC sawtooth of amplitude 20 %, period 30 s to 5 min.
func sawtooth(r *rand.Rand, live gen, noise float64) gen {
	g := jsaw(r, time.Duration(30+r.IntN(270))*time.Second)
	return func(t time.Duration) float64 {
		l := live(t)
		return l*(1+0.2*g(t)) + r.NormFloat64()*noise*l
	}
}

// oom is a leaking container OOM-killed at limit × base and restarted at
// its baseline, with a GC sawtooth.
func oom(r *rand.Rand, base, perHour, limit float64, offset time.Duration) gen {
	g := jsaw(r, time.Duration(30+r.IntN(90))*time.Second)
	cycle := time.Duration((limit - 1.2) / (perHour / 100) * float64(time.Hour))
	return func(t time.Duration) float64 {
		since := time.Duration(math.Mod(float64(t+offset), float64(cycle)))
		return base*(1+perHour/100*since.Hours()) + 0.2*base*g(t) + r.NormFloat64()*0.01*base
	}
}

// jvmLongGC is a JVM heap whose old generation climbs by 40–70 % of the
// live set over 20–40 minutes between major collections, each bringing
// it back to the live set, under a young generation's fast sawtooth: the
// shape issue #25 found called "a leak that restarts".
func jvmLongGC(r *rand.Rand, live gen) gen {
	young := jsaw(r, time.Duration(5+r.IntN(25))*time.Second)
	full := jsaw(r, time.Duration(20+r.IntN(21))*time.Minute)
	ya, oa := 0.1+0.2*r.Float64(), 0.4+0.3*r.Float64()
	return func(t time.Duration) float64 {
		l := live(t)
		return l*(1+oa*full(t)+ya*young(t)) + r.NormFloat64()*0.01*l
	}
}

// scrapeGaps drops 3 to 6 stretches of 5 to 15 minutes from pts: a
// scrape target unreachable, a Prometheus restarted.
func scrapeGaps(r *rand.Rand, pts []Point) []Point {
	drop := make([]bool, len(pts))
	span := pts[len(pts)-1].T.Sub(pts[0].T)
	for range 3 + r.IntN(4) {
		at := pts[0].T.Add(time.Duration(r.Float64() * float64(span)))
		end := at.Add(time.Duration(5+r.IntN(11)) * time.Minute)
		for i, p := range pts {
			if !p.T.Before(at) && p.T.Before(end) {
				drop[i] = true
			}
		}
	}
	var out []Point
	for i, p := range pts {
		if !drop[i] {
			out = append(out, p)
		}
	}
	return out
}

// corpusCase is one kind of series with its truth.
type corpusCase struct {
	name string
	kind string // "leak" or "drift" (latency, rising is bad)
	// truth: "no leak", "leak", "steady", "degrades"
	truth string
	seeds int
	gen   func(r *rand.Rand) []Point
	// check holds the rates to a goal; nil: reported only.
	check func(c counts) error
	// knownMiss marks a goal the detector does not meet yet: the table
	// says so, the test does not fail.
	knownMiss bool
	// opts are the leak check's options (the series's Kind); zero: the
	// defaults, a series whose kind its name does not tell.
	opts LeakOptions
	// genOpts, when set, makes a series and its options together (a
	// restart marker's times, which differ from seed to seed).
	genOpts func(r *rand.Rand) ([]Point, LeakOptions)
}

// counts are the verdicts over a case's seeds.
type counts struct {
	n                     int
	pass, inc, warn, fail int
}

func (c counts) flagged() float64 { return float64(c.warn+c.fail) / float64(c.n) * 100 }
func (c counts) failed() float64  { return float64(c.fail) / float64(c.n) * 100 }

func failedAtMost(pct float64) func(counts) error {
	return func(c counts) error {
		if c.failed() > pct {
			return fmt.Errorf("failed %.1f%%, want <= %.0f%%", c.failed(), pct)
		}
		return nil
	}
}

// noLeakGoal is the goal of every series without a leak: failed in 1 %
// of runs at most, flagged (warn or fail) in 5 % at most.
func noLeakGoal(c counts) error {
	if err := failedAtMost(1)(c); err != nil {
		return err
	}
	if c.flagged() > 5 {
		return fmt.Errorf("flagged %.1f%%, want <= 5%%", c.flagged())
	}
	return nil
}

func failedAtLeast(pct float64) func(counts) error {
	return func(c counts) error {
		if c.failed() < pct {
			return fmt.Errorf("failed %.1f%%, want >= %.0f%%", c.failed(), pct)
		}
		return nil
	}
}

func flaggedAtLeast(pct float64) func(counts) error {
	return func(c counts) error {
		if c.flagged() < pct {
			return fmt.Errorf("flagged %.1f%%, want >= %.0f%%", c.flagged(), pct)
		}
		return nil
	}
}

const mb = 1e6

func stepFor(span time.Duration) time.Duration {
	switch {
	case span <= 10*time.Minute:
		return 5 * time.Second
	case span <= 2*time.Hour:
		return 15 * time.Second
	case span <= 6*time.Hour:
		return 30 * time.Second
	}
	return time.Minute
}

// dirty puts gaps, NaNs, spikes, duplicates and shuffled samples into pts.
func dirty(r *rand.Rand, pts []Point) []Point {
	var out []Point
	gapAt := r.IntN(len(pts))
	for i, p := range pts {
		if i >= gapAt && i < gapAt+len(pts)/10 {
			continue // a gap of a tenth of the series
		}
		switch x := r.Float64(); {
		case x < 0.01:
			p.V = math.NaN()
		case x < 0.015:
			p.V = math.Inf(1)
		case x < 0.02:
			p.V *= 3 // a spike
		case x < 0.03:
			out = append(out, p) // a duplicate
		}
		out = append(out, p)
	}
	for range len(out) / 50 {
		i, j := r.IntN(len(out)), r.IntN(len(out))
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func leakCases() []corpusCase {
	var cs []corpusCase
	// Every series without a leak: failed in 1 % of runs at most,
	// flagged (warn or fail) in 5 % at most.
	noLeak := noLeakGoal
	add := func(name, truth string, seeds int, check func(counts) error, g func(r *rand.Rand) []Point) {
		cs = append(cs, corpusCase{name: name, kind: "leak", truth: truth, seeds: seeds, gen: g, check: check})
	}
	h := time.Hour
	// Healthy services.
	add("horde target warming up, 60 s every 5 s (e2e)", "no leak", 200, noLeak, func(r *rand.Rand) []Point {
		tau := time.Duration(4+r.IntN(12)) * time.Second
		grow := 0.2 + 0.3*r.Float64()
		return sample(time.Minute, 5*time.Second, func(t time.Duration) float64 {
			return 20 * mb * (1 + grow*(1-math.Exp(-t.Seconds()/tau.Seconds())) + r.NormFloat64()*0.01)
		})
	})
	add("horde target leaking 4 MB/s, 60 s every 5 s (e2e)", "leak", 200, failedAtLeast(95), func(r *rand.Rand) []Point {
		rate := 2*mb + 4*mb*r.Float64() // what RSS shows of a 4 MB/s leak
		return sample(time.Minute, 5*time.Second, func(t time.Duration) float64 {
			return 25*mb + rate*t.Seconds() + r.NormFloat64()*0.01*25*mb
		})
	})
	for _, span := range []time.Duration{2 * h, 6 * h} {
		step := stepFor(span)
		add(fmt.Sprintf("Go heap (GOGC doubling), flat, %s", span), "no leak", 200, noLeak, func(r *rand.Rand) []Point {
			return sample(span, step, goHeap(r, leakF(100*mb, 0, 0), 0.01))
		})
		add(fmt.Sprintf("JVM heap (young/old, full GCs), flat, %s", span), "no leak", 200, noLeak, func(r *rand.Rand) []Point {
			return sample(span, step, jvmHeap(r, leakF(100*mb, 0, 0), 0.01))
		})
	}
	add("warming up to steady size (τ 2–10 min), 2 h", "no leak", 200, noLeak, func(r *rand.Rand) []Point {
		tau := time.Duration(2+r.IntN(9)) * time.Minute
		grow := 0.3 + 0.5*r.Float64()
		return sample(2*h, 15*time.Second, sawtooth(r, func(t time.Duration) float64 {
			return 100 * mb * (1 + grow*(1-math.Exp(-t.Seconds()/tau.Seconds())))
		}, 0.01))
	})
	add("page cache filling 30–60 min then flat, 2 h", "no leak", 200, noLeak, func(r *rand.Rand) []Point {
		fill := time.Duration(30+r.IntN(31)) * time.Minute
		grow := 0.2 + 0.3*r.Float64()
		return sample(2*h, 15*time.Second, func(t time.Duration) float64 {
			f := min(t.Seconds()/fill.Seconds(), 1)
			return 100 * mb * (1 + grow*f + r.NormFloat64()*0.005)
		})
	})
	add("RSS high-water mark (running max), 2 h", "no leak", 200, noLeak, func(r *rand.Rand) []Point {
		g := goHeap(r, leakF(100*mb, 0, 0), 0.02)
		hw := 0.0
		return sample(2*h, 15*time.Second, func(t time.Duration) float64 {
			v := g(t)
			if r.Float64() < 0.002 {
				v *= 1.1 + 0.2*r.Float64() // a burst
			}
			hw = max(hw, v)
			return hw
		})
	})
	for _, span := range []time.Duration{24 * h, 48 * h} {
		add(fmt.Sprintf("diurnal ±10–20%%, GC, %s", span), "no leak", 200, noLeak, func(r *rand.Rand) []Point {
			amp, phase := 0.1+0.1*r.Float64(), r.Float64()*2*math.Pi
			return sample(span, time.Minute, sawtooth(r, func(t time.Duration) float64 {
				return 100 * mb * (1 + amp*math.Sin(2*math.Pi*t.Hours()/24+phase))
			}, 0.01))
		})
	}
	add("flat, 3% noise, no GC, 2 h", "no leak", 200, noLeak, func(r *rand.Rand) []Point {
		return sample(2*h, 15*time.Second, func(t time.Duration) float64 { return 100 * mb * (1 + 0.03*r.NormFloat64()) })
	})
	add("flat, GC, gaps, NaN, ±Inf, spikes, duplicates, out of order, 2 h", "no leak", 200, noLeak, func(r *rand.Rand) []Point {
		return dirty(r, sample(2*h, 15*time.Second, sawtooth(r, leakF(100*mb, 0, 0), 0.01)))
	})
	add("step +10% once (a cache), 2 h", "no leak", 200, noLeak, func(r *rand.Rand) []Point {
		at := time.Duration(20+r.IntN(80)) * time.Minute
		return sample(2*h, 15*time.Second, sawtooth(r, func(t time.Duration) float64 {
			if t >= at {
				return 110 * mb
			}
			return 100 * mb
		}, 0.01))
	})
	// A step of a tenth of the floor in a 2-hour window is a leak's
	// growth to the trend test when the sawtooth hides where it steps:
	// 1 % failed, 3 % flagged (docs/soak.md), at the goal's edge; since
	// the two sides of a step must climb together to refute it (issue
	// #25's seventh part, blockedKendall), 0.5 % and 2.5 %, 0.4 % failed
	// pooled over seed bases 0–3000.
	// Leaks.
	for _, span := range []time.Duration{2 * h, 6 * h, 24 * h} {
		for _, rate := range []float64{0.5, 1, 2, 5, 10} {
			var check func(counts) error
			switch {
			case rate >= 2 && span >= 6*h:
				check = failedAtLeast(95)
			case rate == 5 && span == 2*h:
				check = flaggedAtLeast(90)
			}
			step := stepFor(span)
			add(fmt.Sprintf("leak %g%%/h, GC sawtooth, %s", rate, span), "leak", 100, check, func(r *rand.Rand) []Point {
				return sample(span, step, sawtooth(r, leakF(100*mb, rate, 0), 0.01))
			})
		}
	}
	add("leak 5%/h, Go heap, 2 h", "leak", 200, flaggedAtLeast(90), func(r *rand.Rand) []Point {
		return sample(2*h, 15*time.Second, goHeap(r, leakF(100*mb, 5, 0), 0.01))
	})
	add("leak 5%/h, JVM heap, 2 h", "leak", 200, flaggedAtLeast(90), func(r *rand.Rand) []Point {
		return sample(2*h, 15*time.Second, jvmHeap(r, leakF(100*mb, 5, 0), 0.01))
	})
	add("leak 2%/h, JVM heap, 6 h", "leak", 200, failedAtLeast(95), func(r *rand.Rand) []Point {
		return sample(6*h, 30*time.Second, jvmHeap(r, leakF(100*mb, 2, 0), 0.01))
	})
	add("leak 5%/h, 3% noise, no GC, 2 h", "leak", 200, flaggedAtLeast(90), func(r *rand.Rand) []Point {
		return sample(2*h, 15*time.Second, func(t time.Duration) float64 { return leakF(100*mb, 5, 0)(t) * (1 + 0.03*r.NormFloat64()) })
	})
	add("leak 5%/h starting at 40% of 6 h", "leak", 200, failedAtLeast(95), func(r *rand.Rand) []Point {
		return sample(6*h, 30*time.Second, sawtooth(r, leakF(100*mb, 5, 144*time.Minute), 0.01))
	})
	add("leak 5%/h, gaps, NaN, spikes, out of order, 6 h", "leak", 200, failedAtLeast(95), func(r *rand.Rand) []Point {
		return dirty(r, sample(6*h, 30*time.Second, sawtooth(r, leakF(100*mb, 5, 0), 0.01)))
	})
	add("OOM restarts, one pod, leak 20–50%/h, 6 h", "leak", 200, failedAtLeast(95), func(r *rand.Rand) []Point {
		rate := 20 + 30*r.Float64()
		return sample(6*h, 30*time.Second, oom(r, 100*mb, rate, 1.8+0.4*r.Float64(), time.Duration(r.IntN(3600))*time.Second))
	})
	add("OOM restarts, sum of 3 pods, leak 20–50%/h, 6 h", "leak", 200, failedAtLeast(95), func(r *rand.Rand) []Point {
		rate, limit := 20+30*r.Float64(), 1.8+0.4*r.Float64()
		cycle := time.Duration((limit - 1.2) / (rate / 100) * float64(time.Hour))
		var pods []gen
		off := time.Duration(r.IntN(int(cycle)))
		for k := range 3 {
			pods = append(pods, oom(r, 100*mb, rate, limit, off+time.Duration(k)*cycle/3))
		}
		return sample(6*h, 30*time.Second, func(t time.Duration) float64 {
			v := 0.0
			for _, p := range pods {
				v += p(t)
			}
			return v
		})
	})
	// Failed in 0–1.5 % of runs on seed bases 0–7000, both views (two
	// lives climbing +2–4 MB before drops of 11–46 MB) until a drop the
	// lives' climbs do not explain was no kill at a cap (issue #25's
	// twenty-third part, climbsExplainDrops): none since, warned 1.5–2.5 %.
	add("restarts (deploys) without a leak, 6 h", "no leak", 200, noLeak, func(r *rand.Rand) []Point {
		g := sawtooth(r, leakF(100*mb, 0, 0), 0.01)
		every := time.Duration(60+r.IntN(60)) * time.Minute
		return sample(6*h, 30*time.Second, func(t time.Duration) float64 {
			since := time.Duration(math.Mod(float64(t), float64(every)))
			return g(t) * (0.7 + 0.3*(1-math.Exp(-since.Minutes()/3))) // each start warms up again
		})
	})
	// Shapes the rules were not tuned on (issue #25): judged as their
	// exporters' names tell (a JVM heap is KindHeap, an RSS KindOS).
	heap := LeakOptions{Kind: KindHeap}
	addK := func(name, truth string, o LeakOptions, check func(counts) error, g func(r *rand.Rand) []Point) {
		cs = append(cs, corpusCase{name: name, kind: "leak", truth: truth, seeds: 200, gen: g, check: check, opts: o})
	}
	for _, span := range []time.Duration{2 * h, 6 * h} {
		addK(fmt.Sprintf("JVM heap, major GC every 20–40 min, flat, %s (heap)", span), "no leak", heap, noLeak, func(r *rand.Rand) []Point {
			return sample(span, stepFor(span), jvmLongGC(r, leakF(100*mb, 0, 0)))
		})
	}
	addK("leak 5%/h, JVM heap, major GC every 20–40 min, 2 h (heap)", "leak", heap, flaggedAtLeast(90), func(r *rand.Rand) []Point {
		return sample(2*h, 15*time.Second, jvmLongGC(r, leakF(100*mb, 5, 0)))
	})
	addK("leak 2%/h, JVM heap, major GC every 20–40 min, 6 h (heap)", "leak", heap, failedAtLeast(95), func(r *rand.Rand) []Point {
		return sample(6*h, 30*time.Second, jvmLongGC(r, leakF(100*mb, 2, 0)))
	})
	addK("cache filling over a day (τ 4–8 h), 24 h", "no leak", LeakOptions{Kind: KindOS}, noLeak, func(r *rand.Rand) []Point {
		tau := time.Duration(4+r.IntN(5)) * time.Hour
		grow := 0.3 + 0.4*r.Float64()
		return sample(24*h, time.Minute, sawtooth(r, func(t time.Duration) float64 {
			return 100 * mb * (1 + grow*(1-math.Exp(-t.Seconds()/tau.Seconds())))
		}, 0.01))
	})
	addK("leak 2%/h, noisy RSS (5% noise), 6 h", "leak", LeakOptions{Kind: KindOS}, failedAtLeast(95), func(r *rand.Rand) []Point {
		return sample(6*h, 30*time.Second, func(t time.Duration) float64 { return leakF(100*mb, 2, 0)(t) * (1 + 0.05*r.NormFloat64()) })
	})
	addK("leak 5%/h, GC, scrape gaps (3–6 gaps of 5–15 min), 2 h", "leak", LeakOptions{}, flaggedAtLeast(90), func(r *rand.Rand) []Point {
		return scrapeGaps(r, sample(2*h, 15*time.Second, sawtooth(r, leakF(100*mb, 5, 0), 0.01)))
	})
	addK("flat, GC, scrape gaps (3–6 gaps of 5–15 min), 2 h", "no leak", LeakOptions{}, noLeak, func(r *rand.Rand) []Point {
		return scrapeGaps(r, sample(2*h, 15*time.Second, sawtooth(r, leakF(100*mb, 0, 0), 0.01)))
	})
	return cs
}

// markerCases are series judged with a restart marker's times (after the
// drift cases, so that adding them moved no other case's seeds).
func markerCases() []corpusCase {
	var cs []corpusCase
	h := time.Hour
	noLeak := noLeakGoal
	// A heap with a restart marker (process_start_time_seconds): a
	// segment too short for its floor's trend is judged by where it
	// ended (riseToRestart). Deploys end where they began; a leak killed
	// at its cap ends far above.
	withMarker := func(name, truth string, check func(counts) error, g func(r *rand.Rand) (gen, []time.Duration)) {
		cs = append(cs, corpusCase{name: name, kind: "leak", truth: truth, seeds: 200, check: check,
			genOpts: func(r *rand.Rand) ([]Point, LeakOptions) {
				f, at := g(r)
				o := LeakOptions{Kind: KindHeap, RestartEvidence: "process_start_time_seconds"}
				for _, d := range at {
					o.Restarts = append(o.Restarts, t0.Add(d))
				}
				return sample(6*h, 30*time.Second, f), o
			}})
	}
	restartsEvery := func(every, off time.Duration) []time.Duration {
		var at []time.Duration
		for d := every - off; d < 6*h; d += every {
			at = append(at, d)
		}
		return at
	}
	withMarker("JVM heap, major GC every 20–40 min, deploys every 60–120 min with a start-time marker, no leak, 6 h (heap)", "no leak", noLeak,
		func(r *rand.Rand) (gen, []time.Duration) {
			every := time.Duration(60+r.IntN(60)) * time.Minute
			off := time.Duration(r.Int64N(int64(every)))
			return jvmLongGC(r, func(t time.Duration) float64 {
				since := time.Duration(math.Mod(float64(t+off), float64(every)))
				return 100 * mb * (0.7 + 0.3*(1-math.Exp(-since.Minutes()/3)))
			}), restartsEvery(every, off)
		})
	withMarker("JVM heap, major GC every 20–40 min, killed at its cap (leak 20–50%/h) with a start-time marker, 6 h (heap)", "leak", failedAtLeast(95),
		func(r *rand.Rand) (gen, []time.Duration) {
			rate, limit := 20+30*r.Float64(), 1.5+0.5*r.Float64()
			every := time.Duration((limit - 1) / (rate / 100) * float64(time.Hour))
			off := time.Duration(r.Int64N(int64(every)))
			return jvmLongGC(r, func(t time.Duration) float64 {
				since := time.Duration(math.Mod(float64(t+off), float64(every)))
				return 100 * mb * (1 + rate/100*since.Hours())
			}), restartsEvery(every, off)
		})
	// A cache that fills in the first half of each life (τ a twelfth to
	// a sixth of it, +20–50 %), the service restarted by deploys every
	// 60–120 min: each segment grows, then stays (issue #25, fourth part,
	// added when the rules began to count a slowing climb as a segment's
	// climb). With the marker on a JVM heap, and on an RSS whose drops
	// are the only evidence of the restarts.
	cacheLives := func(r *rand.Rand) (func(gen) gen, []time.Duration) {
		every := time.Duration(60+r.IntN(60)) * time.Minute
		off := time.Duration(r.Int64N(int64(every)))
		tau := time.Duration(float64(every) / 6 * (0.5 + 0.5*r.Float64())) // 95 % full by the middle of its life
		grow := 0.2 + 0.3*r.Float64()
		return func(shape gen) gen {
			return func(t time.Duration) float64 {
				since := time.Duration(math.Mod(float64(t+off), float64(every)))
				return shape(t) * (1 + grow*(1-math.Exp(-since.Seconds()/tau.Seconds())))
			}
		}, restartsEvery(every, off)
	}
	withMarker("JVM heap, major GC every 20–40 min, a cache filling over each life (full by mid-life), deploys every 60–120 min with a start-time marker, no leak, 6 h (heap)", "no leak", noLeak,
		func(r *rand.Rand) (gen, []time.Duration) {
			wrap, at := cacheLives(r)
			g := jvmLongGC(r, leakF(100*mb, 0, 0))
			return wrap(func(t time.Duration) float64 { return g(t) }), at
		})
	// Measured 2 % failed, 6.5 % flagged (2.5–3.5 % and 4–8 % on
	// HORDE_SOAK_SEED=1000, 2000, 3000), since the lives are laid over
	// each other by age (agedRiseLasts); 5–6.5 % and 10–14.5 % before,
	// 13.5 % and 31 % with the rules before the fourth part. A segment
	// with two major collections, the first while the cache still fills,
	// cannot show that its rise stopped, and the levels the lives' major
	// collections left are too few and too noisy (a young collection's
	// drop taken for a major one leaves a level far above the live set)
	// to show it every time. A known miss, documented in docs/soak.md.
	// (With major collections also found where the lower envelope drops,
	// issue #25's sixth part: 1.5 % failed, 6.5 % flagged; 2.5 % pooled
	// over the four seed bases. Since its ninth part, a stub of a life
	// no climb by where its floor went: 0.5 % failed, 5.5 % flagged;
	// 1.4 % pooled, 2.25 % on the fresh bases 6000 and 7000. Since its
	// eleventh part, the lives' levels compared pair by pair,
	// agedRiseRanks: 0.5 %, 1 %, 1.5 %, 1.5 % failed, 3 %, 3.5 %, 4 %,
	// 2.5 % flagged on bases 0–3000, 1.1 % and 3.25 % pooled; 1 %, 2 %,
	// 1.5 % failed on 5000–7000.) Since a life seen whole that rose less
	// than RestartRise turns the segments' fail into a warn (flatLife,
	// helper 25o's part): 0, 0, 1, 1 % failed on bases 0–3000, 1, 1.5,
	// 1.5 % on 5000–7000 (0, 0.5, 1, 1, 1, 1.5, 1 % through the
	// Prometheus view), flagged unchanged; still over 1 % on 6000 and
	// 7000, so still marked.
	cs[len(cs)-1].knownMiss = true
	cs = append(cs, corpusCase{name: "RSS, GC, a cache filling over each life (full by mid-life), deploys every 60–120 min, no marker, no leak, 6 h", kind: "leak", truth: "no leak", seeds: 200, check: noLeak,
		opts: LeakOptions{Kind: KindOS},
		gen: func(r *rand.Rand) []Point {
			wrap, _ := cacheLives(r)
			return sample(6*h, 30*time.Second, wrap(sawtooth(r, leakF(100*mb, 0, 0), 0.01)))
		}})
	// Failed in 0.5–2 % raw and 0.5–2.5 % through the Prometheus view on
	// seed bases 0–7000 (flagged up to 7 %) until a life inferred from
	// the drops climbed only at a pace that lasts to its end
	// (inferredClimbLasts); 0–0.5 % and 0–1 % since, but 1.5 % on
	// Prometheus base 2000: restarts detectRestarts missed, two lives in
	// one segment. Since the twenty-third part (a drop the lives' climbs
	// do not explain is no kill at a cap, climbsExplainDrops): 0–0.5 %
	// raw and 0–1 % through Prometheus on bases 0–7000 (1 % on 2000).
	// A shape the rules were not tuned on (issue #25, fifth part, added
	// after agedRiseLasts was measured): a Go heap (GOGC=100, a
	// collection every 10 s to 2 min) whose cache fills over the first
	// 15–45 minutes of each life (τ 5–15 min, +20–50 %), restarted by
	// deploys at irregular times (lives of 30 to 180 minutes), with its
	// start-time marker.
	cs = append(cs, corpusCase{name: "Go heap, a cache filling over each life (τ 5–15 min), deploys at irregular times (lives of 30–180 min) with a start-time marker, no leak, 6 h (heap)", kind: "leak", truth: "no leak", seeds: 200, check: noLeak,
		genOpts: func(r *rand.Rand) ([]Point, LeakOptions) {
			var starts []time.Duration // each life's start, the first before the window
			for d := -time.Duration(r.Int64N(int64(90 * time.Minute))); d < 6*h; d += time.Duration(30+r.IntN(151)) * time.Minute {
				starts = append(starts, d)
			}
			tau := time.Duration(5+r.IntN(11)) * time.Minute
			grow := 0.2 + 0.3*r.Float64()
			g := goHeap(r, func(t time.Duration) float64 {
				i := len(starts) - 1
				for i > 0 && starts[i] > t {
					i--
				}
				return 100 * mb * (1 + grow*(1-math.Exp(-(t-starts[i]).Seconds()/tau.Seconds())))
			}, 0.01)
			o := LeakOptions{Kind: KindHeap, RestartEvidence: "process_start_time_seconds"}
			for _, d := range starts[1:] {
				o.Restarts = append(o.Restarts, t0.Add(d))
			}
			return sample(6*h, 30*time.Second, g), o
		}})
	// Measured 5.5 % failed, 8 % flagged (2.5–4.5 % and 6.5–8 % on the
	// other seed bases; 14.5–18.5 % and 24.5–29 % with the rules before
	// agedRiseLasts): a life of 30 minutes ends with its cache still
	// filling, and a Go heap sampled every 30 s leaves its collections'
	// levels at any phase of the next cycle. A known miss, documented in
	// docs/soak.md. (Since issue #25's sixth part: 5 % failed, 8 %
	// flagged; 3.9 % failed pooled over the four seed bases. Since its
	// seventh part, a heap's life climbing by its trend only when its
	// last half still climbs significantly: 1 % failed, 4 % flagged;
	// 0.9 % pooled, but 1.5 % on seed base 3000, so still marked.
	// Since its eleventh part, the lives' levels compared pair by pair,
	// agedRiseRanks: 0.5 % failed at most and 1.5 % flagged at most on
	// each of the seed bases 0–3000 and 5000–7000, so no longer marked.)
	// Measured 96 % failed (94 % before a heap's segment whose thirds do
	// not each hold a full GC was measured by the live set its major
	// collections left, liveSetRise, and its rise asked to last to the
	// end; 8 % before the segments were judged by riseToRestart); 95.5 %
	// on HORDE_SOAK_SEED=1000. With agedRiseLasts: 96 %, 95 %, 95.5 %,
	// 94 % on seed bases 0, 1000, 2000, 3000 (96 %, 95.5 %, 98 %, 94.5 %
	// before). Since issue #25's sixth part (major collections also
	// found where the lower envelope drops): 95.5 %, 95 %, 95.5 %, 94 %,
	// 95.0 % pooled. Since its seventh part (a heap's life climbs by its
	// trend only when its last half still climbs significantly): 95.5 %,
	// 94.5 %, 95 %, 93.5 %, 94.6 % pooled. Since its ninth part (one life
	// seen whole that climbed, the first segment ending where it did:
	// killed at its cap, endedAtCap): 95 %, 96.5 %, 96 %, 95 %, 95.6 %
	// pooled; 95.5 % and 96.5 % on the fresh bases 6000 and 7000.
	// Since its eleventh part (a life's rise lasts when every late level
	// of the lives laid over each other is above every middle one,
	// agedRiseRanks): 96 %, 96.5 %, 97.5 %, 96 %, 96.5 % pooled; 99 %,
	// 95.5 %, 97.5 % on 5000–7000.
	return cs
}

func driftCases() []corpusCase {
	var cs []corpusCase
	add := func(name, truth string, check func(counts) error, g func(r *rand.Rand) []Point) {
		cs = append(cs, corpusCase{name: name, kind: "drift", truth: truth, seeds: 200, gen: g, check: check})
	}
	h := time.Hour
	lat := func(r *rand.Rand, f func(t time.Duration) float64) func(t time.Duration) float64 {
		return func(t time.Duration) float64 { return f(t) * (1 + 0.05*r.NormFloat64()) }
	}
	add("latency steady, 2 h", "steady", failedAtMost(0), func(r *rand.Rand) []Point {
		return sample(2*h, 15*time.Second, lat(r, func(time.Duration) float64 { return 100 }))
	})
	add("latency steady with a 5–15 min incident (×2–5) that recovers, 2 h", "steady", failedAtMost(0), func(r *rand.Rand) []Point {
		at := time.Duration(15+r.IntN(80)) * time.Minute
		dur := time.Duration(5+r.IntN(11)) * time.Minute
		k := 2 + 3*r.Float64()
		return sample(2*h, 15*time.Second, lat(r, func(t time.Duration) float64 {
			if t >= at && t < at+dur {
				return 100 * k
			}
			return 100
		}))
	})
	add("latency +25% linear ramp, 2 h", "degrades", flaggedAtLeast(90), func(r *rand.Rand) []Point {
		return sample(2*h, 15*time.Second, lat(r, func(t time.Duration) float64 { return 100 * (1 + 0.25*t.Hours()/2) }))
	})
	add("latency +50% linear ramp, 2 h", "degrades", failedAtLeast(95), func(r *rand.Rand) []Point {
		return sample(2*h, 15*time.Second, lat(r, func(t time.Duration) float64 { return 100 * (1 + 0.5*t.Hours()/2) }))
	})
	add("latency steady, NaN, gaps, out of order, 2 h", "steady", failedAtMost(0), func(r *rand.Rand) []Point {
		return dirty(r, sample(2*h, 15*time.Second, lat(r, func(time.Duration) float64 { return 100 })))
	})
	return cs
}

// draw makes the case's next series and its options.
func (c corpusCase) draw(r *rand.Rand) ([]Point, LeakOptions) {
	if c.genOpts != nil {
		return c.genOpts(r)
	}
	return c.gen(r), c.opts
}

func runCase(c corpusCase, seed uint64) counts {
	r := rand.New(rand.NewPCG(seed, 14))
	seeds := c.seeds
	if raceEnabled && !testing.Verbose() {
		seeds = max(20, seeds/10) // the race detector is ten times slower; the rates come from -v runs
	}
	n := counts{n: seeds}
	for range seeds {
		pts, opts := c.draw(r)
		if promView {
			pts = promRange(pts)
		}
		var st Status
		if c.kind == "leak" {
			st = Leak("memory", pts, opts).Status
		} else {
			st = Drift("p95", pts, DriftOptions{}).Status
		}
		switch st {
		case Pass:
			n.pass++
		case Inconclusive:
			n.inc++
		case Warn:
			n.warn++
		case Fail:
			n.fail++
		}
	}
	return n
}

// seedBase shifts every case's seeds (HORDE_SOAK_SEED=N): the same
// generators, other series, a check that the rates hold beyond the seeds
// the table was made with.
var seedBase, _ = strconv.ParseUint(os.Getenv("HORDE_SOAK_SEED"), 10, 64)

func TestCorpus(t *testing.T) {
	cases := append(append(append(append(append(leakCases(), driftCases()...), markerCases()...), namedHeapCases()...), noisyDriftCases()...), earlyCacheCases()...)
	results := make([]counts, len(cases))
	done := make(chan int)
	for i, c := range cases {
		go func() {
			results[i] = runCase(c, uint64(i)+1+seedBase)
			done <- i
		}()
	}
	for range cases {
		<-done
	}
	var b strings.Builder
	b.WriteString("| series | truth | n | pass | inconclusive | warn | fail | flagged | goal |\n|---|---|--:|--:|--:|--:|--:|--:|---|\n")
	for i, c := range cases {
		n := results[i]
		goal := ""
		if c.check != nil && n.n == c.seeds {
			if err := c.check(n); err != nil {
				if !c.knownMiss {
					t.Errorf("%s: %v", c.name, err)
				}
				goal = "**missed**: " + err.Error()
			} else {
				goal = "met"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %.1f%% | %s |\n", c.name, c.truth, n.n, n.pass, n.inc, n.warn, n.fail, n.flagged(), goal)
	}
	t.Logf("verdicts on generated series:\n%s", b.String())
	if f := os.Getenv("HORDE_SOAK_TABLE"); f != "" {
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// namedHeapCases are the Go and JVM heaps of leakCases judged as `horde
// analyze` judges them under the names their exporters give them
// (go_memstats_heap_inuse_bytes, jvm_memory_used_bytes: KindHeap), where
// leakCases judge them as a series whose kind its name does not tell.
// Appended last, so the other cases keep their seeds.
func namedHeapCases() []corpusCase {
	noLeak := noLeakGoal
	heap := LeakOptions{Kind: KindHeap}
	var cs []corpusCase
	add := func(name, truth string, check func(counts) error, known bool, g func(r *rand.Rand) []Point) {
		cs = append(cs, corpusCase{name: name, kind: "leak", truth: truth, seeds: 200, gen: g, check: check, opts: heap, knownMiss: known})
	}
	add("Go heap (GOGC doubling), flat, 2 h, by its name (heap)", "no leak", noLeak, false, func(r *rand.Rand) []Point {
		return sample(2*time.Hour, 15*time.Second, goHeap(r, leakF(100*mb, 0, 0), 0.01))
	})
	add("JVM heap (young/old, full GCs), flat, 2 h, by its name (heap)", "no leak", noLeak, false, func(r *rand.Rand) []Point {
		return sample(2*time.Hour, 15*time.Second, jvmHeap(r, leakF(100*mb, 0, 0), 0.01))
	})
	// 90.5 % flagged on seed bases 0 and 1000, 87–91 % on 2000, 3000 and
	// 6000 (84–86 % when postGCLows was its floor whatever its cycle's
	// samples; see refillSamples), 92 % judged without a kind; 95.5–98 %
	// on bases 0–7000 since its buckets' mid-range (MidRange) is weighed,
	// 95.5–99.5 % without a kind.
	add("leak 5%/h, Go heap, 2 h, by its name (heap)", "leak", flaggedAtLeast(90), false, func(r *rand.Rand) []Point {
		return sample(2*time.Hour, 15*time.Second, goHeap(r, leakF(100*mb, 5, 0), 0.01))
	})
	add("leak 5%/h, JVM heap, 2 h, by its name (heap)", "leak", flaggedAtLeast(90), false, func(r *rand.Rand) []Point {
		return sample(2*time.Hour, 15*time.Second, jvmHeap(r, leakF(100*mb, 5, 0), 0.01))
	})
	// Failed in 93.5 % on seed base 0, 96 % on 1000–3000 before issue
	// #25's eleventh part (the live set after each major collection over
	// 6 h); 96–98.5 % on bases 0–7000 since.
	add("leak 2%/h, JVM heap, 6 h, by its name (heap)", "leak", failedAtLeast(95), false, func(r *rand.Rand) []Point {
		return sample(6*time.Hour, 30*time.Second, jvmHeap(r, leakF(100*mb, 2, 0), 0.01))
	})
	// Scraped every 30 s, as kube-prometheus does (issue #25's sixteenth
	// part, samplesAgree): the 2-h rows above at half their samples. The
	// flat twins meet the no-leak goal on seed bases 0–7000, both views
	// (flagged 0–3 %, failed 0–0.5 %). The leaks are known misses:
	// flagged in 79.5–87 % (JVM heap; 78–80 % on bases 0 and 1000 before
	// samplesAgree, 85–85.5 and 83.5 % after) and 76–88.5 % (Go heap;
	// 84–89 % before on those bases, 85–88.5 % after). A floor of 9–20
	// points leaves the trend test short of its power, and a Go heap's
	// GOGC cycle of 10 s to 2 min scraped every 30 s is often read as a
	// cycle of 4–10 minutes (aliasing), which caps its floor at one point
	// a "cycle". Since issue #25's twenty-fourth part (a heap's floor and
	// its samples both climbing by half the failing growth, each at trend
	// p < 0.2, the samples measured to within that much, warn:
	// trendsAgree) the JVM heap's leaks are flagged in 90–95.5 % on seed
	// bases 0–7000, both views (81.5–90 % before), so no longer marked;
	// the Go heap's in 80.5–91.5 % (76.5–88.5 % before: 90–91.5 % on
	// bases 0–2000, 80.5–87 % on 3000–7000), still a known miss: its
	// samples spread between the live set and twice it measure their
	// growth too loosely in most runs. The flat twins: 0–3.5 % flagged,
	// 0–0.5 % failed; two cells up half a point (JVM heap, raw, bases
	// 3000 and 7000), the rest unchanged.
	for _, c := range []struct {
		name string
		g    func(*rand.Rand, gen) gen
		miss bool
	}{
		{"JVM heap", func(r *rand.Rand, l gen) gen { return jvmHeap(r, l, 0.01) }, false},
		{"Go heap", func(r *rand.Rand, l gen) gen { return goHeap(r, l, 0.01) }, true},
	} {
		add(fmt.Sprintf("%s, flat, 2 h, scraped every 30 s, by its name (heap)", c.name), "no leak", noLeak, false, func(r *rand.Rand) []Point {
			return sample(2*time.Hour, 30*time.Second, c.g(r, leakF(100*mb, 0, 0)))
		})
		add(fmt.Sprintf("leak 5%%/h, %s, 2 h, scraped every 30 s, by its name (heap)", c.name), "leak", flaggedAtLeast(90), c.miss, func(r *rand.Rand) []Point {
			return sample(2*time.Hour, 30*time.Second, c.g(r, leakF(100*mb, 5, 0)))
		})
	}
	return cs
}

// noisyDriftCases are latency series noisier and sampled more coarsely
// than driftCases' (a p95 of few requests, scraped every 30 or 60 s over
// an hour): a steady one never fails. Appended last, so the other cases
// keep their seeds.
func noisyDriftCases() []corpusCase {
	var cs []corpusCase
	for _, step := range []time.Duration{30 * time.Second, time.Minute} {
		cs = append(cs, corpusCase{name: fmt.Sprintf("latency steady, 20%% noise, 1 h every %v", step), kind: "drift", truth: "steady", seeds: 200, check: failedAtMost(0),
			gen: func(r *rand.Rand) []Point {
				return sample(time.Hour, step, func(time.Duration) float64 { return 100 * (1 + 0.2*r.NormFloat64()) })
			}})
		cs = append(cs, corpusCase{name: fmt.Sprintf("latency +25%% linear ramp, 1 h every %v", step), kind: "drift", truth: "degrades", seeds: 200, check: flaggedAtLeast(90),
			gen: func(r *rand.Rand) []Point {
				return sample(time.Hour, step, func(t time.Duration) float64 { return 100 * (1 + 0.25*t.Hours()) * (1 + 0.05*r.NormFloat64()) })
			}})
	}
	return cs
}

// earlyCacheCases are caches that fill in the first hour of a 6-hour run
// (τ 10–20 minutes, the live set +30–90 %) and stay full, and a leak of
// 2 %/h of the filled level after the same fill (issue #25's twenty-fifth
// part). By the second hour the cache is flat: only the first hour's
// climb makes the whole window's trend significant, and a chance climb
// of the last half is the only other guard. The leak failed in 52–70 %
// of runs (raw, seed bases 0 and 1000: JVM heap 52–63.5 %, Go heap
// 55–62 %, RSS 63.5–70.5 %) while a single curve fitted the fill and the
// leak together and the halves read the fill as slowing; since a curve
// plus a line is asked of the floor (climbsBeyondCurve), on bases
// 0–7000, both views: RSS 99–100 %, Go heap 79.5–90.5 %, JVM heap
// 61.5–75 % (flagged 84–92 %: the heaps' floors have too few points for
// the line to earn its parameter every time), the heaps' rows known
// misses. The caches: RSS and Go heap failed 0–1 %, the JVM heap's
// 0–2.5 % (1.5 % on base 0, 2.5 % on 7000, the same without the rule: a
// chance climb of its bucket quantiles after the fill), 0–1.5 % since
// grewOnlyEarly (1.5 % on base 0, both views; flagged 0–3 %), a known miss.
// Appended last, so the other cases keep their seeds.
func earlyCacheCases() []corpusCase {
	var cs []corpusCase
	fill := func(r *rand.Rand, perHour float64) gen {
		tau := time.Duration(10+r.IntN(11)) * time.Minute
		grow := 0.3 + 0.6*r.Float64()
		return func(t time.Duration) float64 {
			// The leak is perHour % an hour of the filled level.
			return 100 * mb * (1 + grow*(1-math.Exp(-t.Seconds()/tau.Seconds())) + (1+grow)*perHour/100*t.Hours())
		}
	}
	shapes := []struct {
		name                string
		o                   LeakOptions
		g                   func(*rand.Rand, gen) gen
		cacheMiss, leakMiss bool
	}{
		{"JVM heap (young/old, full GCs), by its name (heap)", LeakOptions{Kind: KindHeap}, func(r *rand.Rand, l gen) gen { return jvmHeap(r, l, 0.01) }, true, true},
		{"Go heap (GOGC doubling), by its name (heap)", LeakOptions{Kind: KindHeap}, func(r *rand.Rand, l gen) gen { return goHeap(r, l, 0.01) }, false, true},
		{"RSS, GC sawtooth (os)", LeakOptions{Kind: KindOS}, func(r *rand.Rand, l gen) gen { return sawtooth(r, l, 0.01) }, false, false},
	}
	for _, sh := range shapes {
		cs = append(cs, corpusCase{name: "cache filling in the first hour (τ 10–20 min, +30–90%), then flat, 6 h, " + sh.name, kind: "leak", truth: "no leak", seeds: 200,
			check: noLeakGoal, opts: sh.o, knownMiss: sh.cacheMiss, gen: func(r *rand.Rand) []Point {
				return sample(6*time.Hour, 30*time.Second, sh.g(r, fill(r, 0)))
			}})
		cs = append(cs, corpusCase{name: "leak 2%/h after a cache filling in the first hour, 6 h, " + sh.name, kind: "leak", truth: "leak", seeds: 200,
			check: failedAtLeast(95), opts: sh.o, knownMiss: sh.leakMiss, gen: func(r *rand.Rand) []Point {
				return sample(6*time.Hour, 30*time.Second, sh.g(r, fill(r, 2)))
			}})
	}
	return cs
}

// promView judges every case, leak and drift, as `horde analyze
// --prometheus` reads it (HORDE_SOAK_VIEW=prometheus): the series as a
// range query at analyze's default step returns it, then FromRangeQuery,
// as analyze applies to both.
var promView = os.Getenv("HORDE_SOAK_VIEW") == "prometheus"

// promRange is pts as a Prometheus range query at analyze's default step
// (the range / 1000, at least 1 s) returns it: at each step the latest
// sample at or before it within the 5-minute lookback, then what
// FromRangeQuery keeps of it.
func promRange(pts []Point) []Point {
	c, _ := Clean(pts)
	if len(c) < 2 {
		return c
	}
	t0, t1 := c[0].T, c[len(c)-1].T
	step := max(t1.Sub(t0)/1000, time.Second)
	var out []Point
	j := 0
	for t := t0; !t.After(t1); t = t.Add(step) {
		for j+1 < len(c) && !c[j+1].T.After(t) {
			j++
		}
		if c[j].T.After(t) || t.Sub(c[j].T) > 5*time.Minute {
			continue
		}
		out = append(out, Point{T: t, V: c[j].V})
	}
	kept, _ := FromRangeQuery(out, step)
	return kept
}
