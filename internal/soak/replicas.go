package soak

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Defaults of the replicas check.
const (
	// DefaultFlapWindow is how soon a scale in the other direction counts
	// as a flap: up then down (or down then up) within it.
	DefaultFlapWindow = 5 * time.Minute
	// DefaultFlapFail is the number of flaps that fails: "repeatedly".
	DefaultFlapFail = 3
	// DefaultPinnedWarnPct and DefaultPinnedFailPct are the shares of the
	// window at the maximum that warn and fail: an autoscaler pinned at
	// its maximum has no room left for more load.
	DefaultPinnedWarnPct = 10
	DefaultPinnedFailPct = 50
)

// ReplicasResult is the verdict on a replica count over a run (a
// Deployment's or an HPA's current replicas).
type ReplicasResult struct {
	Name       string
	Status     Status
	Reason     string
	Min, Max   float64 // seen
	ScaleUps   int
	ScaleDowns int
	Flaps      int     // direction changes within the flap window
	Limit      float64 // the maximum replicas (0: unknown)
	AtMax      time.Duration
	AtMaxPct   float64
	Window     time.Duration
}

// MarshalJSON writes snake_case names and durations in seconds.
func (r ReplicasResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		verdictJSON
		Min        float64 `json:"min"`
		Max        float64 `json:"max"`
		ScaleUps   int     `json:"scale_ups"`
		ScaleDowns int     `json:"scale_downs"`
		Flaps      int     `json:"flaps"`
		Limit      float64 `json:"limit,omitempty"`
		AtMaxS     float64 `json:"at_max_s"`
		AtMaxPct   float64 `json:"at_max_pct"`
		WindowS    float64 `json:"window_s"`
	}{verdictJSON{r.Name, r.Status, r.Reason}, jf(r.Min), jf(r.Max), r.ScaleUps, r.ScaleDowns, r.Flaps, jf(r.Limit), r.AtMax.Seconds(), jf(r.AtMaxPct), r.Window.Seconds()})
}

// Replicas judges a replica count: how often it scaled, whether it
// flapped (scaled up and down within DefaultFlapWindow, DefaultFlapFail
// times or more fails, twice warns, once is an autoscaler's ordinary
// correction), and, when the maximum is known
// (limit > 0, e.g. the HPA's spec.maxReplicas), the time pinned at it
// (DefaultPinnedWarnPct of the window warns, DefaultPinnedFailPct fails).
// Scaling by itself passes: that is what an autoscaler is for.
func Replicas(name string, pts []Point, limit float64) ReplicasResult {
	r := ReplicasResult{Name: name, Status: Pass, Limit: max(limit, 0)}
	if !isFinite(r.Limit) {
		r.Limit = 0
	}
	pts, _ = Clean(pts)
	if len(pts) < 2 {
		r.Status = Inconclusive
		r.Reason = fmt.Sprintf("replicas: %d samples, not enough to judge", len(pts))
		return r
	}
	r.Window = pts[len(pts)-1].T.Sub(pts[0].T)
	r.Min, r.Max = pts[0].V, pts[0].V
	var lastDir int
	var lastAt time.Time
	for i, p := range pts {
		r.Min, r.Max = min(r.Min, p.V), max(r.Max, p.V)
		if i == 0 {
			continue
		}
		prev := pts[i-1]
		if r.Limit > 0 && prev.V >= r.Limit {
			r.AtMax += p.T.Sub(prev.T)
		}
		dir := 0
		switch {
		case p.V > prev.V:
			dir = 1
			r.ScaleUps++
		case p.V < prev.V:
			dir = -1
			r.ScaleDowns++
		}
		if dir == 0 {
			continue
		}
		if lastDir != 0 && dir != lastDir && p.T.Sub(lastAt) <= DefaultFlapWindow {
			r.Flaps++
		}
		lastDir, lastAt = dir, p.T
	}
	if r.Window > 0 {
		r.AtMaxPct = r.AtMax.Seconds() / r.Window.Seconds() * 100
	}
	w := round(r.Window)
	r.Reason = fmt.Sprintf("replicas %g to %g over %s: scaled up %d, down %d times", r.Min, r.Max, w, r.ScaleUps, r.ScaleDowns)
	switch {
	case r.Flaps >= DefaultFlapFail:
		r.Status = Fail
		r.Reason += fmt.Sprintf("; flapping: %d reversals within %s", r.Flaps, DefaultFlapWindow)
	case r.Flaps > 1:
		r.Status = Warn
		r.Reason += fmt.Sprintf("; %d reversal(s) within %s: close to flapping", r.Flaps, DefaultFlapWindow)
	}
	if r.Limit > 0 {
		r.Reason += fmt.Sprintf("; at the maximum of %g for %s (%.0f%% of the run)", r.Limit, round(r.AtMax), r.AtMaxPct)
		switch {
		case r.AtMaxPct >= DefaultPinnedFailPct:
			r.Status = Fail
			r.Reason += ": pinned at the maximum, no room left to scale"
		case r.AtMaxPct >= DefaultPinnedWarnPct && r.Status != Fail:
			r.Status = Warn
		}
	} else {
		r.Reason += "; maximum unknown (add a query of the HPA's maximum, e.g. kube_horizontalpodautoscaler_spec_max_replicas, to judge the time pinned at it)"
	}
	return r
}

// IsReplicas reports whether a metric (or query name) is a replica count,
// and whether it is a maximum of one.
func IsReplicas(metric string) (replicas, isMax bool) {
	m := strings.ToLower(metric)
	if !strings.Contains(m, "replicas") {
		return false, false
	}
	return true, strings.Contains(m, "max") || strings.Contains(m, "limit")
}
