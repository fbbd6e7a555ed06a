package soak

import (
	"bufio"
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The real-runtime corpus: memory series recorded from OpenJDK (G1 and
// Parallel GC), Go, Node.js and Python services under horde load
// (testdata/runtimes, README.md there says how). Each is judged as
// recorded (a few minutes sampled every second, a short soak) and with its
// clock slowed RuntimeCompression times (the service allocated that much
// faster than a real one: a 4-minute recording stands for a 2-hour soak
// sampled every 30 s). TestRuntimes prints the table docs/soak.md
// publishes and holds it to the goals:
//
//	go test ./internal/soak -run TestRuntimes -v   # HORDE_SOAK_TABLE=FILE writes it

// RuntimeCompression is how many times faster than a real service the
// recorded ones allocate, leak and collect: a 3-minute recording stands
// for a 90-minute soak, a 6-minute one for 3 hours.
const runtimeCompression = 30

// runtimeLongCompression stretches the same recordings to the issue's
// long soaks: a 4-minute recording sampled every 90 s stands for 6 hours
// (a leak's rate per hour a third of its rate at ×30).
const runtimeLongCompression = 90

type recorded struct {
	name    string // file name without .csv: RUNTIME-CASE
	runtime string
	scase   string // clean, leak-slow, leak-fast, cache, oom
	rss     []Point
	heap    []Point
	start   []Point // process_start_time_seconds
}

func loadRecorded(t *testing.T) []recorded {
	t.Helper()
	// HORDE_SOAK_RUNTIMES_DIR judges recordings elsewhere (a re-recording
	// not yet kept) by the same rules.
	dir := cmp.Or(os.Getenv("HORDE_SOAK_RUNTIMES_DIR"), filepath.Join("testdata", "runtimes"))
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	if len(files) == 0 {
		t.Fatal("no recordings in testdata/runtimes")
	}
	var out []recorded
	only := os.Getenv("HORDE_SOAK_RUNTIMES") // e.g. "go-,java-g1-": these recordings only
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".csv")
		if only != "" && !slices.ContainsFunc(strings.Split(only, ","), func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		r := recorded{name: name}
		for _, c := range []string{"clean", "leak-slow", "leak-fast", "cache", "oom"} {
			if strings.HasSuffix(name, "-"+c) {
				r.scase, r.runtime = c, strings.TrimSuffix(name, "-"+c)
			}
		}
		if r.scase == "" {
			t.Fatalf("%s: unknown case", f)
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		line := 0
		for sc.Scan() {
			line++
			if line == 1 {
				continue // t,rss,heap,start
			}
			cols := strings.Split(sc.Text(), ",")
			if len(cols) != 4 {
				t.Fatalf("%s:%d: %d columns, want 4", f, line, len(cols))
			}
			sec, err := strconv.ParseFloat(cols[0], 64)
			if err != nil {
				t.Fatalf("%s:%d: %v", f, line, err)
			}
			at := t0.Add(time.Duration(sec * float64(time.Second)))
			for i, dst := range []*[]Point{&r.rss, &r.heap, &r.start} {
				if cols[i+1] == "" {
					continue // the sample failed: a gap, as a scrape's
				}
				v, err := strconv.ParseFloat(cols[i+1], 64)
				if err != nil {
					t.Fatalf("%s:%d: %v", f, line, err)
				}
				*dst = append(*dst, Point{T: at, V: v})
			}
		}
		fh.Close()
		out = append(out, r)
	}
	return out
}

// stretch slows pts's clock by k from t0: the same samples, k times
// further apart.
func stretch(pts []Point, k float64) []Point {
	out := make([]Point, len(pts))
	for i, p := range pts {
		out[i] = Point{T: t0.Add(time.Duration(float64(p.T.Sub(t0)) * k)), V: p.V}
	}
	return out
}

// floorGrowth is a recording's lasting growth on its own clock, measured
// apart from the rules under test: after LeakWarmup, the minimum of each
// 15-s stretch, its Theil–Sen line's growth over the window, the level at
// the window's start, and the spread of those minima about the line
// (1.4826 × their median absolute deviation).
func floorGrowth(pts []Point) (growth, base, noise float64) {
	if len(pts) < 2 {
		return 0, 0, 0
	}
	pts, _ = cutWarmup(pts, LeakWarmup(pts[len(pts)-1].T.Sub(pts[0].T)))
	var xs, ys []float64
	for _, p := range pts {
		x := p.T.Sub(pts[0].T).Seconds()
		k := math.Floor(x / 15)
		if len(xs) == 0 || xs[len(xs)-1] != k*15+7.5 {
			xs, ys = append(xs, k*15+7.5), append(ys, p.V)
		}
		ys[len(ys)-1] = min(ys[len(ys)-1], p.V)
	}
	if len(xs) < 3 {
		return 0, 0, 0
	}
	slope, icept := TheilSen(xs, ys)
	res := make([]float64, len(xs))
	for i := range xs {
		res[i] = ys[i] - (icept + slope*(xs[i]-xs[0]))
	}
	m := median(res)
	for i := range res {
		res[i] = math.Abs(res[i] - m)
	}
	return slope * (xs[len(xs)-1] - xs[0]), icept, 1.4826 * median(res)
}

// visibility says, for each leaking recording's metric that did not
// restart, whether the leak shows in it at all: whether its floor grew
// (floorGrowth, on its own clock) more than the same runtime's clean
// recording did in the same metric (the same service without the leak;
// a cache grows by design), by MinGrowth (2 % of its level, the least
// growth any verdict warns on) or more. A JVM
// whose heap was committed whole at its start keeps a flat RSS, leak or
// none: its heap leak does not show in its RSS, and no rule could see it
// there. The table keeps the truth (leak), and says so.
func visibility(recs []recorded) map[string]string {
	type key struct{ runtime, metric string }
	leakFree := map[key]float64{}
	for _, r := range recs {
		if r.scase != "clean" {
			continue
		}
		for m, pts := range map[string][]Point{"rss": r.rss, "heap": r.heap} {
			if len(pts) == 0 {
				continue
			}
			g, _, _ := floorGrowth(pts)
			leakFree[key{r.runtime, m}] = g
		}
	}
	out := map[string]string{}
	for _, r := range recs {
		for m, pts := range map[string][]Point{"rss": r.rss, "heap": r.heap} {
			if len(pts) == 0 || !strings.HasPrefix(r.scase, "leak") {
				continue
			}
			g, base, noise := floorGrowth(pts)
			lf, ok := leakFree[key{r.runtime, m}]
			vis := "yes"
			if ok && g-lf < DefaultMinGrowth/100*base {
				vis = "no"
			}
			out[r.name+" "+m] = fmt.Sprintf("%s (%+.1f MB vs %+.1f MB without a leak, noise %.2f MB)", vis, g/1e6, lf/1e6, noise/1e6)
		}
	}
	return out
}

type runtimeRow struct {
	series, truth, scale, evidence string
	status                         Status
	reason                         string
	restarts                       int
	power                          string
}

func TestRuntimes(t *testing.T) {
	recs := loadRecorded(t)
	var rows []runtimeRow
	var twice int               // leaks that restarted twice or more, with the marker, on their own clock
	var twiceNotFailed []string // those not failed
	for _, r := range recs {
		truth := "no leak"
		if strings.HasPrefix(r.scase, "leak") || r.scase == "oom" {
			truth = "leak"
		}
		restarts := RestartsFromStartTime(r.start)
		if r.scase == "oom" && len(restarts) == 0 {
			t.Errorf("%s: the process was never restarted at its cap", r.name)
		}
		if r.scase != "oom" && len(restarts) > 0 {
			t.Errorf("%s: restarted %d times without a cap", r.name, len(restarts))
		}
		type metric struct {
			name string
			pts  []Point
			kind Kind
		}
		// Each series is judged with the kind its exporter's name gives
		// (as `horde run` and `horde analyze` judge it): the process
		// collector's RSS, and the runtime's heap metric.
		heapName := map[string]string{
			"go": "go_memstats_heap_inuse_bytes", "go-live": "go_gc_heap_live_bytes", "java-g1": `sum(jvm_memory_used_bytes{area="heap"})`,
			"java-parallel": `sum(jvm_memory_used_bytes{area="heap"})`, "java-parallel-live": "jvm_gc_live_data_size_bytes",
			"node": "nodejs_heap_size_used_bytes",
		}[r.runtime]
		ms := []metric{{"rss", r.rss, KindOf("process_resident_memory_bytes")}}
		if len(r.heap) > 0 {
			ms = append(ms, metric{"heap", r.heap, KindOf(heapName)})
		}
		for _, m := range ms {
			if want := map[string]Kind{"rss": KindOS, "heap": KindHeap}[m.name]; m.kind != want {
				t.Errorf("%s %s: KindOf(its metric's name) = %q, want %q", r.name, m.name, m.kind, want)
			}
		}
		for _, m := range ms {
			for _, k := range []float64{1, runtimeCompression, runtimeLongCompression} {
				scale := "as recorded"
				if k > 1 {
					scale = fmt.Sprintf("×%d", int(k))
				}
				pts := stretch(m.pts, k)
				if promView {
					pts = promRange(pts) // as `horde analyze --prometheus` reads it
				}
				// With the start-time marker (scraped beside every
				// series), and, for the OS-level series, without it:
				// its drops alone must tell the restarts.
				at := make([]time.Time, 0, len(restarts))
				for _, x := range restarts {
					at = append(at, t0.Add(time.Duration(float64(x.Sub(t0))*k)))
				}
				evidences := []string{"start time"}
				if m.kind == KindOS || r.scase != "oom" {
					evidences = append(evidences, "none")
				}
				for _, ev := range evidences {
					o := LeakOptions{Kind: m.kind}
					if ev == "start time" {
						o.Restarts, o.RestartEvidence = at, "process_start_time_seconds"
					}
					res := Leak(r.name+" "+m.name, pts, o)
					power := ""
					if res.DetectableSlopePerSec > 0 {
						power = FormatRate(res.DetectableSlopePerSec, UnitBytes, res.Window)
					}
					rows = append(rows, runtimeRow{series: r.name + " " + m.name, truth: truth, scale: scale, evidence: ev,
						status: res.Status, reason: res.Reason, restarts: res.Restarts, power: power})
					if testing.Verbose() {
						t.Logf("%-28s %-11s %-10s %-12s %s", r.name+" "+m.name, scale, ev, res.Status, res.Reason)
					}
					// The goals that hold for every series: no leak-free
					// series fails; a heap is never called restarted from
					// its own drops; a leak that restarted twice or more,
					// with its marker, is flagged on its own clock, and
					// fails there (counted below: one warns since the JVM
					// re-recording).
					switch {
					case truth == "no leak" && res.Status == Fail:
						t.Errorf("%s %s (%s, %s): a leak-free series failed: %s", r.name, m.name, scale, ev, res.Reason)
					case m.kind == KindHeap && ev == "none" && res.Restarts > 0:
						t.Errorf("%s heap (%s): called restarted from its own drops: %s", r.name, scale, res.Reason)
					case r.scase == "oom" && ev == "start time" && k == 1 && len(restarts) >= 2 && res.Status != Fail && res.Status != Warn:
						t.Errorf("%s %s (%s): a leak that restarted %d times was not flagged: %s", r.name, m.name, scale, len(restarts), res.Reason)
					}
					if r.scase == "oom" && ev == "start time" && k == 1 && len(restarts) >= 2 {
						twice++
						if res.Status != Fail {
							twiceNotFailed = append(twiceNotFailed, r.name+" "+m.name+": "+res.Reason)
						}
					}
				}
			}
		}
	}
	// Measured: 8 of 8 fail (7 of 8 before issue #25's fourth part:
	// java-g1-oom heap warned, its segments slowing near the cap).
	if len(twiceNotFailed) > 0 {
		t.Errorf("%d of %d leaks that restarted twice or more not failed on their own clock with their marker (want none):\n%s",
			len(twiceNotFailed), twice, strings.Join(twiceNotFailed, "\n"))
	}
	// The rates, over every leak and every leak-free series, on each
	// clock, with the marker: published in docs/soak.md. A leak that does
	// not show in its metric (visibility) is counted among the leaks, and
	// the rate over those where it shows is given beside it.
	vis := visibility(recs)
	type rates struct{ leaks, flaggedLeaks, visible, flaggedVisible, clean, flaggedClean, failedClean int }
	rateOf := func(scale string) rates {
		var x rates
		for _, row := range rows {
			if row.scale != scale || row.evidence != "start time" {
				continue
			}
			flagged := row.status == Warn || row.status == Fail
			if row.truth == "leak" && !strings.Contains(row.series, "-oom") {
				x.leaks++
				visible := strings.HasPrefix(vis[row.series], "yes")
				if visible {
					x.visible++
				}
				if flagged {
					x.flaggedLeaks++
					if visible {
						x.flaggedVisible++
					}
				}
			}
			if row.truth == "no leak" {
				x.clean++
				if flagged {
					x.flaggedClean++
				}
				if row.status == Fail {
					x.failedClean++
				}
			}
		}
		return x
	}
	sumText := func(scale string, x rates) string {
		return fmt.Sprintf("%s: %d of %d leaking series flagged (%.0f%%), %d of the %d where the leak shows in the metric (%.0f%%); %d of %d leak-free series flagged (%.0f%%), %d failed",
			scale, x.flaggedLeaks, x.leaks, pct(x.flaggedLeaks, x.leaks), x.flaggedVisible, x.visible, pct(x.flaggedVisible, x.visible),
			x.flaggedClean, x.clean, pct(x.flaggedClean, x.clean), x.failedClean)
	}
	compressed, own := rateOf(fmt.Sprintf("×%d", runtimeCompression)), rateOf("as recorded")
	long := rateOf(fmt.Sprintf("×%d", runtimeLongCompression))
	summary := sumText(fmt.Sprintf("at ×%d", runtimeCompression), compressed) + "\n" +
		sumText(fmt.Sprintf("at ×%d", runtimeLongCompression), long) + "\n" + sumText("as recorded", own)
	t.Log(summary)
	// The goals are 90 % flagged and 5 % (1 % failed). Measured
	// on this corpus (issue #25, fourth part): at ×30, 14 of 18 leaks
	// flagged (78 %), all 14 that show in their metric (the four leaking
	// JVM RSS series are flat, their heap committed whole);
	// as recorded, 9 of 18 (50 %), 9 of 14 (64 %); no leak-free series
	// flagged on either clock. At ×90 (6-hour soaks, measured when that
	// clock was added): 13 of 18 (72 %), 13 of 14 (93 %); 12 of 18 (67 %),
	// 12 of 14 (86 %) since the envelope's major drops (issue #25, sixth
	// part): java-g1-leak-slow heap, +1.4 %/h over 6 h (under the goals'
	// 2 %/h), reads "levelled off" there; go-leak-slow rss, whose pace fell
	// in the recording, reads "slowing" and is inconclusive (docs/soak.md).
	// The go-live and java-parallel-live recordings (issue #25's thirtieth
	// part: go_gc_heap_live_bytes and jvm_gc_live_data_size_bytes, gauges
	// held between collections) added eight leaks, six of which show (the
	// JVM's RSS does not, its heap committed whole): 20 of 26 (77 %) and 20
	// of 20 on both slowed clocks; as recorded 10 of 26 (38 %) and 10 of 20
	// (50 %), the live gauges' leaks and go-live-leak-slow rss inconclusive
	// over 2–4 minutes as other heaps'.
	// The thresholds are what is measured, so
	// that the rules do not get worse on it; docs/soak.md says which
	// series are missed and why.
	for _, c := range []struct {
		name                 string
		x                    rates
		leaks, visible, free float64
	}{{"at ×30", compressed, 76, 100, 5}, {"at ×90", long, 66, 85, 5}, {"as recorded", own, 38, 50, 5}} {
		if pct(c.x.flaggedLeaks, c.x.leaks) < c.leaks {
			t.Errorf("%s: want at least %.0f%% of the leaks flagged", sumText(c.name, c.x), c.leaks)
		}
		if pct(c.x.flaggedVisible, c.x.visible) < c.visible {
			t.Errorf("%s: want at least %.0f%% of the leaks that show in their metric flagged", sumText(c.name, c.x), c.visible)
		}
		if pct(c.x.flaggedClean, c.x.clean) > c.free || c.x.failedClean > 0 {
			t.Errorf("%s: want at most %.0f%% of the leak-free series flagged, none failed", sumText(c.name, c.x), c.free)
		}
	}
	// Which leaks show in their metric: measured from the data, not
	// assumed (the four leaking JVM RSS series do not).
	for series, v := range vis {
		want := !strings.HasPrefix(series, "java-") || strings.HasSuffix(series, " heap")
		if strings.HasPrefix(v, "yes") != want {
			t.Errorf("%s: visibility %s, measured when this test was written: %v", series, v, want)
		}
	}
	// A leak killed at its cap, with its marker, is flagged on both
	// clocks (measured: 18 of 18 fail since issue #25's fourth part; 17
	// of 18 flagged before, java-g1-oom heap at ×30 passing).
	oomFailed, ooms := 0, 0
	for _, row := range rows {
		if strings.Contains(row.series, "-oom") && row.evidence == "start time" {
			ooms++
			if row.status == Fail {
				oomFailed++
			}
		}
	}
	if oomFailed < ooms {
		t.Errorf("%d of %d leaks killed at their cap failed with their marker: want all", oomFailed, ooms)
	}
	if f := os.Getenv("HORDE_SOAK_TABLE"); f != "" {
		// One row a series: its verdict on each clock, with the restart
		// marker and (when a drop may be a restart) without it.
		type key struct{ series, scale, evidence string }
		got := map[key]runtimeRow{}
		var order []string
		for _, row := range rows {
			if _, ok := got[key{row.series, "as recorded", "start time"}]; !ok && row.scale == "as recorded" && row.evidence == "start time" {
				order = append(order, row.series)
			}
			got[key{row.series, row.scale, row.evidence}] = row
		}
		slices.Sort(order)
		cell := func(series, scale, ev string) string {
			r, ok := got[key{series, scale, ev}]
			if !ok {
				return "—"
			}
			if r.restarts > 0 {
				if r.restarts == 1 {
					return fmt.Sprintf("%s (1 restart)", r.status)
				}
				return fmt.Sprintf("%s (%d restarts)", r.status, r.restarts)
			}
			return string(r.status)
		}
		var b strings.Builder
		b.WriteString("| series | truth | leak shows in the metric | as recorded, marker | as recorded, no marker | ×30, marker | ×30, no marker | ×30 would fail from | ×90, marker | ×90, no marker | ×90 would fail from |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, sr := range order {
			x := got[key{sr, "×30", "start time"}]
			shows := cmp.Or(vis[sr], "—")
			if strings.Contains(sr, "-oom") {
				shows = "yes (restarts)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", sr, x.truth, shows,
				cell(sr, "as recorded", "start time"), cell(sr, "as recorded", "none"),
				cell(sr, "×30", "start time"), cell(sr, "×30", "none"), x.power,
				cell(sr, "×90", "start time"), cell(sr, "×90", "none"), got[key{sr, "×90", "start time"}].power)
		}
		b.WriteString("\n" + strings.ReplaceAll(summary, "\n", "\n\n") + "\n")
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b) * 100
}
