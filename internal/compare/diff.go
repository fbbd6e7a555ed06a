package compare

import (
	"fmt"
	"math"
	"time"

	"github.com/horde-load/horde/internal/stats"
)

// Noise verdicts of a change.
const (
	Beyond    = "beyond noise"    // the rank test finds the periods differ (p < Alpha)
	Within    = "within noise"    // it does not
	TooFew    = "too few periods" // fewer than MinPeriods on a side
	NotTested = "not tested"      // a figure without per-period values
)

// Diff is one figure of two runs side by side.
type Diff struct {
	Metric string  `json:"metric"`
	Unit   string  `json:"unit"`
	A      float64 `json:"a"`
	B      float64 `json:"b"`
	// Change is B against A: in % of A, or in points for rates given in %
	// (error_rate, target growth); NaN when A is 0.
	Change     float64 `json:"change"`
	ChangeUnit string  `json:"change_unit"` // "%" or "points"
	// Worse: the change is in the bad direction (slower, more errors,
	// less throughput, more growth).
	Worse bool `json:"worse"`
	// P is the Mann–Whitney p-value of the per-period values (NaN when
	// not tested); Noise says what it means.
	P        float64 `json:"p"`
	Noise    string  `json:"noise"`
	PeriodsA int     `json:"periods_a"`
	PeriodsB int     `json:"periods_b"`
	StatusA  string  `json:"status_a,omitempty"` // target figures: the checks' statuses
	StatusB  string  `json:"status_b,omitempty"`
}

// NameDiff is one request name's figures side by side.
type NameDiff struct {
	Method string `json:"method"`
	Name   string `json:"name"`
	Only   string `json:"only,omitempty"` // "a" or "b": the name is in one run only
	Diffs  []Diff `json:"diffs"`
}

// SetupDiff is one setting that differs between the runs.
type SetupDiff struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// Result is two runs compared.
type Result struct {
	A, B      Setup
	PeriodLen time.Duration
	Setup     []SetupDiff // what differs in the setup, compared first
	Names     []NameDiff  // by name, Aggregated last
	Target    []Diff      // the target's figures
	// Periods of the Aggregated entry, for charts.
	PeriodsA, PeriodsB []Period
}

// unit of a request metric.
func unit(m string) string {
	switch m {
	case "rps":
		return "req/s"
	case "error_rate":
		return "%"
	case "requests":
		return ""
	}
	return "ms"
}

// higherWorse says which direction of m is a regression (0: neither).
func higherWorse(m string) int {
	switch m {
	case "requests":
		return 0
	case "rps":
		return -1
	}
	return 1
}

