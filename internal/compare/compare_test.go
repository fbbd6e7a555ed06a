package compare

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

func TestMannWhitney(t *testing.T) {
	// Exact: x all below y, 5 and 5: P(U=0) = 1/C(10,5) = 1/252, two-sided 2/252.
	x := []float64{1, 2, 3, 4, 5}
	y := []float64{6, 7, 8, 9, 10}
	if got, want := MannWhitney(x, y), 2.0/252; math.Abs(got-want) > 1e-12 {
		t.Errorf("separated 5/5: got p %v, want %v", got, want)
	}
	if got := MannWhitney(x, x); got < 0.99 {
		t.Errorf("same samples (ties): got p %v, want about 1", got)
	}
	// Interleaved: no difference.
	if got := MannWhitney([]float64{1, 3, 5, 7, 9}, []float64{2, 4, 6, 8, 10}); got < 0.5 {
		t.Errorf("interleaved: got p %v, want large", got)
	}
	// Normal approximation for larger samples, shifted by one sd.
	rng := rand.New(rand.NewPCG(1, 2))
	var a, b []float64
	for range 60 {
		a = append(a, rng.NormFloat64())
		b = append(b, rng.NormFloat64()+1)
	}
	if got := MannWhitney(a, b); got > 1e-4 {
		t.Errorf("shift of 1 sd, 60/60: got p %v, want < 1e-4", got)
	}
	if !math.IsNaN(MannWhitney(nil, b)) {
		t.Error("empty sample: want NaN")
	}
}

// TestMannWhitney_FalsePositives: two samples of one distribution are
// called apart at about Alpha of the time, not more.
func TestMannWhitney_FalsePositives(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	apart := 0
	const n = 2000
	for range n {
		var a, b []float64
		for range 10 {
			a = append(a, rng.ExpFloat64())
			b = append(b, rng.ExpFloat64())
		}
		if MannWhitney(a, b) < Alpha {
			apart++
		}
	}
	if rate := float64(apart) / n; rate > 2*Alpha {
		t.Errorf("same distribution called apart %.2f%% of the time, want about %g%%", rate*100, Alpha*100)
	}
}

func TestEDivisive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	noisy := func(level float64, n int) []float64 {
		var out []float64
		for range n {
			out = append(out, level*(1+0.02*rng.NormFloat64()))
		}
		return out
	}
	step := append(noisy(100, 8), noisy(120, 8)...)
	got := EDivisive(step, HistoryOptions{})
	if len(got) != 1 || got[0].At != 8 {
		t.Fatalf("a +20%% step after 8 runs: got %+v, want one change point at 8", got)
	}
	if got := EDivisive(noisy(100, 20), HistoryOptions{}); len(got) != 0 {
		t.Errorf("no change, 2%% noise: got %+v, want none", got)
	}
	// A slow drift: +2% a run over 16 runs is found somewhere.
	var drift []float64
	for i := range 16 {
		drift = append(drift, 100*(1+0.02*float64(i))*(1+0.005*rng.NormFloat64()))
	}
	if got := EDivisive(drift, HistoryOptions{}); len(got) == 0 {
		t.Errorf("a drift of +30%% over 16 runs: no change point")
	}
	if got := EDivisive([]float64{1, 2, 3}, HistoryOptions{}); len(got) != 0 {
		t.Errorf("too short: got %+v", got)
	}
}

// fakeRun is a run whose Aggregated p95 and per-period p95 are given.
func fakeRun(id string, started time.Time, p95 float64, periods []float64) *Run {
	f := Figures{Name: stats.AggregatedName, Requests: 1000, RPS: 50, P50: p95 / 2, P95: p95, P99: p95 * 1.2, Max: p95 * 2}
	for i, v := range periods {
		f.Periods = append(f.Periods, Period{T: started.Add(time.Duration(i) * 10 * time.Second), Requests: 500, RPS: 50, P50: v / 2, P95: v, P99: v * 1.2, Max: v * 2})
	}
	return &Run{Setup: Setup{ID: id, Started: started, Ended: started.Add(time.Minute), Users: 5, SpawnRate: 5}, PeriodLen: 10 * time.Second, Names: []Figures{f}}
}

