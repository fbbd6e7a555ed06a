package stats

import "time"

// Interval is what was recorded during [Start, End). It is mergeable, and is
// the unit a worker reports to a master.
type Interval struct {
	Start, End time.Time
	Entries    map[Key]*IntervalEntry
	Errors     map[ErrorKey]int64
	// ErrorsDropped counts failures whose message was not kept (cap reached).
	ErrorsDropped int64
	// Checks are the named checks' outcomes (nil: none evaluated).
	Checks map[string]CheckCount
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
	for k, e := range o.Entries {
		if e == nil || e.Count == 0 {
			continue
		}
		dst := iv.Entries[k]
		if dst == nil {
			dst = &IntervalEntry{}
			iv.Entries[k] = dst
		}
		dst.Merge(e)
	}
	for k, c := range o.Errors {
		iv.addError(k, c)
	}
	iv.ErrorsDropped += o.ErrorsDropped
	for n, c := range o.Checks {
		iv.AddCheck(n, c)
	}
}

// addError adds c occurrences of k, within the DefaultMaxErrors cap.
func (iv *Interval) addError(k ErrorKey, c int64) {
	if iv.Errors == nil {
		iv.Errors = make(map[ErrorKey]int64)
	}
	iv.ErrorsDropped += addError(iv.Errors, k, c)
}

// WithoutHistograms returns a copy of iv without its histograms: the exact
// counters and errors only, cheap to keep and merge (what a store of
// per-tick counts needs).
func (iv *Interval) WithoutHistograms() *Interval {
	out := &Interval{Start: iv.Start, End: iv.End, Entries: make(map[Key]*IntervalEntry, len(iv.Entries)), ErrorsDropped: iv.ErrorsDropped}
	for k, e := range iv.Entries {
		if e == nil {
			continue
		}
		c := *e
		c.Latency.Hist, c.Uncorrected.Hist = nil, nil
		out.Entries[k] = &c
	}
	for n, c := range iv.Checks {
		out.AddCheck(n, c)
	}
	if len(iv.Errors) > 0 {
		out.Errors = make(map[ErrorKey]int64, len(iv.Errors))
		for k, n := range iv.Errors {
			out.Errors[k] = n
		}
	}
	return out
}
