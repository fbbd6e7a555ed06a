package stats

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// State is the cumulative part of Stats in a form that can be stored and
// restored: what a master needs to go on with a run after a restart. The
// current window is not part of it (it is ten seconds of rates, gone by
// the time a process is back).
//
// Histograms are their populated buckets: uvarint pairs of (bucket value
// minus the previous one, count), in increasing value order. HdrHistogram's
// standard V2 encoding was measured at 68 ms for 20 names (it compresses a
// dense array); this costs well under a millisecond.
type State struct {
	Start         time.Time    `json:"start"`
	Entries       []StateEntry `json:"entries"`
	Total         StateEntry   `json:"total"`
	Errors        []Error      `json:"errors,omitempty"`
	ErrorsDropped int64        `json:"errors_dropped,omitempty"`
	Checks        []Check      `json:"checks,omitempty"`
	// Minute is the per-minute histograms of the minute in progress (with
	// KeepMinutes): a restored Stats goes on filling it, so the minute's
	// histograms lose nothing of what was counted before the restart.
	Minute *StateMinute `json:"minute,omitempty"`
}

// StateMinute is a Minute in a State: each key's histogram at
// CoarseFigures digits, as populated buckets.
type StateMinute struct {
	Start time.Time         `json:"start"`
	Keys  []StateMinuteHist `json:"keys"`
}

// StateMinuteHist is one key's histogram of a StateMinute.
type StateMinuteHist struct {
	Method string `json:"method,omitempty"`
	Name   string `json:"name"`
	Hist   []byte `json:"hist"`
}

