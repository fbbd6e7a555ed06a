package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// UPlotVersion is the version of the uPlot library inlined into HTML reports
// (see assets/VERSIONS.md).
const UPlotVersion = "1.6.32"

var (
	//go:embed assets/report.html.tmpl
	htmlTemplateText string
	//go:embed assets/uPlot.iife.min.js
	uPlotJS string
	//go:embed assets/uPlot.min.css
	uPlotCSS string

	// htmlTemplate is parsed once; it is never modified afterwards.
	htmlTemplate = template.Must(template.New("report.html").Parse(htmlTemplateText))
)

type htmlData struct {
	Title, ScenarioFile, Host string
	Start, End, Duration      string
	Users                     int
	SpawnRate                 string
	RunTime                   string
	ExitCode                  int
	Passed                    bool
	// Decides says which verdicts decide the exit code; Informing counts
	// the checks that failed or warned without deciding it.
	Decides   string
	Informing int

	PercentileLabels []string
	Rows             []htmlRow
	Total            htmlRow
	Open             *OpenInfo
	Verdicts         []soak.Verdict
	Baseline         template.HTML // "compared with the last N runs" (--baseline)
	Uncorrected      []htmlRow     // open model: percentiles timed from the send
	Data             string        // data sent and received, with rates
	PhaseRows        []htmlPhaseRow
	PhaseTotal       htmlPhaseRow
	HasPhases        bool
	Checks           []htmlCheck
	Errors           []stats.Error
	ErrorsDropped    int64
	Exceptions       []stats.Exception
	Classes          []htmlClass

	HasHistory   bool // the request charts
	HasCharts    bool // any chart: the request charts or the target's
	Chart        htmlChart
	UPlotVersion string
	UPlotJS      template.JS
	UPlotCSS     template.CSS
}

type htmlRow struct {
	Method, Name                            string
	Requests, Failures                      int64
	Avg, Min, Max, AvgSize, RPS, FailPerSec string
	Percentiles                             []string
}

type htmlClass struct {
	Name          string
	Weight, Users int
	Ratio         string
	Tasks         []htmlTask
}

type htmlTask struct {
	Name         string
	Weight       int
	Ratio, Total string
}

// htmlChart is the chart data, column-wise as uPlot wants it; t is in unix
// seconds. A null is a gap (a window without requests).
type htmlChart struct {
	T     []float64  `json:"t"`
	RPS   []*float64 `json:"rps"` // null: a gap (no master recorded the run then)
	Fail  []*float64 `json:"fail"`
	P50   []*float64 `json:"p50"`
	P95   []*float64 `json:"p95"`
	P99   []*float64 `json:"p99"`
	Users []*int     `json:"users"`
	// The shape's target: users in the closed model (TargetUsers), iterations
	// per second in the open one (TargetRate); the other one is all nulls.
	TargetUsers []*float64 `json:"target_users"`
	TargetRate  []*float64 `json:"target_rate"`
	// P95Trend is the degradation check's fitted p95 line on T (null
	// outside the window it judged); nil when there is none.
	P95Trend      []*float64 `json:"p95_trend,omitempty"`
	P95TrendLabel string     `json:"p95_trend_label,omitempty"`
	// SchedDelay is the load generator's own scheduling delay (ms), drawn
	// beside the latencies it adds to; nil when the run measured none.
	SchedDelay []*float64 `json:"sched_delay,omitempty"`

	// Every chart spans XMin..XMax (unix seconds), so events line up.
	XMin   float64       `json:"xmin"`
	XMax   float64       `json:"xmax"`
	Events []htmlEvent   `json:"events"`
	Target []TargetChart `json:"target"`
	// Gaps are the times of the rows of nulls where the run was not
	// recorded (a master restarted): lines break there, and only there.
	Gaps []float64 `json:"gaps"`
}

type htmlEvent struct {
	T      float64 `json:"t"`
	Kind   string  `json:"kind"`
	Detail string  `json:"detail"`
}

