package soak

// paceNotShownToFall reports whether a floor read as levelled off (or,
// with floorLeak, as not climbing in its last half) only because its last
// half does not climb — Mann–Kendall's S ≤ 0 on minBuckets floor points or
// more, not a slowing beyond the halves' noise (f.slowed) nor a
// saturating curve — is over LongWindow or more (spansLong) a leak all
// the same: the whole window's trend is significant (Alpha) at a failing
// rate, and the upper end of the last half's 90 % interval (SenInterval)
// is both a failing rate and half the first half's pace or more.
// (unlevelled judges a last half of fewer floor points.) Not with the
// daily cycle removed (its harmonic absorbs a day-long cache's
// curvature, see floorUnsure).
//
// Physically: a cache or a pool that fills does so at a pace that falls
// as it fills, and its floor's halves show the fall beyond their noise
// (slowedBeyondNoise), or a saturating curve fits it; a leak keeps its
// pace. A last half of 20–40 floor points, one a major collection of a
// JVM heap whose young generation is at any phase when it is sampled,
// knows its slope to ±1–2 %/h (90 %), about a 2 %/h leak's own rate: its
// Mann–Kendall S came out ≤ 0 by chance in 1 % of 6-hour 2 %/h leaks,
// which passed as "levelled off" ("a late half that does not rise at all
// has levelled whatever its noise"). A last half that merely does not
// climb, while its own interval still allows a failing rate at half the
// first half's pace, is no evidence that the growth stopped. (Asked
// also of floors the halves' test found slowing, it failed 24 of 960
// verdicts on JVM heaps that fill a cache by 40 % with a time constant
// of 30–90 minutes, or step up once by 10 %: a cache's last half knows
// its slope no better than a leak's.)
func paceNotShownToFall(f floorFit, r LeakResult, o LeakOptions) bool {
	if !spansLong(r.Window, r.Warmup) || f.daily || f.saturating || f.slowed || !(f.p < o.Alpha) || !(f.s > 0) {
		return false
	}
	if f.lateN < minBuckets || !isFinite(f.lateHi) || !(f.earlySlope > 0) {
		return false
	}
	if !failingRate(r.Fit.SlopePerSec, r.Baseline, r.Window, r.Warmup, o) {
		return false
	}
	return f.lateHi >= f.earlySlope/2 && failingRate(f.lateHi, r.Baseline, r.Window, r.Warmup, o)
}

// livePaceKept reports whether the levels after a heap's major
// collections (xs, ys: the live set, one a collection, h the first of
// their last half), whose last half's slope fell below half the whole
// window's (liveSetClimbs), are not shown to have slowed: the upper end
// of the last half's 90 % interval is both a failing rate and half the
// first half's pace or more, as paceNotShownToFall asks of a floor. The
// live set after each collection of a JVM heap whose young generation is
// at any phase when it is sampled scatters by several percent: 15–20
// levels a half know their slope to ±1–2 %/h, and a 2 %/h leak's last
// half fell below half its whole window's pace by chance (1 of 200 such
// heaps of unknown kind on seed bases 0 and 1000, raw and as
// `horde analyze --prometheus` reads them), where a cache that filled in
// the first hours slows to a small fraction of its first half's pace.
func livePaceKept(xs, ys []float64, h int, base float64, f *floorFit, o LeakOptions) bool {
	if h < minBuckets || len(xs)-h < minBuckets {
		return false
	}
	early, _ := TheilSen(xs[:h], ys[:h])
	_, hi := SenInterval(xs[h:], ys[h:], 1.645)
	return early > 0 && isFinite(hi) && hi >= early/2 && failingRate(hi, base, f.window, f.warm, o)
}
