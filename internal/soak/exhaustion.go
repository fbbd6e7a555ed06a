package soak

import (
	"fmt"
	"time"

	"github.com/horde-load/horde/internal/scenario"
)

// evaluateExhaustion judges target.time_to_exhaustion: the shortest
// forecast of a resource reaching its limit (in.Target, in ms), against a
// time ("> 7d"). With no forecast (no resource with a known limit grows)
// nothing runs out: the value is "never" (maxForecast), and "> D" holds.
func evaluateExhaustion(t *scenario.Threshold, in Inputs, r ThresholdResult) ThresholdResult {
	v, ok := in.Target[t.Target]
	if !ok {
		// Nothing runs out: as far as the data tells, never.
		r.Actual = float64(maxForecast / time.Millisecond)
		r.Pass = t.Holds(r.Actual)
		verdict := "holds"
		if !r.Pass {
			verdict = "fails"
		}
		r.Reason = fmt.Sprintf("%s %s: nothing runs out (no resource with a known limit grows)", t.Text, verdict)
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
