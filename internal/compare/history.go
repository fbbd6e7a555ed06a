package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"
)

// HistoryMetrics are the headline figures `horde history` follows.
var HistoryMetrics = []string{"p50", "p95", "p99", "rps", "error_rate", "memory_growth"}

// headline is metric m of r's whole run (NaN when it has none).
func headline(r *Run, m string) float64 {
	if m == "memory_growth" {
		if t, ok := r.TargetFigure(m); ok {
			return t.Value
		}
		return math.NaN()
	}
	if f := r.Aggregated(); f != nil {
		return f.Value(m)
	}
	return math.NaN()
}

// ChangePoint is where a figure's level changed: the run at Index is the
// first of the new level.
type ChangePoint struct {
	Metric string  `json:"metric"`
	Index  int     `json:"index"`
	Run    string  `json:"run"`
	Before float64 `json:"before"` // mean of the segment before
	After  float64 `json:"after"`  // and after
	Change float64 `json:"change"` // % of Before (points for error_rate and memory_growth)
	P      float64 `json:"p"`      // permutation test
}

// History is many runs in time order with their change points.
type History struct {
	Runs    []*Run
	Changes []ChangePoint
	// SetupChanged[i] lists what differs in run i's setup from run i-1's.
	SetupChanged [][]SetupDiff
}

// HistoryOptions tune the change-point search.
type HistoryOptions struct {
	MinSize   int     // least runs on each side of a change (default 3)
	Alpha     float64 // significance of the permutation test (default 0.05)
	MinChange float64 // least change, in % of the level before (points for rates), to report (default 5)
	Perms     int     // permutations (default 199)
}

func (o *HistoryOptions) defaults() {
	if o.MinSize < 2 {
		o.MinSize = 3
	}
	if o.Alpha <= 0 {
		o.Alpha = 0.05
	}
	if o.MinChange <= 0 {
		o.MinChange = 5
	}
	if o.Perms <= 0 {
		o.Perms = 199
	}
}

// NewHistory orders runs by start and finds the change points of each
// headline figure.
func NewHistory(runs []*Run, o HistoryOptions) *History {
	o.defaults()
	runs = slices.Clone(runs)
	slices.SortStableFunc(runs, func(a, b *Run) int { return a.Setup.Started.Compare(b.Setup.Started) })
	h := &History{Runs: runs, SetupChanged: make([][]SetupDiff, len(runs))}
	for i := 1; i < len(runs); i++ {
		for _, d := range SetupDiffs(runs[i-1].Setup, runs[i].Setup) {
			if d.Field != "length" {
				h.SetupChanged[i] = append(h.SetupChanged[i], d)
			}
		}
	}
	for _, m := range HistoryMetrics {
		var xs []float64
		var at []int // index in runs of each value
		for i, r := range runs {
			if v := headline(r, m); !math.IsNaN(v) {
				xs = append(xs, v)
				at = append(at, i)
			}
		}
		for _, cp := range EDivisive(xs, o) {
			c := ChangePoint{Metric: m, Index: at[cp.At], Run: runs[at[cp.At]].Setup.ID, Before: cp.Before, After: cp.After, P: cp.P}
			if m == "error_rate" || m == "memory_growth" {
				c.Change = c.After - c.Before
			} else if c.Before != 0 {
				c.Change = (c.After - c.Before) / math.Abs(c.Before) * 100
			}
			if math.Abs(c.Change) < o.MinChange && !(m == "error_rate" || m == "memory_growth") {
				continue
			}
			if (m == "error_rate" || m == "memory_growth") && math.Abs(c.Change) < o.MinChange/10 {
				continue
			}
			h.Changes = append(h.Changes, c)
		}
	}
	slices.SortStableFunc(h.Changes, func(a, b ChangePoint) int { return a.Index - b.Index })
	return h
}

// Split is one change point of a series: At is the first index after it.
type Split struct {
	At            int
	Before, After float64
	P             float64
}

// EDivisive finds change points in xs by E-divisive (Matteson and James,
// 2014; what Apache Otava, formerly Hunter, runs): binary segmentation on
// the energy distance between the values before and after each split,
// each split kept when a permutation test (o.Perms shuffles, a fixed seed,
// so the answer is the same every time) gives p < o.Alpha. Segments keep
// at least o.MinSize values.
func EDivisive(xs []float64, o HistoryOptions) []Split {
	o.defaults()
	rng := rand.New(rand.NewPCG(27, 2026))
	var out []Split
	var walk func(lo, hi int)
	walk = func(lo, hi int) {
		seg := xs[lo:hi]
		at, q := bestSplit(seg, o.MinSize)
		if at < 0 {
			return
		}
		perm := slices.Clone(seg)
		exceed := 0
		for range o.Perms {
			rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			if _, pq := bestSplit(perm, o.MinSize); pq >= q {
				exceed++
			}
		}
		p := float64(exceed+1) / float64(o.Perms+1)
		if p >= o.Alpha {
			return
		}
		out = append(out, Split{At: lo + at, Before: mean(seg[:at]), After: mean(seg[at:]), P: p})
		walk(lo, lo+at)
		walk(lo+at, hi)
	}
	walk(0, len(xs))
	slices.SortFunc(out, func(a, b Split) int { return a.At - b.At })
	return out
}

