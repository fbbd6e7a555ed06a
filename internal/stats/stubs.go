package stats

// STUBS: to be replaced by the real implementation (keep exact signatures).

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Recorder collects samples on the hot path. It is sharded: callers pass a
// shard hint (a user id) so that concurrent users rarely share a lock. Record
// must not allocate once an entry for the key exists. Safe for concurrent use.
type Recorder struct{}

// NewRecorder returns a Recorder with n shards (n <= 0 means 4×GOMAXPROCS).
func NewRecorder(n int) *Recorder { panic("todo") }

// Record adds one sample. failure == "" means success. Durations above
// HighestMicros are clamped and counted as out of range.
func (r *Recorder) Record(shard int, method, name string, d time.Duration, bytes int64, failure string) {
	panic("todo")
}

// Flush drains every shard into a new Interval covering [start, end).
// Entries and errors recorded after Flush returns go to the next interval.
func (r *Recorder) Flush(start, end time.Time) *Interval { panic("todo") }

// Interval is what was recorded during [Start, End). It is mergeable, and is
// the unit a worker reports to a master.
type Interval struct {
	Start, End time.Time
	Entries    map[Key]*IntervalEntry
	Errors     map[ErrorKey]int64
	// ErrorsDropped counts failures whose message was not kept (cap reached).
	ErrorsDropped int64
}

// IntervalEntry is one key's data in an Interval.
type IntervalEntry struct {
	Count, Failures int64
	SumMicros       int64
	MinMicros       int64
	MaxMicros       int64
	Bytes           int64
	OutOfRange      int64
	Hist            *hdr.Histogram
}

// Merge adds o into iv (counts, histograms, errors; Start/End widen).
func (iv *Interval) Merge(o *Interval) { panic("todo") }

// Stats aggregates Intervals over a run. Not safe for concurrent use; the
// caller serialises Add, Reset and Snapshot.
type Stats struct{}

// New returns empty statistics for a run started at start.
func New(start time.Time) *Stats { panic("todo") }

// Add merges an interval: into the cumulative entries, and into the ring of
// per-second slots used by the current window (by iv.End).
func (s *Stats) Add(iv *Interval) { panic("todo") }

// Reset clears everything (Locust's /stats/reset and --reset-stats); the run
// start becomes now.
func (s *Stats) Reset(now time.Time) { panic("todo") }

// Snapshot returns plain values as of now. The "current" fields cover the
// WindowSeconds before now (not before the last request, so rates fall to
// zero when traffic stops).
func (s *Stats) Snapshot(now time.Time) *Snapshot { panic("todo") }

// Snapshot is a copy of the statistics at one moment.
type Snapshot struct {
	Time          time.Time
	Start         time.Time
	Entries       []Entry // sorted by (Name, Method)
	Total         Entry   // "Aggregated": Method "", Name "Aggregated"
	Errors        []Error // sorted by occurrences, descending
	ErrorsDropped int64
}

// Entry is one row of the statistics table. Times are in milliseconds.
type Entry struct {
	Method, Name       string
	Requests, Failures int64
	MinMs, MaxMs       float64 // exact; 0 when no requests
	AvgMs              float64 // exact mean
	MedianMs           float64 // p50 from the histogram, clamped to [min, max]
	AvgContentSize     float64 // bytes
	TotalRPS           float64 // requests / (last request - start)
	TotalFailPerSec    float64
	CurrentRPS         float64 // over the window
	CurrentFailPerSec  float64
	// Percentiles holds the cumulative values for stats.Percentiles, in ms,
	// each clamped to [MinMs, MaxMs]; the last one (p100) equals MaxMs.
	Percentiles []float64
	// CurrentPercentiles is the same over the current window (nil if the
	// window holds no request).
	CurrentPercentiles []float64
	OutOfRange         int64
	FirstRequest       time.Time
	LastRequest        time.Time
}

// Error is one row of the error report.
type Error struct {
	Method, Name, Message string
	Occurrences           int64
}
