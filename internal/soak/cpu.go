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
	iv := cpuIntervals(cpu, rps)
	out := make([]Point, len(iv))
	for i, c := range iv {
		out[i] = Point{T: c.to, V: c.cpu / c.served * 1000}
	}
	return out
}

// cpuInterval is one point of CPUPerRequest: the target's CPU seconds
// over the requests served between from and to.
type cpuInterval struct {
	from, to    time.Time
	cpu, served float64
}

// cpuIntervals are the intervals CPUPerRequest divides.
func cpuIntervals(cpu, rps []Point) []cpuInterval {
	cpu, _ = Clean(cpu)
	rps, _ = Clean(rps)
	if len(cpu) < 2 || len(rps) == 0 {
		return nil
	}
	served := stepIntegral(rps)
	var out []cpuInterval
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
		out = append(out, cpuInterval{from: cpu[from].T, to: cpu[i].T, cpu: d, served: r1 - r0})
		from = i
	}
	return out
}

// stepIntegral returns the integral of a rate series (per second) up to
// a time, each sample's rate held over the second before it (over up to
// 10 s of a gap), interpolated between samples; outside the samples there
// is no answer.
func stepIntegral(rate []Point) func(time.Time) (float64, bool) {
	cum := make([]float64, len(rate))
	for i, p := range rate {
		dt := 1.0
		if i > 0 {
			dt = min(p.T.Sub(rate[i-1].T).Seconds(), 10)
		}
		prev := 0.0
		if i > 0 {
			prev = cum[i-1]
		}
		cum[i] = prev + max(p.V, 0)*dt
	}
	return func(t time.Time) (float64, bool) {
		if len(rate) == 0 || t.Before(rate[0].T) || t.After(rate[len(rate)-1].T) {
			return 0, false
		}
		i, found := slices.BinarySearchFunc(rate, t, func(p Point, t time.Time) int { return p.T.Compare(t) })
		if found || i == 0 {
			return cum[i], true
		}
		a, b := rate[i-1], rate[i]
		f := t.Sub(a.T).Seconds() / b.T.Sub(a.T).Seconds()
		return cum[i-1] + f*(cum[i]-cum[i-1]), true
	}
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
// Hamed–Rao corrected, p < 0.01) it fails; half of it warns; a change
// without a lasting trend (a busy neighbour, a GC cycle) passes, and says
// so.
func CPUCheck(name string, cpu, rps []Point, warmup time.Duration) DriftResult {
	return CPUCheckAgainst(name, cpu, rps, nil, warmup)
}

// CPUCheckAgainst is CPUCheck with a control: load is the load
// generator's own CPU use over the same run, in any unit proportional to
// its CPU seconds a second (stats.Tick.LoadCPUPct: its workers' CPU %).
// A machine that gets busier (a neighbour's build, another tenant of the
// VM's host, a CPU that clocks down) makes every request dearer, the
// generator's as much as the target's where they share it: a clean
// target's CPU per request and horde's own, measured beside it, rose and
// fell together from one 5-s stretch to the next by up to 4×, while their
// ratio stayed within 0.7–1.1. So where the target's CPU per request
// rises enough to warn or fail, the same test is made on the target's CPU
// over the generator's in each interval (the requests cancel), and the
// milder verdict stands: a service whose requests got dearer against the
// generator's still fails; one whose requests got dearer only as the
// generator's did passes, and says so. A generator on other machines
// (workers in a cluster) spends the same CPU per request whatever the
// target does, and the ratio is the target's own change.
func CPUCheckAgainst(name string, cpu, rps, load []Point, warmup time.Duration) DriftResult {
	r := DriftResult{Name: name, Status: Pass, P: 1}
	iv := cpuIntervals(cpu, rps)
	cleanCPU, _ := Clean(cpu)
	if warmup <= 0 && len(cleanCPU) >= 2 {
		warmup = min(time.Duration(float64(cleanCPU[len(cleanCPU)-1].T.Sub(cleanCPU[0].T))*DefaultWarmupFraction), DefaultWarmupMax)
	}
	if len(cleanCPU) > 0 {
		cut := cleanCPU[0].T.Add(warmup)
		i := 0
		for i < len(iv) && iv[i].to.Before(cut) {
			i++
		}
		iv = iv[i:]
	}
	pts := make([]Point, len(iv))
	for i, c := range iv {
		pts[i] = Point{T: c.to, V: c.cpu / c.served * 1000}
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
	t := cpuTrendOf(pts)
	r.First, r.Last, r.ChangePct, r.SlopeChangePct, r.SlopePerSec, r.P, r.Fit = t.first, t.last, t.changePct, t.slopeChangePct, t.slope, t.p, t.fit
	w := round(r.Window)
	r.Status = t.status()
	switch r.Status {
	case Fail:
		r.Reason = fmt.Sprintf("%s went from %.4g to %.4g (%+.1f%% first third to last, %+.1f%% along the trend over %s) with a significant trend (p=%.2g): the service spends more CPU on each request", name, r.First, r.Last, r.ChangePct, r.SlopeChangePct, w, r.P)
	case Warn:
		r.Reason = fmt.Sprintf("%s rises (%+.1f%% first third to last, %+.1f%% along the trend over %s, p=%.2g), below the %d%% that fails", name, r.ChangePct, r.SlopeChangePct, w, r.P, DefaultCPUDegradationPct)
	default:
		if t.change() >= DefaultCPUDegradationPct/2 {
			r.Reason = fmt.Sprintf("%s steady: %.4g to %.4g (%+.1f%%) without a lasting trend (p=%.2g): a busy moment, not a drift", name, r.First, r.Last, r.ChangePct, r.P)
		} else {
			r.Reason = fmt.Sprintf("%s steady: %.4g to %.4g (%+.1f%% first third to last, %+.1f%% along the trend)", name, r.First, r.Last, r.ChangePct, r.SlopeChangePct)
		}
	}
	ratio, gen, ok := againstGenerator(iv, load)
	if !ok {
		return r
	}
	rt := cpuTrendOf(ratio)
	gt := cpuTrendOf(gen)
	r.GeneratorCPUChangePct = gt.changePct
	if r.Status == Pass {
		return r
	}
	if st := rt.status(); milder(st, r.Status) {
		r.Status = st
		r.Reason = fmt.Sprintf("%s went from %.4g to %.4g (%+.1f%% first third to last, p=%.2g), and the load generator's own CPU per request rose with it (%+.1f%%): the machine got busier, not the service (against the generator's, the target's changed %+.1f%%, p=%.2g)",
			name, r.First, r.Last, r.ChangePct, r.P, gt.changePct, rt.change(), rt.p)
	} else {
		r.Reason += fmt.Sprintf("; the load generator's own CPU per request changed %+.1f%% over the same time", gt.changePct)
	}
	return r
}

// milder reports whether a is a milder verdict than b (pass,
// inconclusive, warn, fail).
func milder(a, b Status) bool { return driftRank(a) < driftRank(b) }

// cpuTrend is what the CPU check measures on a series of points.
type cpuTrend struct {
	first, last               float64 // medians of the first and last thirds
	changePct, slopeChangePct float64
	slope                     float64 // per second
	s                         float64 // Mann–Kendall S
	p                         float64
	fit                       Line
}

func cpuTrendOf(pts []Point) cpuTrend {
	var t cpuTrend
	n := len(pts)
	if n < 2 {
		t.p = 1
		return t
	}
	xs := make([]float64, n)
	ys := make([]float64, n)
	for i, p := range pts {
		xs[i], ys[i] = p.T.Sub(pts[0].T).Seconds(), p.V
	}
	third := max(n/3, 2)
	t.first, t.last = median(ys[:third]), median(ys[n-third:])
	slope, icept := TheilSen(xs, ys)
	t.slope = slope
	t.fit = fitLine(pts[0].T, pts[0].T, pts[n-1].T, xs, ys)
	if t.first > 0 {
		t.changePct = (t.last - t.first) / t.first * 100
	}
	if icept > 0 {
		t.slopeChangePct = slope * xs[n-1] / icept * 100
	}
	t.s, _, t.p, _ = MannKendallHR(ys)
	return t
}

// change is the rise both measures show.
func (t cpuTrend) change() float64 { return min(t.changePct, t.slopeChangePct) }

// status is the CPU check's verdict on the trend.
func (t cpuTrend) status() Status {
	switch c := t.change(); {
	case c >= DefaultCPUDegradationPct && t.s > 0 && t.p < cpuAlpha:
		return Fail
	case c >= DefaultCPUDegradationPct/2 && t.s > 0 && t.p < cpuAlpha:
		return Warn
	}
	return Pass
}

// againstGenerator lays the load generator's CPU use (a rate, in any
// unit) over the CPU check's intervals: the target's CPU over the
// generator's in each (ratio), and the generator's CPU per request
// (gen). ok is false where the generator's CPU was not measured over
// most of the intervals.
func againstGenerator(iv []cpuInterval, load []Point) (ratio, gen []Point, ok bool) {
	load, _ = Clean(load)
	if len(load) < 2 {
		return nil, nil, false
	}
	used := stepIntegral(load)
	for _, c := range iv {
		u0, ok0 := used(c.from)
		u1, ok1 := used(c.to)
		if !ok0 || !ok1 || u1-u0 <= 0 {
			continue
		}
		ratio = append(ratio, Point{T: c.to, V: c.cpu / (u1 - u0)})
		gen = append(gen, Point{T: c.to, V: (u1 - u0) / c.served})
	}
	if len(ratio) < minCPUPoints || 2*len(ratio) < len(iv) {
		return nil, nil, false
	}
	return ratio, gen, true
}

// cpuAlpha is the trend's significance the CPU check needs to warn or
// fail: CPU per request is noisy on a busy machine (a neighbour's build
// costs every process cache and context switches), and a clean target's
// 45 s run on a loaded machine rose 41 % at p = 0.04; a real degradation
// over a soak is far below it (the target's --cpu-growth: p = 1.8e-14).
const cpuAlpha = 0.01
