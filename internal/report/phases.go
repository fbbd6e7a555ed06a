package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/horde-load/horde/internal/stats"
)

// What a k6 user looks for in a summary: the request phases of every
// entry and the data sent and received (docs/results.md).

// DataTotals are the bytes a run's requests and responses took on their
// connections (heads and bodies), and their rates over the run.
type DataTotals struct {
	Sent, Received             int64
	SentPerSec, ReceivedPerSec float64
}

// dataTotals sums s's data over the run's duration (info's, else the
// snapshot's span).
func dataTotals(info Info, s *stats.Snapshot) DataTotals {
	d := runDuration(info)
	if d <= 0 {
		d = s.Time.Sub(s.Start)
	}
	t := DataTotals{Sent: s.Total.SentBytes, Received: s.Total.RecvBytes}
	if secs := d.Seconds(); secs > 0 {
		t.SentPerSec, t.ReceivedPerSec = float64(t.Sent)/secs, float64(t.Received)/secs
	}
	return t
}

// fmtBytes shows a byte count in decimal units, as k6 does: "950 B",
// "12 kB", "3.4 MB", "1.2 GB".
func fmtBytes(n float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for n >= 1000 && i < len(units)-1 {
		n /= 1000
		i++
	}
	if i == 0 || n >= 100 {
		return strconv.FormatFloat(n, 'f', 0, 64) + " " + units[i]
	}
	if n >= 10 {
		return strconv.FormatFloat(n, 'f', 1, 64) + " " + units[i]
	}
	return strconv.FormatFloat(n, 'f', 2, 64) + " " + units[i]
}

// dataLine is the summary's data line: "Data sent 12 kB (1.20 kB/s),
// received 3.4 MB (340 kB/s)".
func (t DataTotals) line() string {
	return "Data sent " + fmtBytes(float64(t.Sent)) + " (" + fmtBytes(t.SentPerSec) + "/s), received " +
		fmtBytes(float64(t.Received)) + " (" + fmtBytes(t.ReceivedPerSec) + "/s)"
}

// phasesCSVHeader are the columns the stats CSV has after Locust's: the
// messages' bytes and each phase's average and maximum in ms.
var phasesCSVHeader = []string{
	"Bytes Sent", "Bytes Received",
	"Connecting Avg", "Connecting Max", "TLS Handshaking Avg", "TLS Handshaking Max",
	"Waiting Avg", "Waiting Max", "Receiving Avg", "Receiving Max",
}

// phasesFields are e's phasesCSVHeader columns.
func phasesFields(e *stats.Entry) []string {
	out := []string{strconv.FormatInt(e.SentBytes, 10), strconv.FormatInt(e.RecvBytes, 10)}
	for _, p := range e.Phases.All() {
		if p.Count == 0 {
			out = append(out, "0", "0")
			continue
		}
		out = append(out, pyFloat(p.AvgMs), pyFloat(p.MaxMs))
	}
	return out
}

// jsonPhase is one phase in the JSON summary (times in ms).
type jsonPhase struct {
	Count int64   `json:"count"`
	Avg   float64 `json:"avg"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
}

// jsonPhases are an entry's phases, by k6's names without "http_req_".
type jsonPhases struct {
	Connecting     jsonPhase `json:"connecting"`
	TLSHandshaking jsonPhase `json:"tls_handshaking"`
	Waiting        jsonPhase `json:"waiting"`
	Receiving      jsonPhase `json:"receiving"`
}

func newJSONPhases(p *stats.PhaseStats) jsonPhases {
	f := func(s stats.PhaseStat) jsonPhase {
		return jsonPhase{Count: s.Count, Avg: s.AvgMs, Min: s.MinMs, Max: s.MaxMs}
	}
	return jsonPhases{Connecting: f(p.Connecting), TLSHandshaking: f(p.TLSHandshaking), Waiting: f(p.Waiting), Receiving: f(p.Receiving)}
}

// jsonData is the JSON summary's data totals.
type jsonData struct {
	Sent           int64   `json:"sent_bytes"`
	Received       int64   `json:"received_bytes"`
	SentPerSec     float64 `json:"sent_bytes_per_sec"`
	ReceivedPerSec float64 `json:"received_bytes_per_sec"`
}

// htmlPhaseRow is one row of the HTML report's phase table.
type htmlPhaseRow struct {
	Method, Name   string
	Sent, Received string
	Connections    int64
	Phases         []string // avg / max per phase, "–" when none
}

func newHTMLPhaseRow(e *stats.Entry) htmlPhaseRow {
	r := htmlPhaseRow{Method: e.Method, Name: e.Name, Sent: fmtBytes(float64(e.SentBytes)), Received: fmtBytes(float64(e.RecvBytes)),
		Connections: e.Phases.Connecting.Count}
	for _, p := range e.Phases.All() {
		if p.Count == 0 {
			r.Phases = append(r.Phases, "–")
			continue
		}
		r.Phases = append(r.Phases, fmtMs(p.AvgMs)+" / "+fmtMs(p.MaxMs))
	}
	return r
}

// hasPhases says whether any request was timed in phases (a client that
// does not time them, such as a Locust worker's, leaves them empty).
func hasPhases(s *stats.Snapshot) bool {
	return s.Total.Phases.Waiting.Count > 0 || s.Total.Phases.Connecting.Count > 0
}

// checksText is the summary's checks section: each named check's pass
// rate and counts, worst first, then every check together; "" when no
// check was evaluated.
func checksText(cs []stats.Check) string {
	if len(cs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Checks (passed of evaluated)\n")
	for _, c := range worstFirst(cs) {
		fmt.Fprintf(&b, "  %6.2f%%  %d / %d  %s\n", c.Rate(), c.Passes, c.Passes+c.Fails, c.Name)
	}
	all := stats.AllChecks(cs)
	fmt.Fprintf(&b, "  %6.2f%%  %d / %d  (all checks)\n\n", all.Rate(), all.Passes, all.Passes+all.Fails)
	return b.String()
}

// worstFirst orders checks by pass rate, lowest first, then by name.
func worstFirst(cs []stats.Check) []stats.Check {
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b stats.Check) int { return cmp.Compare(a.Rate(), b.Rate()) })
	return out
}

// jsonCheck is one check in the JSON summary.
type jsonCheck struct {
	Name   string  `json:"name"`
	Passes int64   `json:"passes"`
	Fails  int64   `json:"fails"`
	Rate   float64 `json:"rate"` // percent of evaluations that held
}

func newJSONChecks(cs []stats.Check) []jsonCheck {
	out := make([]jsonCheck, 0, len(cs))
	for _, c := range cs {
		out = append(out, jsonCheck{Name: c.Name, Passes: c.Passes, Fails: c.Fails, Rate: c.Rate()})
	}
	return out
}

// htmlCheck is one row of the HTML report's checks table.
type htmlCheck struct {
	Name          string
	Passes, Evals int64
	Rate          string
	Failed        bool
}

func newHTMLChecks(cs []stats.Check) []htmlCheck {
	var out []htmlCheck
	for _, c := range worstFirst(cs) {
		out = append(out, htmlCheck{Name: c.Name, Passes: c.Passes, Evals: c.Passes + c.Fails,
			Rate: strconv.FormatFloat(c.Rate(), 'f', 2, 64) + "%", Failed: c.Fails > 0})
	}
	return out
}
