package soak

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// detectorCase is one kind of generated series with its truth.
type detectorCase struct {
	name string
	leak bool // the truth
	gen  func(r *rand.Rand) series
}

func gcPeriod(r *rand.Rand) time.Duration {
	return time.Duration(30+r.IntN(270)) * time.Second // 30 s to 5 min
}

// Two hours of scrapes every 10 s, as the goal states.
var detectorCases = []detectorCase{
	{"flat, GC sawtooth, 1% noise", false, func(r *rand.Rand) series {
		return series{base: 100e6, gc: 0.2, gcPeriod: gcPeriod(r), noise: 0.01, span: 2 * time.Hour, step: 10 * time.Second}
	}},
	{"flat, 3% noise, no GC", false, func(r *rand.Rand) series {
		return series{base: 100e6, noise: 0.03, span: 2 * time.Hour, step: 10 * time.Second}
	}},
	{"diurnal ±10%, 48 h, GC", false, func(r *rand.Rand) series {
		return series{base: 100e6, gc: 0.2, gcPeriod: gcPeriod(r), noise: 0.01, diurnal: 0.1, span: 48 * time.Hour, step: time.Minute}
	}},
	{"step +10% once (cache warm-up)", false, func(r *rand.Rand) series {
		return series{base: 100e6, gc: 0.2, gcPeriod: gcPeriod(r), noise: 0.01, stepPct: 10, stepAt: time.Duration(20+r.IntN(80)) * time.Minute, span: 2 * time.Hour, step: 10 * time.Second}
	}},
	{"leak 1%/h, GC sawtooth", true, func(r *rand.Rand) series {
		return series{base: 100e6, leakPerHour: 1, gc: 0.2, gcPeriod: gcPeriod(r), noise: 0.01, span: 2 * time.Hour, step: 10 * time.Second}
	}},
	{"leak 5%/h, GC sawtooth", true, func(r *rand.Rand) series {
		return series{base: 100e6, leakPerHour: 5, gc: 0.2, gcPeriod: gcPeriod(r), noise: 0.01, span: 2 * time.Hour, step: 10 * time.Second}
	}},
	{"leak 5%/h, 3% noise, no GC", true, func(r *rand.Rand) series {
		return series{base: 100e6, leakPerHour: 5, noise: 0.03, span: 2 * time.Hour, step: 10 * time.Second}
	}},
	{"leak 10%/h, GC sawtooth", true, func(r *rand.Rand) series {
		return series{base: 100e6, leakPerHour: 10, gc: 0.2, gcPeriod: gcPeriod(r), noise: 0.01, span: 2 * time.Hour, step: 10 * time.Second}
	}},
}

const detectorTrials = 400

