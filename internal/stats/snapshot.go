package stats

import (
	"cmp"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// AggregatedName is the Name of Snapshot.Total, as in Locust.
const AggregatedName = "Aggregated"

// OtherErrorsMessage is the Message of the synthetic Snapshot.Errors row
// (empty Method and Name) that counts the failures whose message was not
// kept because DefaultMaxErrors distinct messages were already stored.
const OtherErrorsMessage = "other errors"

// Snapshot is a copy of the statistics at one moment.
type Snapshot struct {
	Time          time.Time
	Start         time.Time
	Entries       []Entry // sorted by (Name, Method)
	Total         Entry   // "Aggregated": Method "", Name "Aggregated"
	Errors        []Error // sorted by occurrences, descending
	ErrorsDropped int64
	Checks        []Check // the named checks' outcomes, by name
}

// Entry is one row of the statistics table. Times are in milliseconds.
//
// Percentile values are nearest-rank: the p-th value is the ceil(p·N)-th
// smallest sample, read from the histogram as the middle of its bucket
// (error at most 0.05 % of the value, exact below 2.048 ms), clamped to
// [MinMs, MaxMs]. Rank 1 and rank N are the exact MinMs and MaxMs.
type Entry struct {
	Method, Name       string
	Requests, Failures int64
	MinMs, MaxMs       float64 // exact; 0 when no requests
	AvgMs              float64 // exact mean
	MedianMs           float64 // p50 from the histogram, clamped to [min, max]
	AvgContentSize     float64 // bytes, decoded
	AvgWireSize        float64 // bytes as received (compressed bodies: less)
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
	// Uncorrected is set for requests of the open model: the same requests
	// timed from their actual send rather than their intended start (the
	// fields above are the corrected figures). Nil in the closed model.
	Uncorrected *Uncorrected
	// SentBytes and RecvBytes are the whole messages' bytes (head and
	// body), cumulative; 0 for requests whose client does not count them.
	SentBytes, RecvBytes int64
	// Phases are the request phases, cumulative (see stats.Phases).
	Phases PhaseStats
}

// PhaseStats are the request phases of an Entry, as k6 names them.
type PhaseStats struct {
	Connecting, TLSHandshaking, Waiting, Receiving PhaseStat
}

// All returns the phases with their k6 names (without "http_req_"), in
// the order of a request.
func (p *PhaseStats) All() [4]NamedPhase {
	return [4]NamedPhase{{"connecting", p.Connecting}, {"tls_handshaking", p.TLSHandshaking},
		{"waiting", p.Waiting}, {"receiving", p.Receiving}}
}

// NamedPhase is a PhaseStat with its name.
type NamedPhase struct {
	Name string
	PhaseStat
}

// PhaseStat is one phase over a set of requests, in ms: Count is how many
// requests it timed (connecting: the connections opened).
type PhaseStat struct {
	Count               int64
	AvgMs, MinMs, MaxMs float64
	SumMs               float64
}

func phaseStat(s Summary) PhaseStat {
	if s.Count == 0 {
		return PhaseStat{}
	}
	return PhaseStat{Count: s.Count, AvgMs: float64(s.SumMicros) / float64(s.Count) / 1000,
		MinMs: ms(s.MinMicros), MaxMs: ms(s.MaxMicros), SumMs: ms(s.SumMicros)}
}

// Uncorrected are latencies timed from the actual send, in ms.
type Uncorrected struct {
	Requests     int64
	MinMs, MaxMs float64
	AvgMs        float64
	Percentiles  []float64 // for stats.Percentiles, cumulative
}

// Error is one row of the error report.
type Error struct {
	Method, Name, Message string
	Occurrences           int64
}

// Percentile returns the cumulative value, in ms, of fraction p (0.95 for
// the 95th percentile) if p is one of stats.Percentiles; otherwise that of
// the smallest listed percentile above p (an upper bound), or MaxMs. It
// returns 0 when e has no percentiles.
func (e *Entry) Percentile(p float64) float64 {
	if len(e.Percentiles) == 0 {
		return 0
	}
	for i, q := range Percentiles {
		if i < len(e.Percentiles) && q >= p-1e-12 {
			return e.Percentiles[i]
		}
	}
	return e.MaxMs
}

// Snapshot returns plain values as of now. The "current" fields cover the
// WindowSeconds before now (not before the last request, so rates fall to
// zero when traffic stops).
//
// The window is made of the per-second slots whose second lies in
// (now-WindowSeconds, now], by unix second. Rates over it are divided by
// WindowSeconds, or by the time since the start (at least 1 s) when the run
// is younger than that.
func (s *Stats) Snapshot(now time.Time) *Snapshot {
	nowSec := now.Unix()
	var winBuf [numSlots]*slot
	win := winBuf[:0]
	for i := range s.slots {
		if sl := &s.slots[i]; sl.used && sl.sec > nowSec-WindowSeconds && sl.sec <= nowSec {
			win = append(win, sl)
		}
	}
	div := float64(WindowSeconds)
	if el := now.Sub(s.start).Seconds(); el < div {
		div = max(el, 1)
	}

	keys := make([]Key, 0, len(s.entries))
	for k := range s.entries {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Method, b.Method))
	})

	np := len(Percentiles)
	b := snapBuilder{
		s:    s,
		win:  win,
		div:  div,
		us:   make([]int64, np),
		vals: make([]float64, 0, 2*np*(len(keys)+1)),
	}
	snap := &Snapshot{
		Time:          now,
		Start:         s.start,
		Entries:       make([]Entry, len(keys)),
		ErrorsDropped: s.errorsDropped,
		Checks:        checksSorted(s.checks),
	}
	for i, k := range keys {
		snap.Entries[i] = b.entry(k.Method, k.Name, s.entries[k], &k)
	}
	snap.Total = b.entry("", AggregatedName, &s.total, nil)

	snap.Errors = make([]Error, 0, len(s.errors)+1)
	for k, c := range s.errors {
		snap.Errors = append(snap.Errors, Error{Method: k.Method, Name: k.Name, Message: k.Message, Occurrences: c})
	}
	if s.errorsDropped > 0 {
		snap.Errors = append(snap.Errors, Error{Message: OtherErrorsMessage, Occurrences: s.errorsDropped})
	}
	slices.SortFunc(snap.Errors, func(a, b Error) int {
		return cmp.Or(
			cmp.Compare(b.Occurrences, a.Occurrences),
			cmp.Compare(a.Method, b.Method),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return snap
}

// snapBuilder holds what one Snapshot call shares between its entries.
type snapBuilder struct {
	s    *Stats
	win  []*slot   // the slots of the current window
	div  float64   // seconds the window rates are divided by
	us   []int64   // scratch percentile values, in µs
	vals []float64 // backing array of every entry's percentile slices
}

// entry builds one row from c; k selects the window data (nil: all keys).
func (b *snapBuilder) entry(method, name string, c *cumEntry, k *Key) Entry {
	e := Entry{
		Method:       method,
		Name:         name,
		Requests:     c.Count,
		Failures:     c.Failures,
		OutOfRange:   c.OutOfRange,
		FirstRequest: c.first,
		LastRequest:  c.last,
		SentBytes:    c.SentBytes,
		RecvBytes:    c.RecvBytes,
		Phases: PhaseStats{Connecting: phaseStat(c.Phases.Connecting), TLSHandshaking: phaseStat(c.Phases.TLSHandshaking),
			Waiting: phaseStat(c.Phases.Waiting), Receiving: phaseStat(c.Phases.Receiving)},
	}
	if c.Count > 0 {
		n := float64(c.Count)
		e.MinMs = ms(c.MinMicros)
		e.MaxMs = ms(c.MaxMicros)
		e.AvgMs = float64(c.SumMicros) / n / 1000
		e.AvgContentSize = float64(c.Bytes) / n
		e.AvgWireSize = float64(c.WireBytes) / n
		secs := c.last.Sub(b.s.start).Seconds()
		if secs <= 0 {
			secs = 1
		}
		e.TotalRPS = n / secs
		e.TotalFailPerSec = float64(c.Failures) / secs
	}
	e.Percentiles = b.percentiles(c.hist(), c.MinMicros, c.MaxMicros)
	e.MedianMs = b.median(e.Percentiles, c.hist(), c.MinMicros, c.MaxMicros)
	if u := &c.Uncorrected; u.Count > 0 {
		e.Uncorrected = &Uncorrected{
			Requests:    u.Count,
			MinMs:       ms(u.MinMicros),
			MaxMs:       ms(u.MaxMicros),
			AvgMs:       float64(u.SumMicros) / float64(u.Count) / 1000,
			Percentiles: b.percentiles(u.hist(), u.MinMicros, u.MaxMicros),
		}
	}

	// One key's window merges its few slot histograms directly; the total's
	// would merge every key's, so it sums them densely instead.
	var win Summary
	var failures int64
	w, d := b.s.window, b.s.dense
	w.Reset()
	if k == nil {
		d.Reset()
	}
	add := func(se *slotEntry) {
		if se == nil || se.Count == 0 {
			return
		}
		win.Merge(se.Summary)
		failures += se.failures
		if k == nil {
			se.Hist.MergeInto(d)
		} else {
			w.Merge(se.Hist)
		}
	}
	for _, sl := range b.win {
		if k != nil {
			add(sl.entries[*k])
			continue
		}
		for _, se := range sl.entries {
			add(se)
		}
	}
	if k == nil && win.Count > 0 {
		w.MergeFrom(d)
	}
	e.CurrentRPS = float64(win.Count) / b.div
	e.CurrentFailPerSec = float64(failures) / b.div
	if win.Count > 0 {
		e.CurrentPercentiles = b.percentiles(w, win.MinMicros, win.MaxMicros)
	}
	return e
}

// percentiles returns h's values for stats.Percentiles, in ms.
func (b *snapBuilder) percentiles(h *hdr.PackedHistogram, minUs, maxUs int64) []float64 {
	percentilesMicros(h, Percentiles, minUs, maxUs, b.us)
	start := len(b.vals)
	for _, v := range b.us {
		b.vals = append(b.vals, ms(v))
	}
	return b.vals[start:len(b.vals):len(b.vals)]
}

// median returns the p50 value, from pcts when Percentiles lists 0.5.
func (b *snapBuilder) median(pcts []float64, h *hdr.PackedHistogram, minUs, maxUs int64) float64 {
	if i := slices.Index(Percentiles, 0.5); i >= 0 && i < len(pcts) {
		return pcts[i]
	}
	var us [1]int64
	percentilesMicros(h, []float64{0.5}, minUs, maxUs, us[:])
	return ms(us[0])
}

// ms converts microseconds to milliseconds.
func ms(us int64) float64 { return float64(us) / 1000 }
