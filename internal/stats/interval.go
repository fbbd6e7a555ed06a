package stats

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

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
	Bytes           int64 // bodies, decoded
	WireBytes       int64 // bodies as received (compressed)
	OutOfRange      int64
	Hist            *hdr.Histogram

	// In the open model the histogram above holds latencies measured from
	// the intended start of each iteration (corrected for coordinated
	// omission); these hold the same requests measured from the actual send.
	// Uncorrected is nil (and UncorrectedCount 0) when no request was
	// recorded with RecordCorrected.
	UncorrectedCount     int64
	UncorrectedSumMicros int64
	UncorrectedMinMicros int64
	UncorrectedMaxMicros int64
	Uncorrected          *hdr.Histogram
}

// Merge adds o into iv (counts, histograms, errors; Start/End widen).
//
// The result is the same as if o's samples had been recorded into iv: the
// histograms are merged bucket by bucket, and errors beyond DefaultMaxErrors
// distinct keys are counted in ErrorsDropped. iv never shares o's histograms.
// A zero Start or End in either interval means unset.
func (iv *Interval) Merge(o *Interval) {
	if o == nil {
		return
	}
	if iv.Start.IsZero() || (!o.Start.IsZero() && o.Start.Before(iv.Start)) {
		iv.Start = o.Start
	}
	if o.End.After(iv.End) {
		iv.End = o.End
	}
	if iv.Entries == nil {
		iv.Entries = make(map[Key]*IntervalEntry, len(o.Entries))
	}
	var sp *hdr.PackedHistogram
	for k, e := range o.Entries {
		if e == nil || e.Count == 0 {
			continue
		}
		dst := iv.Entries[k]
		if dst == nil {
			dst = &IntervalEntry{Hist: newHist()}
			iv.Entries[k] = dst
		}
		if sp == nil {
			sp = newSparse()
		}
		dst.merge(e, sp)
	}
	for k, c := range o.Errors {
		iv.addError(k, c)
	}
	iv.ErrorsDropped += o.ErrorsDropped
}

// addError adds c occurrences of k, within the DefaultMaxErrors cap.
func (iv *Interval) addError(k ErrorKey, c int64) {
	if iv.Errors == nil {
		iv.Errors = make(map[ErrorKey]int64)
	}
	if _, ok := iv.Errors[k]; ok {
		iv.Errors[k] += c
	} else if len(iv.Errors) < DefaultMaxErrors {
		iv.Errors[k] = c
	} else {
		iv.ErrorsDropped += c
	}
}

// merge adds o into e, using sp as scratch. An entry without requests
// leaves e unchanged.
func (e *IntervalEntry) merge(o *IntervalEntry, sp *hdr.PackedHistogram) {
	if o.Count == 0 {
		return
	}
	if e.Count == 0 || o.MinMicros < e.MinMicros {
		e.MinMicros = o.MinMicros
	}
	if o.MaxMicros > e.MaxMicros {
		e.MaxMicros = o.MaxMicros
	}
	e.Count += o.Count
	e.Failures += o.Failures
	e.SumMicros += o.SumMicros
	e.Bytes += o.Bytes
	e.WireBytes += o.WireBytes
	e.OutOfRange += o.OutOfRange
	if o.Hist != nil {
		if e.Hist == nil {
			e.Hist = newHist()
		}
		mergeHist(e.Hist, o.Hist, sp)
	}
	if o.UncorrectedCount > 0 && o.Uncorrected != nil {
		if e.UncorrectedCount == 0 || o.UncorrectedMinMicros < e.UncorrectedMinMicros {
			e.UncorrectedMinMicros = o.UncorrectedMinMicros
		}
		e.UncorrectedMaxMicros = max(e.UncorrectedMaxMicros, o.UncorrectedMaxMicros)
		e.UncorrectedCount += o.UncorrectedCount
		e.UncorrectedSumMicros += o.UncorrectedSumMicros
		if e.Uncorrected == nil {
			e.Uncorrected = newHist()
		}
		mergeHist(e.Uncorrected, o.Uncorrected, sp)
	}
}

// mergeHist adds src's counts to dst, through sp: scanning src's counts once
// and adding its populated buckets by index is about three times as fast as
// hdr.Histogram.Merge, which walks every bucket with an iterator. The result
// is the same.
func mergeHist(dst, src *hdr.Histogram, sp *hdr.PackedHistogram) {
	sp.Reset()
	sp.MergeFrom(src)
	sp.MergeInto(dst)
}

// reset empties e, keeping its histogram's storage.
func (e *IntervalEntry) reset() {
	h, u := e.Hist, e.Uncorrected
	h.Reset()
	if u != nil {
		u.Reset()
	}
	*e = IntervalEntry{Hist: h, Uncorrected: u}
}
