package soak

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// cpuRun is a run's throughput (every second) and the target's CPU
// counter (every 5 s) when a request costs cost(t) seconds of CPU.
func cpuRun(seed uint64, span time.Duration, cost func(sec float64) float64) (cpu, rps []Point) {
	rng := rand.New(rand.NewPCG(seed, 1))
	t0 := time.Unix(1_700_000_000, 0)
	used := 3.0
	for s := 0; s <= int(span.Seconds()); s++ {
		r := 200 * (1 + 0.1*rng.NormFloat64())
		rps = append(rps, Point{T: t0.Add(time.Duration(s) * time.Second), V: r})
		used += r*cost(float64(s)) + 0.002*rng.Float64()
		if s%5 == 0 {
			// USER_HZ: the kernel counts CPU in 10 ms ticks.
			cpu = append(cpu, Point{T: t0.Add(time.Duration(s) * time.Second), V: float64(int(used*100)) / 100})
		}
	}
	return cpu, rps
}

func TestCPUCheck(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		cpu, rps := cpuRun(seed, 90*time.Second, func(float64) float64 { return 0.0004 })
		if d := CPUCheck("cpu per request (ms)", cpu, rps, 0); d.Status != Pass {
			t.Errorf("seed %d: steady cost: %s %s", seed, d.Status, d.Reason)
		}
		// +1 % a second: +80 % over the window after the warm-up.
		cpu, rps = cpuRun(seed, 90*time.Second, func(s float64) float64 { return 0.0004 * (1 + s/100) })
		if d := CPUCheck("cpu per request (ms)", cpu, rps, 0); d.Status != Fail || !strings.Contains(d.Reason, "cpu per request") {
			t.Errorf("seed %d: growing cost: %s %s", seed, d.Status, d.Reason)
		}
	}
	// A counter reset (a restart) is left out, not a negative cost.
	cpu, rps := cpuRun(1, 60*time.Second, func(float64) float64 { return 0.0004 })
	cpu[6].V = 0.1
	for _, p := range CPUPerRequest(cpu, rps) {
		if p.V < 0 {
			t.Fatalf("negative CPU per request %v", p)
		}
	}
}

func TestReplicas(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	mk := func(step time.Duration, vs ...float64) []Point {
		pts := make([]Point, len(vs))
		for i, v := range vs {
			pts[i] = Point{T: t0.Add(time.Duration(i) * step), V: v}
		}
		return pts
	}
	steady := Replicas("r", mk(30*time.Second, 2, 2, 3, 3, 4, 4, 4, 4, 4, 4, 3, 3), 10)
	if steady.Status != Pass || steady.ScaleUps != 2 || steady.ScaleDowns != 1 || steady.Flaps != 1 {
		t.Errorf("steady: %+v", steady)
	}
	flap := Replicas("r", mk(30*time.Second, 2, 3, 2, 3, 2, 3, 2, 2), 10)
	if flap.Status != Fail || flap.Flaps < 3 || !strings.Contains(flap.Reason, "flapping") {
		t.Errorf("flapping: %+v", flap)
	}
	pinned := Replicas("r", mk(time.Minute, 2, 5, 5, 5, 5, 5, 5, 5), 5)
	if pinned.Status != Fail || !strings.Contains(pinned.Reason, "pinned at the maximum") {
		t.Errorf("pinned: %+v", pinned)
	}
	if r := Replicas("r", nil, 0); r.Status != Inconclusive {
		t.Errorf("empty: %+v", r)
	}
}

// A run too short for the CPU check at a light load says how long a run
// at that load would decide, and a run that long does.
func TestCPUCheck_ShortRunSaysWhatWouldDecide(t *testing.T) {
	light := func(float64) float64 { return 0.00002 } // 4 ms of CPU a second: a point every 15 s
	for seed := uint64(1); seed <= 5; seed++ {
		cpu, rps := cpuRun(seed, 60*time.Second, light)
		d := CPUCheck("cpu per request (ms)", cpu, rps, 10*time.Second)
		if d.Status != Inconclusive || d.DecideAfter <= 60*time.Second || !strings.Contains(d.Reason, "would decide") {
			t.Fatalf("seed %d: short light run: %s %s (decide after %s)", seed, d.Status, d.Reason, d.DecideAfter)
		}
		cpu, rps = cpuRun(seed, d.DecideAfter, light)
		if l := CPUCheck("cpu per request (ms)", cpu, rps, 10*time.Second); l.Status == Inconclusive {
			t.Errorf("seed %d: a run of %s, as suggested: %s", seed, d.DecideAfter, l.Reason)
		}
	}
}

// A machine that gets busier makes the target's requests dearer and the
// load generator's as much: the CPU check against the generator's own CPU
// passes that, and says so; a target whose requests get dearer while the
// generator's stay, or far more than the generator's, still fails.
func TestCPUCheck_AgainstTheGenerator(t *testing.T) {
	busier := func(s float64) float64 { return 1 + s/60 } // +125 % over 75 s after the warm-up
	for seed := uint64(1); seed <= 10; seed++ {
		// The generator's CPU use every second, in % of its cores, when
		// its requests cost gen(t) each.
		load := func(rps []Point, gen func(float64) float64) []Point {
			rng := rand.New(rand.NewPCG(seed, 2))
			out := make([]Point, len(rps))
			for i, p := range rps {
				out[i] = Point{T: p.T, V: p.V * 0.0005 * gen(float64(i)) * 100 * (1 + 0.05*rng.NormFloat64())}
			}
			return out
		}
		cpu, rps := cpuRun(seed, 90*time.Second, func(s float64) float64 { return 0.0004 * busier(s) })
		if d := CPUCheck("cpu per request (ms)", cpu, rps, 0); d.Status != Fail {
			t.Fatalf("seed %d: without the control, the busier machine should read as a degradation: %s %s", seed, d.Status, d.Reason)
		}
		d := CPUCheckAgainst("cpu per request (ms)", cpu, rps, load(rps, busier), 0)
		if d.Status != Pass || !strings.Contains(d.Reason, "the machine got busier") || d.GeneratorCPUChangePct < 30 {
			t.Errorf("seed %d: busier machine: %s %s (generator %+.1f%%)", seed, d.Status, d.Reason, d.GeneratorCPUChangePct)
		}
		if d := CPUCheckAgainst("cpu per request (ms)", cpu, rps, load(rps, func(float64) float64 { return 1 }), 0); d.Status != Fail {
			t.Errorf("seed %d: the target alone got dearer: %s %s", seed, d.Status, d.Reason)
		}
		// The target's cost triples while the generator's rises by half.
		cpu, rps = cpuRun(seed, 90*time.Second, func(s float64) float64 { return 0.0004 * (1 + s/30) })
		if d := CPUCheckAgainst("cpu per request (ms)", cpu, rps, load(rps, func(s float64) float64 { return 1 + s/180 }), 0); d.Status != Fail || !strings.Contains(d.Reason, "generator's own CPU per request changed") {
			t.Errorf("seed %d: the target far dearer than the generator: %s %s", seed, d.Status, d.Reason)
		}
	}
	// A steady target with a generator not measured passes as before.
	cpu, rps := cpuRun(1, 90*time.Second, func(float64) float64 { return 0.0004 })
	if d := CPUCheckAgainst("cpu per request (ms)", cpu, rps, nil, 0); d.Status != Pass {
		t.Errorf("steady, no control: %s %s", d.Status, d.Reason)
	}
}
