package soak

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// DetectRestarts returns the times a memory series restarted: a drop,
// within one sample, from a floor that had climbed at least RestartRise %
// above the floor its segment started at, to near that starting floor
// (within 30 % of the climb), at least MinRestartEvery after the segment
// began. An OOM-killed container that restarts at its baseline looks like
// this; a garbage collection's drop comes sooner, or does not reach back
// to the start. pts need not be clean.
func DetectRestarts(pts []Point, o LeakOptions) []time.Time {
	pts, _ = Clean(pts)
	var out []time.Time
	for _, i := range detectRestarts(pts, o.withDefaults()) {
		out = append(out, pts[i].T)
	}
	return out
}

// detectRestarts is DetectRestarts on clean pts; it returns the indices of
// the first sample after each restart.
func detectRestarts(pts []Point, o LeakOptions) []int {
	n := len(pts)
	if n < 8 {
		return nil
	}
	rise := o.RestartRise / 100
	var out []int
	a := 0
	base := windowQuantile(pts, a, n, pts[a].T, pts[a].T.Add(o.MinRestartEvery/2), envelopeQuantile)
	for i := 1; i < n-1; i++ {
		prev, cur := pts[i-1].V, pts[i].V
		if cur >= prev || !(base > 0) || prev < cur*(1+rise) {
			continue
		}
		if pts[i].T.Sub(pts[a].T) < o.MinRestartEvery {
			continue
		}
		// The floor of the half-interval before the drop must have
		// climbed, and the quarter-interval after it must stay low: a
		// GC's drop is undone within it (its high quantile is back up).
		pre := windowQuantile(pts, a, i, pts[i].T.Add(-o.MinRestartEvery/2), pts[i-1].T, envelopeQuantile)
		postLo := windowQuantile(pts, i, n, pts[i].T, pts[i].T.Add(o.MinRestartEvery/4), envelopeQuantile)
		postHi := windowQuantile(pts, i, n, pts[i].T, pts[i].T.Add(o.MinRestartEvery/4), 0.9)
		// The first segment may start part-way up a climb: the floor after
		// the drop is then the reference.
		b := min(base, postLo)
		if !(pre >= b*(1+rise)) || !(postLo <= b+0.3*(pre-b)) || !(postHi < pre) {
			continue
		}
		out = append(out, i)
		a = i
		base = windowQuantile(pts, a, n, pts[a].T, pts[a].T.Add(o.MinRestartEvery/2), envelopeQuantile)
	}
	return out
}

// windowQuantile is the q-quantile of the values of pts[lo:hi] with
// times in [t0, t1], widened to at least 10 samples when pts has them;
// NaN when there are none.
func windowQuantile(pts []Point, lo, hi int, t0, t1 time.Time, q float64) float64 {
	cmp := func(p Point, t time.Time) int { return p.T.Compare(t) }
	i, _ := slices.BinarySearchFunc(pts[lo:hi], t0, cmp)
	j, _ := slices.BinarySearchFunc(pts[lo:hi], t1, cmp)
	i, j = lo+i, lo+j
	for j < hi && !pts[j].T.After(t1) {
		j++
	}
	const least = 10
	for j-i < least && (i > lo || j < hi) {
		if j < hi && (t1.Sub(t0) >= 0) && (i == lo || !pts[j-1].T.Before(t1)) {
			j++
		} else if i > lo {
			i--
		} else {
			j++
		}
	}
	if j <= i {
		return math.NaN()
	}
	return quantile(vals(pts[i:j]), q)
}

func vals(pts []Point) []float64 {
	out := make([]float64, len(pts))
	for i, p := range pts {
		out[i] = p.V
	}
	return out
}

