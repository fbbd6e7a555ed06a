package run

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// outputs writes the console table, the CSV files and the reports.
type outputs struct {
	cfg    *Config
	stdout io.Writer
	log    *slog.Logger

	// exceptions reads the user-code errors so far (set once the run exists).
	exceptions func() []stats.Exception
	// workers reads a distributed run's workers (nil for horde run).
	workers func() []cluster.WorkerInfo
	// aborts are the abort_on_fail thresholds, judged every tick; stop ends
	// the run when one fails, and aborted says why it was ended.
	aborts  []*scenario.Threshold
	stop    func()
	aborted string
	// rec records the run into its file (docs/runs.md).
	rec *recorder

	mu          sync.Mutex
	lastConsole time.Time
	lastFiles   time.Time
	historyFile *os.File
	historyCSV  *report.HistoryCSV
}

func (o *outputs) open() error {
	if o.cfg.Output.CSVPrefix == "" {
		return nil
	}
	if dir := filepath.Dir(o.cfg.Output.CSVPrefix); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--csv: %w", err)
		}
	}
	f, err := os.OpenFile(o.cfg.Output.CSVPrefix+"_stats_history.csv", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, FileMode)
	if err != nil {
		return fmt.Errorf("--csv: %w", err)
	}
	o.historyFile = f
	o.historyCSV = report.NewHistoryCSV(f, o.cfg.Output.CSVFullHistory)
	return nil
}

func (o *outputs) close() {
	if o.historyFile != nil {
		o.historyFile.Close()
	}
}

// tick runs once a second on the master's goroutine.
func (o *outputs) tick(tk master.Tick) {
	s, users := tk.Snapshot, tk.Users
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.rec != nil {
		o.rec.tick(tk)
	}
	if o.historyCSV != nil {
		o.historyCSV.Row(s, users)
	}
	o.judgeAborts(s)
	if o.cfg.Output.CSVPrefix != "" && s.Time.Sub(o.lastFiles) >= filesEvery {
		// Keep the result files current during long runs, as Locust does.
		o.lastFiles = s.Time
		var ex []stats.Exception
		if o.exceptions != nil {
			ex = o.exceptions()
		}
		if err := o.writeCSVs(s, ex); err != nil {
			o.log.Warn("writing CSV files", "err", err)
		}
	}
	// The live table is for headless runs; with the web UI the page shows it.
	if o.cfg.Headless && !o.cfg.Output.OnlySummary && s.Time.Sub(o.lastConsole) >= consoleEvery {
		o.lastConsole = s.Time
		report.PrintTable(o.stdout, s, users, o.workersNote())
		fmt.Fprintln(o.stdout)
	}
}

// LocustPrecisionNote qualifies the percentiles of a run that took Locust
// workers: they report rounded response times.
const LocustPrecisionNote = "Note: Locust workers report response times rounded (1 ms below 100 ms, 10 ms below 1 s, 100 ms below 10 s, 1 s above): " +
	"percentiles of their requests are exact only to those steps; min, max and average are exact (docs/locust.md)"

