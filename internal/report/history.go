package report

import (
	"sync"
	"time"

	"github.com/horde-load/horde/internal/stats"
)

// DefaultHistoryMax is the number of points a History keeps when Max is 0:
// one hour at one point per second before the resolution starts to halve.
const DefaultHistoryMax = 3600

// Point is one moment of a run's history.
type Point struct {
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
}

// NewPoint takes the Aggregated values of s as one history point.
func NewPoint(s *stats.Snapshot, users int) Point {
	t := &s.Total
	return Point{
		Time:       s.Time,
		Users:      users,
		RPS:        t.CurrentRPS,
		FailPerSec: t.CurrentFailPerSec,
		P50Ms:      percentileAt(t.CurrentPercentiles, 0.50),
		P95Ms:      percentileAt(t.CurrentPercentiles, 0.95),
		P99Ms:      percentileAt(t.CurrentPercentiles, 0.99),
		Requests:   t.Requests,
		Failures:   t.Failures,
	}
}

// History keeps at most Max points (DefaultHistoryMax when Max <= 0). When
// full it halves its resolution: it keeps every other point, and from then on
// accepts only every 2nd (then 4th, 8th, ...) Add, so a run of any length
// stays bounded while the points still span the whole run. The most recent
// Add is always returned by Points, so charts end at "now".
//
// The zero value is ready to use. Max must not change after the first Add.
// A History is safe for concurrent use.
type History struct {
	Max int

	mu     sync.Mutex
	kept   []Point // points whose Add index is a multiple of stride
	stride int     // accept every stride-th Add; a power of two
	seen   int     // number of Add calls so far
	latest Point   // the last Add, when it was not kept
	extra  bool    // latest is valid and not in kept
}

// Add records p, which must not be older than the previous point.
func (h *History) Add(p Point) {
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

// Points returns a copy of the points, in time order.
func (h *History) Points() []Point {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Point, 0, len(h.kept)+1)
	out = append(out, h.kept...)
	if h.extra {
		out = append(out, h.latest)
	}
	return out
}

// Reset forgets every point (a new run, or Locust's /stats/reset).
func (h *History) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.kept, h.stride, h.seen, h.extra = nil, 0, 0, false
}