// restartIndices maps restart times to the indices of the first sample at
// or after each (clean pts); restarts outside the series, or before its
// second sample, are ignored.
func restartIndices(pts []Point, at []time.Time) []int {
	var out []int
	for _, t := range at {
		i, _ := slices.BinarySearchFunc(pts, t, func(p Point, t time.Time) int { return p.T.Compare(t) })
		if i > 0 && i < len(pts) && (len(out) == 0 || out[len(out)-1] < i) {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// RestartsFromStartTime returns the times a process started anew, from a
// series of its start time (process_start_time_seconds): every change of
// the value by more than a second.
func RestartsFromStartTime(pts []Point) []time.Time {
	pts, _ = Clean(pts)
	var out []time.Time
	for i := 1; i < len(pts); i++ {
		if math.Abs(pts[i].V-pts[i-1].V) > 1 {
			out = append(out, pts[i].T)
		}
	}
	return out
}

// RestartsFromCounter returns the times a restart counter
// (kube_pod_container_status_restarts_total) went up.
func RestartsFromCounter(pts []Point) []time.Time {
	pts, _ = Clean(pts)
	var out []time.Time
	for i := 1; i < len(pts); i++ {
		if pts[i].V > pts[i-1].V {
			out = append(out, pts[i].T)
		}
	}
	return out
}

// judgeRestarts judges a series split at restarts: each segment's floor
// after its own warm-up (a restarted process warms up again).
func judgeRestarts(r LeakResult, pts []Point, resets []int, o LeakOptions) LeakResult {
	step := medianStep(pts)
	r.Restarts = len(resets)
	bounds := append(append([]int{0}, resets...), len(pts))
	var climbing []Segment
	judged := 0
	// With a marker, a heap's lives laid over each other by age tell
	// whether a segment's rise lasts to its restart, where one life holds
	// too few major collections to tell (agedRiseLasts). levelled counts
	// the segments that rose, but not as the lives together do.
	agedLasts, levelled := true, 0
	var ranks agedRanks
	if o.Restarts != nil && o.Kind == KindHeap {
		agedLasts = agedRiseLasts(pts, bounds, o)
		// Where the curves do not tell, the levels pair by pair do
		// (agedRiseRanks): late levels no higher than middle ones in
		// many pairs, the lives level off; every late one above every
		// middle one, their rise lasts to the restart, whatever one
		// life's few levels say.
		ranks = agedRiseRanks(pts, bounds, o)
		if agedLasts && ranks.tells && !ranks.rises {
			agedLasts = false
		}
	}
	promoted := agedLasts && ranks.tells && ranks.rises
	// rises is riseToRestart, but with the lives laid over each other
	// showing a rise that lasts to the restart, a segment's own levels
	// need not show it: it climbed when it rose RestartRise % or more.
	rises := func(seg []Point) (Segment, bool, bool) {
		if !promoted {
			return riseToRestart(seg, o)
		}
		g, measured, _ := riseBeforeRestart(seg, o)
		return g, measured, measured && g.GrowthPct >= o.RestartRise
	}
	// The lives seen whole, from one restart to the next (not the first
	// segment, which began before the window, nor the last, still
	// running), and those of them that climbed (killedAtCap).
	var lives, climbedLives []int
	// stopped are the inferred lives whose floor rose but slowed
	// (inferredClimbLasts): named in a passing reason.
	var stopped []floorFit
	// flat are the lives seen whole, judged, that did not climb
	// (flatLife), with a marker on a heap.
	var flat []Segment
	longLife := longestLife(pts, bounds)
	for j := 0; j+1 < len(bounds); j++ {
		nClimbing, nJudged := len(climbing), judged
		seg := pts[bounds[j]:bounds[j+1]]
		// A stub: the first segment (begun before the window) or the
		// last (still running), less than half as long as the longest
		// life seen whole. Where its floor went is no evidence of a
		// climb to a restart: a leak's stub and that of a cache still
		// filling, or filled, rise alike.
		stub := (j == 0 || j+2 == len(bounds)) && 2*seg[len(seg)-1].T.Sub(seg[0].T) < longLife
		r.RestartTimes = appendRestart(r.RestartTimes, j, seg)
		s := Segment{From: seg[0].T, To: seg[len(seg)-1].T, Points: len(seg), P: 1}
		lo := o
		lo.life = true
		f := judgeFloor(seg, o.Warmup, lo, step)
		if f.reason == "" {
			judged++
			// Finite, for JSON: a floor of a denormal's size grows by
			// +Inf %.
			s.Start, s.Peak, s.GrowthPct, s.SlopePerSec, s.P = jf(f.base), jf(f.peak), jf(f.total), jf(f.fit.SlopePerSec), jf(f.p)
			r.Points += f.points
			r.Window += f.window
			wholeLife := j+1 < len(bounds)-1 && (j > 0 || 2*seg[len(seg)-1].T.Sub(seg[0].T) >= longLife)
			// A floor that slowed but whose last half still climbs
			// significantly at a failing rate climbs too: a leak's heap
			// slows as it nears its cap (the collector runs ever more
			// often on an ever fuller heap) and the process dies there;
			// a cache that filled, or a restarted process's warm-up,
			// levels off to far less.
			slowedClimb := f.kind == floorUnsure && f.growth >= o.FailGrowth && f.lateP < o.Alpha && f.lateS > 0
			// A heap's life between restarts a marker confirms climbs
			// to its restart only when its last half still climbs
			// significantly: a leak killed at its cap climbs until the
			// kill, a cache that filled in the first part of the life
			// does not. A floor that was not shown to level off is not
			// shown to climb to the end: a Go heap sampled at random
			// phases of its collections leaves a floor whose levelling
			// off one life cannot show (levelling must exceed the
			// noise), where a lasting rise shows in the last half's
			// own trend. Otherwise the segment is judged by where its
			// floor went (riseToRestart), as one too short for a trend.
			lastsToEnd := !(o.Restarts != nil && o.Kind == KindHeap) || (f.lateS > 0 && f.lateP < o.LateAlpha)
			// A life inferred from an OS-level series' drops (no
			// marker) climbs to its end only at a pace that lasts
			// (inferredClimbLasts): a cache that fills in each life
			// slows to nothing.
			if o.Restarts == nil && !inferredClimbLasts(f, o) {
				lastsToEnd = false
				if f.kind == floorLeak && f.growth >= o.MinGrowth {
					stopped = append(stopped, f)
				}
			}
			if (f.kind == floorLeak && f.growth >= o.MinGrowth && lastsToEnd || slowedClimb) && (wholeLife || !(o.Kind == KindHeap && f.window < time.Hour && f.majors < 2)) {
				// (A heap's segment that saw no major collection, under
				// an hour, climbs with or without a leak: its old
				// generation filling, as Leak judges a whole series. One
				// seen from its start to its restart may have died of
				// it; the last, still running, may not, nor a first one
				// less than half as long as the longest other: it began
				// before the window, a stub of a life.)
				// (Unless the lives laid over each other level off: a
				// short life of a cache still filling climbs to its
				// restart as a leak does.)
				if agedLasts {
					climbing = append(climbing, s)
				} else {
					levelled++
				}
			} else if o.Restarts != nil && !stub {
				if g, _, rose := rises(seg); rose && agedLasts {
					s.GrowthPct, s.SlopePerSec = g.GrowthPct, g.SlopePerSec
					climbing = append(climbing, s)
				} else if rose {
					levelled++
				}
			}
		} else if o.Restarts != nil {
			// Too few GC cycles or samples for the floor's trend, but
			// the restarts are known from a marker (not inferred from a
			// drop, which a climb found already): where the segment's
			// floor went is evidence of its own.
			// A segment measured so counts as judged whether it rose
			// or not: one rise among segments that did not is no
			// pattern. A stub's rise is no climb.
			if g, measured, rose := rises(seg); measured {
				rose = rose && !stub
				judged++
				r.Points += f.points
				r.Window += f.window
				s.Start, s.GrowthPct, s.SlopePerSec, s.P = g.Start, g.GrowthPct, g.SlopePerSec, g.P
				if rose && agedLasts {
					climbing = append(climbing, s)
				} else if rose {
					levelled++
				}
			}
		}
		if j > 0 && j+2 < len(bounds) {
			lives = append(lives, j)
			if len(climbing) > nClimbing {
				climbedLives = append(climbedLives, j)
			} else if judged > nJudged && o.Restarts != nil && o.Kind == KindHeap {
				if g, ok := flatLife(seg, o); ok {
					flat = append(flat, g)
				}
			}
		}
		r.Segments = append(r.Segments, s)
	}
	// A leak killed at its cap climbs through every life to the kill,
	// and the kill comes where the memory reaches the cap: at about the
	// same level each life. Over a few hours a run may see one such life
	// whole, between the first segment (begun before the window) and the
	// last (still running), neither a climb of its own: every life seen
	// whole climbed, and the first segment ended where they did
	// (endedAtCap), killed at the same cap. A cache that fills in each
	// life, restarted by deploys, climbs in a whole life only by chance,
	// and rarely in all of them.
	capped := o.Restarts != nil && len(lives) > 0 && len(climbedLives) == len(lives) && len(climbing) < 2 &&
		endedAtCap(pts, bounds, lives, o)
	r.Warmup = o.Warmup
	first, last := r.Segments[0], r.Segments[len(r.Segments)-1]
	r.FitStart = first.From
	var growth, perHour []float64
	for _, s := range climbing {
		growth = append(growth, s.GrowthPct)
		if s.Start > 0 {
			perHour = append(perHour, s.SlopePerSec*3600/s.Start*100)
		}
	}
	if len(growth) > 0 {
		r.GrowthPct, r.PerHourPct = median(growth), median(perHour)
		r.TotalGrowthPct = r.GrowthPct
		r.SlopePerSec = median(slopesOf(climbing))
		r.Baseline = median(startsOf(climbing))
	}
	span := last.To.Sub(first.From)
	var drops restartDrops
	if o.Restarts == nil {
		drops = climbsExplainDrops(pts, bounds, r.Segments, climbing, o)
	}
	switch {
	case capped:
		r.Status = Fail
		r.Reason = fmt.Sprintf("restarted %s (%s); %s seen whole between restarts climbed %s (+%.0f%%) and the first segment ended where %s: a leak killed at its cap",
			timesText(r.Restarts), r.RestartEvidence, livesSeen(len(lives)), FormatRate(r.SlopePerSec, r.Unit, span), r.GrowthPct, endedWhere(len(lives)))
	case len(climbing) >= 2 && 2*len(climbing) >= judged && len(flat) > 0:
		// A leak killed at its cap climbs in every life to the kill, at
		// its own pace from the same start: a life seen whole, its live
		// set seen near its start and near its end (a major collection
		// in its first and last thirds), that rose less than
		// RestartRise % was restarted before any cap, by a deploy. The
		// climbs of the others are then no pattern of a leak that
		// restarts at its cap: a cache still filling when the floor of
		// a life's first third was taken rises about RestartRise % in
		// some lives and less in others; a leak the deploys cut short
		// climbs again in a longer run.
		f := flat[0]
		r.Status = Warn
		r.DecideAfter = 2 * span
		r.Reason = fmt.Sprintf("restarted %s (%s); %d of %d segments climbed %s (+%.0f%%), but %s seen whole rose less than %.0f%% (%s → %s, %+.0f%%): a leak killed at its cap climbs in every life; a %s run would decide",
			timesText(r.Restarts), r.RestartEvidence, len(climbing), judged, FormatRate(r.SlopePerSec, r.Unit, span), r.GrowthPct,
			livesFlat(len(flat)), o.RestartRise, FormatAmount(f.Start, r.Unit), FormatAmount(f.Start*(1+f.GrowthPct/100), r.Unit), f.GrowthPct, round(r.DecideAfter))
	case len(climbing) >= 2 && 2*len(climbing) >= judged && o.Restarts == nil && !drops.explained:
		// Restarts inferred from drops: a process killed at its cap
		// falls back by what it climbed to the cap; none of the lives
		// that climbed to a drop climbed a third of it
		// (climbsExplainDrops). The drops are a restart's own, for
		// another reason (a deploy), each start warming up again. A
		// longer run of the same lives would show the same: no run
		// length is suggested.
		r.Status = Warn
		r.Reason = fmt.Sprintf("restarted %s (%s); %d of %d segments climbed %s (+%.0f%%), but the floor fell %s at the restarts they ended in (median, %s → %s), %.0f times the %s they climbed before (median): a process killed at its cap falls back by what it climbed, one restarted for another reason (a deploy) by its warm-up; no pattern of a leak killed at its cap",
			timesText(r.Restarts), r.RestartEvidence, len(climbing), judged, FormatRate(r.SlopePerSec, r.Unit, span), r.GrowthPct,
			FormatAmount(drops.drop, r.Unit), FormatAmount(drops.before, r.Unit), FormatAmount(drops.before-drops.drop, r.Unit),
			drops.drop/drops.climb, FormatAmount(drops.climb, r.Unit))
	case len(climbing) >= 2 && 2*len(climbing) >= judged:
		r.Status = Fail
		r.Reason = fmt.Sprintf("restarted %s (%s) after growing %s each time (median of %d climbing segments, +%.0f%%): a leak that restarts",
			timesText(r.Restarts), r.RestartEvidence, FormatRate(r.SlopePerSec, r.Unit, span), len(climbing), r.GrowthPct)
	case len(climbing) >= 1 && 3*len(climbing) >= judged && longest(climbing)*2 >= longest(judgedSegs(r.Segments)):
		// One segment in three or more climbed: a leak whose other
		// segments were too short or too noisy to show it, or one run
		// that grew; a longer run decides. Fewer (one of four deploys
		// whose warm-up outlasted its own), or only a segment less than
		// half as long as the longest (a short one's warm-up is most of
		// it), is no pattern.
		r.Status = Warn
		r.DecideAfter = 2 * span
		r.Reason = fmt.Sprintf("restarted %s (%s); %d of %d segments climbed %s (+%.0f%%): a leak if the others climb too, a %s run would decide",
			timesText(r.Restarts), r.RestartEvidence, len(climbing), judged, FormatRate(r.SlopePerSec, r.Unit, span), r.GrowthPct, round(r.DecideAfter))
	case len(climbing) >= 1:
		r.Reason = fmt.Sprintf("restarted %s (%s); only %d of %d segments climbed (%s, +%.0f%%): no pattern of a leak",
			timesText(r.Restarts), r.RestartEvidence, len(climbing), judged, FormatRate(r.SlopePerSec, r.Unit, span), r.GrowthPct) + stoppedNote(stopped, r.Unit, span)
	case levelled > 0 && ranks.tells && !ranks.rises:
		r.Reason = fmt.Sprintf("restarted %s (%s); %s rose, but laid over each other by age the lives level off: the levels their major collections left late in a life (median %s) are above those in its middle (%s) in only %.0f of %d pairs: a cache that fills in each life, not a leak",
			timesText(r.Restarts), r.RestartEvidence, segmentsRose(levelled), FormatAmount(ranks.late, r.Unit), FormatAmount(ranks.mid, r.Unit), ranks.above, ranks.pairs)
	case levelled > 0:
		r.Reason = fmt.Sprintf("restarted %s (%s); %d segments rose, but laid over each other by age the lives level off: a cache that fills in each life, not a leak", timesText(r.Restarts), r.RestartEvidence, levelled)
	case len(stopped) > 0:
		r.Reason = fmt.Sprintf("restarted %s (%s)", timesText(r.Restarts), r.RestartEvidence) + stoppedNote(stopped, r.Unit, span)
	default:
		r.Reason = fmt.Sprintf("restarted %s (%s); the floor did not climb between restarts", timesText(r.Restarts), r.RestartEvidence)
	}
	return r
}

// riseToRestart reports whether a segment between restarts a marker
// confirms climbed: the floor (5th percentile) of its last quarter, after
// the warm-up, RestartRise % or more above that of its first. A process
// killed at a memory cap dies with its floor far above where it began,
// even when it had too few GC cycles for a trend test (a JVM's old
// generation filling to -Xmx); one restarted by a deploy dies where it
// began. A heap's floor over less than a major cycle is wherever its old
// generation stood: a heap's segment is judged on thirds, and measured
// only when each holds a major collection (majorDropIn). measured says
// whether the segment could be measured; the segment returned carries the
// rise.
func riseToRestart(seg []Point, o LeakOptions) (s Segment, measured, rose bool) {
	s, measured, lasting := riseBeforeRestart(seg, o)
	return s, measured, measured && lasting && s.GrowthPct >= o.RestartRise
}

// riseBeforeRestart is riseToRestart's measure: the segment with its
// rise, whether it could be measured, and whether the rise lasted to the
// end: from the segment's middle to its end the floor rose by a quarter
// of the whole rise or more (a leak's steady climb, half; a slowing one
// near its cap, less). A cache that filled in the first half of the
// process's life, then restarted by a deploy, rose as much from start to
// end and not at all from the middle on. A heap's middle is asked only
// when it holds a major collection (its floor is the live set's then).
func riseBeforeRestart(seg []Point, o LeakOptions) (Segment, bool, bool) {
	if len(seg) < 2 {
		return Segment{}, false, false
	}
	warm := o.Warmup
	if warm <= 0 {
		warm = LeakWarmup(seg[len(seg)-1].T.Sub(seg[0].T))
	}
	pts, _ := cutWarmup(seg, warm)
	if len(pts) < 4*minSamples {
		return Segment{}, false, false
	}
	q := len(pts) / 4
	if o.Kind == KindHeap {
		q = len(pts) / 3
		if !majorDropIn(pts, 0, q) || !majorDropIn(pts, len(pts)-q, len(pts)) {
			return liveSetRise(seg, pts)
		}
	}
	first := Point{T: pts[q/2].T, V: quantile(vals(pts[:q]), envelopeQuantile)}
	last := Point{T: pts[len(pts)-1-q/2].T, V: quantile(vals(pts[len(pts)-q:]), envelopeQuantile)}
	dt := last.T.Sub(first.T).Seconds()
	if !(first.V > 0) || dt <= 0 {
		return Segment{}, false, false
	}
	lasting := true
	if m0 := len(pts)/2 - q/2; o.Kind != KindHeap || majorDropIn(pts, m0, m0+q) {
		mid := quantile(vals(pts[m0:m0+q]), envelopeQuantile)
		lasting = last.V-mid >= (last.V-first.V)/4
	} else {
		// A heap's middle third without a major collection: the
		// levels the others left tell.
		lasting = lastingLows(pts, majorLows(pts), last.V-first.V)
	}
	return Segment{From: seg[0].T, To: seg[len(seg)-1].T, Points: len(seg), Start: first.V,
		GrowthPct: (last.V - first.V) / first.V * 100, SlopePerSec: (last.V - first.V) / dt, P: 1}, true, lasting
}

// liveSetRise measures a heap's segment between restarts whose thirds do
// not each hold a major collection by the level each major collection
// left (the live set then): the lowest of the few samples after each, the
// first against the last. Two at least, a third of the segment apart at
// least; otherwise the segment is not measured.
func liveSetRise(seg, pts []Point) (Segment, bool, bool) {
	lows := majorLows(pts)
	if len(lows) < 2 {
		return Segment{}, false, false
	}
	first, last := lows[0], lows[len(lows)-1]
	dt := last.T.Sub(first.T).Seconds()
	if !(first.V > 0) || 3*last.T.Sub(first.T) < pts[len(pts)-1].T.Sub(pts[0].T) {
		return Segment{}, false, false
	}
	return Segment{From: seg[0].T, To: seg[len(seg)-1].T, Points: len(seg), Start: first.V,
		GrowthPct: (last.V - first.V) / first.V * 100, SlopePerSec: (last.V - first.V) / dt, P: 1}, true, lastingLows(pts, lows, last.V-first.V)
}

// agedLows are the levels the major collections left in the segments
// that began at a restart (bounds as in judgeRestarts), after each one's
// warm-up (majorLows), each at its age: the time since its restart. The
// lives laid over each other, sorted by age. The first segment began
// before the window: its ages are unknown.
func agedLows(pts []Point, bounds []int, o LeakOptions) (ages, lows []float64) {
	type low struct{ age, v float64 }
	var all []low
	for j := 1; j+1 < len(bounds); j++ {
		seg := pts[bounds[j]:bounds[j+1]]
		if len(seg) < 2 {
			continue
		}
		warm := o.Warmup
		if warm <= 0 {
			warm = LeakWarmup(seg[len(seg)-1].T.Sub(seg[0].T))
		}
		rest, _ := cutWarmup(seg, warm)
		for _, l := range majorLows(rest) {
			all = append(all, low{l.T.Sub(seg[0].T).Seconds(), l.V})
		}
	}
	slices.SortStableFunc(all, func(a, b low) int { return cmp.Compare(a.age, b.age) })
	for _, l := range all {
		ages, lows = append(ages, l.age), append(lows, l.v)
	}
	return ages, lows
}

// agedRiseLasts reports whether the lives of a heap restarted at known
// times, laid over each other by age (agedLows), rise to their restart.
// A leak killed at its cap climbs through each life to the kill; a cache
// that fills over the first part of each life, its process restarted by
// deploys, reaches the same level at the same age in every life and
// stays there. One life may hold two or three major collections, too few
// to tell which; the lives together hold enough. They level off, and a
// segment's rise does not last, when
//   - a saturating curve fits the levels by age better than a line
//     (saturating: the Bayesian information criterion lower by more
//     than 6) and its slope at the oldest age is under a third of the
//     line's Theil–Sen slope, or
//   - both: the Theil–Sen slope of the levels in the later half of the
//     ages seen is under a third of that in the earlier half (the rule a
//     floor levels off by; three levels a half at least), and the median
//     level in the last third of the ages is less than a quarter of the
//     rise from the first third's median above the middle third's
//     (riseBeforeRestart's rule for one life; two levels a third at
//     least), or no higher than the first's. Either alone is fooled by
//     a level a young collection left, far above the live set, among
//     few.
//
// True (nothing tells) otherwise.
func agedRiseLasts(pts []Point, bounds []int, o LeakOptions) bool {
	ages, lows := agedLows(pts, bounds, o)
	if len(ages) == 0 {
		return true
	}
	if better, end, _ := saturating(ages, lows); better {
		if slope, _ := TheilSen(ages, lows); end < slope/3 {
			return false
		}
	}
	oldest := ages[len(ages)-1]
	if !(oldest > 0) {
		return true
	}
	var ex, ey, lx, ly []float64
	var thirds [3][]float64
	for i, a := range ages {
		if 2*a < oldest {
			ex, ey = append(ex, a), append(ey, lows[i])
		} else {
			lx, ly = append(lx, a), append(ly, lows[i])
		}
		k := min(int(3*a/oldest), 2)
		thirds[k] = append(thirds[k], lows[i])
	}
	if len(ex) < 3 || len(lx) < 3 {
		return true
	}
	early, _ := TheilSen(ex, ey)
	late, _ := TheilSen(lx, ly)
	if late >= early/3 && (early > 0 || late > 0) {
		return true
	}
	for _, t := range thirds {
		if len(t) < 2 {
			return true
		}
	}
	first, mid, last := median(thirds[0]), median(thirds[1]), median(thirds[2])
	return last > first && last-mid >= (last-first)/4
}

// agedRanks is agedRiseRanks's answer: whether the lives tell, and
// whether their rise lasts; the pairs compared, those with the late level
// above (a tie half), and the median levels of the middle and the last
// third of the ages.
type agedRanks struct {
	tells, rises bool
	above        float64
	pairs        int
	mid, late    float64
}

// agedRiseRanks tells, from the lives of a heap restarted at known times
// laid over each other by age (agedLows), whether their rise lasts to
// their restart: every level the major collections left in the last
// third of the ages seen against every one in the middle third. The
// lowest a major collection brings a heap is its live set; a level above
// it (a collection that freed less, a young one taken for a major one)
// comes at any age, and a pair by pair count is not moved by how far
// above. A leak killed at its cap climbs through each life to the kill:
// every late level is above every middle one (rises, three levels a
// third at least). A cache that fills over the first part of each life,
// its process restarted by deploys, stays at one level from the middle of
// the life on: a late level is above a middle one about as often as not
// (levelled off when in no more than 70 % of the pairs, two levels a
// third at least). In between, or with fewer levels, it does not tell.
func agedRiseRanks(pts []Point, bounds []int, o LeakOptions) agedRanks {
	var r agedRanks
	ages, lows := agedLows(pts, bounds, o)
	if len(ages) == 0 || !(ages[len(ages)-1] > 0) {
		return r
	}
	oldest := ages[len(ages)-1]
	var thirds [3][]float64
	for i, a := range ages {
		k := min(int(3*a/oldest), 2)
		thirds[k] = append(thirds[k], lows[i])
	}
	mid, late := thirds[1], thirds[2]
	if len(mid) < 2 || len(late) < 2 {
		return r
	}
	for _, l := range late {
		for _, m := range mid {
			switch {
			case l > m:
				r.above++
			case l == m:
				r.above += 0.5
			}
		}
	}
	r.pairs = len(mid) * len(late)
	r.mid, r.late = median(mid), median(late)
	frac := r.above / float64(r.pairs)
	switch {
	case frac == 1 && min(len(mid), len(late)) >= 3:
		r.tells, r.rises = true, true
	case frac <= 0.7:
		r.tells = true
	}
	return r
}

// majorLows are the levels a heap's major collections left in pts: the
// lowest of the few samples after each drop of half the largest drop
// (when that is a tenth of the level or more).
func majorLows(pts []Point) []Point {
	level := math.Abs(median(valuesOf(pts)))
	largest := 0.0
	for i := 1; i < len(pts); i++ {
		largest = max(largest, pts[i-1].V-pts[i].V)
	}
	if !(largest > 0.1*level) {
		return nil
	}
	var lows []Point
	for i := 1; i < len(pts); i++ {
		if pts[i-1].V-pts[i].V < largest/2 {
			continue
		}
		low := pts[i]
		for k := i + 1; k < min(i+minSamples, len(pts)); k++ {
			if pts[k-1].V-pts[k].V >= largest/2 {
				break // the next collection
			}
			if pts[k].V < low.V {
				low = pts[k]
			}
		}
		lows = append(lows, Point{T: pts[i].T, V: low.V})
	}
	return lows
}

// lastingLows reports whether the low nearest pts's middle, among the
// lows between the first and the last, is a quarter of rise or more below
// the last; true when there is none between them (nothing tells).
func lastingLows(pts, lows []Point, rise float64) bool {
	if len(lows) < 3 {
		return true
	}
	midT := pts[0].T.Add(pts[len(pts)-1].T.Sub(pts[0].T) / 2)
	mid := lows[1]
	for _, l := range lows[1 : len(lows)-1] {
		if l.T.Sub(midT).Abs() < mid.T.Sub(midT).Abs() {
			mid = l
		}
	}
	return lows[len(lows)-1].V-mid.V >= rise/4
}

// majorDropIn reports whether pts[from:to] holds a major collection of
// the heap pts: a drop of half the largest drop in pts, and a tenth of its
// level, or more.
func majorDropIn(pts []Point, from, to int) bool {
	level := math.Abs(median(valuesOf(pts)))
	largest := 0.0
	for i := 1; i < len(pts); i++ {
		largest = max(largest, pts[i-1].V-pts[i].V)
	}
	if !(largest > 0.1*level) {
		return false
	}
	for i := max(from, 1); i < to; i++ {
		if pts[i-1].V-pts[i].V >= largest/2 {
			return true
		}
	}
	return false
}

// longestLife is the longest span of the segments after the first
// (bounds are their first indices, then len(pts)).
func longestLife(pts []Point, bounds []int) time.Duration {
	var d time.Duration
	for j := 1; j+1 < len(bounds); j++ {
		if bounds[j+1] > bounds[j] {
			d = max(d, pts[bounds[j+1]-1].T.Sub(pts[bounds[j]].T))
		}
	}
	return d
}

// longest is the longest of segs's spans.
func longest(segs []Segment) time.Duration {
	var d time.Duration
	for _, s := range segs {
		d = max(d, s.To.Sub(s.From))
	}
	return d
}

// judgedSegs are the segments whose floor was measured (a trend's p
// below 1 or a start).
func judgedSegs(segs []Segment) []Segment {
	var out []Segment
	for _, s := range segs {
		if s.Start > 0 {
			out = append(out, s)
		}
	}
	return out
}

func appendRestart(ts []time.Time, j int, seg []Point) []time.Time {
	if j == 0 {
		return ts
	}
	return append(ts, seg[0].T)
}

func slopesOf(ss []Segment) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = s.SlopePerSec
	}
	return out
}

func startsOf(ss []Segment) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = s.Start
	}
	return out
}

