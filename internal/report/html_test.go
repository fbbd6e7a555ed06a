package report

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/stats"
)

func writeTestHTML(t *testing.T) string {
	t.Helper()
	s := testSnapshot()
	s.Entries = append(s.Entries, s.Entries[0])
	s.Entries[3].Name = "/<script>alert(1)</script>"
	var b strings.Builder
	if err := WriteHTML(&b, withSoak(testInfo()), s, testHistory()); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// withSoak adds what a soak run records: the target's memory (growing 1 MB
// every 10 s, with the leak check's trend from 20 s on), its CPU counter
// and goroutines, the events, and the degradation check's p95 trend.
func withSoak(info Info) Info {
	const src = "http://127.0.0.1:9091/metrics "
	mem := TargetSeries{Series: series.Series{Name: src + "process_resident_memory_bytes", Metric: "process_resident_memory_bytes", Memory: true}}
	cpu := TargetSeries{Series: series.Series{Name: src + "process_cpu_seconds_total", Metric: "process_cpu_seconds_total"}}
	gor := TargetSeries{Series: series.Series{Name: src + "go_goroutines", Metric: "go_goroutines"}}
	for i := range 6 {
		t := testStart.Add(time.Duration(i) * 10 * time.Second)
		mem.Points = append(mem.Points, series.Point{T: t, V: 50e6 + 1e6*float64(i)})
		cpu.Points = append(cpu.Points, series.Point{T: t, V: 2.5 * float64(i)}) // a quarter of a core
		gor.Points = append(gor.Points, series.Point{T: t, V: 12})
	}
	mem.Trend = &Trend{From: testStart.Add(20 * time.Second), To: testStart.Add(50 * time.Second), Start: 52e6, SlopePerSec: 1e5, Note: "fail, +5.8% over 30s"}
	info.Target = []TargetSeries{mem, cpu, gor}
	info.Events = []stats.Event{
		{T: testStart, Kind: "start"},
		{T: testStart.Add(30 * time.Second), Kind: "spawn complete", Detail: "20 users"},
		{T: testStart.Add(40 * time.Second), Kind: "threshold breached", Detail: "p95 < 10ms </script><b>"},
		{T: testNow, Kind: "stop"},
		{T: testNow, Kind: "verdict", Detail: "failed, exit code 1"},
	}
	info.P95Trend = &Trend{From: testStart.Add(20 * time.Second), To: testStart.Add(50 * time.Second), Start: 40, SlopePerSec: 2, Note: "+150% last quarter vs first"}
	return info
}

func TestWriteHTML_golden(t *testing.T) {
	golden(t, "report.golden.html", []byte(writeTestHTML(t)))
}

func TestWriteHTML_selfContained(t *testing.T) {
	out := writeTestHTML(t)
	lower := strings.ToLower(out)
	for _, bad := range []string{`src="http`, `href="http`, `src='http`, `href='http`, `@import`, `url(http`, `url("http`, `url('http`, `src="//`, `href="//`} {
		if strings.Contains(lower, bad) {
			t.Errorf("report contains %q: it must not load anything from another host", bad)
		}
	}
	// Every <script> is inline.
	if m := regexp.MustCompile(`<script[^>]*\ssrc=`).FindString(lower); m != "" {
		t.Errorf("report has an external script: %q", m)
	}
	if m := regexp.MustCompile(`<link[^>]*>`).FindString(lower); m != "" {
		t.Errorf("report has a <link>: %q", m)
	}
	for _, want := range []string{uPlotJS[:200], "var uPlot=function()", ".uplot", "new uPlot("} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not contain %.60q", want)
		}
	}
}

func TestWriteHTML_escapes(t *testing.T) {
	out := writeTestHTML(t)
	if strings.Contains(out, "<script>alert(1)</script>") {
		t.Error("a name or title with <script> was not escaped")
	}
	for _, want := range []string{
		"/&lt;script&gt;alert(1)&lt;/script&gt;",                             // entry name
		"<title>Checkout &lt;script&gt;alert(1)&lt;/script&gt; load</title>", // title
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not contain %q", want)
		}
	}
	// The script tags are ours: uPlot and the chart code.
	if got := strings.Count(out, "<script>"); got != 2 {
		t.Errorf("got %d <script> tags, want 2", got)
	}
}

