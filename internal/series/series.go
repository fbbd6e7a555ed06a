// Package series is the time series a run records about the system under
// test (its memory, CPU, a PromQL query's value): the monitor samples them,
// the run file stores them, the soak checks judge them and the reports
// chart them. It is a leaf: it imports nothing of horde's.
package series

import "time"

// Point is one value of a series at one time.
type Point struct {
	T time.Time
	V float64
}

// Series is one recorded metric of the system under test.
type Series struct {
	// Name identifies the series among a run's, e.g.
	// "http://127.0.0.1:9091/metrics process_resident_memory_bytes" or
	// `memory{pod="my-app-1"}`.
	Name string
	// Metric is the metric (or query) name, e.g. "process_resident_memory_bytes".
	Metric string
	// Memory marks a memory series, judged for leaks.
	Memory bool
	// Kind overrides what the series measures for the leak check ("heap",
	// "os", "count": soak.ParseKind); empty: told by the metric's name.
	Kind   string `json:",omitempty"`
	Points []Point
}

// Thin returns at most about 2*buckets points of pts (sorted by time): the
// lowest and the highest point of each of buckets equal spans of time, in
// time order, so a chart of a week of samples keeps the floor a leak
// check judges and the peaks a restart shows. pts is returned as it is
// when it is short enough.
func Thin(pts []Point, buckets int) []Point {
	if buckets < 1 || len(pts) <= 2*buckets {
		return pts
	}
	t0, t1 := pts[0].T, pts[len(pts)-1].T
	span := t1.Sub(t0)
	if span <= 0 {
		return pts[:1]
	}
	out := make([]Point, 0, 2*buckets+1)
	i := 0
	for b := 0; b < buckets && i < len(pts); b++ {
		end := t0.Add(time.Duration(float64(span) * float64(b+1) / float64(buckets)))
		lo, hi := i, i
		j := i
		for ; j < len(pts) && (!pts[j].T.After(end) || b == buckets-1); j++ {
			if pts[j].V < pts[lo].V {
				lo = j
			}
			if pts[j].V > pts[hi].V {
				hi = j
			}
		}
		if j == i {
			continue // an empty span
		}
		switch {
		case lo == hi:
			out = append(out, pts[lo])
		case lo < hi:
			out = append(out, pts[lo], pts[hi])
		default:
			out = append(out, pts[hi], pts[lo])
		}
		i = j
	}
	return out
}