// endedAtCap reports whether the segment before the first restart (begun
// before the window) ended at about the level the lives seen whole ended
// at (bounds as in judgeRestarts, lives their indices): where the last
// major collection before each restart left the heap (majorLows, after a
// life's warm-up), the first segment's no lower than half the lives'
// median rise (from their first such level to their last) below their
// median. Not bounded above: a stub too short for a major collection of
// its own leaves the lows of its young ones, above the live set. A
// deploy comes at any level, a kill at the cap at the same one.
func endedAtCap(pts []Point, bounds, lives []int, o LeakOptions) bool {
	var starts, ends []float64
	for _, j := range lives {
		seg := pts[bounds[j]:bounds[j+1]]
		warm := o.Warmup
		if warm <= 0 {
			warm = LeakWarmup(seg[len(seg)-1].T.Sub(seg[0].T))
		}
		rest, _ := cutWarmup(seg, warm)
		lows := majorLows(rest)
		if len(lows) < 2 {
			return false
		}
		starts, ends = append(starts, lows[0].V), append(ends, lows[len(lows)-1].V)
	}
	if len(ends) == 0 {
		return false
	}
	end := median(ends)
	rise := end - median(starts)
	lows := majorLows(pts[bounds[0]:bounds[1]])
	if !(rise > 0) || len(lows) == 0 {
		return false
	}
	return lows[len(lows)-1].V >= end-rise/2
}