// StateEntry is one key's cumulative data.
type StateEntry struct {
	Method     string    `json:"method,omitempty"`
	Name       string    `json:"name"`
	Count      int64     `json:"count"`
	Failures   int64     `json:"failures"`
	SumUs      int64     `json:"sum_us"`
	MinUs      int64     `json:"min_us"`
	MaxUs      int64     `json:"max_us"`
	Bytes      int64     `json:"bytes"`
	WireBytes  int64     `json:"wire_bytes,omitempty"`
	OutOfRange int64     `json:"out_of_range,omitempty"`
	SentBytes  int64     `json:"sent_bytes,omitempty"`
	RecvBytes  int64     `json:"recv_bytes,omitempty"`
	Phases     *Phases   `json:"phases,omitempty"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	Hist       []byte    `json:"hist"`

	UncCount int64  `json:"unc_count,omitempty"`
	UncSumUs int64  `json:"unc_sum_us,omitempty"`
	UncMinUs int64  `json:"unc_min_us,omitempty"`
	UncMaxUs int64  `json:"unc_max_us,omitempty"`
	Unc      []byte `json:"unc,omitempty"`
}

// MarshalState encodes the cumulative statistics and the minute in
// progress (see State). Completed minutes not yet taken (TakeMinutes) are
// not part of it: take them first, and store them with the state.
func (s *Stats) MarshalState() ([]byte, error) {
	st := State{Start: s.start, ErrorsDropped: s.errorsDropped, Entries: make([]StateEntry, 0, len(s.entries)), Checks: checksSorted(s.checks)}
	enc := func(k Key, c *cumEntry) StateEntry {
		u := &c.Uncorrected
		e := StateEntry{
			Method: k.Method, Name: k.Name, Count: c.Count, Failures: c.Failures, SumUs: c.SumMicros,
			MinUs: c.MinMicros, MaxUs: c.MaxMicros, Bytes: c.Bytes, WireBytes: c.WireBytes, OutOfRange: c.OutOfRange, First: c.first, Last: c.last,
			UncCount: u.Count, UncSumUs: u.SumMicros, UncMinUs: u.MinMicros, UncMaxUs: u.MaxMicros,
		}
		e.SentBytes, e.RecvBytes = c.SentBytes, c.RecvBytes
		if c.Phases != (Phases{}) {
			ph := c.Phases
			e.Phases = &ph
		}
		e.Hist = encodeHist(c.hist())
		if u.Count > 0 {
			e.Unc = encodeHist(u.hist())
		}
		return e
	}
	for k, c := range s.entries {
		st.Entries = append(st.Entries, enc(k, c))
	}
	st.Total = enc(Key{Name: AggregatedName}, &s.total)
	for k, n := range s.errors {
		st.Errors = append(st.Errors, Error{Method: k.Method, Name: k.Name, Message: k.Message, Occurrences: n})
	}
	if s.min != nil && s.min.cur != nil {
		st.Minute = &StateMinute{Start: s.min.cur.Start, Keys: make([]StateMinuteHist, 0, len(s.min.cur.Hists))}
		for k, h := range s.min.cur.Hists {
			st.Minute.Keys = append(st.Minute.Keys, StateMinuteHist{Method: k.Method, Name: k.Name, Hist: encodeHist(h)})
		}
	}
	return json.Marshal(st)
}

// RestoreState replaces the statistics with a state from MarshalState. The
// current window starts empty. On error s is unchanged.
func (s *Stats) RestoreState(b []byte) error {
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("statistics state: %w", err)
	}
	if st.Start.IsZero() {
		return errors.New("statistics state: no start time")
	}
	dec := func(e *StateEntry) (*cumEntry, error) {
		c := &cumEntry{first: e.First, last: e.Last}
		c.Summary = Summary{Count: e.Count, SumMicros: e.SumUs, MinMicros: e.MinUs, MaxMicros: e.MaxUs}
		c.Uncorrected.Summary = Summary{Count: e.UncCount, SumMicros: e.UncSumUs, MinMicros: e.UncMinUs, MaxMicros: e.UncMaxUs}
		c.Failures, c.Bytes, c.WireBytes, c.OutOfRange = e.Failures, e.Bytes, e.WireBytes, e.OutOfRange
		c.SentBytes, c.RecvBytes = e.SentBytes, e.RecvBytes
		if e.Phases != nil {
			c.Phases = *e.Phases
		}
		var err error
		if c.Hist, err = decodeHist(e.Hist); err != nil {
			return nil, fmt.Errorf("statistics state: %q: %w", e.Name, err)
		}
		if e.Unc != nil {
			if c.Uncorrected.Hist, err = decodeHist(e.Unc); err != nil {
				return nil, fmt.Errorf("statistics state: %q (uncorrected): %w", e.Name, err)
			}
		}
		return c, nil
	}
	entries := make(map[Key]*cumEntry, len(st.Entries))
	for i := range st.Entries {
		e := &st.Entries[i]
		c, err := dec(e)
		if err != nil {
			return err
		}
		entries[Key{Method: e.Method, Name: e.Name}] = c
	}
	total, err := dec(&st.Total)
	if err != nil {
		return err
	}
	var cur *Minute
	if st.Minute != nil && s.min != nil {
		cur = &Minute{Start: st.Minute.Start, Hists: make(map[Key]*hdr.PackedHistogram, len(st.Minute.Keys))}
		for _, mh := range st.Minute.Keys {
			h := newCoarse()
			if err := decodeInto(mh.Hist, h); err != nil {
				return fmt.Errorf("statistics state: minute %q: %w", mh.Name, err)
			}
			cur.Hists[Key{Method: mh.Method, Name: mh.Name}] = h
		}
	}
	s.Reset(st.Start)
	if s.min != nil {
		s.min.cur, s.min.done = cur, nil
	}
	s.entries, s.total = entries, *total
	for _, e := range st.Errors {
		s.errors[ErrorKey{Method: e.Method, Name: e.Name, Message: e.Message}] = e.Occurrences
	}
	s.errorsDropped = st.ErrorsDropped
	for _, c := range st.Checks {
		addCheck(s.checks, c.Name, c.CheckCount)
	}
	return nil
}

// encodeHist encodes h's populated buckets (see State).
func encodeHist(h *hdr.PackedHistogram) []byte {
	out := make([]byte, 0, 4*h.Populated())
	prev := int64(0)
	h.ForEachBucket(func(v, c int64) bool {
		out = binary.AppendUvarint(out, uint64(v-prev))
		out = binary.AppendUvarint(out, uint64(c))
		prev = v
		return true
	})
	return out
}

// decodeHist decodes encodeHist's buckets into a histogram of the package
// geometry.
func decodeHist(b []byte) (*hdr.PackedHistogram, error) {
	h := newSparse()
	if err := decodeInto(b, h); err != nil {
		return nil, err
	}
	return h, nil
}

// decodeInto adds encodeHist's buckets to h.
func decodeInto(b []byte, h *hdr.PackedHistogram) error {
	v := int64(0)
	for len(b) > 0 {
		dv, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad bucket value")
		}
		b = b[n:]
		c, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad bucket count")
		}
		b = b[n:]
		v += int64(dv)
		if v < 0 || v > HighestMicros || int64(c) <= 0 {
			return fmt.Errorf("bucket %d µs × %d out of range", v, c)
		}
		if err := h.RecordValues(v, int64(c)); err != nil {
			return err
		}
	}
	return nil
}
