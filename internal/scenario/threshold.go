package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Threshold is one pass/fail criterion of a run, in the spirit of k6:
//
//	threshold := metric op value
//	metric    := stat [ "(" name ")" ] | "degradation(" pct ")" | "target." ident
//	           | "regression(" (pct | "avg" | "max" | "error_rate" | "rps") [" " name] ")"
//	           | "regression(target." ident ")"
//	           | "checks" [ "(" check ")" ]
//	stat      := pct | "avg" | "min" | "max" | "median" | "error_rate" | "rps" | "requests" | "failures"
//	pct       := "p" number                    (p50, p95, p99, p99.9)
//	name      := [method " "] request name     (/api/items, GET /api/items); none: Aggregated
//	check     := a check's name, quoted or not ("status 200", "login is 200"); none: every check
//	op        := "<" | "<=" | ">" | ">="
//	value     := number [ "us" | "ms" | "s" | "m" | "h" | "d" | "%" ]
//
// Times are compared in milliseconds, error rates and degradation in
// percent, rps in requests per second. A regression compares the run with
// its baseline runs (--baseline): a change in percent of the baseline for
// latencies and rps (rps: a fall), in percentage points for error_rate, in
// points of %/h for target.memory_growth and the other growths ("< 1%/h"),
// in percent of the baseline for target.cpu_per_request and
// target.time_to_exhaustion (its fall). With a request name, e.g.
// regression(p95 /api/data/[id]), the figures are that request's, else the
// Aggregated ones. checks is the share of check evaluations that held, in
// percent: of the check so named (a YAML check by its text, `status 200`;
// a script's check() by its message), or of every check.
type Threshold struct {
	Text string
	Stat string // "p", "avg", ..., "degradation", "target", or "regression"
	// Of is what a regression compares ("p", "avg", "max", "error_rate",
	// "rps" or "target"; Pct and Target say which percentile or metric).
	Of       string
	Pct      float64 // for "p" and "degradation": the percentile, e.g. 0.95
	Method   string  // optional
	Name     string  // "" means Aggregated
	Target   string  // for "target": the metric after "target."
	Check    string  // for "checks": the check's name; "" means every check
	Op       string
	Value    float64       // in ms for times, % for rates and degradation
	AbortOn  bool          // abort the run as soon as it fails (after Grace)
	Grace    time.Duration // abort_on_fail: time from the start before it is judged
	Pos      Pos
	Duration bool // the value was a duration
}

var thresholdStats = []string{"avg", "min", "max", "median", "error_rate", "rps", "requests", "failures"}

// ParseThreshold parses one threshold expression.
func ParseThreshold(text string) (*Threshold, error) {
	t := &Threshold{Text: text}
	s := strings.TrimSpace(text)
	// the operator: the last <, <=, >, >= outside parentheses
	depth, opAt, opLen := 0, -1, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '<', '>':
			if depth == 0 {
				opAt, opLen = i, 1
				if i+1 < len(s) && s[i+1] == '=' {
					opLen = 2
				}
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("threshold %q: unclosed ( or unbalanced parentheses", text)
	}
	if opAt < 0 {
		return nil, fmt.Errorf("threshold %q: no comparison (<, <=, >, >=)", text)
	}
	t.Op = s[opAt : opAt+opLen]
	metric := strings.TrimSpace(s[:opAt])
	value := strings.TrimSpace(s[opAt+opLen:])
	if err := t.parseMetric(metric); err != nil {
		return nil, fmt.Errorf("threshold %q: %v", text, err)
	}
	if err := t.parseValue(value); err != nil {
		return nil, fmt.Errorf("threshold %q: %v", text, err)
	}
	return t, nil
}