// segmentsRose words how many segments rose.
func segmentsRose(n int) string {
	if n == 1 {
		return "one segment"
	}
	return fmt.Sprintf("%d segments", n)
}

// livesFlat words how many lives seen whole did not climb.
func livesFlat(n int) string {
	if n == 1 {
		return "one life"
	}
	return fmt.Sprintf("%d lives", n)
}

// livesSeen and endedWhere word the reason of a leak killed at its cap.
func livesSeen(n int) string {
	if n == 1 {
		return "the life"
	}
	return fmt.Sprintf("all %d lives", n)
}

func endedWhere(n int) string {
	if n == 1 {
		return "it ended"
	}
	return "they ended"
}

// inferredClimbLasts reports whether the floor of a life inferred from an
// OS-level series' drops (f, judged by judgeFloor) climbs to its end:
// its last half climbs significantly (LateAlpha), or at half its first
// half's pace or more (Theil–Sen slopes of the floor). A leak climbs at
// its pace through each life until the kill at its cap or a deploy, so
// its last half keeps about the first half's pace, however few floor
// points a short life or a sparse scrape leaves for its significance. A
// cache that fills in each life (a restart empties it, the process
// refills it) and a restarted process's warm-up saturate: the last half
// of the life climbs at a small part of the first's pace. Without a
// marker a life's climb is all the evidence there is of a leak; with
// one, riseToRestart and the lives laid over each other by age judge it.
func inferredClimbLasts(f floorFit, o LeakOptions) bool {
	if f.lateS > 0 && f.lateP < o.LateAlpha {
		return true
	}
	return f.lateSlope > 0 && f.lateSlope >= f.earlySlope/2
}

