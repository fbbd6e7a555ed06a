package soak

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzResource: the resource checks, the forecast, CPU per request and
// the replicas check answer any series (NaN, ±Inf, repeated and
// backward times) quickly, without panicking, with figures JSON can
// write and a forecast interval around its estimate.
func FuzzResource(f *testing.F) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Add(bytesFrom(linear(30, 40, 3)), 1024.0)
	f.Add(bytesFrom(linear(60, 1e9, -5e6)), 0.0)
	f.Add(bytesFrom([]Point{{T: t0, V: math.Inf(1)}, {T: t0.Add(time.Second), V: 1}, {T: t0.Add(2 * time.Second), V: 1}}), math.NaN())
	f.Add([]byte{}, -1.0)
	f.Fuzz(func(t *testing.T, b []byte, limit float64) {
		pts := pointsFrom(b)
		within(t, func() {
			for _, k := range []ResourceKind{ResFDs, ResDiskFree, ResMemory, ResPool} {
				r := Resource("x", k, pts, ResourceOptions{Limit: limit})
				if _, err := json.Marshal(r); err != nil {
					t.Fatalf("%s: JSON: %v", k, err)
				}
				if fc := r.Forecast; fc != nil && !fc.Reached && (fc.Lo > fc.In || (!fc.HiNever && fc.Hi < fc.In) || fc.In < 0) {
					t.Fatalf("%s: forecast %v not inside %v – %v", k, fc.In, fc.Lo, fc.Hi)
				}
			}
			d := CPUCheck("cpu", pts, pts, 0)
			if _, err := json.Marshal(d); err != nil {
				t.Fatalf("cpu JSON: %v", err)
			}
			rr := Replicas("r", pts, limit)
			if _, err := json.Marshal(rr); err != nil {
				t.Fatalf("replicas JSON: %v", err)
			}
		})
	})
}
