package soak

import (
	"fmt"
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

// minCPUPoints is the fewest points after the warm-up CPUCheck judges.
const minCPUPoints = 6

// CPUCheck judges the target's CPU per request over a run as a
// degradation: a service that spends 30 % more CPU on a request at the
// end of a steady soak than at its start is degrading even when latency
// holds. After the warm-up, the CPU per request of the last third of the
// window (its CPU over its requests: a ratio of sums, which the counter's
// 10 ms ticks cannot move much) is compared with the first third's, and
// along the Theil–Sen line of the points; the worse counts. Past
// DefaultCPUDegradationPct with a significant upward trend (Mann–Kendall,
// Hamed–Rao corrected, p < 0.05) it fails; half of it with p < 0.01
// warns; a change without a lasting trend (a busy neighbour, a GC cycle)
// passes, and says so.
func CPUCheck(name string, cpu, rps []Point, warmup time.Duration) DriftResult {
	r := DriftResult{Name: name, Status: Pass, P: 1}
	pts := CPUPerRequest(cpu, rps)
	cleanCPU, _ := Clean(cpu)
	if warmup <= 0 && len(cleanCPU) >= 2 {
		warmup = min(time.Duration(float64(cleanCPU[len(cleanCPU)-1].T.Sub(cleanCPU[0].T))*DefaultWarmupFraction), DefaultWarmupMax)
	}
	if len(cleanCPU) > 0 {
		cut := cleanCPU[0].T.Add(warmup)
		i := 0
		for i < len(pts) && pts[i].T.Before(cut) {
			i++
		}
		pts = pts[i:]
	}
	r.Warmup = warmup
	r.Points = len(pts)
	if len(pts) < minCPUPoints {
		r.Status = Inconclusive
		r.Reason = fmt.Sprintf("%s: only %d points after the warm-up (a point spans 50 ms of the target's CPU), not enough to judge", name, len(pts))
		if len(pts) >= 2 && len(cleanCPU) > 0 {
			// Points come at the pace the target spends CPU: a run
			// that adds the missing ones at this pace (and one more,
			// for the pace's own wobble) after the same warm-up decides.
			since := pts[len(pts)-1].T.Sub(cleanCPU[0].T.Add(warmup))
			if since > 0 {
				each := since / time.Duration(len(pts))
				r.DecideAfter = warmup + since + time.Duration(minCPUPoints+1-len(pts))*each
				r.Reason += fmt.Sprintf("; a run of about %s at this load would decide", roundUp(r.DecideAfter))
			}
		}
		return r
	}
	r.Window = pts[len(pts)-1].T.Sub(pts[0].T)
	xs := make([]float64, len(pts))
	ys := make([]float64, len(pts))
	for i, p := range pts {
		xs[i], ys[i] = p.T.Sub(pts[0].T).Seconds(), p.V
	}
	n := len(pts)
	third := max(n/3, 2)
	r.First, r.Last = median(ys[:third]), median(ys[n-third:])
	slope, icept := TheilSen(xs, ys)
	r.SlopePerSec = slope
	r.Fit = fitLine(pts[0].T, pts[0].T, pts[n-1].T, xs, ys)
	if r.First > 0 {
		r.ChangePct = (r.Last - r.First) / r.First * 100
	}
	if icept > 0 {
		r.SlopeChangePct = slope * xs[n-1] / icept * 100
	}
	s, _, p, _ := MannKendallHR(ys)
	r.P = p
	change := min(r.ChangePct, r.SlopeChangePct) // both must show it
	w := round(r.Window)
	switch {
	case change >= DefaultCPUDegradationPct && s > 0 && p < cpuAlpha:
		r.Status = Fail
		r.Reason = fmt.Sprintf("%s went from %.4g to %.4g (%+.1f%% first third to last, %+.1f%% along the trend over %s) with a significant trend (p=%.2g): the service spends more CPU on each request", name, r.First, r.Last, r.ChangePct, r.SlopeChangePct, w, p)
	case change >= DefaultCPUDegradationPct/2 && s > 0 && p < cpuAlpha:
		r.Status = Warn
		r.Reason = fmt.Sprintf("%s rises (%+.1f%% first third to last, %+.1f%% along the trend over %s, p=%.2g), below the %d%% that fails", name, r.ChangePct, r.SlopeChangePct, w, p, DefaultCPUDegradationPct)
	case change >= DefaultCPUDegradationPct/2:
		r.Reason = fmt.Sprintf("%s steady: %.4g to %.4g (%+.1f%%) without a lasting trend (p=%.2g): a busy moment, not a drift", name, r.First, r.Last, r.ChangePct, p)
	default:
		r.Reason = fmt.Sprintf("%s steady: %.4g to %.4g (%+.1f%% first third to last, %+.1f%% along the trend)", name, r.First, r.Last, r.ChangePct, r.SlopeChangePct)
	}
	return r
}

// cpuAlpha is the trend's significance the CPU check needs to warn or
// fail: CPU per request is noisy on a busy machine (a neighbour's build
// costs every process cache and context switches), and a clean target's
// 45 s run on a loaded machine rose 41 % at p = 0.04; a real degradation
// over a soak is far below it (the target's --cpu-growth: p = 1.8e-14).
const cpuAlpha = 0.01
