package compare

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// Spec is a --baseline: named runs, or the last N that fit.
type Spec struct {
	Runs []string // run ids or files
	Last int      // last:N
}

// ParseSpec reads --baseline: "last:N", or run ids or files separated by
// commas.
func ParseSpec(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Spec{}, fmt.Errorf("empty: give a run id, a run file or last:N")
	}
	if rest, ok := strings.CutPrefix(s, "last:"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n > 1000 {
			return Spec{}, fmt.Errorf("%q: last:N takes a count from 1 to 1000", s)
		}
		return Spec{Last: n}, nil
	}
	var sp Spec
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r == "" {
			return Spec{}, fmt.Errorf("%q: an empty run between commas", s)
		}
		sp.Runs = append(sp.Runs, r)
	}
	return sp, nil
}

func (s Spec) String() string {
	if s.Last > 0 {
		return fmt.Sprintf("last:%d", s.Last)
	}
	return strings.Join(s.Runs, ",")
}

// Fits says whether cand is a run of the same scenario and load settings
// as cur, finished and passed before cur started ("" if it fits, else
// why not, in a few words).
func Fits(cand, cur Setup) string {
	switch {
	case cand.ID == cur.ID:
		return "the run itself"
	case !cand.Started.Before(cur.Started):
		return "started later"
	case cand.ScenarioHash != cur.ScenarioHash:
		return "another scenario"
	case cand.Ended.IsZero():
		return "unfinished"
	case !cand.Ended.Before(cur.Started):
		return "overlaps this run"
	case cand.ExitCode != 0:
		return "did not pass"
	case cand.Command != cur.Command || cand.Users != cur.Users || cand.SpawnRate != cur.SpawnRate ||
		cand.RunTime != cur.RunTime || cand.Open != cur.Open || cand.Host != cur.Host:
		return "other load settings"
	}
	return ""
}

// Select picks the last n runs of cands that fit cur (Fits), oldest first.
// With none, note says why none fit; with fewer than n, what was found.
func Select(cands []Setup, cur Setup, n int) (chosen []Setup, note string) {
	cands = slices.Clone(cands)
	slices.SortFunc(cands, func(a, b Setup) int { return a.Started.Compare(b.Started) })
	why := map[string]int{}
	for i := len(cands) - 1; i >= 0 && len(chosen) < n; i-- {
		if w := Fits(cands[i], cur); w != "" {
			if w != "the run itself" && w != "started later" {
				why[w]++
			}
			continue
		}
		chosen = append(chosen, cands[i])
	}
	slices.Reverse(chosen)
	want := fmt.Sprintf("finished, passed runs of this scenario (%s) with %d users, spawn rate %g, run time %s, host %s",
		cur.ScenarioHash, cur.Users, cur.SpawnRate, orNone(cur.RunTime), cur.Host)
	switch {
	case len(chosen) == 0:
		var parts []string
		for _, w := range []string{"another scenario", "other load settings", "unfinished", "overlaps this run", "did not pass"} {
			if why[w] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", why[w], w))
			}
		}
		if len(parts) == 0 {
			return nil, "no earlier run to compare with: no " + want
		}
		return nil, fmt.Sprintf("none of the earlier runs fits (%s): want %s", strings.Join(parts, ", "), want)
	case len(chosen) < n:
		return chosen, fmt.Sprintf("only %d of the last %d runs asked for fit (%s)", len(chosen), n, want)
	}
	return chosen, ""
}

// Baseline is the runs a run is judged against.
type Baseline struct {
	Spec Spec
	Runs []*Run
	Note string // why none (or fewer than asked) fit
}

// IDs are the baseline runs' ids.
func (b *Baseline) IDs() []string {
	if b == nil {
		return nil
	}
	var out []string
	for _, r := range b.Runs {
		out = append(out, r.Setup.ID)
	}
	return out
}

// Describe names the baseline in a few words: "the last 3 runs (a, b, c)".
func (b *Baseline) Describe() string {
	if b == nil || len(b.Runs) == 0 {
		return "no baseline"
	}
	ids := strings.Join(b.IDs(), ", ")
	if len(b.Runs) == 1 {
		return "run " + ids
	}
	if b.Spec.Last > 0 {
		return fmt.Sprintf("the last %d runs (%s)", len(b.Runs), ids)
	}
	return fmt.Sprintf("%d runs (%s)", len(b.Runs), ids)
}

// IsRegression says whether t is a regression(...) threshold.
func IsRegression(t *scenario.Threshold) bool { return t.Stat == "regression" }

// metricOf is the request metric a regression threshold compares.
func metricOf(t *scenario.Threshold) string {
	if t.Of == "p" {
		return fmt.Sprintf("p%g", t.Pct*100)
	}
	return t.Of
}