func mustThreshold(t *testing.T, s string) *scenario.Threshold {
	t.Helper()
	th, err := scenario.ParseThreshold(s)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestRegress(t *testing.T) {
	t0 := time.Date(2026, 1, 4, 3, 0, 0, 0, time.UTC)
	base := &Baseline{Spec: Spec{Last: 3}, Runs: []*Run{
		fakeRun("w1", t0, 100, nil), fakeRun("w2", t0.Add(168*time.Hour), 102, nil), fakeRun("w3", t0.Add(336*time.Hour), 99, nil),
	}}
	th := mustThreshold(t, "regression(p95) < 10%")
	cur := func(p95 float64) *Run { return fakeRun("now", t0.Add(504*time.Hour), p95, nil) }
	tests := []struct {
		name string
		run  *Run
		base *Baseline
		want soak.Status
	}{
		{"same", cur(101), base, soak.Pass},
		{"+20%", cur(120), base, soak.Fail},
		{"faster", cur(80), base, soak.Pass},
		{"no baseline fits", cur(120), &Baseline{Spec: Spec{Last: 3}, Note: "none fits"}, soak.Warn},
		{"no --baseline", cur(120), nil, soak.Warn},
		// A baseline run as bad as this one: within the baseline's spread.
		{"within spread", cur(120), &Baseline{Spec: Spec{Last: 3}, Runs: []*Run{fakeRun("w1", t0, 100, nil), fakeRun("w2", t0, 100, nil), fakeRun("w3", t0, 125, nil)}}, soak.Warn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Regress(th, tt.run, tt.base)
			if r.Status != tt.want {
				t.Errorf("got %s (%s), want %s", r.Status, r.Reason, tt.want)
			}
			if tt.base != nil && len(tt.base.Runs) > 0 && !strings.Contains(r.Reason, "w1, w2, w3") {
				t.Errorf("reason %q does not name the baseline runs", r.Reason)
			}
		})
	}
	// With enough periods, the rank test decides: a +15% change whose
	// periods overlap the baseline's is within the noise.
	rng := rand.New(rand.NewPCG(7, 8))
	periods := func(level, spread float64) []float64 {
		var out []float64
		for range 12 {
			out = append(out, level+spread*rng.NormFloat64())
		}
		return out
	}
	noisy := &Baseline{Spec: Spec{Last: 2}, Runs: []*Run{fakeRun("w1", t0, 100, periods(100, 40)), fakeRun("w2", t0, 101, periods(100, 40))}}
	if r := Regress(th, fakeRun("now", t0.Add(time.Hour), 115, periods(100, 40)), noisy); r.Status != soak.Warn || r.Noise != Within {
		t.Errorf("overlapping periods: got %s, noise %s (%s), want warn within noise", r.Status, r.Noise, r.Reason)
	}
	if r := Regress(th, fakeRun("now", t0.Add(time.Hour), 160, periods(160, 5)), noisy); r.Status != soak.Fail || r.Noise != Beyond {
		t.Errorf("separate periods: got %s, noise %s (%s), want fail beyond noise", r.Status, r.Noise, r.Reason)
	}
}

func TestRegress_ErrorRateAndMemory(t *testing.T) {
	t0 := time.Date(2026, 1, 4, 3, 0, 0, 0, time.UTC)
	mk := func(id string, errRate, memPerHour float64) *Run {
		r := fakeRun(id, t0, 100, nil)
		r.Names[0].ErrorRate = errRate
		r.Target = []Target{{Name: "memory_growth", Series: "rss", Unit: "%/h", Value: memPerHour, Valid: true, Status: "pass"}}
		return r
	}
	base := &Baseline{Spec: Spec{Last: 2}, Runs: []*Run{mk("a", 0.1, 0.5), mk("b", 0.2, 0.4)}}
	if r := Regress(mustThreshold(t, "regression(error_rate) < 0.5%"), mk("c", 1.0, 0.5), base); r.Status != soak.Fail || math.Abs(r.Change-0.85) > 1e-9 {
		t.Errorf("error rate 0.15%% → 1%%: got %s, change %v (%s)", r.Status, r.Change, r.Reason)
	}
	if r := Regress(mustThreshold(t, "regression(target.memory_growth) < 1%/h"), mk("c", 0.1, 3), base); r.Status != soak.Fail || math.Abs(r.Change-2.55) > 1e-9 {
		t.Errorf("memory 0.45 → 3 %%/h: got %s, change %v (%s)", r.Status, r.Change, r.Reason)
	}
	if r := Regress(mustThreshold(t, "regression(target.memory_growth) < 1%/h"), mk("c", 0.1, 0.9), base); r.Status != soak.Pass {
		t.Errorf("memory 0.45 → 0.9 %%/h: got %s (%s)", r.Status, r.Reason)
	}
}