// stoppedNote words the lives inferred from drops whose floor rose but
// slowed (inferredClimbLasts): their median first-half and last-half
// paces. Empty when there are none.
func stoppedNote(fs []floorFit, u Unit, span time.Duration) string {
	if len(fs) == 0 {
		return ""
	}
	var e, l []float64
	for _, f := range fs {
		e, l = append(e, f.earlySlope), append(l, f.lateSlope)
	}
	return fmt.Sprintf("; %s rose at %s in the first half of the life but %s in the last (median; under half that pace, no significant climb): a cache that fills in each life, not a leak, which climbs at its pace to the restart",
		segmentsRose(len(fs)), FormatRate(median(e), u, span), FormatRate(median(l), u, span))
}

// flatLife reports whether a heap's life seen whole between restarts a
// marker confirms did not climb: a major collection in its first third
// and in its last (after its warm-up), so that the floor of each is the
// live set then, and the floor of the last less than RestartRise % above
// that of the first (riseBeforeRestart). A life measured only by the
// levels of two collections, the first late in the life (liveSetRise),
// saw no live set near its start and shows no flat life. The segment
// returned carries the rise.
func flatLife(seg []Point, o LeakOptions) (Segment, bool) {
	if len(seg) < 2 {
		return Segment{}, false
	}
	warm := o.Warmup
	if warm <= 0 {
		warm = LeakWarmup(seg[len(seg)-1].T.Sub(seg[0].T))
	}
	pts, _ := cutWarmup(seg, warm)
	if len(pts) < 4*minSamples {
		return Segment{}, false
	}
	q := len(pts) / 3
	if !majorDropIn(pts, 0, q) || !majorDropIn(pts, len(pts)-q, len(pts)) {
		return Segment{}, false
	}
	g, measured, _ := riseBeforeRestart(seg, o)
	return g, measured && g.GrowthPct < o.RestartRise
}