func TestWriteHTML_tables(t *testing.T) {
	out := writeTestHTML(t)
	section := func(id string) string {
		i := strings.Index(out, `<table id="`+id+`">`)
		if i < 0 {
			t.Fatalf("no table %q", id)
		}
		j := strings.Index(out[i:], "</table>")
		return out[i : i+j]
	}
	tests := []struct {
		table, row string
		want       int
	}{
		{"request-stats", `<tr class="entry">`, 4},
		{"request-stats", `<tr class="total">`, 1},
		{"response-times-table", `<tr class="entry">`, 4},
		{"response-times-table", `<tr class="total">`, 1},
		{"failures-table", `<tr class="error">`, 1},
		{"exceptions-table", `<tr class="exception">`, 1},
		{"ratio-table", `<tr class="class">`, 2},
		{"ratio-table", `<tr class="task">`, 3},
	}
	for _, tt := range tests {
		if got := strings.Count(section(tt.table), tt.row); got != tt.want {
			t.Errorf("table %s: got %d rows %s, want %d", tt.table, got, tt.row, tt.want)
		}
	}
	for _, want := range []string{
		`<tr class="task"><td class="text task">items</td><td>3</td><td></td><td>75.0%</td><td>56.2%</td></tr>`,
		`<tr class="class"><td class="text">Browser</td><td>3</td><td>15</td><td>75.0%</td><td>75.0%</td></tr>`,
		`<span class="fail">FAIL</span> (exit code 1)`,
		"<th>99.99%ile (ms)</th>",
		`<td class="text">/empty</td><td>N/A</td>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not contain %q", want)
		}
	}
}

func TestWriteHTML_noHistory(t *testing.T) {
	var b strings.Builder
	if err := WriteHTML(&b, Info{}, testSnapshot(), nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script>") {
		t.Error("a report without history should not carry the chart code")
	}
	for _, want := range []string{"No history was recorded.", "<title>horde report</title>", `<span class="pass">PASS</span>`} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not contain %q", want)
		}
	}
}

// The shape's target is drawn beside the actual values: target users on the
// users chart in the closed model, the target rate on the requests chart in
// the open one.
func TestWriteHTML_target(t *testing.T) {
	out := writeTestHTML(t)
	for _, want := range []string{
		`"target_users":[20,20,20,20,20]`, `"target_rate":[null,null,null,null,null]`,
		`["Target users", "#9e9e9e", true]`, `d.target_users`, `d.target_rate`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("closed-model report does not contain %q", want)
		}
	}
	hist := testHistory()
	for i := range hist {
		hist[i].Open, hist[i].Target = true, 2000
	}
	var b strings.Builder
	if err := WriteHTML(&b, withSoak(testInfo()), testSnapshot(), hist); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"target_users":[null,null,null,null,null]`, `"target_rate":[2000,2000,2000,2000,2000]`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("open-model report does not contain %q", want)
		}
	}
	// A history without the target (read back from a run file) draws none.
	for i := range hist {
		hist[i].Open, hist[i].Target = false, 0
	}
	b.Reset()
	if err := WriteHTML(&b, testInfo(), testSnapshot(), hist); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"target_users":[null,null,null,null,null]`, `"target_rate":[null,null,null,null,null]`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report without a target does not contain %q", want)
		}
	}
}

// The chart data of a soak run: the target's memory with its fitted trend
// over the window judged, CPU as cores in use, other metrics, the p95
// trend, the events, and one time span for every chart.
func TestWriteHTML_soakCharts(t *testing.T) {
	out := writeTestHTML(t)
	i := strings.Index(out, "var d = ")
	if i < 0 {
		t.Fatal("no chart data")
	}
	var d htmlChart
	if err := json.NewDecoder(strings.NewReader(out[i+len("var d = "):])).Decode(&d); err != nil {
		t.Fatalf("chart data: %v", err)
	}
	f := func(v float64) *float64 { return &v }
	t0 := float64(testStart.Unix())
	want := []TargetChart{
		{ID: "chart-memory", Title: "Target memory", Unit: "bytes", T: []float64{t0, t0 + 10, t0 + 20, t0 + 30, t0 + 40, t0 + 50}, Series: []ChartSeries{
			{Label: "process_resident_memory_bytes", V: []*float64{f(50e6), f(51e6), f(52e6), f(53e6), f(54e6), f(55e6)}},
			{Label: "process_resident_memory_bytes trend (Theil–Sen): fail, +5.8% over 30s", Trend: true, V: []*float64{nil, nil, f(52e6), f(53e6), f(54e6), f(55e6)}},
		}},
		{ID: "chart-cpu", Title: "Target CPU", Unit: "cores", T: []float64{t0 + 10, t0 + 20, t0 + 30, t0 + 40, t0 + 50}, Series: []ChartSeries{
			{Label: "process_cpu_seconds_total (cores)", V: []*float64{f(0.25), f(0.25), f(0.25), f(0.25), f(0.25)}},
		}},
		{ID: "chart-target-other", Title: "Target: go_goroutines", Unit: "count", T: []float64{t0, t0 + 10, t0 + 20, t0 + 30, t0 + 40, t0 + 50}, Series: []ChartSeries{
			{Label: "go_goroutines", V: []*float64{f(12), f(12), f(12), f(12), f(12), f(12)}},
		}},
	}
	if diff := cmp.Diff(want, d.Target); diff != "" {
		t.Errorf("target charts (-want +got):\n%s", diff)
	}
	// History points are at 10..50 s; the trend covers 20..50 s.
	if diff := cmp.Diff([]*float64{nil, f(40), f(60), f(80), f(100)}, d.P95Trend); diff != "" {
		t.Errorf("p95 trend (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*float64{f(0), f(0.5), f(1), f(1.5), f(2)}, d.SchedDelay); diff != "" {
		t.Errorf("the load generator's delay (-want +got):\n%s", diff)
	}
	if got, want := d.P95TrendLabel, "95th percentile trend (Theil–Sen): +150% last quarter vs first"; got != want {
		t.Errorf("p95 trend label: got %q, want %q", got, want)
	}
	if len(d.Events) != 5 || d.Events[2].Kind != "threshold breached" || d.Events[2].Detail != "p95 < 10ms </script><b>" || d.Events[0].T != t0 {
		t.Errorf("events: got %+v", d.Events)
	}
	if d.XMin != t0 || d.XMax != float64(testNow.Unix()) {
		t.Errorf("span %v..%v, want %v..%v (start event to stop event)", d.XMin, d.XMax, t0, testNow.Unix())
	}
	for _, id := range []string{"chart-rps", "chart-times", "chart-users", "chart-memory", "chart-cpu", "chart-target-other"} {
		if !strings.Contains(out, `<div class="chart" id="`+id+`"></div>`) {
			t.Errorf("no chart element %s", id)
		}
	}
}

// Without a history, a run with target samples still gets the target's
// charts; without either, no chart code at all.
func TestWriteHTML_targetOnly(t *testing.T) {
	info := withSoak(Info{})
	var b strings.Builder
	if err := WriteHTML(&b, info, testSnapshot(), nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, `id="chart-rps"`) || !strings.Contains(out, `id="chart-memory"`) || strings.Count(out, "<script>") != 2 {
		t.Errorf("a report with target samples and no history: want only the target charts")
	}
	if strings.Contains(out, `"p95_trend"`) {
		t.Errorf("a p95 trend without a history to draw it on")
	}
}

func TestCPURate(t *testing.T) {
	at := func(s float64) time.Time { return testStart.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name string
		in   []series.Point
		want []series.Point
	}{
		{"none", nil, nil},
		{"one", []series.Point{{T: at(0), V: 1}}, nil},
		{"steady half core", []series.Point{{T: at(0), V: 10}, {T: at(2), V: 11}, {T: at(4), V: 12}}, []series.Point{{T: at(2), V: 0.5}, {T: at(4), V: 0.5}}},
		// A last sample 10 ms after the previous one would read 2 cores
		// from one 20 ms tick of the counter: it is left out.
		{"short last interval", []series.Point{{T: at(0), V: 0}, {T: at(1), V: 0.5}, {T: at(2), V: 1}, {T: at(2.01), V: 1.02}}, []series.Point{{T: at(1), V: 0.5}, {T: at(2), V: 0.5}}},
		{"reset", []series.Point{{T: at(0), V: 5}, {T: at(1), V: 6}, {T: at(2), V: 0.5}, {T: at(3), V: 1}}, []series.Point{{T: at(1), V: 1}, {T: at(3), V: 0.5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, cpuRate(tt.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A resumed run's charts break at the gap in its recording, and only there.
func TestWriteHTML_gapBreaksTheLines(t *testing.T) {
	start := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	var hist []stats.Tick
	for _, sec := range []int{0, 2, 4, 6, 180, 182, 184} { // no master from 6 s to 180 s
		hist = append(hist, stats.Tick{Time: start.Add(time.Duration(sec) * time.Second), RPS: 10, Users: 5, P50Ms: 3, P95Ms: 4, P99Ms: 5})
	}
	var b strings.Builder
	if err := WriteHTML(&b, Info{Start: start, End: start.Add(184 * time.Second)}, &stats.Snapshot{}, hist); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`"rps":[10,10,10,10,null,10,10,10]`, `"users":[5,5,5,5,null,5,5,5]`, `"gaps":[1767366006.001]`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in the chart data", want)
		}
	}
}

// One metric per chart, with its unit from its name; a process's start
// time is an event marker ("target started"), and so is a restarts
// counter's rise ("target restarted"), not a line.
func TestWriteHTML_oneMetricPerChart(t *testing.T) {
	start := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	restart := start.Add(25 * time.Second)
	pts := func(f func(i int) float64) []series.Point {
		var out []series.Point
		for i := range 6 {
			out = append(out, series.Point{T: start.Add(time.Duration(i*10) * time.Second), V: f(i)})
		}
		return out
	}
	info := Info{Start: start, End: start.Add(60 * time.Second), Target: []TargetSeries{
		{Series: series.Series{Name: "go_goroutines", Metric: "go_goroutines", Points: pts(func(int) float64 { return 10 })}},
		{Series: series.Series{Name: "process_start_time_seconds", Metric: "process_start_time_seconds", Points: pts(func(i int) float64 {
			if i < 3 {
				return float64(start.Add(-time.Hour).Unix()) // before the run: no event
			}
			return float64(restart.Unix())
		})}},
		{Series: series.Series{Name: "http_request_duration_seconds_sum", Metric: "http_request_duration_seconds_sum", Points: pts(func(i int) float64 { return float64(i) })}},
		// a restarts counter: an event at its rise, no line
		{Series: series.Series{Name: `horde_container_restarts_total container_memory_usage_bytes{pod="p"}`, Metric: "horde_container_restarts_total", Points: pts(func(i int) float64 { return float64(i / 4) })}},
	}}
	var b strings.Builder
	if err := WriteHTML(&b, info, &stats.Snapshot{}, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var d htmlChart
	if err := json.NewDecoder(strings.NewReader(out[strings.Index(out, "var d = ")+len("var d = "):])).Decode(&d); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range d.Target {
		got = append(got, c.ID+" "+c.Title+" ["+c.Unit+"]")
	}
	want := []string{"chart-target-other Target: go_goroutines [count]", "chart-target-other-2 Target: http_request_duration_seconds_sum [seconds]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("charts (-want +got):\n%s", diff)
	}
	if len(d.Events) != 2 || d.Events[0].Kind != "target started" || d.Events[0].T != float64(restart.Unix()) ||
		d.Events[1].Kind != "target restarted" || d.Events[1].T != float64(start.Add(40*time.Second).Unix()) {
		t.Errorf("events: got %+v, want one target started at the restart and one target restarted at the counter's rise", d.Events)
	}
}
