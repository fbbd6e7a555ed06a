package soak

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLeak_Reasons(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	leak := series{base: 100e6, leakPerHour: 20, gc: 0.2, gcPeriod: time.Minute, noise: 0.01, span: 2 * time.Hour, step: 10 * time.Second}
	res := Leak("target.memory", leak.points(r), LeakOptions{Limit: 200e6})
	if res.Status != Fail {
		t.Fatalf("20%%/h leak: %s (%s)", res.Status, res.Reason)
	}
	if res.PerHourPct < 15 || res.PerHourPct > 25 {
		t.Errorf("per hour: %.1f%%, want about 20", res.PerHourPct)
	}
	if res.TimeToLimit <= 0 || !strings.Contains(res.Reason, "reaches the limit") {
		t.Errorf("time to limit %v, reason %q", res.TimeToLimit, res.Reason)
	}
	few := Leak("m", leak.points(r)[:5], LeakOptions{})
	if few.Status != Inconclusive || !strings.Contains(few.Reason, "not enough") {
		t.Errorf("five samples: %s %q", few.Status, few.Reason)
	}
}

func TestTheilSen_IgnoresOutliers(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	ys := []float64{1, 3, 5, 7, 9, 11, 13, 15, 17, 19}
	ys[3], ys[7] = 1000, -1000
	slope, icept := TheilSen(xs, ys)
	if slope != 2 || icept != 1 {
		t.Errorf("got slope %v intercept %v, want 2 and 1", slope, icept)
	}
}

func TestMannKendall(t *testing.T) {
	up := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if s, _, p := MannKendall(up); s != 45 || p > 0.001 {
		t.Errorf("increasing: S %v p %v", s, p)
	}
	flat := []float64{5, 5, 5, 5, 5, 5}
	if _, _, p := MannKendall(flat); p != 1 {
		t.Errorf("constant: p %v, want 1", p)
	}
	// S counted by hand: 1+5+1+4+1-2+1 over the pairs from each element.
	if s, _, _ := MannKendall([]float64{3, 1, 4, 1, 5, 9, 2, 6}); s != 11 {
		t.Errorf("S = %v, want 11", s)
	}
}

// linear is n samples a second apart of v0 + slope × seconds.
func linear(n int, v0, slope float64) []Point {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Point, n)
	for i := range out {
		out[i] = Point{T: t0.Add(time.Duration(i) * time.Second), V: v0 + slope*float64(i)}
	}
	return out
}

// The fitted line the checks return lies on an exact line, over the window
// judged (after the warm-up), whether the estimators saw every point or
// bucketed ones.
func TestLine_FitOfLeakAndDrift(t *testing.T) {
	for _, n := range []int{30, 400} {
		pts := linear(n, 1000, 2)
		warm := 5 * time.Second
		for _, tt := range []struct {
			name string
			fit  Line
			tol  float64 // the lower envelope sits below the middle of its bucket
		}{
			{"leak", Leak("m", pts, LeakOptions{Warmup: warm}).Fit, 0.5 * 2 * float64(n) / float64(min(envelopeBuckets, max(minBuckets, n/3)))},
			{"drift", Drift("p95", pts, DriftOptions{Warmup: warm}).Fit, 1},
		} {
			t.Run(fmt.Sprintf("%s/%d points", tt.name, n), func(t *testing.T) {
				from, to := pts[0].T.Add(warm), pts[n-1].T
				if tt.fit.IsZero() || !tt.fit.From.Equal(from) || !tt.fit.To.Equal(to) {
					t.Fatalf("fit over %v..%v, want %v..%v", tt.fit.From, tt.fit.To, from, to)
				}
				if got := tt.fit.SlopePerSec; math.Abs(got-2) > 1e-9 {
					t.Errorf("slope %v, want 2", got)
				}
				for _, at := range []time.Time{from, to} {
					want := 1000 + 2*at.Sub(pts[0].T).Seconds()
					if got := tt.fit.At(at); math.Abs(got-want) > tt.tol {
						t.Errorf("value at %v: got %v, want %v ± %v", at.Sub(pts[0].T), got, want, tt.tol)
					}
				}
			})
		}
	}
	if fit := Leak("m", linear(5, 1, 1), LeakOptions{}).Fit; !fit.IsZero() {
		t.Errorf("five samples: got fit %+v, want none", fit)
	}
	if fit := Drift("p95", linear(5, 1, 1), DriftOptions{}).Fit; !fit.IsZero() {
		t.Errorf("five samples: got fit %+v, want none", fit)
	}
}

