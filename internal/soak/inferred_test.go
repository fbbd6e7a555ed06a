package soak

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// cacheLivesRSS is an RSS under a GC sawtooth (20 %, every 97 s) whose
// process's cache fills over the first part of each life (τ a sixth of
// it, +grow), restarted by deploys every life, 6 h every 30 s.
func cacheLivesRSS(life time.Duration, grow float64, seed uint64) []Point {
	tau := life.Minutes() / 6
	r := rand.New(rand.NewPCG(seed, 3))
	var pts []Point
	for d := time.Duration(0); d <= 6*time.Hour; d += 30 * time.Second {
		age := (d + 21*time.Minute) % life
		l := 100e6 * (1 + grow*(1-math.Exp(-age.Minutes()/tau)))
		gc := math.Mod(d.Seconds(), 97) / 97
		pts = append(pts, Point{T: t0.Add(d), V: l*(1+0.2*gc) + 0.01*l*r.NormFloat64()})
	}
	return pts
}

// An RSS whose process's cache fills in each life, restarted by deploys,
// with no restart marker: the restarts are inferred from its drops. A
// life's floor rose, significantly over the life, but its last half
// climbs at a small part of its first half's pace: a cache, not a leak
// that restarts (inferredClimbLasts). Before the rule the first failed
// ("restarted 3 times ... after growing +... each time: a leak that
// restarts"), the second warned.
func TestLeak_InferredCacheLivesDoNotClimb(t *testing.T) {
	for _, c := range []struct {
		life time.Duration
		grow float64
		seed uint64
	}{{110 * time.Minute, 0.3, 2}, {90 * time.Minute, 0.5, 2}} {
		res := Leak("process_resident_memory_bytes", cacheLivesRSS(c.life, c.grow, c.seed), LeakOptions{Kind: KindOS})
		if res.Restarts < 3 {
			t.Fatalf("life %s: %d restarts inferred, want 3 or more: %s", c.life, res.Restarts, res.Reason)
		}
		if res.Status != Pass || !strings.Contains(res.Reason, "a cache that fills in each life") {
			t.Errorf("life %s, cache +%.0f%% in each life, no marker: %s: %s", c.life, 100*c.grow, res.Status, res.Reason)
		}
		t.Logf("life %s: %s: %s", c.life, res.Status, res.Reason)
	}
}

// Three pods leaking 35 %/h, each OOM-killed at 1.9 times its start and
// restarted, summed and scraped every 60 s, no marker: each segment
// between two pods' restarts is short and its last half holds few floor
// points, too few for a significant trend, but it climbs at its first
// half's pace to the next restart (inferredClimbLasts): a leak that
// restarts, failed.
func TestLeak_InferredLeakingPodsClimb(t *testing.T) {
	const rate, limit = 35.0, 1.9
	cycle := time.Duration((limit - 1.2) / (rate / 100) * float64(time.Hour))
	r := rand.New(rand.NewPCG(5, 5))
	var pts []Point
	for d := time.Duration(0); d <= 6*time.Hour; d += time.Minute {
		v := 0.0
		for k := range 3 {
			since := (d + 7*time.Minute + time.Duration(k)*cycle/3) % cycle
			gc := math.Mod(d.Seconds()+float64(31*k), float64(60+17*k)) / float64(60+17*k)
			v += 100e6*(1+rate/100*since.Hours()) + 0.2*100e6*gc + 0.01*100e6*r.NormFloat64()
		}
		pts = append(pts, Point{T: t0.Add(d), V: v})
	}
	if res := Leak("container_memory_working_set_bytes", pts, LeakOptions{Kind: KindOS}); res.Status != Fail {
		t.Errorf("three pods leaking to their cap, summed, no marker: %s: %s", res.Status, res.Reason)
	}
}
