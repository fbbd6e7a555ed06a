package soak

import (
	"slices"
	"time"
)

// DefaultCPUDegradationPct is the rise of CPU seconds per request, from
// the start of a steady soak to its end, that fails the CPU check.
const DefaultCPUDegradationPct = 30

// CPUPerRequest is the target's CPU time per request served, in
// milliseconds, from its cumulative CPU series (seconds, e.g.
// process_cpu_seconds_total) and the throughput the load side measured
// (rps, requests a second): over each interval between two CPU samples,
// the CPU spent over the requests served in it (rps integrated over the
// interval). Intervals where the counter fell (a restart), or with no
// requests, are left out.
func CPUPerRequest(cpu, rps []Point) []Point {
	cpu, _ = Clean(cpu)
	rps, _ = Clean(rps)
	if len(cpu) < 2 || len(rps) == 0 {
		return nil
	}
	// Requests served up to each rps sample: a step integral, each
	// sample's rate held over the second before it.
	cum := make([]float64, len(rps))
	for i, p := range rps {
		dt := 1.0
		if i > 0 {
			dt = min(p.T.Sub(rps[i-1].T).Seconds(), 10)
		}
		prev := 0.0
		if i > 0 {
			prev = cum[i-1]
		}
		cum[i] = prev + max(p.V, 0)*dt
	}
	served := func(t time.Time) (float64, bool) {
		// Interpolated at t; outside the rps samples there is no answer.
		if t.Before(rps[0].T) || t.After(rps[len(rps)-1].T) {
			return 0, false
		}
		i, found := slices.BinarySearchFunc(rps, t, func(p Point, t time.Time) int { return p.T.Compare(t) })
		if found || i == 0 {
			return cum[i], true
		}
		a, b := rps[i-1], rps[i]
		f := t.Sub(a.T).Seconds() / b.T.Sub(a.T).Seconds()
		return cum[i-1] + f*(cum[i]-cum[i-1]), true
	}
	var out []Point
	from := 0
	for i := 1; i < len(cpu); i++ {
		d := cpu[i].V - cpu[from].V
		if cpu[i].V < cpu[i-1].V {
			from = i // a restart reset the counter
			continue
		}
		if d < minCPUStep {
			// The kernel counts CPU in ticks of 10 ms: an interval of a
			// few ticks reads ±1 tick, tens of %. Wait for five.
			continue
		}
		r0, ok0 := served(cpu[from].T)
		r1, ok1 := served(cpu[i].T)
		if !ok0 || !ok1 || r1-r0 < 1 {
			from = i
			continue
		}
		out = append(out, Point{T: cpu[i].T, V: d / (r1 - r0) * 1000})
		from = i
	}
	return out
}

// minCPUStep is the least CPU time (s) one point of CPUPerRequest
// spans: five of the kernel's 10 ms ticks, so the counter's resolution
// moves a point by 20 % at most (the check compares medians of many).
const minCPUStep = 0.05

// CPUCheck judges the target's CPU per request over a run as a
// degradation: a service that spends 30 % more CPU on a request at the
// end of a steady soak than at its start is degrading even when latency
// holds. It is Drift on CPUPerRequest, failing at
// DefaultCPUDegradationPct.
func CPUCheck(name string, cpu, rps []Point, warmup time.Duration) DriftResult {
	return Drift(name, CPUPerRequest(cpu, rps), DriftOptions{FailPct: DefaultCPUDegradationPct, Warmup: warmup})
}
