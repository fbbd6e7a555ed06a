package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// Console table geometry. Locust sizes its name column from the terminal
// width; ours is fixed so output is reproducible (and pipes well).
const (
	consoleTypeWidth = 8
	consoleNameWidth = 40
	consoleWidth     = consoleTypeWidth + consoleNameWidth + 77 // of the statistics table
)

// fit pads or cuts name to width runes; a longer name keeps its beginning and
// ends with "…".
func fit(name string, width int) string {
	if utf8.RuneCountInString(name) <= width {
		return name
	}
	r := []rune(name)
	return string(r[:width-1]) + "…"
}

// consoleMs formats a time in ms for the console: whole milliseconds from
// 100 ms up (as Locust shows them), with one or two decimals below, where
// whole milliseconds would turn every loopback request into 0.
func consoleMs(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatInt(int64(v+0.5), 10)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func tableRow(e *stats.Entry, current bool) string {
	rps, fps := e.TotalRPS, e.TotalFailPerSec
	if current {
		rps, fps = e.CurrentRPS, e.CurrentFailPerSec
	}
	ratio := 0.0
	switch {
	case e.Requests > 0:
		ratio = float64(e.Failures) / float64(e.Requests)
	case e.Failures > 0:
		ratio = 1
	}
	return fmt.Sprintf("%-*s %-*s %7d %12s |%7s %7s %7s %7s | %7.2f %11.2f",
		consoleTypeWidth, fit(e.Method, consoleTypeWidth), consoleNameWidth, fit(e.Name, consoleNameWidth),
		e.Requests, fmt.Sprintf("%d(%.2f%%)", e.Failures, ratio*100),
		consoleMs(e.AvgMs), consoleMs(e.MinMs), consoleMs(e.MaxMs), consoleMs(e.MedianMs), rps, fps)
}

func printStats(w io.Writer, s *stats.Snapshot, current bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s %-*s %7s %12s |%7s %7s %7s %7s | %7s %11s\n",
		consoleTypeWidth, "Type", consoleNameWidth, "Name", "# reqs", "# fails",
		"Avg", "Min", "Max", "Med", "req/s", "failures/s")
	// The pipes of the separator fall on the spaces and pipes of the rows.
	var segs []string
	for _, n := range []int{consoleTypeWidth, consoleNameWidth, 7, 13, 7, 7, 7, 8, 8, 11} {
		segs = append(segs, strings.Repeat("-", n))
	}
	sep := strings.Join(segs, "|") + "\n"
	b.WriteString(sep)
	for i := range s.Entries {
		b.WriteString(tableRow(&s.Entries[i], current) + "\n")
	}
	if len(s.Entries) > 0 { // no rows: one separator, not two in a row
		b.WriteString(sep)
	}
	b.WriteString(tableRow(&s.Total, current) + "\n\n")
	io.WriteString(w, b.String())
}

// PrintTable writes the live console table (Locust prints it every 2 s):
// a line with the elapsed time and user count, then one row per entry and
// the Aggregated row, with the current (window) rates.
//
// workers, when not "", follows the user count: a distributed run's
// workers ("2 workers (1 lost)").
func PrintTable(w io.Writer, s *stats.Snapshot, users int, workers string) {
	elapsed := s.Time.Sub(s.Start).Truncate(time.Second)
	if s.Start.IsZero() || elapsed < 0 {
		elapsed = 0
	}
	head := fmt.Sprintf("Elapsed %s, %d users", elapsed, users)
	if workers != "" {
		head += ", " + workers
	}
	if len(s.Entries) == 0 && s.Total.Requests == 0 {
		fmt.Fprintf(w, "%s: no request has completed yet\n", head)
		return
	}
	fmt.Fprintln(w, head)
	printStats(w, s, true)
}

// PrintSummary writes the final console report: the statistics table with
// whole-run rates, the response time percentiles, the data sent and
// received, the error report (when there were failures) and the
// exceptions (when there were any).
func PrintSummary(w io.Writer, s *stats.Snapshot, ex []stats.Exception) {
	printStats(w, s, false)
	printPercentiles(w, s)
	io.WriteString(w, checksText(s.Checks))
	io.WriteString(w, dataTotals(Info{}, s).line()+"\n\n")
	if s.Total.Uncorrected != nil {
		printUncorrected(w, s)
	}
	printErrors(w, s)
	printExceptions(w, ex)
}

// verdictOrder is the order verdicts are listed in: failures first.
var verdictOrder = []soak.Status{soak.Fail, soak.Warn, soak.Inconclusive, soak.Pass}

// PrintVerdicts writes the thresholds and checks of a run, failures
// first, with the one vocabulary of every view (PASS, WARN, FAIL,
// INCONCLUSIVE), and says which decide the exit code: thresholds (checks
// inform).
func PrintVerdicts(w io.Writer, vs []soak.Verdict) {
	PrintVerdictsDeciding(w, vs, false)
}

// PrintVerdictsDeciding is PrintVerdicts for an outcome whose failed
// checks decide the exit code too (horde analyze) when checksDecide.
func PrintVerdictsDeciding(w io.Writer, vs []soak.Verdict, checksDecide bool) {
	if len(vs) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("Verdict\n")
	for _, st := range verdictOrder {
		for _, v := range vs {
			if v.Status == st {
				// PASS, WARN and FAIL keep the 4-column label people grep for
				// ("FAIL  threshold"); INCONCLUSIVE runs past it.
				fmt.Fprintf(&b, "  %-4s  %-9s  %s\n", strings.ToUpper(string(v.Status)), v.Kind, v.Reason)
			}
		}
	}
	b.WriteString("  " + DecidesText(vs, checksDecide) + "\n\n")
	io.WriteString(w, b.String())
}

