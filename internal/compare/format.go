package compare

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// opt is v for JSON: nil for NaN and infinities, which JSON cannot hold.
func opt(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// MarshalJSON writes NaN figures (untested, undefined) as null.
func (d Diff) MarshalJSON() ([]byte, error) {
	type plain Diff
	return json.Marshal(struct {
		plain
		A      *float64 `json:"a"`
		B      *float64 `json:"b"`
		Change *float64 `json:"change"`
		P      *float64 `json:"p"`
	}{plain(d), opt(d.A), opt(d.B), opt(d.Change), opt(d.P)})
}

// MarshalJSON writes NaN figures as null.
func (r SummaryRow) MarshalJSON() ([]byte, error) {
	type plain SummaryRow
	base := make([]*float64, len(r.Baseline))
	for i, v := range r.Baseline {
		base[i] = opt(v)
	}
	return json.Marshal(struct {
		plain
		Current  *float64   `json:"current"`
		Baseline []*float64 `json:"baseline"`
		Median   *float64   `json:"median"`
		Change   *float64   `json:"change"`
		P        *float64   `json:"p"`
	}{plain(r), opt(r.Current), base, opt(r.Median), opt(r.Change), opt(r.P)})
}

// MarshalJSON writes the period's figures, NaN as null.
func (p Period) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		T         time.Time `json:"t"`
		Requests  int64     `json:"requests"`
		Failures  int64     `json:"failures"`
		RPS       float64   `json:"rps"`
		ErrorRate float64   `json:"error_rate"`
		P50       *float64  `json:"p50"`
		P95       *float64  `json:"p95"`
		P99       *float64  `json:"p99"`
		Max       *float64  `json:"max"`
	}{p.T.UTC(), p.Requests, p.Failures, p.RPS, p.ErrorRate, opt(p.P50), opt(p.P95), opt(p.P99), opt(p.Max)})
}

// MarshalJSON writes the setup with durations in seconds.
func (s Setup) MarshalJSON() ([]byte, error) {
	type plain Setup
	return json.Marshal(struct {
		plain
		DurationS float64 `json:"duration_s"`
		RunTimeS  float64 `json:"run_time_s"`
		WarmupS   float64 `json:"warmup_s"`
	}{plain(s), s.Duration.Seconds(), s.RunTime.Seconds(), s.Warmup.Seconds()})
}

// WriteJSON writes the comparison as one JSON document.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		A         Setup       `json:"a"`
		B         Setup       `json:"b"`
		SetupDiff []SetupDiff `json:"setup_differs"`
		PeriodS   float64     `json:"period_s"`
		Test      string      `json:"test"`
		Alpha     float64     `json:"alpha"`
		Names     []NameDiff  `json:"names"`
		Target    []Diff      `json:"target"`
		PeriodsA  []Period    `json:"periods_a"`
		PeriodsB  []Period    `json:"periods_b"`
	}{r.A, r.B, nonNil(r.Setup), r.PeriodLen.Seconds(), "mann-whitney", Alpha, r.Names, nonNil(r.Target), r.PeriodsA, r.PeriodsB})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// fmtVal formats a figure with its unit.
func fmtVal(v float64, unit string) string {
	if math.IsNaN(v) {
		return "-"
	}
	s := num(v)
	if unit != "" && unit != "req/s" {
		if unit == "%" || unit == "%/h" {
			return s + unit
		}
		return s + " " + unit
	}
	return s
}

// fmtChange formats a change: "+12.3%" or "+0.40 points".
func fmtChange(v float64, u string) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.IsInf(v, 0):
		return "new"
	case u == "points":
		return fmt.Sprintf("%+.2f pt", v)
	}
	return fmt.Sprintf("%+.1f%%", v)
}

// fmtNoise is a diff's noise verdict with its p-value.
func fmtNoise(noise string, p float64) string {
	if math.IsNaN(p) {
		return noise
	}
	return fmt.Sprintf("%s (p=%.2g)", noise, p)
}

func runLine(label string, s Setup) string {
	return fmt.Sprintf("%s: run %s (%s), started %s, %s, %d users at %g/s, %s", label, s.ID, s.File,
		s.Started.UTC().Format("2006-01-02 15:04:05Z"), s.Duration.Round(time.Second), s.Users, s.SpawnRate, s.Status)
}

