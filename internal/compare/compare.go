// Package compare sets recorded runs side by side: two runs (`horde
// compare`), a run against its baseline runs (the regression(...)
// thresholds of --baseline), and many runs over time (`horde history`).
//
// Whether a change is beyond a run's own noise is judged on the run's
// per-period values (each whole minute, or each 10 s window of a run
// shorter than 5 minutes) with the Mann–Whitney rank test, and, against
// several baseline runs, on the spread between those runs. See
// docs/soak.md, "Compared with earlier runs".
package compare

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// Setup is what a run was asked to do, and how it ended.
type Setup struct {
	ID           string        `json:"id"`
	File         string        `json:"file"`
	Started      time.Time     `json:"started"`
	Ended        time.Time     `json:"ended,omitzero"` // zero: unfinished
	Duration     time.Duration `json:"-"`              // of its ticks, or to its end
	Status       string        `json:"status"`
	ExitCode     int           `json:"exit_code"`
	Command      string        `json:"command"`
	ScenarioFile string        `json:"scenario_file"`
	ScenarioHash string        `json:"scenario_hash"` // of the scenario's text, 12 hex digits
	Host         string        `json:"host"`
	Users        int           `json:"users"`
	SpawnRate    float64       `json:"spawn_rate"`
	RunTime      time.Duration `json:"-"` // asked for; 0 when unbounded
	Open         bool          `json:"open"`
	Warmup       time.Duration `json:"-"`
}

// HashScenario is the scenario hash runs are matched by.
func HashScenario(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:6])
}

// Period is one stretch of a run (a whole minute, or a 10 s window).
type Period struct {
	T                  time.Time // its start
	Requests, Failures int64
	RPS, ErrorRate     float64 // req/s; failures in % of requests
	P50, P95, P99, Max float64 // ms; NaN when no request
}

// Figures are one request name's figures over the whole run.
type Figures struct {
	Method, Name       string
	Requests, Failures int64
	RPS, ErrorRate     float64
	Avg                float64
	P50, P95, P99, Max float64
	Percentiles        []float64 // for stats.Percentiles, as the run's table
	Periods            []Period
	// Steady are the latency figures a regression compares: for p50, p95,
	// p99 and max, the median over the run's steady part (after the
	// warm-up, before the stop) of each minute's value (runs of
	// MinutePeriods or more) or of each tick's 10 s window. The bursts at
	// the start and the stop (every user logging in or out at once), which
	// move with the machine's load, do not move it; a lasting change does.
	Steady map[string]float64
}

// percentile is the whole-run percentile p (as the run's table gives it).
func percentile(f *Figures, p float64) float64 {
	e := stats.Entry{Percentiles: f.Percentiles, MaxMs: f.Max}
	return e.Percentile(p)
}

// Key is the statistics key of the figures.
func (f *Figures) Key() stats.Key { return stats.Key{Method: f.Method, Name: f.Name} }

// Target is one figure of the target's (from the soak package's checks):
// e.g. the lasting memory growth of a memory series.
type Target struct {
	Name   string  `json:"name"`   // e.g. "memory_growth"
	Series string  `json:"series"` // the series it was judged on, when one
	Unit   string  `json:"unit"`   // "%/h", "%", ...
	Value  float64 `json:"value"`
	Status string  `json:"status"`         // of the check that gave it
	Note   string  `json:"note,omitempty"` // why there is no value (inconclusive)
	Valid  bool    `json:"valid"`          // Value was measured
}

// Run is one recorded run's setup and figures.
type Run struct {
	Setup     Setup
	PeriodLen time.Duration
	Names     []Figures // by name, Aggregated last
	Target    []Target
}

// Aggregated returns the run's Aggregated figures (nil if none).
func (r *Run) Aggregated() *Figures {
	return r.Lookup(stats.Key{Name: stats.AggregatedName})
}

// Lookup returns the figures of k (nil if the run has none).
func (r *Run) Lookup(k stats.Key) *Figures {
	for i := range r.Names {
		if r.Names[i].Key() == k {
			return &r.Names[i]
		}
	}
	return nil
}

// TargetFigure returns the target figure called name: the worst when
// several series give one (the largest; the shortest time_to_exhaustion).
func (r *Run) TargetFigure(name string) (Target, bool) {
	var best Target
	found := false
	w := float64(TargetWorse(name))
	for _, t := range r.Target {
		if t.Name != name || !t.Valid {
			continue
		}
		if !found || w*(t.Value-best.Value) > 0 {
			best, found = t, true
		}
	}
	return best, found
}

// TargetNames are the names of the run's valid target figures, in the
// order first given.
func (r *Run) TargetNames() []string {
	var out []string
	for _, t := range r.Target {
		if t.Valid && !slices.Contains(out, t.Name) {
			out = append(out, t.Name)
		}
	}
	return out
}