// A heap still approaching its level at the end of a short soak (a busy
// machine: τ of 20 s over 45 s) is growth that levels off, not a leak; a
// straight climb of the same size cannot be told from a warm-up in so short
// a window (inconclusive), and a climb far past the threshold is a leak.
func TestLeak_SaturatingIsNotALeak(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	var sat, lin, steep []Point
	for i := range 10 {
		at := time.Duration(i) * 5 * time.Second
		x := at.Seconds()
		sat = append(sat, Point{T: t0.Add(at), V: 20e6 * (1.3 - 0.3*math.Exp(-x/20)) * (1 + 0.002*r.NormFloat64())})
		lin = append(lin, Point{T: t0.Add(at), V: 20e6 * (1 + 0.005*x) * (1 + 0.002*r.NormFloat64())})
		steep = append(steep, Point{T: t0.Add(at), V: 20e6 * (1 + 0.03*x) * (1 + 0.002*r.NormFloat64())})
	}
	s := Leak("m", sat, LeakOptions{Warmup: time.Nanosecond})
	if s.Status == Fail || s.GrowthPct >= 10 || !s.Levelled {
		t.Errorf("saturating: %s, growth %.1f%%, levelled %v: %s", s.Status, s.GrowthPct, s.Levelled, s.Reason)
	}
	l := Leak("m", lin, LeakOptions{Warmup: time.Nanosecond})
	if l.Status != Inconclusive || l.GrowthPct < 15 || l.DecideAfter < ShortWindow {
		t.Errorf("linear: %s, growth %.1f%%, decide after %v: %s", l.Status, l.GrowthPct, l.DecideAfter, l.Reason)
	}
	if st := Leak("m", steep, LeakOptions{Warmup: time.Nanosecond}); st.Status != Fail || st.GrowthPct < ShortWindowFailFactor*DefaultFailGrowth {
		t.Errorf("steep: %s, growth %.1f%%: %s", st.Status, st.GrowthPct, st.Reason)
	}
}

// SenInterval covers the true slope about as often as its level says, on
// independent noise: 90 % nominal, between 82 % and 97 % over 400 series.
func TestSenInterval_Coverage(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	covered := 0
	const n = 400
	for range n {
		xs := make([]float64, 30)
		ys := make([]float64, 30)
		for i := range xs {
			xs[i] = float64(i) * 60
			ys[i] = 100 + 0.01*xs[i] + r.NormFloat64()*2
		}
		lo, hi := SenInterval(xs, ys, 1.645)
		if lo <= 0.01 && 0.01 <= hi {
			covered++
		}
	}
	if pct := float64(covered) / n * 100; pct < 82 || pct > 97 {
		t.Errorf("covered the true slope %.1f%% of the time, want about 90%%", pct)
	}
	lo, hi := SenInterval([]float64{0, 1}, []float64{1, 2}, 1.645)
	if !math.IsInf(lo, -1) || !math.IsInf(hi, 1) {
		t.Errorf("two points: [%v, %v], want unbounded", lo, hi)
	}
}