func TestSelect(t *testing.T) {
	t0 := time.Date(2026, 1, 4, 3, 0, 0, 0, time.UTC)
	s := func(id string, day int, mod func(*Setup)) Setup {
		x := Setup{ID: id, Started: t0.AddDate(0, 0, day), Ended: t0.AddDate(0, 0, day).Add(time.Hour), ScenarioHash: "h", Users: 5, SpawnRate: 5, Host: "http://x", Command: "run"}
		if mod != nil {
			mod(&x)
		}
		return x
	}
	cur := s("now", 35, func(x *Setup) { x.Ended = time.Time{} })
	cands := []Setup{
		s("d0", 0, nil), s("d7", 7, nil), s("d14", 14, func(x *Setup) { x.ExitCode = 1 }), s("d21", 21, func(x *Setup) { x.Users = 50 }),
		s("d28", 28, nil), s("other", 30, func(x *Setup) { x.ScenarioHash = "g" }), s("dead", 31, func(x *Setup) { x.Ended = time.Time{} }), cur,
	}
	got, note := Select(cands, cur, 3)
	var ids []string
	for _, g := range got {
		ids = append(ids, g.ID)
	}
	if strings.Join(ids, ",") != "d0,d7,d28" || note != "" {
		t.Errorf("got %v (%q), want d0,d7,d28", ids, note)
	}
	got, note = Select(cands[2:4], cur, 3)
	if len(got) != 0 || !strings.Contains(note, "1 other load settings") || !strings.Contains(note, "1 did not pass") {
		t.Errorf("none fits: got %v, note %q", got, note)
	}
}

func TestCompare_SetupFirst(t *testing.T) {
	t0 := time.Date(2026, 1, 4, 3, 0, 0, 0, time.UTC)
	a := fakeRun("a", t0, 100, []float64{100, 101, 99, 100.5, 102, 98})
	b := fakeRun("b", t0, 130, []float64{130, 131, 129, 133, 128, 127})
	b.Setup.Users, b.Setup.Duration = 50, 2*time.Minute
	res := Compare(a, b)
	var buf bytes.Buffer
	if err := WriteText(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	setupAt, figuresAt := strings.Index(out, "Setup differs"), strings.Index(out, "p95")
	if setupAt < 0 || figuresAt < setupAt || !strings.Contains(out, "users") {
		t.Errorf("the setup is not said first:\n%s", out)
	}
	var p95 Diff
	for _, d := range res.Names[len(res.Names)-1].Diffs {
		if d.Metric == "p95" {
			p95 = d
		}
	}
	if p95.Noise != Beyond || !p95.Worse || math.Abs(p95.Change-30) > 1e-9 {
		t.Errorf("p95: got %+v, want +30%% worse beyond noise", p95)
	}
	buf.Reset()
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, buf.String())
	}
	for _, w := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return WriteMarkdown(b, res) },
		func(b *bytes.Buffer) error { return WriteHTML(b, res) },
	} {
		buf.Reset()
		if err := w(&buf); err != nil || !strings.Contains(buf.String(), "users") {
			t.Errorf("got %v:\n%s", err, buf.String())
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"last:4", "last:0", "a,b", "runs/x.db", "last:", ",", "last:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			return
		}
		if sp.Last == 0 && len(sp.Runs) == 0 {
			t.Fatalf("%q: a spec of nothing", s)
		}
		for _, r := range sp.Runs {
			if strings.TrimSpace(r) == "" {
				t.Fatalf("%q: an empty run", s)
			}
		}
	})
}