// Regression is one regression threshold judged against a baseline.
type Regression struct {
	Threshold *scenario.Threshold
	Metric    string
	Current   float64
	Baseline  []float64 // each baseline run's figure
	Center    float64   // their median
	Change    float64   // % of Center, or points (error_rate, target)
	P         float64   // rank test on the periods, NaN when not tested
	Noise     string
	Status    soak.Status
	Reason    string
}

// Regressions judges the regression thresholds of ths on cur against
// base, as verdicts. Without a baseline (none given, or none fits) each
// passes with a warning saying so: the first runs of a schedule have
// nothing to compare with.
func Regressions(ths []*scenario.Threshold, cur *Run, base *Baseline) []soak.Verdict {
	var out []soak.Verdict
	for _, t := range ths {
		if !IsRegression(t) {
			continue
		}
		r := Regress(t, cur, base)
		v := soak.Verdict{Kind: "threshold", Name: t.Text, Status: r.Status, Reason: r.Reason}
		if !math.IsNaN(r.Change) {
			c := r.Change
			v.Actual = &c
		}
		out = append(out, v)
	}
	return out
}

// Regress judges one regression threshold. The figure is the run's against
// the median of the baseline runs' (a change in % of it, or in points for
// error_rate and target.*). Past the limit, the threshold fails only when
// the change is also beyond the baseline's own noise: the run is worse than
// every baseline run (with two or more), and the rank test of its periods
// against the baseline runs' periods finds them apart (p < Alpha) or cannot
// test (fewer than MinPeriods a side, as in runs under a minute). Past the
// limit but within the noise is a warning.
func Regress(t *scenario.Threshold, cur *Run, base *Baseline) Regression {
	r := Regression{Threshold: t, Metric: metricOf(t), Change: math.NaN(), P: math.NaN(), Status: soak.Warn}
	if base == nil || len(base.Runs) == 0 {
		note := "no --baseline"
		if base != nil {
			note = base.Note
		}
		r.Reason = fmt.Sprintf("%s: not judged: %s", t.Text, note)
		return r
	}
	names := strings.Join(base.IDs(), ", ")
	if t.Of == "target" {
		return regressTarget(r, t, cur, base)
	}
	worse := higherWorse(r.Metric)
	cf, why := figuresOf(cur, t)
	if cf == nil {
		r.Reason = fmt.Sprintf("%s: not judged: the run %s", t.Text, why)
		return r
	}
	r.Current = figure(cf, t)
	var pooled []float64
	for _, b := range base.Runs {
		bf, _ := figuresOf(b, t)
		if bf == nil {
			continue
		}
		r.Baseline = append(r.Baseline, figure(bf, t))
		pooled = append(pooled, bf.PeriodValues(r.Metric)...)
	}
	if len(r.Baseline) == 0 {
		r.Reason = fmt.Sprintf("%s: not judged: the baseline runs (%s) have no requests%s", t.Text, names, requestOf(t))
		return r
	}
	r.Center = median(r.Baseline)
	switch {
	case t.Of == "error_rate":
		r.Change = r.Current - r.Center
	case r.Center == 0:
		r.Change = 0
		if r.Current != 0 {
			r.Change = math.Inf(worse)
		}
	default:
		r.Change = float64(worse) * (r.Current - r.Center) / r.Center * 100
	}
	pc := cf.PeriodValues(r.Metric)
	r.P, r.Noise = rankNoise(pc, pooled)
	if r.Noise == Beyond && float64(worse)*(median(pc)-median(pooled)) <= 0 {
		r.Noise = Within // apart, but the run's periods are the better ones
	}
	u := unit(r.Metric)
	label := r.Metric
	if _, ok := cf.Steady[r.Metric]; ok {
		label += " (median of the steady periods)"
	}
	if t.Name != "" {
		label = strings.TrimSpace(cf.Method+" "+cf.Name) + " " + label
	}
	figures := fmt.Sprintf("%s %s %s against %s (median of %s: %s)", label, num(r.Current), u, num(r.Center),
		base.Describe(), joinNums(r.Baseline))
	chg := fmt.Sprintf("%+.1f%%", r.Change)
	if t.Of == "error_rate" {
		chg = fmt.Sprintf("%+.2f points", r.Change)
	} else if t.Of == "rps" {
		chg = fmt.Sprintf("%+.1f%% (a fall)", r.Change)
	}
	return decide(r, t, worse, chg, figures)
}

