// Package stats holds request statistics: per (method, name) HDR histograms,
// counters, windows and the error table. It has no clock and no network:
// callers pass the time in.
//
// Data flows in three steps:
//
//	Recorder (hot path, sharded, one per process)
//	   --Flush-->  Interval (mergeable: what workers will send to a master)
//	   --Add-->    Stats (cumulative + windows for one run)
//	   --Snapshot--> Snapshot (plain values for tables, CSV, JSON, HTML)
//
// Durations are recorded in whole microseconds into HDR histograms; counts,
// sums, minimum and maximum are exact. Memory is bounded: it grows with the
// number of keys, never with the length of the run, and never keeps raw
// samples.
package stats

import "time"

// Histogram geometry: microsecond resolution, 3 significant digits, up to one hour.
const (
	LowestMicros       = 1
	HighestMicros      = int64(time.Hour / time.Microsecond)
	SignificantFigures = 3
)

// Percentiles are the ones Locust reports, as fractions.
var Percentiles = []float64{0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0}

// PercentileLabels are the CSV/console column titles of Percentiles.
var PercentileLabels = []string{"50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"}

// Key identifies a statistics entry.
type Key struct {
	Method string
	Name   string
}

// ErrorKey groups failures, as Locust's error report does.
type ErrorKey struct {
	Method  string
	Name    string
	Message string
}

// DefaultMaxErrors caps the distinct error messages kept; failures with
// further distinct messages are counted in Snapshot.ErrorsDropped (and under
// a synthetic "other errors" row, see OtherErrorsMessage), never stored, so
// memory stays bounded.
const DefaultMaxErrors = 1000

// WindowSeconds is the width of the "current" window (current rps, current
// percentiles), as Locust's 10 s window.
const WindowSeconds = 10