// A heap restarted at known times whose lives each hold two or three
// major collections: laid over each other by age, a cache that fills in
// the first part of each life levels off and a leak killed at its cap
// climbs to the kill (agedRiseLasts); the leak fails. Lives of 100
// minutes, a major collection every 35, a young generation's sawtooth.
func TestLeak_AgedLives(t *testing.T) {
	const life, major = 100 * time.Minute, 35 * time.Minute
	series := func(live func(age time.Duration) float64) ([]Point, LeakOptions, []int) {
		o := LeakOptions{Kind: KindHeap, RestartEvidence: "process_start_time_seconds"}
		for d := life - 20*time.Minute; d < 6*time.Hour; d += life {
			o.Restarts = append(o.Restarts, t0.Add(d))
		}
		var pts []Point
		for d := time.Duration(0); d <= 6*time.Hour; d += 30 * time.Second {
			age := (d + 20*time.Minute) % life
			old := math.Mod((d+7*time.Minute).Seconds(), major.Seconds()) / major.Seconds()
			young := math.Mod(d.Seconds(), 70) / 70
			pts = append(pts, Point{T: t0.Add(d), V: live(age) * (1 + 0.5*old + 0.1*young)})
		}
		return pts, o, append(append([]int{0}, restartIndices(pts, o.Restarts)...), len(pts))
	}
	cache, o, bounds := series(func(age time.Duration) float64 {
		return 100e6 * (1 + 0.4*(1-math.Exp(-age.Minutes()/10)))
	})
	if agedRiseLasts(cache, bounds, o.withDefaults()) {
		t.Error("cache filling in each life: the lives laid over each other still rise")
	}
	if r := Leak("jvm_memory_used_bytes", cache, o); r.Status == Fail || r.Status == Warn {
		t.Errorf("cache filling in each life: %s: %s", r.Status, r.Reason)
	}
	leak, o, bounds := series(func(age time.Duration) float64 { return 100e6 * (1 + 0.6*age.Hours()) })
	if !agedRiseLasts(leak, bounds, o.withDefaults()) {
		t.Error("leak killed at its cap: the lives laid over each other level off")
	}
	if r := Leak("jvm_memory_used_bytes", leak, o); r.Status != Fail {
		t.Errorf("leak killed at its cap: %s: %s", r.Status, r.Reason)
	}
}

// A JVM heap judged without a kind (a metric name KindOf does not know)
// whose full collections stand out among its young ones is judged on
// one floor point a major cycle (15–38 in 2 h), not on the 8–13 buckets
// that hold whole cycles, when its largest drops are regular enough for
// gcCycles to find their period (a fifth of these series); a Go heap,
// whose collections all drop alike, keeps its bucket floor.
func TestLeak_UnknownKindMajorCycles(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 14))
	lows, jvmFlagged := 0, 0
	const n = 40
	for range n {
		pts := sample(2*time.Hour, 15*time.Second, jvmHeap(r, leakF(100*mb, 5, 0), 0.01))
		res := Leak("memory", pts, LeakOptions{})
		// Judged as an OS-level series, the same floor never takes
		// major cycles' levels.
		u := judgeFloor(pts, 0, LeakOptions{}.withDefaults(), 15*time.Second)
		os := judgeFloor(pts, 0, LeakOptions{Kind: KindOS}.withDefaults(), 15*time.Second)
		if u.floorPoints > os.floorPoints && u.floorPoints > 13 {
			lows++
		}
		if res.Status == Warn || res.Status == Fail {
			jvmFlagged++
		}
	}
	if lows < n/10 {
		t.Errorf("a JVM heap of unknown kind judged on its major cycles' levels in %d of %d series, want a tenth at least (those whose largest drops gcCycles finds regular)", lows, n)
	}
	if jvmFlagged < n*8/10 {
		t.Errorf("a 5 %%/h leak under a JVM heap of unknown kind flagged in %d of %d series", jvmFlagged, n)
	}
	sparse := 0
	for range n {
		pts := sample(2*time.Hour, 15*time.Second, goHeap(r, leakF(100*mb, 0, 0), 0.01))
		f := judgeFloor(pts, 0, LeakOptions{}.withDefaults(), 15*time.Second)
		if f.majors >= 2 && !f.refill {
			sparse++
		}
	}
	t.Logf("JVM heaps on their major cycles' levels: %d of %d, flagged %d; Go heaps with a sparse class of large drops: %d of %d", lows, n, jvmFlagged, sparse, n)
	if sparse > n/10 {
		t.Errorf("a Go heap's collections read as a sparse class of major ones in %d of %d series", sparse, n)
	}
}

// Between an hour and LongWindow a weak trend (p between DefaultAlpha
// and Alpha) warns only past half the failing growth: a flat Go heap's
// floor of 9–13 points wanders by 2–5 % on such a trend one run in
// twenty.
func TestLeak_WeakTrendBelowHalfTheThresholdPasses(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 14))
	for range 200 {
		pts := sample(2*time.Hour, 15*time.Second, goHeap(r, leakF(100*mb, 0, 0), 0.01))
		res := Leak("memory", pts, LeakOptions{})
		if res.Status == Warn && res.P >= DefaultAlpha && res.GrowthPct < DefaultFailGrowth/2 {
			t.Errorf("warned on a weak trend (p=%.3g) below half the failing growth (%+.1f%%): %s", res.P, res.GrowthPct, res.Reason)
		}
	}
}

