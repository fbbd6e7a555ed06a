package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"time"

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

	PercentileLabels []string
	Rows             []htmlRow
	Total            htmlRow
	Open             *OpenInfo
	Verdicts         []Verdict
	Uncorrected      []htmlRow // open model: percentiles timed from the send
	Errors           []stats.Error
	ErrorsDropped    int64
	Exceptions       []Exception
	Classes          []htmlClass

	HasHistory   bool
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
	RPS   []float64  `json:"rps"`
	Fail  []float64  `json:"fail"`
	P50   []*float64 `json:"p50"`
	P95   []*float64 `json:"p95"`
	P99   []*float64 `json:"p99"`
	Users []int      `json:"users"`
	// The shape's target: users in the closed model (TargetUsers), iterations
	// per second in the open one (TargetRate); the other one is all nulls.
	TargetUsers []*float64 `json:"target_users"`
	TargetRate  []*float64 `json:"target_rate"`
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
func WriteHTML(w io.Writer, info Info, s *stats.Snapshot, hist []Point) error {
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

		PercentileLabels: stats.PercentileLabels,
		Total:            newHTMLRow(&s.Total),
		Open:             info.Open,
		Verdicts:         info.Verdicts,
		Errors:           s.Errors,
		ErrorsDropped:    s.ErrorsDropped,
		Exceptions:       info.Exceptions,
		Classes:          htmlClasses(info.Classes),

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
		if u := s.Entries[i].Uncorrected; u != nil {
			d.Uncorrected = append(d.Uncorrected, newHTMLRow(&stats.Entry{Method: s.Entries[i].Method, Name: s.Entries[i].Name, Requests: u.Requests, Percentiles: u.Percentiles}))
		}
	}
	c := &d.Chart
	for _, p := range hist {
		c.T = append(c.T, float64(p.Time.UnixMilli())/1000)
		c.RPS = append(c.RPS, p.RPS)
		c.Fail = append(c.Fail, p.FailPerSec)
		c.P50 = append(c.P50, gap(p.P50Ms))
		c.P95 = append(c.P95, gap(p.P95Ms))
		c.P99 = append(c.P99, gap(p.P99Ms))
		c.Users = append(c.Users, p.Users)
		target := p.Target
		if p.Open {
			c.TargetUsers = append(c.TargetUsers, nil)
			c.TargetRate = append(c.TargetRate, &target)
		} else {
			c.TargetUsers = append(c.TargetUsers, &target)
			c.TargetRate = append(c.TargetRate, nil)
		}
	}
	if err := htmlTemplate.Execute(w, d); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}