// periodNote says how the noise was judged.
func periodNote(r *Result) string {
	what := "whole minutes"
	if r.PeriodLen < time.Minute {
		what = fmt.Sprintf("%s windows (runs under %s)", r.PeriodLen, MinutePeriods)
	}
	return fmt.Sprintf("noise: Mann–Whitney rank test of the per-period values (%s; A %d, B %d periods), beyond noise at p < %g; fewer than %d periods a side: not tested",
		what, len(r.PeriodsA), len(r.PeriodsB), Alpha, MinPeriods)
}

// WriteText writes the comparison for a terminal: what differs in the
// setup first, then the figures.
func WriteText(w io.Writer, r *Result) error {
	fmt.Fprintln(w, runLine("A", r.A))
	fmt.Fprintln(w, runLine("B", r.B))
	fmt.Fprintln(w)
	if len(r.Setup) == 0 {
		fmt.Fprintln(w, "Setup: the same (length, users, spawn rate, scenario, host)")
	} else {
		fmt.Fprintln(w, "Setup differs (read the figures below with this in mind):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, d := range r.Setup {
			fmt.Fprintf(tw, "  %s\t%s\t→ %s\n", d.Field, d.A, d.B)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, periodNote(r))
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMETRIC\tA\tB\tCHANGE\tNOISE")
	for _, nd := range r.Names {
		name := strings.TrimSpace(nd.Method + " " + nd.Name)
		if nd.Only != "" {
			fmt.Fprintf(tw, "%s\t\t\t\t\tonly in %s\n", name, strings.ToUpper(nd.Only))
			continue
		}
		for i, d := range nd.Diffs {
			n := ""
			if i == 0 {
				n = name
			}
			mark := ""
			if d.Worse && d.Noise == Beyond {
				mark = " worse"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s%s\n", n, d.Metric, fmtVal(d.A, d.Unit), fmtVal(d.B, d.Unit),
				fmtChange(d.Change, d.ChangeUnit), fmtNoise(d.Noise, d.P), mark)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Target) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TARGET\tA\tB\tCHANGE\tCHECK A\tCHECK B")
		for _, d := range r.Target {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Metric, fmtVal(d.A, d.Unit), fmtVal(d.B, d.Unit),
				fmtChange(d.Change, d.ChangeUnit), orDash(d.StatusA), orDash(d.StatusB))
		}
		return tw.Flush()
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// md escapes a Markdown table cell.
func md(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// WriteMarkdown writes the comparison as Markdown (CI summaries).
func WriteMarkdown(w io.Writer, r *Result) error {
	fmt.Fprintf(w, "### horde compare: %s → %s\n\n", r.A.ID, r.B.ID)
	fmt.Fprintf(w, "- %s\n- %s\n\n", md(runLine("A", r.A)), md(runLine("B", r.B)))
	if len(r.Setup) == 0 {
		fmt.Fprintln(w, "**Setup:** the same (length, users, spawn rate, scenario, host).")
	} else {
		fmt.Fprintln(w, "**Setup differs** (read the figures with this in mind):\n\n| setting | A | B |\n|---|---|---|")
		for _, d := range r.Setup {
			fmt.Fprintf(w, "| %s | %s | %s |\n", md(d.Field), md(d.A), md(d.B))
		}
	}
	fmt.Fprintf(w, "\n%s.\n\n", periodNote(r))
	fmt.Fprintln(w, "| name | metric | A | B | change | noise |\n|---|---|--:|--:|--:|---|")
	for _, nd := range r.Names {
		name := md(strings.TrimSpace(nd.Method + " " + nd.Name))
		if nd.Only != "" {
			fmt.Fprintf(w, "| %s | | | | | only in %s |\n", name, strings.ToUpper(nd.Only))
			continue
		}
		for _, d := range nd.Diffs {
			ch := fmtChange(d.Change, d.ChangeUnit)
			if d.Worse && d.Noise == Beyond {
				ch = "**" + ch + "**"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", name, d.Metric, fmtVal(d.A, d.Unit), fmtVal(d.B, d.Unit), ch, fmtNoise(d.Noise, d.P))
		}
	}
	if len(r.Target) > 0 {
		fmt.Fprintln(w, "\n| target | A | B | change | check A | check B |\n|---|--:|--:|--:|---|---|")
		for _, d := range r.Target {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", md(d.Metric), fmtVal(d.A, d.Unit), fmtVal(d.B, d.Unit),
				fmtChange(d.Change, d.ChangeUnit), orDash(d.StatusA), orDash(d.StatusB))
		}
	}
	return nil
}

// WriteSummaryText writes a run against its baseline for a terminal.
func WriteSummaryText(w io.Writer, s *Summary) error {
	fmt.Fprintf(w, "Baseline (%s): %s\n", s.Spec, s.Title)
	if len(s.Runs) > 0 {
		fmt.Fprintf(w, "  baseline runs: %s\n", strings.Join(s.Runs, ", "))
	}
	if s.Note != "" && len(s.Runs) > 0 {
		fmt.Fprintf(w, "  note: %s\n", s.Note)
	}
	for _, d := range s.Setup {
		fmt.Fprintf(w, "  setup differs: %s %s → %s\n", d.Field, d.A, d.B)
	}
	if len(s.Rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  METRIC\tTHIS RUN\tBASELINE (MEDIAN)\tBASELINE RUNS\tCHANGE\tNOISE")
	for _, r := range s.Rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.Metric, fmtVal(r.Current, r.Unit), fmtVal(r.Median, r.Unit), joinNums(r.Baseline),
			fmtChange(r.Change, r.ChangeUnit), fmtNoise(r.Noise, r.P))
	}
	return tw.Flush()
}

// WriteSummaryMarkdown writes a run against its baseline as Markdown.
func WriteSummaryMarkdown(w io.Writer, s *Summary) error {
	fmt.Fprintf(w, "#### %s\n\n", md(s.Title))
	if len(s.Runs) > 0 {
		fmt.Fprintf(w, "Baseline runs (`--baseline %s`): %s\n\n", s.Spec, md(strings.Join(s.Runs, ", ")))
	}
	if len(s.Rows) == 0 {
		return nil
	}
	fmt.Fprintln(w, "| metric | this run | baseline (median) | baseline runs | change | noise |\n|---|--:|--:|--:|--:|---|")
	for _, r := range s.Rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.Metric, fmtVal(r.Current, r.Unit), fmtVal(r.Median, r.Unit), joinNums(r.Baseline),
			fmtChange(r.Change, r.ChangeUnit), fmtNoise(r.Noise, r.P))
	}
	fmt.Fprintln(w)
	return nil
}

