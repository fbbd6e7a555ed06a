package stats

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// CoarseFigures are the significant digits of the per-minute histograms a
// run file keeps (docs/runs.md): a percentile read from them is within
// 1/128 (0.8 %) of the value, at a tenth of the size of the live
// histograms' three digits.
const CoarseFigures = 2

// Minute is one key's latencies over one minute, at CoarseFigures digits.
type Minute struct {
	Start time.Time // the minute, truncated
	Hists map[Key]*hdr.PackedHistogram
}

// newCoarse returns an empty histogram of the per-minute geometry.
func newCoarse() *hdr.PackedHistogram {
	return hdr.NewPacked(LowestMicros, HighestMicros, CoarseFigures)
}

// minutes accumulates the current minute inside Stats.
type minutes struct {
	cur  *Minute
	done []*Minute // completed, not yet taken
}

// KeepMinutes makes Stats also accumulate per-minute histograms of every
// key (and Aggregated), by the End of the intervals added; TakeMinutes
// returns the completed ones.
func (s *Stats) KeepMinutes() {
	if s.min == nil {
		s.min = &minutes{}
	}
}

// addMinute merges one key's interval histogram (sparse, package
// geometry) into the minute of end.
func (s *Stats) addMinute(k Key, end time.Time, h *hdr.PackedHistogram) {
	m := s.min
	if m == nil || end.IsZero() || h.TotalCount() == 0 {
		return
	}
	start := end.Add(-time.Nanosecond).Truncate(time.Minute) // an interval ending at :00 belongs to the minute before
	if m.cur != nil && !m.cur.Start.Equal(start) {
		if start.Before(m.cur.Start) {
			return // late: the minute has been handed over already
		}
		m.done = append(m.done, m.cur)
		m.cur = nil
	}
	if m.cur == nil {
		m.cur = &Minute{Start: start, Hists: map[Key]*hdr.PackedHistogram{}}
	}
	c := m.cur.Hists[k]
	if c == nil {
		c = newCoarse()
		m.cur.Hists[k] = c
	}
	c.Merge(h)
}

// TakeMinutes returns the minutes completed before now (the current one
// too when final) and forgets them.
func (s *Stats) TakeMinutes(now time.Time, final bool) []*Minute {
	m := s.min
	if m == nil {
		return nil
	}
	if m.cur != nil && (final || !now.Before(m.cur.Start.Add(time.Minute))) {
		m.done = append(m.done, m.cur)
		m.cur = nil
	}
	out := m.done
	m.done = nil
	return out
}

// EncodeCoarse encodes a per-minute histogram: its populated buckets (as
// the resume state's), deflated.
func EncodeCoarse(h *hdr.PackedHistogram) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed) // only an invalid level fails
	w.Write(encodeHist(h))
	w.Close()
	return b.Bytes()
}

// DecodeCoarse decodes EncodeCoarse's bytes into dst (a histogram from
// NewCoarse, which may already hold other minutes).
func DecodeCoarse(b []byte, dst *hdr.PackedHistogram) error {
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 16<<20))
	if err != nil {
		return fmt.Errorf("histogram: %w", err)
	}
	return decodeInto(raw, dst)
}

// NewCoarse returns an empty histogram of the per-minute geometry.
func NewCoarse() *hdr.PackedHistogram { return newCoarse() }
