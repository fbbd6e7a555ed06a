package soak

import (
	"fmt"
	"time"

	"github.com/horde-load/horde/internal/scenario"
)

// evaluateExhaustion judges target.time_to_exhaustion: the shortest
// forecast of a resource reaching its limit (in.Target, in ms), against a
// time ("> 7d"). With no forecast (no resource with a known limit grows)
// nothing runs out, and "> D" holds.
func evaluateExhaustion(t *scenario.Threshold, in Inputs, r ThresholdResult) ThresholdResult {
	v, ok := in.Target[t.Target]
	if !ok {
		r.NoData = true
		r.Pass = t.Op == ">" || t.Op == ">="
		why := "no resource with a known limit grows: nothing to forecast"
		if n := in.TargetNotes[t.Target]; n != "" {
			why = n
		}
		r.Reason = fmt.Sprintf("%s: %s", t.Text, why)
		return r
	}
	r.Actual = v
	r.Pass = t.Holds(v)
	d := time.Duration(v * float64(time.Millisecond))
	verdict := "holds"
	if !r.Pass {
		verdict = "fails"
	}
	what := ""
	if in.Exhausting != "" {
		what = in.Exhausting + " "
	}
	if d <= 0 {
		r.Reason = fmt.Sprintf("%s %s: %sat its limit already", t.Text, verdict, what)
		return r
	}
	r.Reason = fmt.Sprintf("%s %s: %sruns out in %s", t.Text, verdict, what, HumanDuration(d))
	return r
}