// Compare sets b against a.
func Compare(a, b *Run) *Result {
	res := &Result{A: a.Setup, B: b.Setup, PeriodLen: max(a.PeriodLen, b.PeriodLen), Setup: SetupDiffs(a.Setup, b.Setup)}
	if ag := a.Aggregated(); ag != nil {
		res.PeriodsA = ag.Periods
	}
	if ag := b.Aggregated(); ag != nil {
		res.PeriodsB = ag.Periods
	}
	seen := map[stats.Key]bool{}
	var keys []stats.Key
	for _, r := range []*Run{a, b} {
		for i := range r.Names {
			if k := r.Names[i].Key(); !seen[k] && k.Name != stats.AggregatedName {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	keys = append(keys, stats.Key{Name: stats.AggregatedName})
	for _, k := range keys {
		fa, fb := a.Lookup(k), b.Lookup(k)
		nd := NameDiff{Method: k.Method, Name: k.Name}
		switch {
		case fa == nil && fb == nil:
			continue
		case fa == nil:
			nd.Only = "b"
		case fb == nil:
			nd.Only = "a"
		default:
			for _, m := range Metrics {
				nd.Diffs = append(nd.Diffs, DiffOf(m, fa, fb))
			}
		}
		res.Names = append(res.Names, nd)
	}
	res.Target = TargetDiffs(a.Target, b.Target)
	return res
}

// DiffOf compares metric m of fa and fb, the rank test on their periods.
func DiffOf(m string, fa, fb *Figures) Diff {
	d := Diff{Metric: m, Unit: unit(m), A: fa.Value(m), B: fb.Value(m), P: math.NaN()}
	d.Change, d.ChangeUnit = change(m, d.A, d.B)
	if w := higherWorse(m); w != 0 && !math.IsNaN(d.Change) {
		d.Worse = float64(w)*d.Change > 0
	}
	if m == "requests" {
		d.Noise = NotTested // depends on the length: rps is the compared rate
		return d
	}
	pa, pb := fa.PeriodValues(m), fb.PeriodValues(m)
	d.PeriodsA, d.PeriodsB = len(pa), len(pb)
	d.P, d.Noise = rankNoise(pa, pb)
	return d
}

// rankNoise is the rank test's p-value and noise verdict for two runs'
// per-period values.
func rankNoise(pa, pb []float64) (float64, string) {
	if len(pa) < MinPeriods || len(pb) < MinPeriods {
		return math.NaN(), TooFew
	}
	p := MannWhitney(pa, pb)
	if p < Alpha {
		return p, Beyond
	}
	return p, Within
}

// change of b against a: points for rates in %, % of a otherwise.
func change(m string, a, b float64) (float64, string) {
	if m == "error_rate" {
		return b - a, "points"
	}
	if a == 0 {
		if b == 0 {
			return 0, "%"
		}
		return math.NaN(), "%"
	}
	return (b - a) / a * 100, "%"
}

// TargetDiffs sets the target figures of two runs side by side (by name
// and series); their noise is the checks' own business.
func TargetDiffs(a, b []Target) []Diff {
	type key struct{ name, series string }
	var keys []key
	ta, tb := map[key]Target{}, map[key]Target{}
	for _, t := range a {
		k := key{t.Name, t.Series}
		ta[k] = t
		keys = append(keys, k)
	}
	for _, t := range b {
		k := key{t.Name, t.Series}
		if _, ok := ta[k]; !ok {
			keys = append(keys, k)
		}
		tb[k] = t
	}
	var out []Diff
	for _, k := range keys {
		x, y := ta[k], tb[k]
		name := k.name
		if k.series != "" {
			name += " (" + k.series + ")"
		}
		u := x.Unit
		if u == "" {
			u = y.Unit
		}
		_, cu := targetChange(k.name, 1, 1)
		d := Diff{Metric: name, Unit: u, A: math.NaN(), B: math.NaN(), Change: math.NaN(), ChangeUnit: cu, P: math.NaN(),
			Noise: NotTested, StatusA: x.Status, StatusB: y.Status}
		if x.Valid {
			d.A = x.Value
		}
		if y.Valid {
			d.B = y.Value
		}
		if x.Valid && y.Valid {
			d.Change, _ = targetChange(k.name, x.Value, y.Value)
			d.Worse = float64(TargetWorse(k.name))*d.Change > 0
		}
		out = append(out, d)
	}
	return out
}

// SetupDiffs lists what differs in two runs' setups: what to read before
// their figures.
func SetupDiffs(a, b Setup) []SetupDiff {
	var out []SetupDiff
	add := func(field, x, y string) {
		if x != y {
			out = append(out, SetupDiff{field, x, y})
		}
	}
	add("length", a.Duration.Round(time.Second).String(), b.Duration.Round(time.Second).String())
	add("run time", orNone(a.RunTime), orNone(b.RunTime))
	add("users", fmt.Sprint(a.Users), fmt.Sprint(b.Users))
	add("spawn rate", fmt.Sprint(a.SpawnRate), fmt.Sprint(b.SpawnRate))
	add("scenario", a.ScenarioHash, b.ScenarioHash)
	add("scenario file", a.ScenarioFile, b.ScenarioFile)
	add("host", a.Host, b.Host)
	add("command", a.Command, b.Command)
	add("load model", model(a.Open), model(b.Open))
	return out
}

func orNone(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return d.String()
}

func model(open bool) string {
	if open {
		return "open"
	}
	return "closed"
}
