package stats

import (
	"sync"
	"time"
)

// DefaultHistoryMax is the number of points a History keeps when Max is 0:
// one hour at one point per second before the resolution starts to halve.
const DefaultHistoryMax = 3600

// Tick is one moment of a run's history: the run as of one of the
// master's ticks.
type Tick struct {
	Time                time.Time
	Users               int
	RPS, FailPerSec     float64 // current (window) rates of Aggregated
	P50Ms, P95Ms, P99Ms float64 // current-window percentiles of Aggregated (0 when none)
	Requests, Failures  int64   // cumulative totals
	// Target is what the load shape asked for at Time: a number of users in
	// the closed model, iterations per second when Open (the open model).
	// Actual users are Users; the actual rate is RPS.
	Target float64
	Open   bool
	// SchedDelayMs is the load generator's own scheduling delay at Time:
	// the worst worker's (see cluster.Status.SchedDelay), in ms; 0 where
	// none was measured.
	SchedDelayMs float64
	// LoadCPUPct is the load generator's own CPU use at Time: the sum over
	// its workers of each one's CPU use, in % of the cores that worker may
	// use (cluster.Status.CPUPercent); 0 where none was measured. Over a
	// run it is the control of the target's CPU per request: a machine
	// that got busier costs the generator's requests as much as the
	// target's (see soak.CPUCheck).
	LoadCPUPct float64
}

// NewTick takes the Aggregated values of s as one history point.
func NewTick(s *Snapshot, users int) Tick {
	t := &s.Total
	return Tick{
		Time:       s.Time,
		Users:      users,
		RPS:        t.CurrentRPS,
		FailPerSec: t.CurrentFailPerSec,
		P50Ms:      PercentileAt(t.CurrentPercentiles, 0.50),
		P95Ms:      PercentileAt(t.CurrentPercentiles, 0.95),
		P99Ms:      PercentileAt(t.CurrentPercentiles, 0.99),
		Requests:   t.Requests,
		Failures:   t.Failures,
	}
}

// History keeps at most Max points (DefaultHistoryMax when Max <= 0). When
// full it halves its resolution: it keeps every other point, and from then on
// accepts only every 2nd (then 4th, 8th, ...) Add, so a run of any length
// stays bounded while the points still span the whole run. The most recent
// Add is always returned by Ticks, so charts end at "now".
//
// The zero value is ready to use. Max must not change after the first Add.
// A History is safe for concurrent use.
type History struct {
	Max int

	mu     sync.Mutex
	kept   []Tick // points whose Add index is a multiple of stride
	stride int    // accept every stride-th Add; a power of two
	seen   int    // number of Add calls so far
	latest Tick   // the last Add, when it was not kept
	extra  bool   // latest is valid and not in kept
}

// Add records p, which must not be older than the previous point.
func (h *History) Add(p Tick) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stride == 0 {
		h.stride = 1
	}
	// One slot is reserved for the latest point, so kept holds at most
	// max-1 points (at least one).
	limit := h.Max
	if limit <= 0 {
		limit = DefaultHistoryMax
	}
	i := h.seen
	h.seen++
	h.latest, h.extra = p, true
	if limit == 1 {
		return // only the latest point
	}
	limit--
	if i%h.stride != 0 {
		return
	}
	for len(h.kept) >= limit {
		if len(h.kept) == 1 {
			return // a one-point history keeps the first point and the latest
		}
		n := 0
		for j := 0; j < len(h.kept); j += 2 {
			h.kept[n] = h.kept[j]
			n++
		}
		clear(h.kept[n:])
		h.kept = h.kept[:n]
		h.stride *= 2
		if i%h.stride != 0 {
			return
		}
	}
	h.kept = append(h.kept, p)
	h.extra = false
}

// Ticks returns a copy of the points, in time order.
func (h *History) Ticks() []Tick {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Tick, 0, len(h.kept)+1)
	out = append(out, h.kept...)
	if h.extra {
		out = append(out, h.latest)
	}
	return out
}

// Thin is what a History of max points (DefaultHistoryMax when max <= 0)
// keeps of ticks added in order: a run's history as the live run held it,
// rebuilt from every tick its run file recorded.
func Thin(ticks []Tick, max int) []Tick {
	h := History{Max: max}
	for _, t := range ticks {
		h.Add(t)
	}
	return h.Ticks()
}

// Reset forgets every point (a new run, or Locust's /stats/reset).
func (h *History) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.kept, h.stride, h.seen, h.extra = nil, 0, 0, false
}

// PercentileAt returns the value for fraction q from ps (aligned with
// Percentiles), or 0 when ps does not hold it.
func PercentileAt(ps []float64, q float64) float64 {
	for i, p := range Percentiles {
		if p == q && i < len(ps) {
			return ps[i]
		}
	}
	return 0
}
