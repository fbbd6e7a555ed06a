package stats

import (
	"sync"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Hist is the histogram a Latency keeps: dense (*hdr.Histogram, constant
// time to record into: the recorder's and an Interval's) or sparse
// (*hdr.PackedHistogram, memory by populated bucket: a run's cumulative
// and per-second data). Both have the package geometry.
type Hist interface {
	*hdr.Histogram | *hdr.PackedHistogram
}

// Summary is the exact part of a set of latencies, in whole microseconds:
// count, sum, minimum and maximum. MinMicros and MaxMicros are 0 while
// Count is 0.
type Summary struct {
	Count, SumMicros, MinMicros, MaxMicros int64
}

// Record adds one latency.
func (s *Summary) Record(us int64) {
	if s.Count == 0 || us < s.MinMicros {
		s.MinMicros = us
	}
	s.MaxMicros = max(s.MaxMicros, us)
	s.Count++
	s.SumMicros += us
}

// Merge adds o, as if o's latencies had been recorded into s.
func (s *Summary) Merge(o Summary) {
	if o.Count == 0 {
		return
	}
	if s.Count == 0 || o.MinMicros < s.MinMicros {
		s.MinMicros = o.MinMicros
	}
	s.MaxMicros = max(s.MaxMicros, o.MaxMicros)
	s.Count += o.Count
	s.SumMicros += o.SumMicros
}

// Latency is a set of latencies: the exact Summary and a histogram of
// the same values. The zero value is empty; its histogram is made by the
// first Record or Merge that brings a value.
type Latency[H Hist] struct {
	Summary
	Hist H
}

// Record adds one latency of us microseconds, within [0, HighestMicros].
func (l *Latency[H]) Record(us int64) {
	l.Summary.Record(us)
	switch h := any(l.hist()).(type) {
	case *hdr.Histogram:
		_ = h.RecordValue(us) // cannot fail: us is within the range
	case *hdr.PackedHistogram:
		_ = h.RecordValue(us)
	}
}

// Merge adds o into l (summary and histogram), as if o's latencies had been
// recorded into l. l never shares o's histogram.
func (l *Latency[H]) Merge(o *Latency[H]) {
	if o.Count == 0 {
		return
	}
	l.Summary.Merge(o.Summary)
	if o.Hist == nil {
		return
	}
	switch dst := any(l.hist()).(type) {
	case *hdr.Histogram:
		mergeDense(dst, any(o.Hist).(*hdr.Histogram))
	case *hdr.PackedHistogram:
		dst.Merge(any(o.Hist).(*hdr.PackedHistogram))
	}
}

// Histogram returns l's histogram, made (empty) if it is nil.
func (l *Latency[H]) Histogram() H { return l.hist() }

// hist returns l's histogram, made if it is nil.
func (l *Latency[H]) hist() H {
	if l.Hist == nil {
		switch any(l.Hist).(type) {
		case *hdr.Histogram:
			l.Hist = any(newHist()).(H)
		case *hdr.PackedHistogram:
			l.Hist = any(newSparse()).(H)
		}
	}
	return l.Hist
}

// reset empties l, keeping its histogram's storage.
func (l *Latency[H]) reset() {
	l.Summary = Summary{}
	switch h := any(l.Hist).(type) {
	case *hdr.Histogram:
		if h != nil {
			h.Reset()
		}
	case *hdr.PackedHistogram:
		if h != nil {
			h.Reset()
		}
	}
}

// sparseScratch holds the sparse histograms mergeDense goes through.
var sparseScratch = sync.Pool{New: func() any { return newSparse() }}

// mergeDense adds src's counts to dst through a sparse scratch histogram:
// scanning src's counts once and adding its populated buckets by index is
// about three times as fast as hdr.Histogram.Merge, which walks every
// bucket with an iterator. The result is the same.
func mergeDense(dst, src *hdr.Histogram) {
	sp := sparseScratch.Get().(*hdr.PackedHistogram)
	sp.Reset()
	sp.MergeFrom(src)
	sp.MergeInto(dst)
	sparseScratch.Put(sp)
}

// Phases are the exact summaries of a set of requests' phases (k6's
// http_req_connecting, http_req_tls_handshaking, http_req_waiting and
// http_req_receiving). Connecting and TLSHandshaking count the requests
// that opened a connection (a kept-alive one costs neither); Waiting (the
// request sent to the first byte of the answer) and Receiving (that first
// byte to the last) count every request that got an answer.
type Phases struct {
	Connecting     Summary `json:"connecting"`
	TLSHandshaking Summary `json:"tls_handshaking"`
	Waiting        Summary `json:"waiting"`
	Receiving      Summary `json:"receiving"`
}

// Merge adds o into p.
func (p *Phases) Merge(o *Phases) {
	p.Connecting.Merge(o.Connecting)
	p.TLSHandshaking.Merge(o.TLSHandshaking)
	p.Waiting.Merge(o.Waiting)
	p.Receiving.Merge(o.Receiving)
}

// Counts is what is known of one (method, name) over some time: its
// latencies, corrected for coordinated omission in the open model, the
// same requests' uncorrected latencies (open model only; empty in the
// closed model), its failures, body bytes (decoded, and as received),
// whole messages' bytes sent and received, the request phases, and the
// latencies clamped to HighestMicros.
//
// IntervalEntry (dense histograms) is one; a run's cumulative statistics
// keep one per key with sparse histograms. Every counter is added and
// merged here, once.
type Counts[H Hist] struct {
	Latency[H]
	Uncorrected Latency[H]
	Failures    int64
	Bytes       int64 // bodies, decoded
	WireBytes   int64 // bodies as received (compressed)
	OutOfRange  int64
	SentBytes   int64 // requests as written: request line, headers and body
	RecvBytes   int64 // responses as read: status line, headers and body
	Phases      Phases
}

// IntervalEntry is one key's data in an Interval.
type IntervalEntry = Counts[*hdr.Histogram]

// Merge adds o into c, as if o's requests had been recorded into c.
func (c *Counts[H]) Merge(o *Counts[H]) {
	if o.Count == 0 {
		return
	}
	c.Latency.Merge(&o.Latency)
	c.mergeRest(o)
}

// mergeRest adds all of o but its corrected latencies (which the caller
// merges in its own way).
func (c *Counts[H]) mergeRest(o *Counts[H]) {
	c.Uncorrected.Merge(&o.Uncorrected)
	c.Failures += o.Failures
	c.Bytes += o.Bytes
	c.WireBytes += o.WireBytes
	c.OutOfRange += o.OutOfRange
	c.SentBytes += o.SentBytes
	c.RecvBytes += o.RecvBytes
	c.Phases.Merge(&o.Phases)
}

// reset empties c, keeping its histograms' storage.
func (c *Counts[H]) reset() {
	c.Latency.reset()
	c.Uncorrected.reset()
	c.Failures, c.Bytes, c.WireBytes, c.OutOfRange = 0, 0, 0, 0
	c.SentBytes, c.RecvBytes, c.Phases = 0, 0, Phases{}
}

// sparseOf returns e with its histograms made sparse (into sp and usp,
// which are reset first), for merging into sparse statistics.
func sparseOf(e *IntervalEntry, sp, usp *hdr.PackedHistogram) Counts[*hdr.PackedHistogram] {
	out := Counts[*hdr.PackedHistogram]{
		Latency:     Latency[*hdr.PackedHistogram]{Summary: e.Summary},
		Uncorrected: Latency[*hdr.PackedHistogram]{Summary: e.Uncorrected.Summary},
		Failures:    e.Failures, Bytes: e.Bytes, WireBytes: e.WireBytes, OutOfRange: e.OutOfRange,
		SentBytes: e.SentBytes, RecvBytes: e.RecvBytes, Phases: e.Phases,
	}
	sp.Reset()
	if e.Hist != nil {
		sp.MergeFrom(e.Hist)
	}
	out.Hist = sp
	if e.Uncorrected.Count > 0 && e.Uncorrected.Hist != nil {
		usp.Reset()
		usp.MergeFrom(e.Uncorrected.Hist)
		out.Uncorrected.Hist = usp
	}
	return out
}

// addError adds c occurrences of k to errs within the DefaultMaxErrors
// cap, and returns how many were dropped (c or 0). errs must not be nil.
func addError(errs map[ErrorKey]int64, k ErrorKey, c int64) (dropped int64) {
	if _, ok := errs[k]; ok {
		errs[k] += c
	} else if len(errs) < DefaultMaxErrors {
		errs[k] = c
	} else {
		return c
	}
	return 0
}
