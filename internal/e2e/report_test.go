//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// reportScenario is a short soak: steady load, the target's memory scraped
// every second, and a threshold on its growth.
const reportScenario = `
users:
  - name: a
    wait: {constant: 20ms}
    tasks:
      - get: /delay/0
monitor:
  interval: 1s
thresholds:
  - "target.memory_growth < 10%"
`

// reportChart is what the page says about one drawn chart.
type reportChart struct {
	ID      string    `json:"id"`
	Ink     int       `json:"ink"`   // pixels drawn on the canvas
	Drawn   []int     `json:"drawn"` // of them, in each series' colour: its line and points
	Series  []string  `json:"series"`
	Points  []int     `json:"points"` // non-null values per series
	Rise    []float64 `json:"rise"`   // last minus first non-null value per series
	Events  int       `json:"events"` // data-events: events the plugin drew
	Markers int       `json:"markers"`
	Kinds   []string  `json:"kinds"` // of the markers
	Tips    []string  `json:"tips"`  // the markers' titles
}

// chartsJS reads every chart of window.hordeReport back from the page,
// pixels included.
const chartsJS = `Object.entries(window.hordeReport.charts).map(([id, u]) => {
	const c = u.ctx.canvas, px = u.ctx.getImageData(0, 0, c.width, c.height).data;
	const rgbs = u.series.slice(1).map((s, i) => {
		const hex = typeof s.stroke === "function" ? s.stroke(u, i + 1) : s.stroke;
		return [1, 3, 5].map(j => parseInt(hex.slice(j, j + 2), 16));
	});
	let ink = 0;
	const drawn = rgbs.map(() => 0);
	for (let i = 0; i < px.length; i += 4) {
		if (px[i + 3] === 0) continue;
		ink++;
		rgbs.forEach((c, k) => {
			const dist = Math.abs(px[i] - c[0]) + Math.abs(px[i + 1] - c[1]) + Math.abs(px[i + 2] - c[2]);
			if (px[i + 3] > 200 && dist < 60) drawn[k]++;
		});
	}
	const vals = u.data.slice(1).map(v => v.filter(x => x != null));
	const markers = [...document.querySelectorAll("#" + id + " .event-marker")];
	return {
		id, ink, drawn,
		series: u.series.slice(1).map(s => s.label),
		points: vals.map(v => v.length),
		rise: vals.map(v => v.length ? v[v.length - 1] - v[0] : 0),
		events: +document.getElementById(id).dataset.events,
		markers: markers.length,
		kinds: markers.flatMap(m => m.dataset.kinds.split(",")),
		tips: markers.map(m => m.title),
	};
})`