func (t *Threshold) parseMetric(m string) error {
	if m == "" {
		return fmt.Errorf("no metric before %s", t.Op)
	}
	if rest, ok := strings.CutPrefix(m, "target."); ok {
		if rest == "" {
			return fmt.Errorf("target. needs a metric name, e.g. target.memory_growth")
		}
		t.Stat, t.Target = "target", rest
		return nil
	}
	head, arg := m, ""
	if i := strings.IndexByte(m, '('); i >= 0 {
		if !strings.HasSuffix(m, ")") {
			return fmt.Errorf("unclosed ( in %q", m)
		}
		head, arg = strings.TrimSpace(m[:i]), strings.TrimSpace(m[i+1:len(m)-1])
	}
	if head == "regression" {
		// regression(p95 GET /api/items): the figure of one request name
		if what, name, ok := strings.Cut(arg, " "); ok && !strings.HasPrefix(arg, "target.") {
			name = strings.TrimSpace(name)
			if method, rest, ok := strings.Cut(name, " "); ok && strings.ToUpper(method) == method && !strings.HasPrefix(method, "/") {
				t.Method, t.Name = method, strings.TrimSpace(rest)
			} else {
				t.Name = name
			}
			arg = what
		}
		switch {
		case strings.HasPrefix(arg, "target.") && strings.ContainsAny(arg, " \t"):
			return fmt.Errorf("regression(target.X) is the target's, not a request's: drop the request name in %q", arg)
		case strings.HasPrefix(arg, "target."):
			t.Target = strings.TrimPrefix(arg, "target.")
			if t.Target == "" {
				return fmt.Errorf("regression(target.) needs a metric name, e.g. regression(target.memory_growth)")
			}
			t.Of = "target"
		case arg == "avg" || arg == "max" || arg == "error_rate" || arg == "rps":
			t.Of = arg
		default:
			p, ok := percentileName(arg)
			if !ok {
				return fmt.Errorf("regression( ) takes p95 (any percentile), avg, max, error_rate, rps or target.memory_growth, got %q", arg)
			}
			t.Of, t.Pct = "p", p
		}
		t.Stat = "regression"
		return nil
	}
	if head == "checks" {
		t.Stat = "checks"
		if arg != "" {
			name, err := unquote(arg)
			if err != nil {
				return err
			}
			if name == "" {
				return fmt.Errorf("checks( ) needs a check's name, e.g. checks(\"status 200\"); for every check write checks")
			}
			t.Check = name
		}
		return nil
	}
	if head == "degradation" {
		p, ok := percentileName(arg)
		if !ok {
			return fmt.Errorf("degradation( ) takes a percentile such as p95, got %q", arg)
		}
		t.Stat, t.Pct = "degradation", p
		return nil
	}
	if p, ok := percentileName(head); ok {
		t.Stat, t.Pct = "p", p
	} else {
		found := false
		for _, s := range thresholdStats {
			if head == s {
				found = true
			}
		}
		if !found {
			msg := fmt.Sprintf("unknown metric %q", head)
			if d := suggest(head, append(thresholdStats, "p95", "p99", "degradation", "checks")); d != "" {
				msg += fmt.Sprintf("; did you mean %q?", d)
			}
			return fmt.Errorf("%s", msg)
		}
		t.Stat = head
	}
	if arg != "" {
		if method, name, ok := strings.Cut(arg, " "); ok && strings.ToUpper(method) == method && !strings.HasPrefix(method, "/") {
			t.Method, t.Name = method, strings.TrimSpace(name)
		} else {
			t.Name = arg
		}
	}
	return nil
}

// unquote reads a check's name: "..." (Go escapes), '...', or the bare text.
func unquote(s string) (string, error) {
	switch {
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		v, err := strconv.Unquote(s)
		if err != nil {
			return "", fmt.Errorf("bad quoted check name %s", s)
		}
		return v, nil
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return s[1 : len(s)-1], nil
	case strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "'"):
		return "", fmt.Errorf("unclosed quote in check name %s", s)
	}
	return s, nil
}

// percentileName reads "p95" or "p99.9" as a fraction.
func percentileName(s string) (float64, bool) {
	rest, ok := strings.CutPrefix(s, "p")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(rest, 64)
	if err != nil || v <= 0 || v > 100 {
		return 0, false
	}
	return math.Round(v*1e4) / 1e6, true
}

