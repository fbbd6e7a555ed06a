package soak

import (
	"math/rand/v2"
	"testing"
	"time"
)

// An incident is measured in the running median's buckets; the same
// incident read from the raw scrapes and from a range query's steps (a
// few seconds apart) gets the same verdict. A 15-minute incident in a
// 2-hour run often measured exactly four buckets between its first and
// last bad bucket's centres, a tenth of the window after the warm-up:
// it passed on the scrapes and warned on the steps a second longer,
// before the lengths were rounded to whole buckets.
func TestDrift_IncidentSameVerdictInEveryView(t *testing.T) {
	incident := func(at, dur time.Duration, seed uint64) []Point {
		r := rand.New(rand.NewPCG(seed, 14))
		return sample(2*time.Hour, 15*time.Second, func(t time.Duration) float64 {
			v := 100 * (1 + 0.05*r.NormFloat64())
			if t >= at && t < at+dur {
				v *= 3
			}
			return v
		})
	}
	differ := 0
	for at := 15 * time.Minute; at <= 95*time.Minute; at += time.Minute {
		pts := incident(at, 15*time.Minute, uint64(at/time.Minute))
		raw := Drift("p95", pts, DriftOptions{})
		prom := Drift("p95", promRange(pts), DriftOptions{})
		if raw.Status != prom.Status {
			differ++
			t.Logf("incident of 15m at %v: %v on the scrapes, %v on the steps (%s | %s)", at, raw.Status, prom.Status, raw.Reason, prom.Reason)
		}
	}
	if differ > 0 {
		t.Errorf("%d of 81 incidents judged differently on the scrapes and on the steps", differ)
	}
	for _, c := range []struct {
		dur  time.Duration
		want Status
	}{{8 * time.Minute, Pass}, {25 * time.Minute, Warn}} {
		for _, pts := range [][]Point{incident(40*time.Minute, c.dur, 1), promRange(incident(40*time.Minute, c.dur, 1))} {
			if got := Drift("p95", pts, DriftOptions{}); got.Status != c.want {
				t.Errorf("an incident of %v: %v, want %v (%s)", c.dur, got.Status, c.want, got.Reason)
			}
		}
	}
}