// TargetChart is one chart of the target's series, on its own time
// axis T (the union of its series' sample times).
// TargetChart is a chart of the target's series on one time axis, with
// the leak check's fitted lines (drawn by the HTML report and the web UI's
// Soak tab).
type TargetChart struct {
	ID     string        `json:"id"`
	Title  string        `json:"title"`
	Unit   string        `json:"unit"` // "bytes", "cores" or ""
	T      []float64     `json:"t"`
	Series []ChartSeries `json:"series"`
}

// ChartSeries is one line of a TargetChart: a value per time (nil: none).
type ChartSeries struct {
	Label string     `json:"label"`
	Trend bool       `json:"trend"` // a fitted line, drawn dashed
	V     []*float64 `json:"v"`
}

// fmtMs shows a response time with 3 significant digits at least down to
// 0.01 ms: "0.75", "12.3", "250".
func fmtMs(v float64) string {
	switch {
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64) // 250.5 -> 251, as in the CSV
	}
}

func newHTMLRow(e *stats.Entry) htmlRow {
	r := htmlRow{
		Method: e.Method, Name: e.Name, Requests: e.Requests, Failures: e.Failures,
		Avg: fmtMs(e.AvgMs), Min: fmtMs(e.MinMs), Max: fmtMs(e.MaxMs),
		AvgSize:    strconv.FormatFloat(e.AvgContentSize, 'f', 0, 64),
		RPS:        strconv.FormatFloat(e.TotalRPS, 'f', 2, 64),
		FailPerSec: strconv.FormatFloat(e.TotalFailPerSec, 'f', 2, 64),
	}
	for i := range stats.PercentileLabels {
		if e.Requests == 0 || i >= len(e.Percentiles) {
			r.Percentiles = append(r.Percentiles, "N/A")
			continue
		}
		r.Percentiles = append(r.Percentiles, fmtMs(e.Percentiles[i]))
	}
	return r
}

func pct(part, whole float64) string {
	if whole <= 0 {
		return "N/A"
	}
	return strconv.FormatFloat(100*part/whole, 'f', 1, 64) + "%"
}