// A step of +10 % late in a 2-hour window (the floor of a generated
// series, at 79 minutes): a short part after the step (12 points)
// wanders up at over half the whole line's rate with p = 0.011, the
// parts tested one at a time read a climb, and the step failed as a
// leak. Tested together (blockedKendall) the parts do not climb: a step.
// A leak split in two, and a leak that starts late, still climb.
func TestStepFit_LateStepIsNoClimb(t *testing.T) {
	floor := []float64{101.4, 103.4, 100.7, 101.2, 101.4, 100.4, 102.1, 102.2, 101.3, 102.1,
		101.4, 101.6, 101.0, 100.4, 101.5, 102.3, 101.1, 100.2, 100.9, 102.9, 102.5, 103.0,
		101.9, 102.7, 100.9, 101.7, 103.6, 111.2, 111.1, 111.0, 112.9, 111.3, 112.7, 111.6,
		111.5, 112.7, 113.2, 111.8, 113.6, 114.4}
	xs := make([]float64, len(floor))
	for i := range xs {
		xs[i] = float64(60 + 171*i) // a bucket every 2m51s
	}
	mb := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x * 1e6
		}
		return out
	}
	o := LeakOptions{}.withDefaults()
	at, pct, _, ok := stepFit(xs, mb(floor), o)
	if !ok || at < 75*60 || at > 80*60 || pct < 9 || pct > 12 {
		t.Errorf("late step: ok %v at %.0f min, %+.1f%%; want a step of about +10%% at 77–79 min", ok, at/60, pct)
	}
	// The same noise about a leak's line (+12 MB over the window), and
	// about a floor flat for 24 points, then climbing 0.8 MB a point.
	leak := make([]float64, len(floor))
	late := make([]float64, len(floor))
	for i, v := range floor {
		noise := v - 101.6
		if i >= 27 {
			noise = v - 112.4
		}
		leak[i] = 100 + 0.3*float64(i) + noise
		late[i] = 101.6 + noise + 0.8*float64(max(0, i-24))
	}
	if _, _, _, ok := stepFit(xs, mb(leak), o); ok {
		t.Error("a leak read as a step")
	}
	if _, _, _, ok := stepFit(xs, mb(late), o); ok {
		t.Error("a leak starting late read as a step")
	}
}

// A Go heap whose cache fills over the first minutes of each life,
// restarted by deploys at irregular times with its start-time marker
// (the generated corpus's case): a life whose floor climbed but whose
// last half does not climb significantly did not climb to its restart.
// Its series 60 to 150 (seed base 0) fail none; before the rule, 6 of
// them failed ("restarted 3 times ... a leak that restarts"). (Series 51
// and 155 still fail: the known miss docs/soak.md describes.)
func TestLeak_HeapCacheLivesDoNotClimbToRestart(t *testing.T) {
	cases := append(append(leakCases(), driftCases()...), markerCases()...)
	for i, c := range cases {
		if !strings.HasPrefix(c.name, "Go heap, a cache filling over each life") {
			continue
		}
		r := rand.New(rand.NewPCG(uint64(i)+1, 14))
		for k := range 151 {
			pts, o := c.genOpts(r)
			if k < 60 {
				continue
			}
			if res := Leak("go_memstats_heap_inuse_bytes", pts, o); res.Status == Fail {
				t.Errorf("series %d: %s: %s", k, res.Status, res.Reason)
			}
		}
		return
	}
	t.Fatal("the corpus has no Go heap cache-per-life case")
}

