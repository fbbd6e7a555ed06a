package stats

import (
	"runtime"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Recorder collects samples on the hot path. It is sharded: callers pass a
// shard hint (a user id) so that concurrent users rarely share a lock. Record
// must not allocate once an entry for the key exists. Safe for concurrent use.
//
// Each shard holds a dense histogram per key it has seen since the last
// Flush (about 190 KB each), so a Recorder uses up to shards × keys × 190 KB.
type Recorder struct {
	shards []shard
}

// shard is one lock's worth of a Recorder. Flush swaps entries and errors
// with the spare maps (cleared, so they keep their storage), and recycles the
// drained entries through free so that Record seldom allocates a histogram.
type shard struct {
	mu            sync.Mutex
	entries       map[Key]*IntervalEntry
	errors        map[ErrorKey]int64
	errorsDropped int64
	free          []*IntervalEntry // reset entries, ready for reuse

	// Only Flush uses these; they are nil while a Flush has taken them.
	spareEntries map[Key]*IntervalEntry
	spareErrors  map[ErrorKey]int64

	_ [64]byte // keep neighbouring shards' locks off one cache line
}

// MaxDefaultShards caps the default shard count: each shard holds a dense
// histogram of ~190 KB per (method, name), so shards cost memory as well as
// saving contention.
const MaxDefaultShards = 16

// NewRecorder returns a Recorder with n shards (n <= 0 means 2×GOMAXPROCS,
// at most MaxDefaultShards).
func NewRecorder(n int) *Recorder {
	if n <= 0 {
		n = min(2*runtime.GOMAXPROCS(0), MaxDefaultShards)
	}
	r := &Recorder{shards: make([]shard, n)}
	for i := range r.shards {
		s := &r.shards[i]
		s.entries = make(map[Key]*IntervalEntry)
		s.errors = make(map[ErrorKey]int64)
		s.spareEntries = make(map[Key]*IntervalEntry)
		s.spareErrors = make(map[ErrorKey]int64)
	}
	return r
}

// Record adds one sample. failure == "" means success. Durations above
// HighestMicros are clamped and counted as out of range.
//
// d is rounded to the nearest microsecond; negative durations count as 0.
// A clamped sample counts as HighestMicros everywhere (sum, max, histogram).
// shard may be any int: shard modulo the number of shards picks the lock.
func (r *Recorder) Record(shard int, method, name string, d time.Duration, bytes int64, failure string) {
	r.record(shard, method, name, d, bytes, bytes, failure, 0, false)
}

// RecordWire is Record for a body that came compressed: bytes is its
// decoded size (the statistics' content size, as Locust's), wire its size
// as received.
func (r *Recorder) RecordWire(shard int, method, name string, d time.Duration, bytes, wire int64, failure string) {
	r.record(shard, method, name, d, bytes, wire, failure, 0, false)
}

// RecordCorrectedWire is RecordCorrected with the size on the wire.
func (r *Recorder) RecordCorrectedWire(shard int, method, name string, d, lag time.Duration, bytes, wire int64, failure string) {
	if lag < 0 {
		lag = 0
	}
	r.record(shard, method, name, d+lag, bytes, wire, failure, d, true)
}

// RecordCorrected adds one open-model sample: d is the request's own
// duration and lag how late its iteration started against the schedule.
// The main histogram gets d+lag (the latency a user arriving on schedule
// saw: no coordinated omission), the uncorrected one gets d.
func (r *Recorder) RecordCorrected(shard int, method, name string, d, lag time.Duration, bytes int64, failure string) {
	if lag < 0 {
		lag = 0
	}
	r.record(shard, method, name, d+lag, bytes, bytes, failure, d, true)
}

func (r *Recorder) record(shard int, method, name string, d time.Duration, bytes, wire int64, failure string, raw time.Duration, corrected bool) {
	n := len(r.shards)
	i := shard % n
	if i < 0 {
		i += n
	}
	us, clamped := micros(d)
	s := &r.shards[i]

	s.mu.Lock()
	e := s.entries[Key{Method: method, Name: name}]
	if e == nil {
		e = s.newEntry()
		s.entries[Key{Method: method, Name: name}] = e
	}
	if e.Count == 0 || us < e.MinMicros {
		e.MinMicros = us
	}
	if us > e.MaxMicros {
		e.MaxMicros = us
	}
	e.Count++
	e.SumMicros += us
	e.Bytes += bytes
	e.WireBytes += wire
	if clamped {
		e.OutOfRange++
	}
	_ = e.Hist.RecordValue(us) // cannot fail: us is within [0, HighestMicros]
	if corrected {
		rus, _ := micros(raw)
		if e.Uncorrected == nil {
			e.Uncorrected = newHist()
		}
		if e.UncorrectedCount == 0 || rus < e.UncorrectedMinMicros {
			e.UncorrectedMinMicros = rus
		}
		e.UncorrectedMaxMicros = max(e.UncorrectedMaxMicros, rus)
		e.UncorrectedCount++
		e.UncorrectedSumMicros += rus
		_ = e.Uncorrected.RecordValue(rus)
	}
	if failure != "" {
		e.Failures++
		k := ErrorKey{Method: method, Name: name, Message: failure}
		if _, ok := s.errors[k]; ok {
			s.errors[k]++
		} else if len(s.errors) < DefaultMaxErrors {
			s.errors[k] = 1
		} else {
			s.errorsDropped++
		}
	}
	s.mu.Unlock()
}

// newEntry returns an empty entry, recycled if possible. s.mu must be held.
func (s *shard) newEntry() *IntervalEntry {
	if n := len(s.free); n > 0 {
		e := s.free[n-1]
		s.free[n-1] = nil
		s.free = s.free[:n-1]
		return e
	}
	return &IntervalEntry{Hist: newHist()}
}

// Flush drains every shard into a new Interval covering [start, end).
// Entries and errors recorded after Flush returns go to the next interval.
//
// Each shard is locked only to swap its maps; merging happens outside the
// lock. The returned Interval owns fresh histograms. Flush is meant to be
// called by one goroutine at a time (concurrent calls are serialised per
// shard but may interleave across shards).
func (r *Recorder) Flush(start, end time.Time) *Interval {
	iv := &Interval{
		Start:   start,
		End:     end,
		Entries: make(map[Key]*IntervalEntry),
		Errors:  make(map[ErrorKey]int64),
	}
	sp := newSparse()
	for i := range r.shards {
		r.shards[i].drainInto(iv, sp)
	}
	return iv
}

// drainInto moves the shard's data into iv and recycles its entries. sp is
// scratch.
func (s *shard) drainInto(iv *Interval, sp *hdr.PackedHistogram) {
	s.mu.Lock()
	entries, errs, dropped := s.entries, s.errors, s.errorsDropped
	spareEntries, spareErrors := s.spareEntries, s.spareErrors
	if spareEntries == nil { // another Flush holds them; use new maps
		spareEntries = make(map[Key]*IntervalEntry, len(entries))
		spareErrors = make(map[ErrorKey]int64)
	}
	s.entries, s.errors, s.errorsDropped = spareEntries, spareErrors, 0
	s.spareEntries, s.spareErrors = nil, nil
	s.mu.Unlock()

	recycled := make([]*IntervalEntry, 0, len(entries))
	for k, e := range entries {
		dst := iv.Entries[k]
		if dst == nil {
			dst = &IntervalEntry{Hist: newHist()}
			iv.Entries[k] = dst
		}
		dst.merge(e, sp)
		e.reset()
		recycled = append(recycled, e)
	}
	for k, c := range errs {
		iv.addError(k, c)
	}
	iv.ErrorsDropped += dropped
	clear(entries)
	clear(errs)

	s.mu.Lock()
	// Entries left unused in free for a whole interval are surplus: drop
	// them, so the free list follows the recent number of keys.
	clear(s.free)
	s.free = append(s.free[:0], recycled...)
	if s.spareEntries == nil {
		s.spareEntries, s.spareErrors = entries, errs
	}
	s.mu.Unlock()
}
