package stats

import "time"

// Row is one tick of one request name as a run file keeps it: the tick's
// counts and the live window's percentiles. The store reads rows back
// (store.Store.Intervals) and compare judges runs from them.
type Row struct {
	T                       time.Time
	Method, Name            string
	Requests, Failures      int64
	P50, P90, P95, P99, Max float64 // ms over the current window; NaN when the window was empty
	Mean                    float64 // ms over the tick; NaN when no request
	Bytes                   int64
}