// htmlClasses computes the task-ratio table: a class's share is its share of
// the users at the end of the run, or of the class weights when no users are
// known; a task's share is its weight within its class.
func htmlClasses(cs []ClassInfo) []htmlClass {
	var users, weights float64
	for _, c := range cs {
		users += float64(c.Users)
		weights += float64(c.Weight)
	}
	out := make([]htmlClass, 0, len(cs))
	for _, c := range cs {
		share, whole := float64(c.Users), users
		if users == 0 {
			share, whole = float64(c.Weight), weights
		}
		hc := htmlClass{Name: c.Name, Weight: c.Weight, Users: c.Users, Ratio: pct(share, whole)}
		var tw float64
		for _, t := range c.Tasks {
			tw += float64(t.Weight)
		}
		for _, t := range c.Tasks {
			total := "N/A"
			if whole > 0 && tw > 0 {
				total = pct(share*float64(t.Weight), whole*tw)
			}
			hc.Tasks = append(hc.Tasks, htmlTask{Name: t.Name, Weight: t.Weight, Ratio: pct(float64(t.Weight), tw), Total: total})
		}
		out = append(out, hc)
	}
	return out
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func gap(v float64) *float64 {
	if v == 0 {
		return nil
	}
	return &v
}

// WriteHTML writes the --html report: one self-contained page (inline CSS
// and JavaScript, no request off the machine) with the run's details, the
// request and response-time tables, failures, exceptions, charts of hist
// drawn with uPlot and the task-ratio table. The tables are plain HTML, so
// the page reads without JavaScript.
func WriteHTML(w io.Writer, info Info, s *stats.Snapshot, hist []stats.Tick) error {
	title := info.Title
	if title == "" {
		title = "horde report"
	}
	d := htmlData{
		Title: title, ScenarioFile: info.ScenarioFile, Host: info.Host,
		Start: fmtTime(info.Start), End: fmtTime(info.End),
		Duration:  runDuration(info).Round(time.Second).String(),
		Users:     info.Users,
		SpawnRate: strconv.FormatFloat(info.SpawnRate, 'f', -1, 64),
		ExitCode:  info.ExitCode, Passed: info.ExitCode == 0,
		Decides: DecidesText(info.Verdicts, false), Informing: informing(info.Verdicts),

		PercentileLabels: stats.PercentileLabels,
		Total:            newHTMLRow(&s.Total),
		Open:             info.Open,
		Verdicts:         info.Verdicts,
		Baseline:         baselineHTML(info.Baseline),
		Errors:           s.Errors,
		ErrorsDropped:    s.ErrorsDropped,
		Exceptions:       info.Exceptions,
		Classes:          htmlClasses(info.Classes),
		Data:             dataTotals(info, s).line(),
		PhaseTotal:       newHTMLPhaseRow(&s.Total),
		HasPhases:        hasPhases(s),
		Checks:           newHTMLChecks(s.Checks),

		HasHistory:   len(hist) > 0,
		UPlotVersion: UPlotVersion,
		UPlotJS:      template.JS(uPlotJS),
		UPlotCSS:     template.CSS(uPlotCSS),
	}
	if info.RunTime > 0 {
		d.RunTime = info.RunTime.String()
	}
	for i := range s.Entries {
		d.Rows = append(d.Rows, newHTMLRow(&s.Entries[i]))
		d.PhaseRows = append(d.PhaseRows, newHTMLPhaseRow(&s.Entries[i]))
		if u := s.Entries[i].Uncorrected; u != nil {
			d.Uncorrected = append(d.Uncorrected, newHTMLRow(&stats.Entry{Method: s.Entries[i].Method, Name: s.Entries[i].Name, Requests: u.Requests, Percentiles: u.Percentiles}))
		}
	}
	c := &d.Chart
	gapAt := gapLimit(hist)
	for i, p := range hist {
		if i > 0 && p.Time.Sub(hist[i-1].Time) > gapAt {
			// A gap (a master restarted): a row of nulls, so no line crosses it.
			c.T = append(c.T, unixSec(hist[i-1].Time.Add(time.Millisecond)))
			c.Gaps = append(c.Gaps, c.T[len(c.T)-1])
			c.RPS, c.Fail, c.Users = append(c.RPS, nil), append(c.Fail, nil), append(c.Users, nil)
			c.P50, c.P95, c.P99 = append(c.P50, nil), append(c.P95, nil), append(c.P99, nil)
			c.TargetUsers, c.TargetRate = append(c.TargetUsers, nil), append(c.TargetRate, nil)
			c.SchedDelay = append(c.SchedDelay, nil)
		}
		c.T = append(c.T, unixSec(p.Time))
		rps, fail, users := p.RPS, p.FailPerSec, p.Users
		c.RPS = append(c.RPS, &rps)
		c.Fail = append(c.Fail, &fail)
		c.P50 = append(c.P50, gap(p.P50Ms))
		c.P95 = append(c.P95, gap(p.P95Ms))
		c.P99 = append(c.P99, gap(p.P99Ms))
		c.Users = append(c.Users, &users)
		delay := p.SchedDelayMs
		c.SchedDelay = append(c.SchedDelay, &delay)
		target := p.Target
		if p.Open {
			c.TargetUsers = append(c.TargetUsers, nil)
			c.TargetRate = append(c.TargetRate, &target)
		} else {
			c.TargetUsers = append(c.TargetUsers, &target)
			c.TargetRate = append(c.TargetRate, nil)
		}
	}
	if !slices.ContainsFunc(hist, func(p stats.Tick) bool { return p.Target != 0 }) {
		// No shape's target (a run file records none): no line at 0.
		for i := range c.TargetUsers {
			c.TargetUsers[i], c.TargetRate[i] = nil, nil
		}
	}
	if !slices.ContainsFunc(hist, func(p stats.Tick) bool { return p.SchedDelayMs > 0 }) {
		c.SchedDelay = nil // not measured (an older run file, Locust workers)
	}
	if info.P95Trend != nil && len(hist) > 0 {
		c.P95Trend = trendOn(info.P95Trend, c.T)
		c.P95TrendLabel = trendLabel("95th percentile", info.P95Trend)
	}
	var lines []TargetSeries
	for _, ts := range info.Target {
		if !isStartTime(ts.Metric) && !isStartTime(ts.Name) && !isRestartCounter(ts.Metric) {
			lines = append(lines, ts)
		}
	}
	c.Target = TargetCharts(lines)
	for _, e := range info.Events {
		c.Events = append(c.Events, htmlEvent{T: unixSec(e.T), Kind: e.Kind, Detail: e.Detail})
	}
	c.Events = append(c.Events, startEvents(info.Target, info.Start, info.End)...)
	c.Events = append(c.Events, restartEvents(info.Target)...)
	slices.SortStableFunc(c.Events, func(a, b htmlEvent) int { return cmp.Compare(a.T, b.T) })
	c.XMin, c.XMax = chartSpan(c)
	d.HasCharts = d.HasHistory || len(c.Target) > 0
	if err := htmlTemplate.Execute(w, d); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// gapLimit is how far apart two ticks of the history are when the run was
// not recorded between them (a master killed and resumed): five times the
// usual interval, and at least 10 s.
func gapLimit(hist []stats.Tick) time.Duration {
	if len(hist) < 3 {
		return 1<<63 - 1
	}
	d := make([]time.Duration, 0, len(hist)-1)
	for i := 1; i < len(hist); i++ {
		d = append(d, hist[i].Time.Sub(hist[i-1].Time))
	}
	slices.Sort(d)
	return max(5*d[len(d)/2], 10*time.Second)
}

func unixSec(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// trendOn returns tr's values at ts (unix seconds), null outside From..To.
func trendOn(tr *Trend, ts []float64) []*float64 {
	from, to := unixSec(tr.From), unixSec(tr.To)
	out := make([]*float64, len(ts))
	for i, x := range ts {
		if x >= from && x <= to {
			v := tr.Start + tr.SlopePerSec*(x-from)
			out[i] = &v
		}
	}
	return out
}

func trendLabel(what string, tr *Trend) string {
	l := what + " trend (Theil–Sen)"
	if tr.Note != "" {
		l += ": " + tr.Note
	}
	return l
}

// isCPU reports whether a target metric counts CPU seconds.
func isCPU(metric string) bool { return strings.HasSuffix(metric, "_cpu_seconds_total") }

// TargetCharts groups the target's series into charts: memory (with the
// leak check's trends), CPU (counters of seconds turned into cores in use)
// and the others (goroutines, ...). A chart without series is left out.
func TargetCharts(ts []TargetSeries) []TargetChart {
	sources := map[string]bool{}
	for _, s := range ts {
		sources[strings.TrimSuffix(s.Name, " "+s.Metric)] = true
	}
	label := func(s TargetSeries) string {
		if len(sources) == 1 && s.Metric != "" {
			return s.Metric // one source: its metric names say it all
		}
		return s.Name
	}
	type line struct {
		label string
		trend *Trend
		pts   []series.Point
	}
	var mem, cpu, other []line
	var resources []TargetChart
	for _, s := range ts {
		switch {
		case isStartTime(s.Metric) || isStartTime(s.Name) || isRestartCounter(s.Metric):
			// an event (startEvents, restartEvents), not a line
		case s.Resource != "":
			resources = append(resources, resourceChart(len(resources), label(s), s))
		case s.Memory:
			mem = append(mem, line{label(s), s.Trend, s.Points})
		case isCPU(s.Metric):
			cpu = append(cpu, line{label(s) + " (cores)", nil, cpuRate(s.Points)})
		default:
			other = append(other, line{label(s), nil, s.Points})
		}
	}
	build := func(id, title, unit string, lines []line) []TargetChart {
		if len(lines) == 0 {
			return nil
		}
		seen := map[int64]bool{}
		var ms []int64
		add := func(t time.Time) {
			if k := t.UnixMilli(); !seen[k] {
				seen[k] = true
				ms = append(ms, k)
			}
		}
		for _, l := range lines {
			for _, p := range l.pts {
				add(p.T)
			}
			if l.trend != nil {
				add(l.trend.From)
				add(l.trend.To)
			}
		}
		if len(ms) == 0 { // nothing to draw yet (CPU needs two samples): no chart with a time axis of nothing
			return nil
		}
		slices.Sort(ms)
		c := TargetChart{ID: id, Title: title, Unit: unit, T: make([]float64, len(ms))}
		at := make(map[int64]int, len(ms))
		for i, k := range ms {
			c.T[i] = float64(k) / 1000
			at[k] = i
		}
		for _, l := range lines {
			v := make([]*float64, len(ms))
			for _, p := range l.pts {
				x := p.V
				v[at[p.T.UnixMilli()]] = &x
			}
			c.Series = append(c.Series, ChartSeries{Label: l.label, V: v})
			if l.trend != nil {
				c.Series = append(c.Series, ChartSeries{Label: trendLabel(l.label, l.trend), Trend: true, V: trendOn(l.trend, c.T)})
			}
		}
		return []TargetChart{c}
	}
	var out []TargetChart
	out = append(out, build("chart-memory", "Target memory", "bytes", mem)...)
	out = append(out, build("chart-cpu", "Target CPU", "cores", cpu)...)
	// The other metrics: one chart each, so that ~10 goroutines are not
	// drawn on the scale of a number in the billions; the unit follows the
	// name (Prometheus's base units).
	for i, l := range other {
		id := "chart-target-other"
		if i > 0 {
			id = fmt.Sprintf("chart-target-other-%d", i+1)
		}
		out = append(out, build(id, "Target: "+l.label, unitOf(l.label), []line{l})...)
	}
	return append(out, resources...)
}

// unitOf is the unit of a metric by its name's suffix (Prometheus names
// carry their base unit): "bytes", "seconds", "ratio", else "count" (a
// metric without a unit counts things: goroutines, open files).
func unitOf(metric string) string {
	m := strings.TrimSuffix(strings.TrimSuffix(metric, "_total"), "_sum")
	switch {
	case strings.HasSuffix(m, "_bytes"):
		return "bytes"
	case strings.HasSuffix(m, "_seconds"):
		return "seconds"
	case strings.HasSuffix(m, "_ratio"):
		return "ratio"
	}
	return "count"
}

// isStartTime tells a series of a process's start time
// (process_start_time_seconds): an event, not a line.
func isStartTime(metric string) bool { return strings.HasSuffix(metric, "start_time_seconds") }

// startEvents turns start-time series into "target started" events: at
// the start time a series first shows when it falls in from..to, and at
// every later change of it (a restart).
func startEvents(ts []TargetSeries, from, to time.Time) []htmlEvent {
	var out []htmlEvent
	for _, s := range ts {
		if !isStartTime(s.Metric) && !isStartTime(s.Name) {
			continue
		}
		prev := math.NaN()
		for _, p := range s.Points {
			if p.V == prev {
				continue
			}
			first := math.IsNaN(prev)
			prev = p.V
			at := time.UnixMilli(int64(p.V * 1000))
			if first && (at.Before(from) || (!to.IsZero() && at.After(to))) {
				continue // started before the run
			}
			out = append(out, htmlEvent{T: unixSec(at), Kind: "target started", Detail: s.Name})
		}
	}
	return out
}

// isRestartCounter reports whether a target metric counts restarts
// (kube_pod_container_status_restarts_total, the
// horde_container_restarts_total horde keeps from a container's ids).
func isRestartCounter(metric string) bool { return strings.HasSuffix(metric, "restarts_total") }

// restartEvents turns restart counters into "target restarted" events, at
// every rise of one.
func restartEvents(ts []TargetSeries) []htmlEvent {
	var out []htmlEvent
	for _, s := range ts {
		if !isRestartCounter(s.Metric) {
			continue
		}
		for i := 1; i < len(s.Points); i++ {
			if s.Points[i].V > s.Points[i-1].V {
				out = append(out, htmlEvent{T: unixSec(s.Points[i].T), Kind: "target restarted", Detail: s.Name})
			}
		}
	}
	return out
}

// resourceChart is the chart of one resource series: its values, the
// check's fitted line, its limit and the forecast towards the limit
// (drawn a quarter of the series' span past its end at most: every chart
// shares one time axis, which a far forecast would flatten).
func resourceChart(i int, label string, s TargetSeries) TargetChart {
	unit := "count"
	if s.Bytes {
		unit = "bytes"
	}
	c := TargetChart{ID: fmt.Sprintf("chart-resource-%d", i), Title: "Target: " + s.Resource, Unit: unit}
	var ms []int64
	seen := map[int64]bool{}
	add := func(t time.Time) {
		if k := t.UnixMilli(); !seen[k] {
			seen[k] = true
			ms = append(ms, k)
		}
	}
	for _, p := range s.Points {
		add(p.T)
	}
	if s.Trend != nil {
		add(s.Trend.From)
		add(s.Trend.To)
	}
	if f := s.Forecast; f != nil && len(s.Points) > 0 {
		span := s.Points[len(s.Points)-1].T.Sub(s.Points[0].T)
		if f.To.Sub(f.From) > span/4 {
			f2 := *f
			f2.To = f.From.Add(span / 4)
			f = &f2
		}
		add(f.From)
		add(f.To)
		s.Forecast = f
	}
	slices.Sort(ms)
	c.T = make([]float64, len(ms))
	at := make(map[int64]int, len(ms))
	for j, k := range ms {
		c.T[j] = float64(k) / 1000
		at[k] = j
	}
	v := make([]*float64, len(ms))
	for _, p := range s.Points {
		x := p.V
		v[at[p.T.UnixMilli()]] = &x
	}
	c.Series = append(c.Series, ChartSeries{Label: label, V: v})
	if s.Trend != nil {
		c.Series = append(c.Series, ChartSeries{Label: trendLabel(label, s.Trend), Trend: true, V: trendOn(s.Trend, c.T)})
	}
	if s.Forecast != nil {
		c.Series = append(c.Series, ChartSeries{Label: s.Forecast.Note, Trend: true, V: trendOn(s.Forecast, c.T)})
	}
	if s.Limit > 0 {
		lv := make([]*float64, len(ms))
		for j := range lv {
			x := s.Limit
			lv[j] = &x
		}
		c.Series = append(c.Series, ChartSeries{Label: "limit", Trend: true, V: lv})
	}
	return c
}

// cpuRate turns a counter of CPU seconds into the cores in use between
// samples. Samples closer than half the usual interval (a last sample taken
// as the run stopped) are merged into the next interval: over a few
// milliseconds the counter's ticks read as a spike. A reset (the counter
// going down) starts again.
func cpuRate(pts []series.Point) []series.Point {
	if len(pts) < 2 {
		return nil
	}
	gaps := make([]float64, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		gaps = append(gaps, pts[i].T.Sub(pts[i-1].T).Seconds())
	}
	slices.Sort(gaps)
	minGap := gaps[len(gaps)/2] / 2
	var out []series.Point
	prev := pts[0]
	for _, p := range pts[1:] {
		dt, dv := p.T.Sub(prev.T).Seconds(), p.V-prev.V
		switch {
		case dv < 0:
			prev = p // reset
		case dt > 0 && dt >= minGap:
			out = append(out, series.Point{T: p.T, V: dv / dt})
			prev = p
		}
	}
	return out
}

// chartSpan is the time range every chart shows: the request history, the
// target's samples and the events.
func chartSpan(c *htmlChart) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	see := func(ts ...float64) {
		for _, t := range ts {
			lo, hi = min(lo, t), max(hi, t)
		}
	}
	see(c.T...)
	for _, tc := range c.Target {
		see(tc.T...)
	}
	for _, e := range c.Events {
		see(e.T)
	}
	if math.IsInf(lo, 0) {
		return 0, 0
	}
	return lo, hi
}

// informing counts the checks that did not pass: they inform, the exit
// code is the thresholds'.
func informing(vs []soak.Verdict) int {
	n := 0
	for _, v := range vs {
		if v.Kind != "threshold" && v.Status != soak.Pass {
			n++
		}
	}
	return n
}

// baselineHTML is the report's "compared with the last N runs" section.
func baselineHTML(s *compare.Summary) template.HTML {
	if s == nil {
		return ""
	}
	return compare.SummaryHTML(s)
}