// TestLeak_Detector measures the detector on generated series with a known
// truth and holds it to the goals: at least 95 % of 5 %/h leaks flagged
// within 2 h, at most 1 % of flat sawtooth series flagged. With
// HORDE_SOAK_TABLE=FILE it writes the confusion table as Markdown.
func TestLeak_Detector(t *testing.T) {
	var table strings.Builder
	table.WriteString("| series (2 h every 10 s unless said) | truth | pass | inconclusive | warn | fail | flagged (warn or fail) |\n|---|---|---|---|---|---|---|\n")
	for ci, c := range detectorCases {
		r := rand.New(rand.NewPCG(uint64(ci)+1, 42))
		counts := map[Status]int{}
		for range detectorTrials {
			res := Leak("mem", c.gen(r).points(r), LeakOptions{})
			counts[res.Status]++
		}
		flagged := float64(counts[Warn]+counts[Fail]) / detectorTrials * 100
		truth := "no leak"
		if c.leak {
			truth = "leak"
		}
		fmt.Fprintf(&table, "| %s | %s | %d | %d | %d | %d | %.1f%% |\n", c.name, truth, counts[Pass], counts[Inconclusive], counts[Warn], counts[Fail], flagged)
		switch c.name {
		case "leak 5%/h, GC sawtooth", "leak 5%/h, 3% noise, no GC":
			if flagged < 95 {
				t.Errorf("%s: flagged %.1f%%, want >= 95%%", c.name, flagged)
			}
		case "flat, GC sawtooth, 1% noise", "flat, 3% noise, no GC":
			if flagged > 1 {
				t.Errorf("%s: flagged %.1f%%, want <= 1%%", c.name, flagged)
			}
		}
	}
	t.Logf("%d trials each:\n%s", detectorTrials, table.String())
	if f := os.Getenv("HORDE_SOAK_TABLE"); f != "" {
		if err := os.WriteFile(f, []byte(table.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLeak_Reasons(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	leak := series{base: 100e6, leakPerHour: 20, gc: 0.2, gcPeriod: time.Minute, noise: 0.01, span: 2 * time.Hour, step: 10 * time.Second}
	res := Leak("target.memory", leak.points(r), LeakOptions{Limit: 200e6})
	if res.Status != Fail {
		t.Fatalf("20%%/h leak: %s (%s)", res.Status, res.Reason)
	}
	if res.PerHourPct < 15 || res.PerHourPct > 25 {
		t.Errorf("per hour: %.1f%%, want about 20", res.PerHourPct)
	}
	if res.TimeToLimit <= 0 || !strings.Contains(res.Reason, "reaches the limit") {
		t.Errorf("time to limit %v, reason %q", res.TimeToLimit, res.Reason)
	}
	few := Leak("m", leak.points(r)[:5], LeakOptions{})
	if few.Status != Inconclusive || !strings.Contains(few.Reason, "not enough") {
		t.Errorf("five samples: %s %q", few.Status, few.Reason)
	}
}

func TestTheilSen_IgnoresOutliers(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	ys := []float64{1, 3, 5, 7, 9, 11, 13, 15, 17, 19}
	ys[3], ys[7] = 1000, -1000
	slope, icept := TheilSen(xs, ys)
	if slope != 2 || icept != 1 {
		t.Errorf("got slope %v intercept %v, want 2 and 1", slope, icept)
	}
}

func TestMannKendall(t *testing.T) {
	up := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if s, _, p := MannKendall(up); s != 45 || p > 0.001 {
		t.Errorf("increasing: S %v p %v", s, p)
	}
	flat := []float64{5, 5, 5, 5, 5, 5}
	if _, _, p := MannKendall(flat); p != 1 {
		t.Errorf("constant: p %v, want 1", p)
	}
	// S counted by hand: 1+5+1+4+1-2+1 over the pairs from each element.
	if s, _, _ := MannKendall([]float64{3, 1, 4, 1, 5, 9, 2, 6}); s != 11 {
		t.Errorf("S = %v, want 11", s)
	}
}

// linear is n samples a second apart of v0 + slope × seconds.
func linear(n int, v0, slope float64) []Point {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Point, n)
	for i := range out {
		out[i] = Point{T: t0.Add(time.Duration(i) * time.Second), V: v0 + slope*float64(i)}
	}
	return out
}

// The fitted line the checks return lies on an exact line, over the window
// judged (after the warm-up), whether the estimators saw every point or
// bucketed ones.
func TestLine_FitOfLeakAndDrift(t *testing.T) {
	for _, n := range []int{30, 400} {
		pts := linear(n, 1000, 2)
		warm := 5 * time.Second
		for _, tt := range []struct {
			name string
			fit  Line
			tol  float64 // the lower envelope sits below the middle of its bucket
		}{
			{"leak", Leak("m", pts, LeakOptions{Warmup: warm}).Fit, 0.45 * 2 * float64(n) / envelopeBuckets},
			{"drift", Drift("p95", pts, DriftOptions{Warmup: warm}).Fit, 1},
		} {
			t.Run(fmt.Sprintf("%s/%d points", tt.name, n), func(t *testing.T) {
				from, to := pts[0].T.Add(warm), pts[n-1].T
				if tt.fit.IsZero() || !tt.fit.From.Equal(from) || !tt.fit.To.Equal(to) {
					t.Fatalf("fit over %v..%v, want %v..%v", tt.fit.From, tt.fit.To, from, to)
				}
				if got := tt.fit.SlopePerSec; math.Abs(got-2) > 1e-9 {
					t.Errorf("slope %v, want 2", got)
				}
				for _, at := range []time.Time{from, to} {
					want := 1000 + 2*at.Sub(pts[0].T).Seconds()
					if got := tt.fit.At(at); math.Abs(got-want) > tt.tol {
						t.Errorf("value at %v: got %v, want %v ± %v", at.Sub(pts[0].T), got, want, tt.tol)
					}
				}
			})
		}
	}
	if fit := Leak("m", linear(5, 1, 1), LeakOptions{}).Fit; !fit.IsZero() {
		t.Errorf("five samples: got fit %+v, want none", fit)
	}
	if fit := Drift("p95", linear(5, 1, 1), DriftOptions{}).Fit; !fit.IsZero() {
		t.Errorf("five samples: got fit %+v, want none", fit)
	}
}
