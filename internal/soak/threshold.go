package soak

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// Inputs is what thresholds and the run's checks are judged on.
type Inputs struct {
	Snapshot *stats.Snapshot
	// Series over the run of the Aggregated entry, by name: "p50", "p95",
	// "p99" (window percentiles, ms), "rps", "error_rate" (%).
	Series map[string][]Point
	// Target are the target.* values, e.g. "memory_growth" (% over the
	// run, the largest of the memory series' leak checks).
	Target map[string]float64
	// TargetNotes say why a target.* value is missing when the checks that
	// give it could not decide (every memory series' leak check was
	// inconclusive): such a threshold passes with the note, a warning.
	TargetNotes map[string]string
	// Exhausting names the resource of target.time_to_exhaustion (the
	// shortest forecast of a resource running into its limit).
	Exhausting string
	// Warmup is left out of degradation thresholds (0: the default).
	Warmup time.Duration
}

// ThresholdResult is one threshold's outcome.
type ThresholdResult struct {
	Threshold *scenario.Threshold
	Actual    float64
	Pass      bool
	Reason    string // one sentence
	NoData    bool   // nothing to judge yet (no such requests, too little history)
}

// EvaluateThresholds judges every threshold.
func EvaluateThresholds(ths []*scenario.Threshold, in Inputs) []ThresholdResult {
	out := make([]ThresholdResult, 0, len(ths))
	for _, t := range ths {
		out = append(out, evaluate(t, in))
	}
	return out
}

func evaluate(t *scenario.Threshold, in Inputs) ThresholdResult {
	r := ThresholdResult{Threshold: t}
	if t.Stat == "degradation" {
		key := fmt.Sprintf("p%g", t.Pct*100)
		d := Drift(key, in.Series[key], DriftOptions{Warmup: in.Warmup})
		if d.Points < 8 {
			r.Reason = fmt.Sprintf("%s: not enough history to measure degradation (%d points)", t.Text, d.Points)
			r.NoData = true
			return r
		}
		// The worse of the two measures: a steady ramp shows its whole
		// size along the slope, a late jump between the quarters.
		r.Actual = max(d.ChangePct, d.SlopeChangePct)
		r.Pass = t.Holds(r.Actual)
		r.Reason = fmt.Sprintf("%s: %s %+.1f%% (last quarter vs first %+.1f%%, along the trend %+.1f%%)", t.Text, key, r.Actual, d.ChangePct, d.SlopeChangePct)
		return r
	}
	if t.Stat == "checks" {
		return evaluateChecks(t, in, r)
	}
	if t.Stat == "target" && t.Target == "time_to_exhaustion" {
		return evaluateExhaustion(t, in, r)
	}
	if t.Stat == "target" {
		v, ok := in.Target[t.Target]
		if note, inconclusive := in.TargetNotes[t.Target]; !ok && inconclusive {
			// The checks could not decide: a warning, never a failure.
			r.Pass, r.NoData = true, true
			r.Reason = fmt.Sprintf("%s: inconclusive: %s", t.Text, note)
			return r
		}
		if !ok {
			r.Reason = fmt.Sprintf("%s: no target metrics were recorded (is the monitor: scrape reachable?)", t.Text)
			return r
		}
		r.Actual = v
		r.Pass = t.Holds(v)
		r.Reason = fmt.Sprintf("%s: actual %s%%", t.Text, trim(v))
		return r
	}
	e, err := entry(in.Snapshot, t)
	if err != nil {
		r.Reason = fmt.Sprintf("%s: %v", t.Text, err)
		r.NoData = errors.Is(err, errNoRequests)
		return r
	}
	if e.Requests == 0 && t.Stat != "requests" && t.Stat != "failures" {
		r.NoData = true
	}
	switch t.Stat {
	case "p":
		r.Actual = e.Percentile(t.Pct)
	case "avg":
		r.Actual = e.AvgMs
	case "min":
		r.Actual = e.MinMs
	case "max":
		r.Actual = e.MaxMs
	case "median":
		r.Actual = e.MedianMs
	case "error_rate":
		if e.Requests > 0 {
			r.Actual = float64(e.Failures) / float64(e.Requests) * 100
		}
	case "rps":
		r.Actual = e.TotalRPS
	case "requests":
		r.Actual = float64(e.Requests)
	case "failures":
		r.Actual = float64(e.Failures)
	}
	r.Pass = t.Holds(r.Actual)
	unit := ""
	switch t.Stat {
	case "p", "avg", "min", "max", "median":
		unit = " ms"
	case "error_rate":
		unit = "%"
	}
	verdict := "holds"
	if !r.Pass {
		verdict = "fails"
	}
	r.Reason = fmt.Sprintf("%s %s: actual %s%s", t.Text, verdict, trim(r.Actual), unit)
	return r
}

var errNoRequests = errors.New("no requests named")

// evaluateChecks judges checks("name") or checks: the share of the
// evaluations that held, in percent. No evaluation yet is no data.
func evaluateChecks(t *scenario.Threshold, in Inputs, r ThresholdResult) ThresholdResult {
	var cs []stats.Check
	if in.Snapshot != nil {
		cs = in.Snapshot.Checks
	}
	var c stats.CheckCount
	if t.Check == "" {
		c = stats.AllChecks(cs)
	} else {
		names := make([]string, 0, len(cs))
		for _, x := range cs {
			names = append(names, x.Name)
			if x.Name == t.Check {
				c = x.CheckCount
			}
		}
		if c.Passes+c.Fails == 0 {
			r.NoData = true
			r.Reason = fmt.Sprintf("%s: no check named %q was evaluated", t.Text, t.Check)
			if len(names) > 0 {
				r.Reason += " (checks: " + quoteList(names, 5) + ")"
			}
			return r
		}
	}
	if c.Passes+c.Fails == 0 {
		r.NoData = true
		r.Reason = fmt.Sprintf("%s: no check was evaluated", t.Text)
		return r
	}
	r.Actual = c.Rate()
	r.Pass = t.Holds(r.Actual)
	verdict := "holds"
	if !r.Pass {
		verdict = "fails"
	}
	r.Reason = fmt.Sprintf("%s %s: actual %s%% (%d of %d passed)", t.Text, verdict, trim(r.Actual), c.Passes, c.Passes+c.Fails)
	return r
}

// quoteList quotes the first n of names, "..." after.
func quoteList(names []string, n int) string {
	var b strings.Builder
	for i, s := range names {
		if i == n {
			b.WriteString(", ...")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(s))
	}
	return b.String()
}

// entry finds the statistics entry a threshold names: Aggregated when it
// names none; by name, and method when given, otherwise.
func entry(s *stats.Snapshot, t *scenario.Threshold) (*stats.Entry, error) {
	if s == nil {
		return nil, fmt.Errorf("no statistics")
	}
	if t.Name == "" {
		return &s.Total, nil
	}
	var found *stats.Entry
	var methods []string
	for i := range s.Entries {
		e := &s.Entries[i]
		if e.Name != t.Name || (t.Method != "" && e.Method != t.Method) {
			continue
		}
		methods = append(methods, e.Method)
		found = e
	}
	switch len(methods) {
	case 0:
		return nil, fmt.Errorf("%w %q", errNoRequests, strings.TrimSpace(t.Method+" "+t.Name))
	case 1:
		return found, nil
	default:
		return nil, fmt.Errorf("%q names %d entries (%s): add the method, e.g. %s %s", t.Name, len(methods), strings.Join(methods, ", "), methods[0], t.Name)
	}
}

func trim(v float64) string {
	if math.Abs(v) >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