// TestRegress_TargetFigures: regression(target.X) judges the CPU per
// request and time to exhaustion in % of the baseline's (a shorter time
// is worse), the resource growths in points of %/h.
func TestRegress_TargetFigures(t *testing.T) {
	t0 := time.Date(2026, 1, 4, 3, 0, 0, 0, time.UTC)
	mk := func(id string, ts ...Target) *Run {
		r := fakeRun(id, t0, 100, nil)
		r.Target = ts
		return r
	}
	cpu := func(v float64) Target {
		return Target{Name: "cpu_per_request", Series: "process_cpu_seconds_total", Unit: "ms", Value: v, Valid: true, Status: "pass"}
	}
	tte := func(series string, h float64) Target {
		return Target{Name: "time_to_exhaustion", Series: series, Unit: "h", Value: h, Valid: true, Status: "pass"}
	}
	fds := func(v float64) Target {
		return Target{Name: "open_fds_growth", Series: "process_open_fds", Unit: "%/h", Value: v, Valid: true, Status: "pass"}
	}
	base := &Baseline{Spec: Spec{Last: 2}, Runs: []*Run{
		mk("a", cpu(1.0), tte("fds", 100), tte("pool", 400), fds(0.5)),
		mk("b", cpu(1.1), tte("fds", 110), fds(0.7)),
	}}
	tests := []struct {
		threshold string
		run       *Run
		want      soak.Status
		change    float64
	}{
		{"regression(target.cpu_per_request) < 20%", mk("c", cpu(1.05)), soak.Pass, 0},
		{"regression(target.cpu_per_request) < 20%", mk("c", cpu(1.365)), soak.Fail, 30},
		{"regression(target.cpu_per_request) < 20%", mk("c", cpu(0.5)), soak.Pass, -52.38095238095238},
		// the shortest forecast counts: 52.5 h against the median 105 h
		{"regression(target.time_to_exhaustion) < 25%", mk("c", tte("fds", 200), tte("pool", 52.5)), soak.Fail, 50},
		{"regression(target.time_to_exhaustion) < 25%", mk("c", tte("fds", 300)), soak.Pass, -185.71428571428572},
		{"regression(target.open_fds_growth) < 1%/h", mk("c", fds(2.6)), soak.Fail, 2},
		{"regression(target.open_fds_growth) < 1%/h", mk("c", fds(0.9)), soak.Pass, 0.3},
		{"regression(target.cpu_per_request) < 20%", mk("c"), soak.Warn, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.threshold, func(t *testing.T) {
			r := Regress(mustThreshold(t, tt.threshold), tt.run, base)
			if r.Status != tt.want || (math.IsNaN(tt.change) != math.IsNaN(r.Change)) || (!math.IsNaN(tt.change) && math.Abs(r.Change-tt.change) > 1e-6) {
				t.Errorf("got %s, change %v (%s); want %s, change %v", r.Status, r.Change, r.Reason, tt.want, tt.change)
			}
			if r.Status != soak.Warn && !strings.Contains(r.Reason, "a, b") {
				t.Errorf("reason %q does not name the baseline runs", r.Reason)
			}
		})
	}
}

// TestRegress_RequestName: regression(p95 NAME) judges that request's
// figures, not the Aggregated ones, and names it.
func TestRegress_RequestName(t *testing.T) {
	t0 := time.Date(2026, 1, 4, 3, 0, 0, 0, time.UTC)
	// mk is a run whose Aggregated p95 is 100 ms and whose named requests'
	// are given.
	mk := func(id string, named ...Figures) *Run {
		r := fakeRun(id, t0, 100, nil)
		r.Names = append(named, r.Names...)
		return r
	}
	req := func(method, name string, p95 float64) Figures {
		return Figures{Method: method, Name: name, Requests: 100, RPS: 5, P50: p95 / 2, P95: p95, P99: p95, Max: p95}
	}
	base := &Baseline{Spec: Spec{Last: 2}, Runs: []*Run{
		mk("a", req("GET", "/api/data/[id]", 50), req("GET", "/api/items", 20), req("POST", "/api/items", 40)),
		mk("b", req("GET", "/api/data/[id]", 52), req("GET", "/api/items", 21), req("POST", "/api/items", 41)),
	}}
	slow := mk("c", req("GET", "/api/data/[id]", 70), req("GET", "/api/items", 21), req("POST", "/api/items", 40))
	tests := []struct {
		threshold string
		run       *Run
		want      soak.Status
		reason    string
	}{
		// the Aggregated p95 did not move; the one request did (+37 %)
		{"regression(p95) < 10%", slow, soak.Pass, "p95"},
		{"regression(p95 /api/data/[id]) < 10%", slow, soak.Fail, "GET /api/data/[id] p95"},
		{"regression(p95 GET /api/data/[id]) < 10%", slow, soak.Fail, "GET /api/data/[id] p95"},
		{"regression(p95 GET /api/items) < 10%", slow, soak.Pass, "GET /api/items p95"},
		{"regression(p95 POST /api/items) < 10%", slow, soak.Pass, "POST /api/items p95"},
		{"regression(p95 /api/items) < 10%", slow, soak.Warn, "add the method"},
		{"regression(p95 /api/none) < 10%", slow, soak.Warn, `no requests named "/api/none"`},
		{"regression(p95 DELETE /api/data/[id]) < 10%", slow, soak.Warn, `no requests named "DELETE /api/data/[id]"`},
	}
	for _, tt := range tests {
		t.Run(tt.threshold, func(t *testing.T) {
			th := mustThreshold(t, tt.threshold)
			r := Regress(th, tt.run, base)
			if r.Status != tt.want || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("got %s (%s); want %s naming %q", r.Status, r.Reason, tt.want, tt.reason)
			}
			vs := Regressions([]*scenario.Threshold{th}, tt.run, base)
			if len(vs) != 1 || vs[0].Name != tt.threshold {
				t.Errorf("verdict does not name the threshold: %+v", vs)
			}
		})
	}
	// a request only in the baseline runs' is not judged
	if r := Regress(mustThreshold(t, "regression(p95 /new) < 10%"), mk("d", req("GET", "/new", 10)), base); r.Status != soak.Warn || !strings.Contains(r.Reason, "baseline runs (a, b) have no requests") {
		t.Errorf("new request: got %s (%s)", r.Status, r.Reason)
	}
}