// SummaryHTML is a run against its baseline as an HTML section (the
// report's "compared with the last N runs").
func SummaryHTML(s *Summary) template.HTML {
	var b strings.Builder
	summaryTmpl.Execute(&b, s)
	return template.HTML(b.String())
}

var funcs = template.FuncMap{
	"val":    fmtVal,
	"change": fmtChange,
	"noise":  fmtNoise,
	"nums":   joinNums,
	"join":   strings.Join,
	"chart":  chartSVG,
	"name":   func(nd NameDiff) string { return strings.TrimSpace(nd.Method + " " + nd.Name) },
	"bad":    func(d Diff) bool { return d.Worse && d.Noise == Beyond },
	"badrow": func(r SummaryRow) bool { return r.Worse && r.Noise == Beyond },
	"upper":  strings.ToUpper,
	"note":   periodNote,
	"line":   runLine,
}

var summaryTmpl = template.Must(template.New("summary").Funcs(funcs).Parse(`<section class="baseline" id="baseline">
<h2>{{.Title}}</h2>
{{if .Runs}}<p>Baseline runs (<code>--baseline {{.Spec}}</code>): {{join .Runs ", "}}{{if .Note}} ({{.Note}}){{end}}</p>{{end}}
{{range .Setup}}<p>Setup differs: {{.Field}} {{.A}} → {{.B}}</p>{{end}}
{{if .Rows}}<table><thead><tr><th>metric</th><th>this run</th><th>baseline (median)</th><th>baseline runs</th><th>change</th><th>noise</th></tr></thead><tbody>
{{range .Rows}}<tr{{if badrow .}} class="worse"{{end}}><td>{{.Metric}}</td><td>{{val .Current .Unit}}</td><td>{{val .Median .Unit}}</td><td>{{nums .Baseline}}</td><td>{{change .Change .ChangeUnit}}</td><td>{{noise .Noise .P}}</td></tr>
{{end}}</tbody></table>{{end}}
</section>`))

// WriteHTML writes the comparison as a self-contained HTML page: the
// setup, the tables, and charts of the Aggregated per-period p95 and
// throughput of both runs (inline SVG, no script).
func WriteHTML(w io.Writer, r *Result) error {
	return pageTmpl.Execute(w, r)
}

