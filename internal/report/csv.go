package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/horde-load/horde/internal/stats"
)

// The CSV headers, byte for byte those of Locust 2.x; the stats CSV has
// horde's columns after Locust's (phasesCSVHeader), so that tools reading
// Locust's columns by name or position still work.
var (
	statsCSVHeader = append(append([]string{
		"Type", "Name", "Request Count", "Failure Count", "Median Response Time",
		"Average Response Time", "Min Response Time", "Max Response Time",
		"Average Content Size", "Requests/s", "Failures/s",
	}, stats.PercentileLabels...), phasesCSVHeader...)
	failuresCSVHeader   = []string{"Method", "Name", "Error", "Occurrences"}
	exceptionsCSVHeader = []string{"Count", "Message", "Traceback", "Nodes"}
	historyCSVHeader    = append(append([]string{
		"Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s",
	}, stats.PercentileLabels...),
		"Total Request Count", "Total Failure Count", "Total Median Response Time",
		"Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
		"Total Average Content Size")
)

// newCSVWriter returns a writer in the dialect of Python's csv module
// (Locust's): comma separated, minimal quoting, rows ending in "\r\n".
func newCSVWriter(w io.Writer) *csv.Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return cw
}

// writeAll writes rows and flushes, returning the first error.
func writeAll(cw *csv.Writer, rows ...[]string) error {
	for _, r := range rows {
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// percentileFields are the percentile columns: ps rounded to integer ms, or
// N/A for each when ok is false.
func percentileFields(ps []float64, ok bool) []string {
	out := make([]string, len(stats.PercentileLabels))
	for i := range out {
		if !ok || i >= len(ps) {
			out[i] = "N/A"
			continue
		}
		out[i] = msInt(ps[i])
	}
	return out
}

// totalsFields are the columns Request Count .. Average Content Size of e
// (without the rates), as Locust prints them. With no requests Locust's
// values are the integer 0, printed "0".
func totalsFields(e *stats.Entry) []string {
	if e.Requests == 0 {
		return []string{"0", strconv.FormatInt(e.Failures, 10), "0", "0", "0", "0", "0"}
	}
	return []string{
		strconv.FormatInt(e.Requests, 10),
		strconv.FormatInt(e.Failures, 10),
		msInt(e.MedianMs),
		pyFloat(e.AvgMs),
		pyFloat(e.MinMs),
		pyFloat(e.MaxMs),
		pyFloat(e.AvgContentSize),
	}
}

func statsRow(typ string, e *stats.Entry) []string {
	row := append([]string{typ, e.Name}, totalsFields(e)...)
	row = append(row, pyFloat(e.TotalRPS), pyFloat(e.TotalFailPerSec))
	row = append(row, percentileFields(e.Percentiles, e.Requests > 0)...)
	return append(row, phasesFields(e)...)
}

// WriteStatsCSV writes a Locust _stats.csv: the header, one row per entry
// in s.Entries order, then the Aggregated row with an empty Type.
func WriteStatsCSV(w io.Writer, s *stats.Snapshot) error {
	rows := make([][]string, 0, len(s.Entries)+2)
	rows = append(rows, statsCSVHeader)
	for i := range s.Entries {
		rows = append(rows, statsRow(s.Entries[i].Method, &s.Entries[i]))
	}
	rows = append(rows, statsRow("", &s.Total))
	if err := writeAll(newCSVWriter(w), rows...); err != nil {
		return fmt.Errorf("write stats csv: %w", err)
	}
	return nil
}

// WriteFailuresCSV writes a Locust _failures.csv: one row per error of s, in
// s.Errors order.
func WriteFailuresCSV(w io.Writer, s *stats.Snapshot) error {
	rows := make([][]string, 0, len(s.Errors)+1)
	rows = append(rows, failuresCSVHeader)
	for _, e := range s.Errors {
		rows = append(rows, []string{e.Method, e.Name, e.Message, strconv.FormatInt(e.Occurrences, 10)})
	}
	if err := writeAll(newCSVWriter(w), rows...); err != nil {
		return fmt.Errorf("write failures csv: %w", err)
	}
	return nil
}

// WriteExceptionsCSV writes a Locust _exceptions.csv.
func WriteExceptionsCSV(w io.Writer, ex []stats.Exception) error {
	rows := make([][]string, 0, len(ex)+1)
	rows = append(rows, exceptionsCSVHeader)
	for _, e := range ex {
		rows = append(rows, []string{strconv.FormatInt(e.Count, 10), e.Message, e.Traceback, e.Nodes})
	}
	if err := writeAll(newCSVWriter(w), rows...); err != nil {
		return fmt.Errorf("write exceptions csv: %w", err)
	}
	return nil
}

// HistoryCSV appends rows to a Locust _stats_history.csv: the header on the
// first call of Row, then per Row call the rows for one moment: only
// Aggregated when full is false (percentile columns cumulative), or every
// entry then Aggregated when full is true (Locust's --csv-full-history;
// percentile columns are then the current-window percentiles, "N/A" when the
// window is empty). It is not safe for concurrent use.
type HistoryCSV struct {
	w      *csv.Writer
	full   bool
	header bool // written
}

// NewHistoryCSV returns a HistoryCSV writing to w.
func NewHistoryCSV(w io.Writer, full bool) *HistoryCSV {
	return &HistoryCSV{w: newCSVWriter(w), full: full}
}

// Row writes the rows for s, taken when users users were running, and
// flushes them to the underlying writer.
func (h *HistoryCSV) Row(s *stats.Snapshot, users int) error {
	ts := strconv.FormatInt(s.Time.Unix(), 10)
	us := strconv.Itoa(users)
	var rows [][]string
	if !h.header {
		rows = append(rows, historyCSVHeader)
	}
	row := func(typ string, e *stats.Entry) []string {
		r := []string{ts, us, typ, e.Name,
			fmt.Sprintf("%.6f", e.CurrentRPS), fmt.Sprintf("%.6f", e.CurrentFailPerSec)}
		if h.full {
			r = append(r, percentileFields(e.CurrentPercentiles, e.Requests > 0 && e.CurrentPercentiles != nil)...)
		} else {
			r = append(r, percentileFields(e.Percentiles, e.Requests > 0)...)
		}
		return append(r, totalsFields(e)...)
	}
	if h.full {
		for i := range s.Entries {
			rows = append(rows, row(s.Entries[i].Method, &s.Entries[i]))
		}
	}
	rows = append(rows, row("", &s.Total))
	if err := writeAll(h.w, rows...); err != nil {
		return fmt.Errorf("write stats history csv: %w", err)
	}
	h.header = true
	return nil
}