// TestCompare_TargetFigures: `horde compare` and the baseline summary set
// the CPU per request and the resource checks side by side with the
// change, in every format.
func TestCompare_TargetFigures(t *testing.T) {
	t0 := time.Date(2026, 1, 4, 3, 0, 0, 0, time.UTC)
	a := fakeRun("a", t0, 100, nil)
	b := fakeRun("b", t0.Add(time.Hour), 100, nil)
	a.Target = []Target{
		{Name: "cpu_per_request", Series: "cpu", Unit: "ms", Value: 2, Valid: true, Status: "pass"},
		{Name: "goroutines_growth", Series: "go_goroutines", Unit: "%/h", Value: 1, Valid: true, Status: "pass"},
		{Name: "time_to_exhaustion", Series: "fds", Unit: "h", Value: 100, Valid: true, Status: "pass"},
	}
	b.Target = []Target{
		{Name: "cpu_per_request", Series: "cpu", Unit: "ms", Value: 2.5, Valid: true, Status: "warn"},
		{Name: "goroutines_growth", Series: "go_goroutines", Unit: "%/h", Value: 4, Valid: true, Status: "fail"},
		{Name: "time_to_exhaustion", Series: "fds", Unit: "h", Value: 50, Valid: true, Status: "fail"},
	}
	res := Compare(a, b)
	want := map[string]struct {
		change float64
		unit   string
		worse  bool
	}{
		"cpu_per_request (cpu)":             {25, "%", true},
		"goroutines_growth (go_goroutines)": {3, "points", true},
		"time_to_exhaustion (fds)":          {-50, "%", true},
	}
	if len(res.Target) != len(want) {
		t.Fatalf("target diffs: %+v", res.Target)
	}
	for _, d := range res.Target {
		w, ok := want[d.Metric]
		if !ok || math.Abs(d.Change-w.change) > 1e-9 || d.ChangeUnit != w.unit || d.Worse != w.worse {
			t.Errorf("%s: got change %v %s worse %v, want %+v", d.Metric, d.Change, d.ChangeUnit, d.Worse, w)
		}
	}
	for name, w := range map[string]func(*bytes.Buffer) error{
		"text":     func(buf *bytes.Buffer) error { return WriteText(buf, res) },
		"json":     func(buf *bytes.Buffer) error { return WriteJSON(buf, res) },
		"markdown": func(buf *bytes.Buffer) error { return WriteMarkdown(buf, res) },
		"html":     func(buf *bytes.Buffer) error { return WriteHTML(buf, res) },
	} {
		var buf bytes.Buffer
		if err := w(&buf); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, s := range []string{"cpu_per_request", "goroutines_growth", "time_to_exhaustion"} {
			if !strings.Contains(buf.String(), s) {
				t.Errorf("%s lacks %s:\n%s", name, s, buf.String())
			}
		}
	}
	s := Against(b, &Baseline{Spec: Spec{Last: 1}, Runs: []*Run{a}})
	rows := map[string]SummaryRow{}
	for _, r := range s.Rows {
		rows[r.Metric] = r
	}
	if r := rows["cpu_per_request"]; math.Abs(r.Change-25) > 1e-9 || r.ChangeUnit != "%" || !r.Worse {
		t.Errorf("summary cpu_per_request: %+v", r)
	}
	if r := rows["time_to_exhaustion"]; math.Abs(r.Change+50) > 1e-9 || !r.Worse {
		t.Errorf("summary time_to_exhaustion: %+v", r)
	}
	if r := rows["goroutines_growth"]; math.Abs(r.Change-3) > 1e-9 || r.ChangeUnit != "points" {
		t.Errorf("summary goroutines_growth: %+v", r)
	}
}
