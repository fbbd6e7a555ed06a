// Package report writes every result format of a run: Locust-compatible CSV
// files, the console tables, a JSON summary and a self-contained HTML report.
//
// It only formats: statistics come in as a *stats.Snapshot, the run's history
// as []stats.Tick (see History), and everything else as an Info. Nothing here reads
// a clock or the network. The formats are documented in docs/results.md.
package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// Info describes the run for reports.
type Info struct {
	Title, ScenarioFile, Host string
	Start, End                time.Time
	Users                     int
	SpawnRate                 float64
	RunTime                   time.Duration // the configured run time; 0 when unlimited
	Classes                   []ClassInfo   // for the task-ratio table
	Exceptions                []stats.Exception
	ExitCode                  int
	// Open is set for open-model runs (an arrival rate rather than users).
	Open *OpenInfo
	// Verdicts are the thresholds and checks judged at the end of the run.
	Verdicts []soak.Verdict

	// Target are the system under test's monitored series (memory, CPU,
	// goroutines...), charted over time by the HTML report.
	Target []TargetSeries
	// Events are what happened during the run (start, spawn complete, user
	// changes, workers, threshold breaches, stop); the HTML report marks
	// them on the time axis of every chart.
	Events []stats.Event
	// P95Trend is the fitted trend of the latency-degradation check, drawn
	// on the response-time chart; nil when the check fitted none.
	P95Trend *Trend
	// Baseline is the run against its baseline runs (--baseline): "compared
	// with the last N runs"; nil without one.
	Baseline *compare.Summary
}

// LiveRun is what LiveInfo reads from a running or just-ended run (a
// *master.Master, or the web UI's view of one).
type LiveRun interface {
	Spec() cluster.RunSpec
	Times() (start, end time.Time)
	Exceptions() []stats.Exception
}

// LiveInfo describes run for the report writers: its spec, times and
// exceptions, the scenario file and the user classes (with their users).
// The caller adds the verdicts, the exit code and the charts' extras.
func LiveInfo(run LiveRun, scenarioFile string, classes []ClassInfo) Info {
	spec := run.Spec()
	start, end := run.Times()
	return Info{
		Title:        "horde load test report",
		ScenarioFile: scenarioFile,
		Host:         spec.Host,
		Start:        start,
		End:          end,
		Users:        spec.Users,
		SpawnRate:    spec.SpawnRate,
		RunTime:      spec.RunTime,
		Classes:      classes,
		Exceptions:   run.Exceptions(),
	}
}

// TargetSeries is one monitored series of the system under test. Memory
// series are charted in bytes; counters of CPU seconds (a metric ending in
// "_cpu_seconds_total") as their rate, the cores in use.
type TargetSeries struct {
	series.Series
	// Trend is the leak check's fitted line (the memory floor after the
	// warm-up); nil when none.
	Trend *Trend
	// Resource names what a resource check judged the series as ("open
	// fds", "pool slots in use"): such a series gets a chart of its own,
	// with its Limit (0: none) and the Forecast line extended to where it
	// reaches it (nil: none).
	Resource string
	Limit    float64
	Forecast *Trend
	// Bytes says the resource's values are bytes.
	Bytes bool
}

// Trend is a fitted straight line over From..To: Start at From, changing
// by SlopePerSec; Note says what it is in the chart's legend ("fail: +45%
// over 20s").
type Trend struct {
	From, To    time.Time
	Start       float64
	SlopePerSec float64
	Note        string
}

// At returns the trend's value at t.
func (tr *Trend) At(t time.Time) float64 {
	return tr.Start + tr.SlopePerSec*t.Sub(tr.From).Seconds()
}

// OpenInfo is what the open model adds: iterations started on schedule,
// those dropped because no user was free, and how late iterations started.
type OpenInfo struct {
	Iterations, Dropped int64
	LagMean, LagMax     time.Duration
}

// ClassInfo is one user class (scenario) with its weight, the users it had at
// the end of the run and its tasks.
type ClassInfo struct {
	Name   string
	Weight int
	Users  int
	Tasks  []TaskInfo
}

// TaskInfo is one task of a class and its weight.
type TaskInfo struct {
	Name   string
	Weight int
}

// msInt renders a response time the way Locust's percentile columns do: an
// integer number of milliseconds, here rounded half up (0.5 ms -> 1).
func msInt(v float64) string {
	return strconv.FormatInt(int64(math.Floor(v+0.5)), 10)
}

// pyFloat renders v as Python's repr(float) does, so full-precision columns
// match Locust's CSV: shortest round-trip digits, always with a decimal
// point ("1.0"), and scientific notation below 1e-4 or from 1e16 on.
func pyFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case v == 0:
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(v); a < 1e-4 || a >= 1e16 {
		return strconv.FormatFloat(v, 'e', -1, 64) // Go and Python agree: "1e-05", "1.5e+16"
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// percentileKeys are stats.PercentileLabels without the "%" ("50", ..., "99.99", "100").
func percentileKeys() []string {
	keys := make([]string, len(stats.PercentileLabels))
	for i, l := range stats.PercentileLabels {
		keys[i] = strings.TrimSuffix(l, "%")
	}
	return keys
}
