package soak

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

func TestDbg(t *testing.T) {
	want := os.Getenv("DBG")
	for i, c := range append(leakCases(), driftCases()...) {
		if want != "" && !strings.Contains(c.name, want) {
			continue
		}
		r := rand.New(rand.NewPCG(uint64(i)+1, 14))
		shown := 0
		for range c.seeds {
			pts := c.gen(r)
			var st Status
			var reason string
			if c.kind == "leak" {
				l := Leak("memory", pts, LeakOptions{})
				st, reason = l.Status, l.Reason
				reason += " cyc=" + l.CyclePeriod.String()
			} else {
				d := Drift("p95", pts, DriftOptions{})
				st, reason = d.Status, d.Reason
			}
			bad := (c.truth == "no leak" || c.truth == "steady") == (st == Fail || st == Warn)
			if bad && shown < 6 {
				shown++
				t.Logf("%s: %s %s", c.name, st, reason)
			}
		}
	}
}

func TestDbgSum(t *testing.T) {
	cs := leakCases()
	for i, c := range cs {
		if !strings.Contains(c.name, "sum of 3") {
			continue
		}
		r := rand.New(rand.NewPCG(uint64(i)+1, 14))
		for k := 0; k < 3; k++ {
			pts := c.gen(r)
			o := LeakOptions{}.withDefaults()
			var drops []string
			n := len(pts)
			for j := 1; j < n; j++ {
				if pts[j-1].V-pts[j].V > 0.3*100*mb {
					drops = append(drops, fmt.Sprintf("%v %.0f->%.0f", pts[j].T.Sub(t0), pts[j-1].V/mb, pts[j].V/mb))
				}
			}

			t.Logf("restarts %v", DetectRestarts(pts, o))
			_ = drops

		}
	}
}