// The report a user opens after a soak: a short run against a leaking
// target with its memory scraped, then horde report RUN -o report.html,
// opened from the file in headless Chromium. Every chart is drawn (its
// canvas has pixels in its first series' colour), the memory chart carries the leak check's
// fitted trend (rising), the latency chart the p95 trend, and every chart
// marks the run's events. The page loads nothing.
func TestReport_SoakChartsInBrowser(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(chromiumPath); err != nil {
		skipOrFail(t, "no browser: %v", err) // before the run: the run takes half a minute
	}
	host, admin := startTargetWithAdmin(t, "--leak-bytes-per-second", "2000000")
	dir := t.TempDir()
	file := writeFile(t, dir, "soak.yaml", reportScenario)
	runs := filepath.Join(dir, "runs")
	// 35 s: the latency check's warm-up covers the first full statistics
	// window (10 s), and it fits its trend on what follows.
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "4", "-r", "50", "-t", "35s", "--warmup", "5s",
		"-H", host, "--scrape", "http://"+admin+"/metrics", "--only-summary", "--runs-dir", runs)
	if code := p.wait(t, 60*time.Second); code != 1 {
		t.Errorf("run: exit code %d, want 1 (the memory threshold fails)\n%s\n%s", code, p.stdout, p.stderr)
	}
	id := strings.TrimSuffix(filepath.Base(runFileOf(t, p, dir)), ".db")

	html := filepath.Join(dir, "report.html")
	if code, out, errOut := hordeIn(t, dir, "report", id, "--runs-dir", runs, "-o", html); code != 0 {
		t.Fatalf("report: exit code %d\n%s\n%s", code, out, errOut)
	}

	ctx := newBrowser(t)
	browserDo(t, ctx, "open the report", chromedp.Navigate("file://"+html), chromedp.WaitVisible(chromedp.ID("verdict-table")))
	browserWait(t, ctx, "the charts", `window.hordeReport && window.hordeReport.ready`, 10*time.Second)

	verdicts := browserEval[string](t, ctx, `document.getElementById("verdict-table").innerText`)
	for _, want := range []string{"target.memory_growth < 10%", "memory leak"} {
		if !strings.Contains(verdicts, want) {
			t.Errorf("verdict table lacks %q:\n%s", want, verdicts)
		}
	}
	if got := browserEval[[]string](t, ctx, `performance.getEntriesByType("resource").map(e => e.name)`); len(got) > 0 {
		t.Errorf("the report loaded %v; it must be self-contained", got)
	}

	charts := browserEval[[]reportChart](t, ctx, chartsJS)
	byID := map[string]reportChart{}
	for _, c := range charts {
		byID[c.ID] = c
		t.Logf("%s: %d pixels drawn, series %q with %v points and %v pixels, %d events on %d markers %q",
			c.ID, c.Ink, c.Series, c.Points, c.Drawn, c.Events, c.Markers, c.Kinds)
		if c.Ink == 0 || len(c.Drawn) == 0 || c.Drawn[0] < 100 {
			t.Errorf("%s: %d pixels drawn, %v in the series' colours: the chart was not drawn", c.ID, c.Ink, c.Drawn)
		}
		if len(c.Points) == 0 || c.Points[0] < 5 {
			t.Errorf("%s: first series has %v points, want >= 5", c.ID, c.Points)
		}
		// start, run started, spawn complete (one line: the ramp takes no
		// time), then stopping, stop and verdict (another).
		if c.Events < 6 || c.Markers < 2 {
			t.Errorf("%s: %d events on %d markers, want >= 6 on >= 2", c.ID, c.Events, c.Markers)
		}
		for _, k := range []string{"start", "spawn complete", "stop"} {
			if !slices.Contains(c.Kinds, k) {
				t.Errorf("%s: no %q marker among %q", c.ID, k, c.Kinds)
			}
		}
		if !slices.ContainsFunc(c.Tips, func(s string) bool { return strings.Contains(s, "spawn complete: 4 users") }) {
			t.Errorf("%s: no marker tooltip tells the spawn: %q", c.ID, c.Tips)
		}
	}
	for _, id := range []string{"chart-rps", "chart-times", "chart-users", "chart-memory", "chart-cpu"} {
		if _, ok := byID[id]; !ok {
			t.Errorf("no chart %s (got %d charts)", id, len(charts))
		}
	}
	trend := func(id, prefix string) (points, pixels int, rise float64) {
		c := byID[id]
		for i, s := range c.Series {
			if strings.HasPrefix(s, prefix) && strings.Contains(s, "trend") {
				return c.Points[i], c.Drawn[i], c.Rise[i]
			}
		}
		t.Errorf("%s: no %s trend among %q", id, prefix, c.Series)
		return 0, 0, 0
	}
	if n, px, rise := trend("chart-memory", "process_resident_memory_bytes"); n < 2 || px < 50 || rise <= 0 {
		t.Errorf("memory trend: %d points (%d pixels) rising by %.0f bytes, want a drawn rising line (the target leaks)", n, px, rise)
	}
	if n, _, _ := trend("chart-times", "95th percentile"); n < 2 {
		t.Errorf("p95 trend: %d points, want a line", n)
	}

	// The whole page in one screenshot.
	height := browserEval[int](t, ctx, `document.documentElement.scrollHeight`)
	browserDo(t, ctx, "fit the page", chromedp.EmulateViewport(1280, int64(height)))
	browserScreenshot(t, ctx, "report")
}

// The web UI's /stats/report during a run has what the end-of-run report
// has: the target's memory chart (from the scrape) and the run's events.
func TestReport_WebReportHasTargetAndEvents(t *testing.T) {
	host, admin := startTargetWithAdmin(t)
	dir := t.TempDir()
	p, base := startWeb(t, dir, filepath.Join(repoRoot, "examples", "seed-api.yaml"), host,
		"-u", "2", "-r", "10", "-t", "20s", "--autostart", "--scrape", "http://"+admin+"/metrics")
	time.Sleep(4 * time.Second) // a few ticks and scrapes
	res, err := http.Get(base + "/stats/report")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`"chart-memory"`, `"kind":"run started"`, `"kind":"spawn complete"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/stats/report lacks %s", want)
		}
	}
	if code := p.sigint(t); code != 0 {
		t.Errorf("exit code %d\n%s", code, p.stderr)
	}
}