// bestSplit is the split of xs with the largest energy statistic
// Q = τ(n-τ)/n · (2·mean|x-y| - mean|x-x'| - mean|y-y'|), each side at
// least min values (at -1 when xs is too short).
func bestSplit(xs []float64, min int) (at int, q float64) {
	n := len(xs)
	at = -1
	if n < 2*min {
		return at, 0
	}
	// Start with every value in B, then move them to A one at a time:
	// moving x_t shifts its distances to A from between to within A, and
	// its distances to the rest of B from within B to between. O(n²).
	var between, withinA, withinB float64
	for j := 0; j < n; j++ {
		for k := j + 1; k < n; k++ {
			withinB += math.Abs(xs[j] - xs[k])
		}
	}
	for t := 0; t < n-min; t++ {
		var toA, toB float64
		for i := 0; i < t; i++ {
			toA += math.Abs(xs[i] - xs[t])
		}
		for j := t + 1; j < n; j++ {
			toB += math.Abs(xs[t] - xs[j])
		}
		between += toB - toA
		withinA += toA
		withinB -= toB
		size := t + 1 // values in A
		if size < min {
			continue
		}
		a, b := float64(size), float64(n-size)
		e := 2*between/(a*b) - withinA/(a*(a-1)/2) - withinB/(b*(b-1)/2)
		if v := a * b / float64(n) * e; at < 0 || v > q {
			at, q = size, v
		}
	}
	return at, q
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// marks are the change points at run i, as text.
func (h *History) marks(i int) string {
	var s []string
	for _, c := range h.Changes {
		if c.Index == i {
			u := "%"
			if c.Metric == "error_rate" || c.Metric == "memory_growth" {
				u = " pt"
			}
			s = append(s, fmt.Sprintf("%s %+.1f%s", c.Metric, c.Change, u))
		}
	}
	for _, d := range h.SetupChanged[i] {
		s = append(s, fmt.Sprintf("setup: %s %s→%s", d.Field, d.A, d.B))
	}
	return strings.Join(s, "; ")
}

// WriteHistoryText writes one line per run, the change points marked.
func WriteHistoryText(w io.Writer, h *History) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTART (UTC)\tSTATUS\tLENGTH\tUSERS\tREQUESTS\tRPS\tERR %\tP50\tP95\tP99\tMEM %/H\tCHANGE POINTS")
	for i, r := range h.Runs {
		f := r.Aggregated()
		if f == nil {
			f = &Figures{P50: math.NaN(), P95: math.NaN(), P99: math.NaN()}
		}
		mark := h.marks(i)
		if mark != "" {
			mark = "◀ " + mark
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Setup.ID, r.Setup.Started.UTC().Format("2006-01-02 15:04"),
			r.Setup.Status, r.Setup.Duration.Round(1e9), r.Setup.Users, f.Requests, num(f.RPS), num(f.ErrorRate), num(f.P50), num(f.P95), num(f.P99),
			num(headline(r, "memory_growth")), mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(h.Changes) == 0 {
		fmt.Fprintf(w, "No change point (E-divisive, permutation test p < 0.05, at least 3 runs a side, changes of 5%% or more).\n")
		return nil
	}
	fmt.Fprintln(w, "Change points (E-divisive, permutation test; the run named is the first of the new level):")
	for _, c := range h.Changes {
		fmt.Fprintf(w, "  %s at run %s: %s → %s (%s, p = %.3g)\n", c.Metric, c.Run, num(c.Before), num(c.After), fmtChange(c.Change, pointsFor(c.Metric)), c.P)
	}
	return nil
}

func pointsFor(m string) string {
	if m == "error_rate" || m == "memory_growth" {
		return "points"
	}
	return "%"
}

// WriteHistoryMarkdown writes the history as a Markdown table.
func WriteHistoryMarkdown(w io.Writer, h *History) error {
	fmt.Fprintln(w, "| run | start (UTC) | status | users | rps | err % | p50 | p95 | p99 | mem %/h | change points |\n|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
	for i, r := range h.Runs {
		f := r.Aggregated()
		if f == nil {
			f = &Figures{P50: math.NaN(), P95: math.NaN(), P99: math.NaN()}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", r.Setup.ID, r.Setup.Started.UTC().Format("2006-01-02 15:04"),
			r.Setup.Status, r.Setup.Users, num(f.RPS), num(f.ErrorRate), num(f.P50), num(f.P95), num(f.P99), num(headline(r, "memory_growth")), md(h.marks(i)))
	}
	return nil
}

// WriteHistoryJSON writes the history as JSON.
func WriteHistoryJSON(w io.Writer, h *History) error {
	type row struct {
		Setup        Setup               `json:"setup"`
		Figures      map[string]*float64 `json:"figures"`
		SetupChanged []SetupDiff         `json:"setup_changed,omitempty"`
	}
	rows := []row{}
	for i, r := range h.Runs {
		fs := map[string]*float64{}
		for _, m := range HistoryMetrics {
			fs[m] = opt(headline(r, m))
		}
		if f := r.Aggregated(); f != nil {
			fs["requests"] = opt(float64(f.Requests))
		}
		rows = append(rows, row{r.Setup, fs, h.SetupChanged[i]})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Method  string        `json:"method"`
		Runs    []row         `json:"runs"`
		Changes []ChangePoint `json:"change_points"`
	}{"e-divisive", rows, nonNil(h.Changes)})
}