// finish writes everything once more at the end, so the files include the
// whole run (on_stop requests too).
func (o *outputs) finish(s *stats.Snapshot, users int, hist []stats.Tick, info report.Info) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.historyCSV != nil {
		if err := o.historyCSV.Row(s, users); err != nil {
			return err
		}
	}
	report.PrintSummary(o.stdout, s, info.Exceptions)
	if c := o.cfg.Cluster; c != nil && c.Locust != nil {
		fmt.Fprintln(o.stdout, LocustPrecisionNote)
	}
	report.PrintOpen(o.stdout, info.Open)
	report.PrintVerdicts(o.stdout, info.Verdicts)
	var errs []error
	if o.cfg.Output.CSVPrefix != "" {
		errs = append(errs, o.writeCSVs(s, info.Exceptions))
	}
	if o.cfg.Output.JSON != "" {
		errs = append(errs, WriteFile(o.cfg.Output.JSON, func(w io.Writer) error {
			return report.WriteJSON(w, info, s, hist)
		}))
	}
	if o.cfg.Output.JUnit != "" {
		errs = append(errs, WriteFile(o.cfg.Output.JUnit, func(w io.Writer) error {
			return report.WriteJUnit(w, JUnitSuite(o.cfg.Command, o.cfg.ScenarioFile), info, s)
		}))
	}
	if o.cfg.Output.HTML != "" {
		errs = append(errs, WriteFile(o.cfg.Output.HTML, func(w io.Writer) error {
			return report.WriteHTML(w, info, s, hist)
		}))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// judgeAborts ends the run when an abort_on_fail threshold fails after its
// grace period. o.mu is held.
func (o *outputs) judgeAborts(s *stats.Snapshot) {
	if len(o.aborts) == 0 || o.aborted != "" || o.stop == nil {
		return
	}
	for _, t := range o.aborts {
		if s.Time.Sub(s.Start) < t.Grace {
			continue
		}
		r := soak.EvaluateThresholds([]*scenario.Threshold{t}, soak.Inputs{Snapshot: s})[0]
		if r.Pass || r.NoData {
			continue
		}
		o.aborted = r.Reason
		if o.rec != nil {
			o.rec.warn("event", o.rec.st.Event(context.Background(), s.Time, "threshold breach", t.Text+": "+r.Reason))
		}
		o.log.Warn("threshold failed with abort_on_fail: stopping the run", "threshold", t.Text, "reason", r.Reason)
		o.stop()
		return
	}
}

func (o *outputs) writeCSVs(s *stats.Snapshot, ex []stats.Exception) error {
	p := o.cfg.Output.CSVPrefix
	if err := WriteFile(p+"_stats.csv", func(w io.Writer) error { return report.WriteStatsCSV(w, s) }); err != nil {
		return err
	}
	if err := WriteFile(p+"_failures.csv", func(w io.Writer) error { return report.WriteFailuresCSV(w, s) }); err != nil {
		return err
	}
	return WriteFile(p+"_exceptions.csv", func(w io.Writer) error { return report.WriteExceptionsCSV(w, ex) })
}

// JUnitSuite names the JUnit test suite of a command's run of a scenario:
// "horde run seed-api.yaml".
func JUnitSuite(command, scenarioFile string) string {
	name := "horde " + command
	if scenarioFile != "" {
		name += " " + filepath.Base(scenarioFile)
	}
	return name
}

// FileMode is the permission mode of every result file (CSV, HTML, JSON,
// JUnit, the run file), before the umask.
const FileMode = 0o644

// WriteFile writes through a temporary file and renames it into place, so a
// reader never sees half a file.
func WriteFile(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(FileMode); err != nil { // CreateTemp's 0600: every result file has one mode
		tmp.Close()
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// workersNote is the live table's word on a distributed run's workers: how
// many are in the run, and how many were lost (missing: killed, no
// heartbeat) or are disconnected (within their reconnect grace).
func (o *outputs) workersNote() string {
	if o.workers == nil {
		return ""
	}
	return WorkersNote(o.workers())
}

// WorkersNote says how many workers are in the run and how many are lost
// (killed, vanished), left (said goodbye) or disconnected: "2 workers (1
// lost)".
func WorkersNote(ws []cluster.WorkerInfo) string {
	var in, lost, left, gone int
	for _, w := range ws {
		switch w.State {
		case cluster.WorkerMissing:
			lost++
		case cluster.WorkerLeft:
			left++
		case cluster.WorkerDisconnected:
			gone++
		default:
			in++
		}
	}
	s := fmt.Sprintf("%d workers", in)
	if in == 1 {
		s = "1 worker"
	}
	var extra []string
	if gone > 0 {
		extra = append(extra, fmt.Sprintf("%d disconnected", gone))
	}
	if lost > 0 {
		extra = append(extra, fmt.Sprintf("%d lost", lost))
	}
	if left > 0 {
		extra = append(extra, fmt.Sprintf("%d left", left))
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}