// TargetWorse says which direction of a target figure is a regression:
// a longer time_to_exhaustion is better, a larger anything else worse.
func TargetWorse(name string) int {
	if name == "time_to_exhaustion" {
		return -1
	}
	return 1
}

// TargetRelative says whether a target figure's change is in % of the
// earlier value (cpu_per_request, time_to_exhaustion: levels) rather than
// in points of its unit (the growths, already in %/h).
func TargetRelative(name string) bool { return scenario.RegressionRelative(name) }

// targetChange is the change of a target figure from a to b, and its unit.
func targetChange(name string, a, b float64) (float64, string) {
	if TargetRelative(name) {
		return change(name, a, b)
	}
	return b - a, "points"
}

// Metrics are the request figures compared, in order.
var Metrics = []string{"requests", "rps", "error_rate", "p50", "p95", "p99", "max"}

// Value is the figure of metric m over the whole run.
func (f *Figures) Value(m string) float64 {
	switch m {
	case "requests":
		return float64(f.Requests)
	case "avg":
		return f.Avg
	}
	whole := Period{RPS: f.RPS, ErrorRate: f.ErrorRate, P50: f.P50, P95: f.P95, P99: f.P99, Max: f.Max}
	return whole.Value(m)
}

// Value is the figure of metric m over the period (NaN for "requests"
// and "avg", which the periods do not compare).
func (p Period) Value(m string) float64 {
	switch m {
	case "rps":
		return p.RPS
	case "error_rate":
		return p.ErrorRate
	case "p50":
		return p.P50
	case "p95":
		return p.P95
	case "p99":
		return p.P99
	case "max":
		return p.Max
	}
	return math.NaN()
}

// PeriodValues are the non-NaN per-period values of metric m.
func (f *Figures) PeriodValues(m string) []float64 {
	var out []float64
	for _, p := range f.Periods {
		if v := p.Value(m); !math.IsNaN(v) {
			out = append(out, v)
		}
	}
	return out
}

// MinutePeriods is the least run length (of requests) judged by whole
// minutes; shorter runs are judged by 10 s windows.
const MinutePeriods = 5 * time.Minute

// windowLen is the live statistics window the interval rows' percentiles
// cover.
const windowLen = 10 * time.Second

// Windows reads a run's histograms merged over a window of time, per
// request name (store.Store.Window).
type Windows interface {
	Window(ctx context.Context, from, to time.Time) (map[stats.Key]*hdr.PackedHistogram, int, error)
}

// Build computes a run's figures from its final statistics and interval
// rows; st, when not nil, is the run file whose per-minute histograms give
// the periods of runs of MinutePeriods or more.
//
// The steady part runs from the start plus the warm-up (the run's, else
// 10 % of the run, at most 5 minutes) to stop (zero: the last tick).
func Build(ctx context.Context, setup Setup, snap *stats.Snapshot, ivs []stats.Row, st Windows, stop time.Time) (*Run, error) {
	r := &Run{Setup: setup, PeriodLen: windowLen}
	entries := append(append([]stats.Entry{}, snap.Entries...), snap.Total)
	slices.SortFunc(entries[:len(entries)-1], func(a, b stats.Entry) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Method, b.Method))
	})
	byKey := map[stats.Key][]stats.Row{}
	var first, last, prev time.Time
	tick := 2 * time.Second // the default --runs-interval
	for _, iv := range ivs {
		k := stats.Key{Method: iv.Method, Name: iv.Name}
		byKey[k] = append(byKey[k], iv)
		if iv.Method == "" && iv.Name == stats.AggregatedName && iv.Requests > 0 {
			if first.IsZero() {
				first = iv.T
			} else if prev.Equal(first) {
				tick = iv.T.Sub(first)
			}
			last, prev = iv.T, iv.T
		}
	}
	if r.Setup.Duration == 0 && !first.IsZero() {
		r.Setup.Duration = last.Sub(r.Setup.Started)
	}
	var minutes []time.Time
	if st != nil && last.Sub(first) >= MinutePeriods {
		r.PeriodLen = time.Minute
		for m := first.Truncate(time.Minute).Add(time.Minute); !m.Add(time.Minute).After(last); m = m.Add(time.Minute) {
			minutes = append(minutes, m)
		}
	}
	var hists []map[stats.Key]*hdr.PackedHistogram
	for _, m := range minutes {
		hs, _, err := st.Window(ctx, m, m.Add(time.Minute))
		if err != nil {
			return nil, err
		}
		hists = append(hists, hs)
	}
	for _, e := range entries {
		f := Figures{Method: e.Method, Name: e.Name, Requests: e.Requests, Failures: e.Failures, RPS: e.TotalRPS,
			Avg: e.AvgMs, P50: e.Percentile(0.5), P95: e.Percentile(0.95), P99: e.Percentile(0.99), Max: e.MaxMs,
			Percentiles: e.Percentiles}
		if e.Requests > 0 {
			f.ErrorRate = float64(e.Failures) / float64(e.Requests) * 100
		}
		rows := byKey[f.Key()]
		if r.PeriodLen == time.Minute {
			f.Periods = minutePeriods(rows, minutes, hists, f.Key())
		} else {
			f.Periods = windowPeriods(rows, first.Add(-tick), last)
		}
		f.Steady = steady(r, &f, rows, stop)
		r.Names = append(r.Names, f)
	}
	return r, nil
}