// restartDropsExplain is the least part of the drop at an inferred
// restart that the segment ending in it must have climbed for its climb to
// explain the drop (climbsExplainDrops).
const restartDropsExplain = 1.0 / 3

// restartDrops is climbsExplainDrops's answer: whether a climb explained
// its drop, and the medians over the segments that climbed to an inferred
// restart of the floor before each restart, its drop there and the
// segment's climb (in the series's units).
type restartDrops struct {
	explained           bool
	before, drop, climb float64
}

// climbsExplainDrops reports whether a segment that climbed (climbing,
// among segs, one a bound; bounds as in judgeRestarts) to a restart
// inferred from a drop climbed restartDropsExplain of that drop or more:
// the floor of its climb (its start times its growth) against the floor's
// fall at its end, the floor of the half-interval before the drop less
// that of the quarter-interval after (as detectRestarts measures them).
// True when no segment that climbed ends in a restart (nothing tells).
//
// A process killed at its memory cap (an OOM kill) restarts at its
// starting level: the drop gives back what the life climbed to the cap,
// its warm-up included, so a leak's climb after the warm-up is most of
// the drop; a sum of pods falls by the one pod's climb, which the sum
// climbed since the last pod's restart. A process restarted for another
// reason (a deploy, a rollout) falls back by what it builds up in its
// first minutes (caches, pools, a JIT's code) whatever it climbed after:
// a life that climbed +3 MB over an hour and ended in a drop of 30 MB did
// not die of its climb.
func climbsExplainDrops(pts []Point, bounds []int, segs, climbing []Segment, o LeakOptions) restartDrops {
	res := restartDrops{explained: true}
	var befores, drops, climbs []float64
	for _, c := range climbing {
		for j, s := range segs {
			if !s.From.Equal(c.From) || j+2 >= len(bounds) {
				continue
			}
			a, i := bounds[j], bounds[j+1]
			pre := windowQuantile(pts, a, i, pts[i].T.Add(-o.MinRestartEvery/2), pts[i-1].T, envelopeQuantile)
			post := windowQuantile(pts, i, len(pts), pts[i].T, pts[i].T.Add(o.MinRestartEvery/4), envelopeQuantile)
			climb := c.Start * c.GrowthPct / 100
			if !(pre > post) || !(climb > 0) {
				continue
			}
			befores, drops, climbs = append(befores, pre), append(drops, pre-post), append(climbs, climb)
			if climb >= restartDropsExplain*(pre-post) {
				return res
			}
		}
	}
	if len(drops) == 0 {
		return res
	}
	return restartDrops{before: median(befores), drop: median(drops), climb: median(climbs)}
}

// timesText writes a count of occurrences: "once", "2 times".
func timesText(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