var pageTmpl = template.Must(template.New("page").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>horde compare {{.A.ID}} → {{.B.ID}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child,td:nth-child(2){text-align:left}
tr.worse td{background:#fde2e1}.setup td{background:#fff7d6}
svg{border:1px solid #ddd;margin:.3em 1em .3em 0}
.a{stroke:#1f77b4}.b{stroke:#d62728}
</style></head><body>
<section class="compare" id="compare">
<h1>horde compare</h1>
<p>{{line "A" .A}}<br>{{line "B" .B}}</p>
{{if .Setup}}<h2>Setup differs</h2><p>Read the figures below with this in mind.</p>
<table class="setup"><thead><tr><th>setting</th><th>A</th><th>B</th></tr></thead><tbody>
{{range .Setup}}<tr><td>{{.Field}}</td><td>{{.A}}</td><td>{{.B}}</td></tr>{{end}}
</tbody></table>{{else}}<p>Setup: the same (length, users, spawn rate, scenario, host).</p>{{end}}
<h2>Per period (Aggregated)</h2>
<div class="charts">{{chart "p95 (ms)" "p95" .PeriodsA .PeriodsB}}{{chart "requests/s" "rps" .PeriodsA .PeriodsB}}{{chart "error rate (%)" "error_rate" .PeriodsA .PeriodsB}}</div>
<p><svg width="14" height="4"><line x1="0" y1="2" x2="14" y2="2" class="a" stroke-width="3"/></svg>A {{.A.ID}} <svg width="14" height="4"><line x1="0" y1="2" x2="14" y2="2" class="b" stroke-width="3"/></svg>B {{.B.ID}}; time from each run's first request.</p>
<p>{{note .}}.</p>
<h2>Figures</h2>
<table><thead><tr><th>name</th><th>metric</th><th>A</th><th>B</th><th>change</th><th>noise</th></tr></thead><tbody>
{{range .Names}}{{$n := name .}}{{if .Only}}<tr><td>{{$n}}</td><td colspan="5">only in {{upper .Only}}</td></tr>{{else}}{{range .Diffs}}<tr{{if bad .}} class="worse"{{end}}><td>{{$n}}</td><td>{{.Metric}}</td><td>{{val .A .Unit}}</td><td>{{val .B .Unit}}</td><td>{{change .Change .ChangeUnit}}</td><td>{{noise .Noise .P}}</td></tr>
{{end}}{{end}}{{end}}</tbody></table>
{{if .Target}}<h2>Target</h2><table><thead><tr><th>figure</th><th>A</th><th>B</th><th>change</th><th>check A</th><th>check B</th></tr></thead><tbody>
{{range .Target}}<tr><td>{{.Metric}}</td><td>{{val .A .Unit}}</td><td>{{val .B .Unit}}</td><td>{{change .Change .ChangeUnit}}</td><td>{{.StatusA}}</td><td>{{.StatusB}}</td></tr>{{end}}
</tbody></table>{{end}}
</section></body></html>
`))

// chartSVG draws metric m of two runs' periods against the time from
// each run's first period.
func chartSVG(title, m string, a, b []Period) template.HTML {
	const W, H, pad = 360.0, 160.0, 30.0
	type pt struct{ x, y float64 }
	var series [2][]pt
	maxX, maxY := 1.0, 0.0
	for i, ps := range [][]Period{a, b} {
		for _, p := range ps {
			v := p.Value(m)
			if math.IsNaN(v) || len(ps) == 0 {
				continue
			}
			x := p.T.Sub(ps[0].T).Seconds()
			series[i] = append(series[i], pt{x, v})
			maxX, maxY = math.Max(maxX, x), math.Max(maxY, v)
		}
	}
	if maxY == 0 {
		maxY = 1
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" data-metric="%s" width="%g" height="%g" viewBox="0 0 %g %g"><text x="4" y="12" font-size="11">%s</text>`,
		m, W, H, W, H, template.HTMLEscapeString(title))
	fmt.Fprintf(&sb, `<text x="4" y="%g" font-size="9">%s</text><text x="4" y="%g" font-size="9">0</text>`, pad, num(maxY), H-pad/2)
	for i, s := range series {
		cls := []string{"a", "b"}[i]
		var pts []string
		for _, p := range s {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", pad+p.x/maxX*(W-2*pad), H-pad/2-p.y/maxY*(H-1.5*pad)))
		}
		if len(pts) == 1 {
			pts = append(pts, pts[0]) // a single period: a dot
		}
		if len(pts) > 0 {
			fmt.Fprintf(&sb, `<polyline class="%s" fill="none" stroke-width="2" stroke-linecap="round" points="%s"/>`, cls, strings.Join(pts, " "))
		}
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}