func (t *Threshold) parseValue(v string) error {
	if v == "" {
		return fmt.Errorf("no value after %s", t.Op)
	}
	num, unit := v, ""
	for i := len(v); i > 0; i-- {
		c := v[i-1]
		if (c >= '0' && c <= '9') || c == '.' {
			num, unit = v[:i], strings.TrimSpace(v[i:])
			break
		}
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return fmt.Errorf("bad value %q", v)
	}
	if t.Stat == "regression" {
		return t.parseRegressionValue(num, unit, x)
	}
	timeStat := t.Stat == "p" || t.Stat == "avg" || t.Stat == "min" || t.Stat == "max" || t.Stat == "median" ||
		(t.Stat == "target" && t.Target == "time_to_exhaustion")
	if unit == "d" && timeStat {
		// Days, for forecasts: time_to_exhaustion > 7d.
		if x < 0 || x > 1e5 {
			return fmt.Errorf("bad duration %q", v)
		}
		t.Value, t.Duration = x*24*3600*1000, true
		return nil
	}
	switch unit {
	case "us", "µs", "ms", "s", "m", "h":
		if !timeStat {
			return fmt.Errorf("%s is not a time: drop the unit %q", t.Stat, unit)
		}
		d, err := time.ParseDuration(num + unit)
		if err != nil {
			return fmt.Errorf("bad duration %q", v)
		}
		t.Value, t.Duration = float64(d)/float64(time.Millisecond), true
	case "%":
		if timeStat {
			return fmt.Errorf("%s is a time: use a unit (s, m, h, d)", t.Stat)
		}
		if t.Stat != "error_rate" && t.Stat != "degradation" && t.Stat != "target" && t.Stat != "checks" {
			return fmt.Errorf("%s is not a rate: drop the %%", t.Stat)
		}
		t.Value = x
	case "":
		if timeStat {
			return fmt.Errorf("%s needs a unit (ms, s, m, h, d)", t.Stat)
		}
		if t.Stat == "error_rate" || t.Stat == "degradation" || t.Stat == "checks" {
			return fmt.Errorf("%s needs %%, e.g. 1%%", t.Stat)
		}
		t.Value = x
	default:
		return fmt.Errorf("unknown unit %q", unit)
	}
	return nil
}

// parseRegressionValue reads a regression's limit: "%" (of the baseline,
// or percentage points for error_rate), "%/h" for target.memory_growth.
func (t *Threshold) parseRegressionValue(num, unit string, x float64) error {
	want := "%"
	if t.Of == "target" && !RegressionRelative(t.Target) {
		want = "%/h"
	}
	if strings.ReplaceAll(unit, " ", "") != want {
		return fmt.Errorf("regression(%s) takes a limit in %s, e.g. 10%s", t.regressionOf(), want, want)
	}
	t.Value = x
	return nil
}

// RegressionRelative says whether regression(target.X) compares a level
// in % of the baseline's (cpu_per_request, time_to_exhaustion) rather than
// a growth in points of %/h (memory_growth, open_fds_growth, ...).
func RegressionRelative(target string) bool {
	return target == "cpu_per_request" || target == "time_to_exhaustion"
}

// regressionArg is the argument of a regression threshold, e.g. "p95".
func (t *Threshold) regressionArg() string {
	switch t.Of {
	case "p":
		return fmt.Sprintf("p%g", t.Pct*100)
	case "target":
		return "target." + t.Target
	}
	return t.Of
}

// regressionOf is what a regression threshold compares, e.g. "p95" or
// "p95 GET /api/items".
func (t *Threshold) regressionOf() string {
	s := t.regressionArg()
	if t.Name != "" {
		s += " " + strings.TrimSpace(t.Method+" "+t.Name)
	}
	return s
}

// Holds reports whether actual satisfies the threshold's comparison.
func (t *Threshold) Holds(actual float64) bool {
	switch t.Op {
	case "<":
		return actual < t.Value
	case "<=":
		return actual <= t.Value
	case ">":
		return actual > t.Value
	default:
		return actual >= t.Value
	}
}