// figuresOf are the figures a regression threshold compares in r: its
// request name's (with its method, or the only method the run has for the
// name), else the Aggregated ones; nil, and why, when the run has none.
func figuresOf(r *Run, t *scenario.Threshold) (*Figures, string) {
	if t.Name == "" {
		if f := r.Aggregated(); f != nil {
			return f, ""
		}
		return nil, "has no requests"
	}
	var found []*Figures
	for i := range r.Names {
		f := &r.Names[i]
		if f.Name == t.Name && f.Name != stats.AggregatedName && (t.Method == "" || f.Method == t.Method) {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return nil, "has no requests" + requestOf(t)
	case 1:
		return found[0], ""
	}
	var methods []string
	for _, f := range found {
		methods = append(methods, f.Method)
	}
	return nil, fmt.Sprintf("has %q with %d methods (%s): add the method, e.g. %s %s", t.Name, len(found),
		strings.Join(methods, ", "), methods[0], t.Name)
}

// requestOf is " named X" for a threshold on a request name.
func requestOf(t *scenario.Threshold) string {
	if t.Name == "" {
		return ""
	}
	return fmt.Sprintf(" named %q", strings.TrimSpace(t.Method+" "+t.Name))
}

// figure is the value of a regression's metric: the steady figure of
// latencies (Figures.Steady), the whole run's of the others.
func figure(f *Figures, t *scenario.Threshold) float64 {
	m := metricOf(t)
	if v, ok := f.Steady[m]; ok {
		return v
	}
	if v := f.Value(m); !math.IsNaN(v) {
		return v
	}
	return percentile(f, t.Pct)
}

// decide applies the limit and the noise rule.
func decide(r Regression, t *scenario.Threshold, worse int, chg, figures string) Regression {
	if t.Holds(r.Change) {
		r.Status = soak.Pass
		r.Reason = fmt.Sprintf("%s holds: %s; %s", t.Text, chg, figures)
		return r
	}
	beyondRuns := true
	if len(r.Baseline) >= 2 {
		for _, b := range r.Baseline {
			if float64(worse)*(r.Current-b) <= 0 {
				beyondRuns = false
			}
		}
	}
	switch {
	case !beyondRuns:
		r.Status = soak.Warn
		r.Reason = fmt.Sprintf("%s: %s, past the limit but within the baseline runs' own spread (a baseline run was as bad); %s", t.Text, chg, figures)
	case r.Noise == Within:
		r.Status = soak.Warn
		r.Reason = fmt.Sprintf("%s: %s, past the limit but within the noise of the periods (Mann–Whitney p = %.3g); %s", t.Text, chg, r.P, figures)
	default:
		r.Status = soak.Fail
		why := "beyond every baseline run"
		if r.Noise == Beyond {
			why += fmt.Sprintf(", periods apart (Mann–Whitney p = %.2g)", r.P)
		}
		r.Reason = fmt.Sprintf("%s fails: %s (%s); %s", t.Text, chg, why, figures)
	}
	return r
}

// regressTarget judges regression(target.X): the change in points of the
// target figure's unit (memory growth: %/h).
func regressTarget(r Regression, t *scenario.Threshold, cur *Run, base *Baseline) Regression {
	r.Metric = "target." + t.Target
	c, ok := cur.TargetFigure(t.Target)
	if !ok {
		r.Status = soak.Warn
		r.Reason = fmt.Sprintf("%s: not judged: the run has no decided %s (no target metrics, or the checks were inconclusive)", t.Text, t.Target)
		return r
	}
	r.Current = c.Value
	var ids []string
	for _, b := range base.Runs {
		if v, ok := b.TargetFigure(t.Target); ok {
			r.Baseline = append(r.Baseline, v.Value)
			ids = append(ids, b.Setup.ID)
		}
	}
	if len(r.Baseline) == 0 {
		r.Reason = fmt.Sprintf("%s: not judged: no baseline run (%s) has a decided %s", t.Text, strings.Join(base.IDs(), ", "), t.Target)
		return r
	}
	r.Center = median(r.Baseline)
	worse := TargetWorse(t.Target)
	r.Noise = NotTested
	figures := fmt.Sprintf("%s %s %s against %s (median of %s: %s)", t.Target, num(r.Current), c.Unit, num(r.Center),
		(&Baseline{Spec: base.Spec, Runs: pick(base.Runs, ids)}).Describe(), joinNums(r.Baseline))
	if !TargetRelative(t.Target) {
		r.Change = r.Current - r.Center
		return decide(r, t, 1, fmt.Sprintf("%+.2f points of %s", r.Change, c.Unit), figures)
	}
	// a level: the change in % of the baseline's, positive when worse
	switch {
	case r.Center == 0 && r.Current == 0:
		r.Change = 0
	case r.Center == 0:
		r.Change = math.Inf(worse * sign(r.Current))
	default:
		r.Change = float64(worse) * (r.Current - r.Center) / r.Center * 100
	}
	chg := fmt.Sprintf("%+.1f%%", r.Change)
	if worse < 0 {
		chg += " (shorter)"
	}
	return decide(r, t, worse, chg, figures)
}

func pick(runs []*Run, ids []string) []*Run {
	var out []*Run
	for _, r := range runs {
		if slices.Contains(ids, r.Setup.ID) {
			out = append(out, r)
		}
	}
	return out
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v == math.Trunc(v) && math.Abs(v) < 1e15, math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func joinNums(vs []float64) string {
	var s []string
	for _, v := range vs {
		s = append(s, num(v))
	}
	return strings.Join(s, ", ")
}

// Summary is a run against its baseline, for the reports and the Soak tab:
// "compared with the last N runs".
type Summary struct {
	Title string       `json:"title"` // "compared with the last 3 runs"
	Runs  []string     `json:"runs"`  // the baseline runs' ids
	Note  string       `json:"note,omitempty"`
	Rows  []SummaryRow `json:"rows"`
	Setup []SetupDiff  `json:"setup,omitempty"` // explicit baselines: what differs
	Spec  string       `json:"baseline"`
}

// SummaryRow is one Aggregated or target figure against the baseline.
type SummaryRow struct {
	Metric     string    `json:"metric"`
	Unit       string    `json:"unit"`
	Current    float64   `json:"current"`
	Baseline   []float64 `json:"baseline"` // each baseline run's
	Median     float64   `json:"median"`
	Change     float64   `json:"change"` // % of the median, or points
	ChangeUnit string    `json:"change_unit"`
	Worse      bool      `json:"worse"`
	P          float64   `json:"p"`
	Noise      string    `json:"noise"`
}

// Against summarizes cur against base (nil when base is nil).
func Against(cur *Run, base *Baseline) *Summary {
	if base == nil {
		return nil
	}
	s := &Summary{Runs: base.IDs(), Note: base.Note, Spec: base.Spec.String()}
	switch n := len(base.Runs); {
	case n == 0:
		s.Title = "no baseline: " + base.Note
		return s
	case n == 1:
		s.Title = "compared with run " + base.Runs[0].Setup.ID
	default:
		s.Title = fmt.Sprintf("compared with the last %d runs", n)
		if base.Spec.Last == 0 {
			s.Title = fmt.Sprintf("compared with %d runs", n)
		}
	}
	if base.Spec.Last == 0 {
		for _, b := range base.Runs {
			s.Setup = append(s.Setup, SetupDiffs(b.Setup, cur.Setup)...)
		}
	}
	cf := cur.Aggregated()
	for _, m := range Metrics[1:] {
		if cf == nil {
			break
		}
		th := &scenario.Threshold{Of: m}
		if p, ok := strings.CutPrefix(m, "p"); ok {
			pct, _ := strconv.ParseFloat(p, 64)
			th.Of, th.Pct = "p", pct/100
		}
		row := SummaryRow{Metric: m, Unit: unit(m), Current: figure(cf, th), P: math.NaN()}
		if _, ok := cf.Steady[m]; ok {
			row.Metric += " (steady)"
		}
		var pooled []float64
		for _, b := range base.Runs {
			if bf := b.Aggregated(); bf != nil {
				row.Baseline = append(row.Baseline, figure(bf, th))
				pooled = append(pooled, bf.PeriodValues(m)...)
			}
		}
		row.Median = median(row.Baseline)
		row.Change, row.ChangeUnit = change(m, row.Median, row.Current)
		if w := higherWorse(m); !math.IsNaN(row.Change) {
			row.Worse = float64(w)*row.Change > 0
		}
		row.P, row.Noise = rankNoise(cf.PeriodValues(m), pooled)
		s.Rows = append(s.Rows, row)
	}
	for _, name := range cur.TargetNames() {
		c, _ := cur.TargetFigure(name)
		row := SummaryRow{Metric: name, Unit: c.Unit, Current: c.Value, P: math.NaN(), Noise: NotTested}
		for _, b := range base.Runs {
			if v, ok := b.TargetFigure(name); ok {
				row.Baseline = append(row.Baseline, v.Value)
			}
		}
		row.Median = median(row.Baseline)
		row.Change, row.ChangeUnit = targetChange(name, row.Median, row.Current)
		row.Worse = float64(TargetWorse(name))*row.Change > 0
		s.Rows = append(s.Rows, row)
	}
	return s
}

func sign(v float64) int {
	if v < 0 {
		return -1
	}
	return 1
}
