package soak

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// A process's RSS restarted by deploys every 60–120 minutes, no marker:
// each start falls to 70 % of its level and warms up again (τ 3 min)
// under a GC sawtooth, no leak. Its restarts are read from the drops;
// a life whose floor rose early (a warm-up's tail past the segment's
// own warm-up) at a pace its last half does not keep is no climb to a
// restart (inferredClimbLasts). Seed 367 failed as "a leak that
// restarts" (+14 % a life) when any life whose floor trended up
// counted. A leak killed at its cap climbs through every life to the
// kill, and fails.
func TestRestarts_DeployedProcessWarmingUpIsNoLeak(t *testing.T) {
	for _, seed := range []uint64{335, 367} {
		r := rand.New(rand.NewPCG(seed, 31))
		g := sawtooth(r, leakF(100*mb, 0, 0), 0.01)
		every := time.Duration(60+r.IntN(60)) * time.Minute
		pts := sample(6*time.Hour, 30*time.Second, func(t time.Duration) float64 {
			since := time.Duration(math.Mod(float64(t), float64(every)))
			return g(t) * (0.7 + 0.3*(1-math.Exp(-since.Minutes()/3)))
		})
		if res := Leak("rss", pts, LeakOptions{Kind: KindOS}); res.Status == Fail {
			t.Errorf("seed %d, deploys every %v: %s", seed, every, res.Reason)
		}
	}
	for seed := uint64(0); seed < 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 32))
		rate := 20 + 30*r.Float64()
		pts := sample(6*time.Hour, 30*time.Second, oom(r, 100*mb, rate, 1.8+0.4*r.Float64(), time.Duration(r.IntN(3600))*time.Second))
		if res := Leak("rss", pts, LeakOptions{Kind: KindOS}); res.Status != Fail {
			t.Errorf("seed %d, a leak of %.0f%%/h killed at its cap: %s %s", seed, rate, res.Status, res.Reason)
		}
	}
}
