package stats

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// numSlots is the size of the ring of per-second slots: the window plus two
// seconds of slack for intervals that arrive late.
const numSlots = WindowSeconds + 2

// maxIdleSlotBytes is the sparse histogram size above which a reused slot
// gives its storage back rather than keeping it, so that one burst does not
// pin memory for the rest of the run.
const maxIdleSlotBytes = 64 << 10

// Stats aggregates Intervals over a run. Not safe for concurrent use; the
// caller serialises Add, Reset and Snapshot.
//
// Histograms are kept sparse (hdrhistogram's PackedHistogram), so memory
// grows with the number of keys and populated buckets, never with the
// length of the run: a key costs its cumulative histogram plus, at most,
// one histogram per second of the window.
type Stats struct {
	start         time.Time
	entries       map[Key]*cumEntry
	total         cumEntry
	errors        map[ErrorKey]int64
	errorsDropped int64
	checks        map[string]CheckCount
	slots         [numSlots]slot

	min       *minutes             // per-minute histograms, when kept (KeepMinutes)
	sparse    *hdr.PackedHistogram // scratch: one interval entry, sparse
	uncSparse *hdr.PackedHistogram // scratch: its uncorrected latencies
	window    *hdr.PackedHistogram // scratch: one key's window, merged
	dense     *hdr.Histogram       // scratch: sums of many sparse histograms
}

// cumEntry is one key's cumulative data: its Counts, with sparse
// histograms, and the times of the first and last interval that brought
// requests.
type cumEntry struct {
	Counts[*hdr.PackedHistogram]
	first, last time.Time
}

// slot holds what the intervals ending in one unix second brought.
type slot struct {
	sec     int64 // unix second of the intervals' End
	used    bool
	entries map[Key]*slotEntry
}

// slotEntry is one key's data in a slot: what the window needs.
type slotEntry struct {
	Latency[*hdr.PackedHistogram]
	failures int64
}

// New returns empty statistics for a run started at start.
func New(start time.Time) *Stats {
	s := &Stats{sparse: newSparse(), uncSparse: newSparse(), window: newSparse(), dense: newHist()}
	s.Reset(start)
	return s
}

// Reset clears everything (Locust's /stats/reset and --reset-stats); the run
// start becomes now.
func (s *Stats) Reset(now time.Time) {
	s.start = now
	s.entries = make(map[Key]*cumEntry)
	s.total = cumEntry{}
	s.errors = make(map[ErrorKey]int64)
	s.errorsDropped = 0
	s.checks = make(map[string]CheckCount)
	s.slots = [numSlots]slot{}
}

// Add merges an interval: into the cumulative entries, and into the ring of
// per-second slots used by the current window (by iv.End).
//
// An interval whose ring slot already holds a later second (its End is at
// least WindowSeconds+2 s older than an interval added before it) only
// counts in the cumulative entries. Entries without requests are ignored.
func (s *Stats) Add(iv *Interval) {
	if iv == nil {
		return
	}
	sl := s.slotFor(iv.End)
	// The total's histogram is summed densely, then merged once: merging
	// every key's sparse histogram into it would cost O(keys × buckets).
	s.dense.Reset()
	for k, e := range iv.Entries {
		if e == nil || e.Count == 0 {
			continue
		}
		sp := sparseOf(e, s.sparse, s.uncSparse)
		ce := s.entries[k]
		if ce == nil {
			ce = &cumEntry{}
			s.entries[k] = ce
		}
		ce.add(&sp, iv.Start, iv.End)
		// The total's corrected histogram is summed densely below.
		s.total.Summary.Merge(sp.Summary)
		s.total.mergeRest(&sp)
		s.total.span(iv.Start, iv.End)
		s.sparse.MergeInto(s.dense)
		s.addMinute(k, iv.End, s.sparse)
		if sl != nil {
			sl.add(k, &sp)
		}
	}
	if s.dense.TotalCount() > 0 {
		s.sparse.Reset()
		s.sparse.MergeFrom(s.dense)
		s.total.hist().Merge(s.sparse)
		s.addMinute(Key{Name: AggregatedName}, iv.End, s.sparse)
	}
	for k, c := range iv.Errors {
		s.errorsDropped += addError(s.errors, k, c)
	}
	s.errorsDropped += iv.ErrorsDropped
	for n, c := range iv.Checks {
		addCheck(s.checks, n, c)
	}
}

// slotFor returns the ring slot for the second of end, recycling it if it
// holds an older second, or nil if it holds a newer one (or end is unset).
func (s *Stats) slotFor(end time.Time) *slot {
	if end.IsZero() {
		return nil
	}
	sec := end.Unix()
	i := sec % numSlots
	if i < 0 {
		i += numSlots
	}
	sl := &s.slots[i]
	switch {
	case !sl.used:
		sl.used, sl.sec = true, sec
		if sl.entries == nil {
			sl.entries = make(map[Key]*slotEntry)
		}
	case sl.sec < sec:
		sl.sec = sec
		for _, e := range sl.entries {
			e.reset()
		}
	case sl.sec > sec:
		return nil
	}
	return sl
}

// add merges one interval's entry for the key, whose histograms were made
// sparse.
func (c *cumEntry) add(e *Counts[*hdr.PackedHistogram], start, end time.Time) {
	c.Merge(e)
	c.span(start, end)
}

// span widens [first, last] to an interval's [start, end).
func (c *cumEntry) span(start, end time.Time) {
	if c.first.IsZero() || (!start.IsZero() && start.Before(c.first)) {
		c.first = start
	}
	if end.After(c.last) {
		c.last = end
	}
}

// add merges one interval entry (histograms made sparse) into the slot.
func (sl *slot) add(k Key, e *Counts[*hdr.PackedHistogram]) {
	se := sl.entries[k]
	if se == nil {
		se = &slotEntry{}
		sl.entries[k] = se
	}
	se.Latency.Merge(&e.Latency)
	se.failures += e.Failures
}

// reset empties the entry for a new second, keeping modest storage.
func (se *slotEntry) reset() {
	se.Latency.reset()
	se.failures = 0
	if se.Hist != nil && se.Hist.GetMemorySize() > maxIdleSlotBytes {
		se.Hist.Compact()
	}
}