// minutePeriods are the whole minutes' figures: counts from the interval
// rows of the minute, percentiles from its histogram.
func minutePeriods(rows []stats.Row, minutes []time.Time, hists []map[stats.Key]*hdr.PackedHistogram, k stats.Key) []Period {
	out := make([]Period, 0, len(minutes))
	j := 0
	for i, m := range minutes {
		p := Period{T: m, P50: math.NaN(), P95: math.NaN(), P99: math.NaN(), Max: math.NaN()}
		for j < len(rows) && rows[j].T.Before(m) {
			j++
		}
		for ; j < len(rows) && rows[j].T.Before(m.Add(time.Minute)); j++ {
			p.Requests += rows[j].Requests
			p.Failures += rows[j].Failures
		}
		p.RPS = float64(p.Requests) / 60
		if p.Requests > 0 {
			p.ErrorRate = float64(p.Failures) / float64(p.Requests) * 100
		}
		if h := hists[i][k]; h != nil && h.TotalCount() > 0 {
			p.P50, p.P95, p.P99, p.Max = ms(h.ValueAtPercentile(50)), ms(h.ValueAtPercentile(95)), ms(h.ValueAtPercentile(99)), ms(h.Max())
		}
		out = append(out, p)
	}
	return out
}

func ms(us int64) float64 { return float64(us) / 1000 }

// windowPeriods are the run's whole 10 s windows from its first request:
// counts summed over the window's ticks, percentiles of the last tick's
// window (which covers the 10 s before it).
// start is the tick before the first with requests (which counts from it).
func windowPeriods(rows []stats.Row, start, last time.Time) []Period {
	if last.IsZero() {
		return nil
	}
	var out []Period
	for t := start; !t.Add(windowLen).After(last); t = t.Add(windowLen) {
		end := t.Add(windowLen)
		p := Period{T: t, P50: math.NaN(), P95: math.NaN(), P99: math.NaN(), Max: math.NaN()}
		var lastRow *stats.Row
		for i := range rows {
			if rows[i].T.After(t) && !rows[i].T.After(end) {
				p.Requests += rows[i].Requests
				p.Failures += rows[i].Failures
				lastRow = &rows[i]
			}
		}
		p.RPS = float64(p.Requests) / windowLen.Seconds()
		if p.Requests > 0 {
			p.ErrorRate = float64(p.Failures) / float64(p.Requests) * 100
		}
		if lastRow != nil {
			p.P50, p.P95, p.P99, p.Max = lastRow.P50, lastRow.P95, lastRow.P99, lastRow.Max
		}
		out = append(out, p)
	}
	return out
}

// steadyMetrics are the figures Steady holds.
var steadyMetrics = []string{"p50", "p95", "p99", "max"}

// steady computes f.Steady (see Figures).
func steady(r *Run, f *Figures, rows []stats.Row, stop time.Time) map[string]float64 {
	warmup := r.Setup.Warmup
	if warmup <= 0 {
		warmup = min(r.Setup.Duration/10, 5*time.Minute)
	}
	from := r.Setup.Started.Add(warmup)
	out := map[string]float64{}
	for _, m := range steadyMetrics {
		var vs []float64
		if r.PeriodLen == time.Minute {
			for _, p := range f.Periods {
				if v := p.Value(m); !p.T.Before(from) && (stop.IsZero() || !p.T.Add(time.Minute).After(stop)) && !math.IsNaN(v) {
					vs = append(vs, v)
				}
			}
		} else {
			for _, iv := range rows {
				if iv.T.Before(from) || (!stop.IsZero() && iv.T.After(stop)) {
					continue
				}
				var v float64
				switch m {
				case "p50":
					v = iv.P50
				case "p95":
					v = iv.P95
				case "p99":
					v = iv.P99
				case "max":
					v = iv.Max
				}
				if !math.IsNaN(v) {
					vs = append(vs, v)
				}
			}
		}
		if len(vs) == 0 {
			out[m] = f.Value(m) // too short for a steady part: the whole run's
			continue
		}
		out[m] = median(vs)
	}
	return out
}