// A JVM heap leaking (20 %/h) until it is killed at its cap, lives of
// 4.5 h, seen over 6 h with its start-time marker: one life whole
// between a first segment of 40 minutes (begun before the window) and a
// last of 50 (still running), neither long enough to show a climb of its
// own. The life seen whole climbed to its restart and the first segment
// ended at the level it did: a leak killed at its cap, failed (before,
// one climbing segment of three warned). The same lives with a cache
// that fills in each life's first half hour are not.
func TestLeak_KilledAtCapOneLifeSeenWhole(t *testing.T) {
	const life, major, first = 270 * time.Minute, 35 * time.Minute, 40 * time.Minute
	series := func(live func(age time.Duration) float64) ([]Point, LeakOptions) {
		o := LeakOptions{Kind: KindHeap, RestartEvidence: "process_start_time_seconds"}
		for d := first; d < 6*time.Hour; d += life {
			o.Restarts = append(o.Restarts, t0.Add(d))
		}
		r := rand.New(rand.NewPCG(7, 7))
		var pts []Point
		for d := time.Duration(0); d <= 6*time.Hour; d += 30 * time.Second {
			age := (d + life - first) % life
			old := math.Mod((d+11*time.Minute).Seconds(), major.Seconds()) / major.Seconds()
			young := math.Mod(d.Seconds(), 50) / 50
			l := live(age)
			pts = append(pts, Point{T: t0.Add(d), V: l*(1+0.5*old+0.2*young) + 0.01*l*r.NormFloat64()})
		}
		return pts, o
	}
	leak, o := series(func(age time.Duration) float64 { return 100e6 * (1 + 0.2*age.Hours()) })
	if r := Leak("jvm_memory_used_bytes", leak, o); r.Status != Fail || !strings.Contains(r.Reason, "killed at its cap") {
		t.Errorf("leak killed at its cap, one life seen whole: %s: %s", r.Status, r.Reason)
	}
	cache, o := series(func(age time.Duration) float64 {
		return 100e6 * (1 + 0.4*(1-math.Exp(-age.Minutes()/10)))
	})
	if r := Leak("jvm_memory_used_bytes", cache, o); r.Status == Fail {
		t.Errorf("cache filling in each life, one life seen whole: %s: %s", r.Status, r.Reason)
	}
}

// A JVM heap whose cache fills over the first part of each life, its
// process restarted by deploys with its start-time marker (the generated
// corpus's case): one life's two or three major collections cannot show
// that its rise stopped, but laid over each other by age the levels
// late in the lives are no higher than those in their middle in many
// pairs (agedRiseRanks). Series 49, 121, 143, 164 and 181 (seed base 0)
// and 58, 119, 128 and 188 (seed base 1000) were warned, 119 failed, as
// "a leak if the others climb too" before the rule; they pass.
func TestLeak_HeapCacheLivesRanked(t *testing.T) {
	eachCacheLife(t, map[uint64][]int{0: {49, 121, 143, 164, 181}, 1000: {58, 119, 128, 188}}, func(base uint64, k int, pts []Point, o LeakOptions) {
		if res := Leak("jvm_memory_used_bytes", pts, o); res.Status == Fail || res.Status == Warn {
			t.Errorf("base %d, series %d: %s: %s", base, k, res.Status, res.Reason)
		} else {
			t.Logf("base %d, series %d: %s: %s", base, k, res.Status, res.Reason)
		}
	})
}

// eachCacheLife calls f with the series of the corpus's JVM heap
// cache-per-life case (with deploys and a marker) numbered in want, by
// seed base, as TestCorpus generates them.
func eachCacheLife(t *testing.T, want map[uint64][]int, f func(base uint64, k int, pts []Point, o LeakOptions)) {
	t.Helper()
	cases := append(append(leakCases(), driftCases()...), markerCases()...)
	for i, c := range cases {
		if !strings.HasPrefix(c.name, "JVM heap, major GC every 20–40 min, a cache filling over each life") {
			continue
		}
		for base, seeds := range want {
			r := rand.New(rand.NewPCG(uint64(i)+1+base, 14))
			for k := 0; k <= seeds[len(seeds)-1]; k++ {
				pts, o := c.genOpts(r)
				if slices.Contains(seeds, k) {
					f(base, k, pts, o)
				}
			}
		}
		return
	}
	t.Fatal("the corpus has no JVM heap cache-per-life case")
}