// DecidesText says which verdicts decide the exit code: every view writes
// it under its verdicts. A run without thresholds keeps Locust's rule (a
// failed request or an error in user code decides), as run.Outcome does.
func DecidesText(vs []soak.Verdict, checksDecide bool) string {
	if checksDecide {
		return "A failed threshold or check decides the exit code (1); warn and inconclusive inform."
	}
	for _, v := range vs {
		if v.Kind == "threshold" {
			return "A failed threshold decides the exit code (1); checks inform, and warn and inconclusive never fail a run."
		}
	}
	return "No threshold is set: a failed request or an error in user code decides the exit code (--exit-code-on-error, 1 by default); checks inform, and warn and inconclusive never fail a run."
}

// PrintOpen writes the open model's schedule figures.
func PrintOpen(w io.Writer, o *OpenInfo) {
	if o == nil {
		return
	}
	fmt.Fprintf(w, "Open model: %d iterations started, %d dropped (no free user), schedule lag mean %s, max %s\n\n",
		o.Iterations, o.Dropped, o.LagMean, o.LagMax)
}

// printUncorrected writes the open model's percentiles timed from the
// actual send, beside the corrected ones of printPercentiles.
func printUncorrected(w io.Writer, s *stats.Snapshot) {
	u := &stats.Snapshot{Time: s.Time, Start: s.Start}
	conv := func(e *stats.Entry) stats.Entry {
		c := stats.Entry{Method: e.Method, Name: e.Name}
		if e.Uncorrected != nil {
			c.Requests = e.Uncorrected.Requests
			c.Percentiles = e.Uncorrected.Percentiles
		}
		return c
	}
	for i := range s.Entries {
		u.Entries = append(u.Entries, conv(&s.Entries[i]))
	}
	u.Total = conv(&s.Total)
	var b strings.Builder
	printPercentilesTitled(&b, u, "Uncorrected response time percentiles (timed from the actual send; the table above is timed from the intended start)")
	io.WriteString(w, b.String())
}

func printPercentiles(w io.Writer, s *stats.Snapshot) {
	title := "Response time percentiles (exact to 3 significant digits)"
	if s.Total.Uncorrected != nil {
		title = "Response time percentiles (exact to 3 significant digits; open model: timed from the intended start)"
	}
	printPercentilesTitled(w, s, title)
}

func printPercentilesTitled(w io.Writer, s *stats.Snapshot, title string) {
	var b strings.Builder
	n := len(stats.PercentileLabels)
	b.WriteString(title + "\n")
	fmt.Fprintf(&b, "%-*s %-*s %8s", consoleTypeWidth, "Type", consoleNameWidth, "Name", "# reqs")
	for _, l := range stats.PercentileLabels {
		fmt.Fprintf(&b, " %6s", l)
	}
	b.WriteString("\n")
	sep := strings.Repeat("-", consoleTypeWidth) + "|" + strings.Repeat("-", consoleNameWidth) + "|" +
		strings.Repeat("-", 8) + strings.Repeat("|"+strings.Repeat("-", 6), n) + "\n"
	row := func(e *stats.Entry) {
		fmt.Fprintf(&b, "%-*s %-*s %8d", consoleTypeWidth, fit(e.Method, consoleTypeWidth),
			consoleNameWidth, fit(e.Name, consoleNameWidth), e.Requests)
		for i := range n {
			v := 0.0
			if i < len(e.Percentiles) {
				v = e.Percentiles[i]
			}
			fmt.Fprintf(&b, " %6s", consoleMs(v))
		}
		b.WriteString("\n")
	}
	b.WriteString(sep)
	for i := range s.Entries {
		if s.Entries[i].Requests > 0 {
			row(&s.Entries[i])
		}
	}
	b.WriteString(sep)
	if s.Total.Requests > 0 {
		row(&s.Total)
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// errorName is Locust's StatsError.to_name: "METHOD name: message".
func errorName(e stats.Error) string {
	return strings.TrimSpace(e.Method+" "+e.Name) + ": " + e.Message
}

// occurrenceHead writes the title and head of a table of occurrences
// (errors, exceptions) and returns its separator line.
func occurrenceHead(b *strings.Builder, title, column string) string {
	sep := strings.Repeat("-", 18) + "|" + strings.Repeat("-", consoleWidth-19) + "\n"
	b.WriteString(title + "\n")
	fmt.Fprintf(b, "%-18s %s\n", "# occurrences", column)
	b.WriteString(sep)
	return sep
}

func printErrors(w io.Writer, s *stats.Snapshot) {
	if len(s.Errors) == 0 && s.ErrorsDropped == 0 {
		return
	}
	var b strings.Builder
	sep := occurrenceHead(&b, "Error report", "Error")
	for _, e := range s.Errors {
		fmt.Fprintf(&b, "%-18d %s\n", e.Occurrences, errorName(e))
	}
	b.WriteString(sep)
	if s.ErrorsDropped > 0 {
		fmt.Fprintf(&b, "(%d failures whose message was not kept: the error table was full)\n", s.ErrorsDropped)
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

func printExceptions(w io.Writer, ex []stats.Exception) {
	if len(ex) == 0 {
		return
	}
	var b strings.Builder
	sep := occurrenceHead(&b, "Exceptions", "Message")
	for _, e := range ex {
		fmt.Fprintf(&b, "%-18d %s", e.Count, e.Message)
		if e.Nodes != "" {
			fmt.Fprintf(&b, " (%s)", e.Nodes)
		}
		b.WriteString("\n")
		for _, l := range strings.Split(strings.TrimRight(e.Traceback, "\n"), "\n") {
			if l != "" {
				b.WriteString("    " + l + "\n")
			}
		}
	}
	b.WriteString(sep + "\n")
	io.WriteString(w, b.String())
}