// agedRiseRanks on hand-made lives, levels in MB by age in minutes: a
// cache whose levels stay from mid-life on, with levels a young
// collection left far above among them, levels off; a leak killed at its
// cap, every late level above every middle one, rises.
func TestAgedRiseRanks(t *testing.T) {
	const life = 90 * time.Minute
	// lives builds a series of three lives restarted at known times,
	// with a major collection at each given age: the heap drops to
	// level(age) there, and its old generation fills by 80 MB up to the
	// next.
	lives := func(levels map[int]float64) ([]Point, []int, LeakOptions) {
		o := LeakOptions{Kind: KindHeap, Warmup: time.Minute}
		ages := slices.Sorted(maps.Keys(levels))
		var pts []Point
		bounds := []int{0}
		for l := range 3 {
			start := time.Duration(l) * life
			if l > 0 {
				bounds = append(bounds, len(pts))
				o.Restarts = append(o.Restarts, t0.Add(start))
			}
			prev, level := 0, 100.0
			for d := time.Duration(0); d < life; d += 30 * time.Second {
				m := int(d.Minutes())
				if v, ok := levels[m]; ok && m > prev {
					prev, level = m, v
				}
				next := int(life.Minutes())
				for _, a := range ages {
					if a > prev {
						next = a
						break
					}
				}
				frac := (d.Minutes() - float64(prev)) / float64(next-prev)
				pts = append(pts, Point{T: t0.Add(start + d), V: (level + 80*frac) * 1e6})
			}
		}
		return pts, append(bounds, len(pts)), o.withDefaults()
	}
	cache := map[int]float64{10: 120, 25: 131, 35: 140, 50: 141, 60: 168, 70: 139, 80: 140, 88: 141}
	pts, bounds, o := lives(cache)
	if r := agedRiseRanks(pts, bounds, o); !r.tells || r.rises {
		t.Errorf("cache: %+v, want a level", r)
	}
	leak := map[int]float64{10: 105, 25: 115, 35: 120, 40: 125, 50: 130, 60: 140, 70: 150, 80: 155, 88: 160}
	pts, bounds, o = lives(leak)
	if r := agedRiseRanks(pts, bounds, o); !r.tells || !r.rises {
		t.Errorf("leak: %+v, want a rise", r)
	}
}

// A JVM heap whose cache fills over the first part of each life, its
// process restarted by deploys with its start-time marker (the generated
// corpus's case), where two segments rose RestartRise % to their
// restart and another life seen whole, its live set seen in its first
// and its last third, rose less (flatLife): a leak killed at its cap
// climbs in every life, so the climbs are no pattern of one. Series 135
// (seed base 0) and 27 and 193 (seed base 1000) were failed as "a leak
// that restarts" before the rule; they are warned, the flat life named.
func TestLeak_HeapCacheLivesOneFlat(t *testing.T) {
	eachCacheLife(t, map[uint64][]int{0: {135}, 1000: {27, 193}}, func(base uint64, k int, pts []Point, o LeakOptions) {
		res := Leak("jvm_memory_used_bytes", pts, o)
		if res.Status == Fail || !strings.Contains(res.Reason, "seen whole rose less than 10%") {
			t.Errorf("base %d, series %d: %s: %s", base, k, res.Status, res.Reason)
		}
	})
}

// flatLife on a hand-made life of 100 minutes: a live set of 100 MB
// rising by the given fraction over the life, its old generation
// filling by 60 MB between major collections at the given minutes.
func TestFlatLife(t *testing.T) {
	life := func(rise float64, majors ...int) []Point {
		var pts []Point
		for d := time.Duration(0); d <= 100*time.Minute; d += 30 * time.Second {
			m := d.Minutes()
			last := 0.0
			for _, a := range majors {
				if float64(a) <= m {
					last = float64(a)
				}
			}
			live := 100e6 * (1 + rise*m/100)
			pts = append(pts, Point{T: t0.Add(d), V: live + 60e6*(m-last)/30})
		}
		return pts
	}
	o := LeakOptions{Kind: KindHeap}.withDefaults()
	if g, ok := flatLife(life(0.04, 20, 50, 80), o); !ok {
		t.Errorf("live set +4%%, majors in every third: not flat (+%.0f%%)", g.GrowthPct)
	}
	if g, ok := flatLife(life(0.3, 20, 50, 80), o); ok {
		t.Errorf("live set +30%%, majors in every third: flat (+%.0f%%)", g.GrowthPct)
	}
	if _, ok := flatLife(life(0.04, 50, 80), o); ok {
		t.Error("live set +4%, no major in the first third: flat, but its start was never seen")
	}
}
