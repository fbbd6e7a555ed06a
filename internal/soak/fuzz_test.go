package soak

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// perInput bounds one fuzz input: every function of the package answers
// any series of this size in far less.
const perInput = 2 * time.Second

// within runs f and fails t when it takes longer than perInput (a hang,
// such as the NaN that once spun Mann–Kendall's tie loop forever).
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(perInput):
		t.Fatalf("no answer within %v", perInput)
	}
}

// pointsFrom decodes fuzz bytes into a series: 10 bytes a point, a
// signed 2-byte time step in seconds (so times repeat and go backwards)
// and an 8-byte float64 value (NaN, ±Inf and all).
func pointsFrom(b []byte) []Point {
	var out []Point
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for len(b) >= 10 {
		step := int16(binary.LittleEndian.Uint16(b))
		v := math.Float64frombits(binary.LittleEndian.Uint64(b[2:]))
		t = t.Add(time.Duration(step) * time.Second)
		out = append(out, Point{T: t, V: v})
		b = b[10:]
	}
	return out
}

func bytesFrom(pts []Point) []byte {
	var b []byte
	var prev time.Time
	for i, p := range pts {
		step := int16(0)
		if i > 0 {
			step = int16(p.T.Sub(prev) / time.Second)
		}
		prev = p.T
		b = binary.LittleEndian.AppendUint16(b, uint16(step))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.V))
	}
	return b
}

func addSeeds(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytesFrom(linear(30, 1000, 2)))
	f.Add(bytesFrom([]Point{{T: t0, V: math.NaN()}, {T: t0.Add(time.Second), V: 1}, {T: t0.Add(2 * time.Second), V: 1}}))
	nan := linear(50, 100, 1)
	nan[10].V, nan[20].V, nan[30].V = math.NaN(), math.Inf(1), math.Inf(-1)
	nan[40].T = nan[5].T
	f.Add(bytesFrom(nan))
	oom := sample(6*time.Hour, time.Minute, func(t time.Duration) float64 {
		return 100 + math.Mod(t.Minutes(), 90)
	})
	f.Add(bytesFrom(oom))
	// A heap refilled between full collections (a Parallel GC heap
	// sampled every second) over a growing live set, judged as a heap
	// (b[0] % 4 == 1) with marker restarts every 83 samples (b[1] odd: every 2 + 3·b[1]).
	refill := sample(10*time.Minute, time.Second, func(t time.Duration) float64 {
		return 10e6 + 2e4*t.Seconds() + 2.6e6*math.Mod(t.Seconds(), 12)
	})
	rb := bytesFrom(refill)
	rb[0], rb[1] = 1, 27
	f.Add(rb)
}

// FuzzLeak: any series, a verdict with a reason, in time, JSON-encodable,
// whose figures are finite.
func FuzzLeak(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		pts := pointsFrom(b)
		var r LeakResult
		o := LeakOptions{}
		if len(b) > 0 {
			// Every kind: a heap takes other paths (major collections).
			o.Kind = []Kind{KindUnknown, KindHeap, KindOS, KindCount}[int(b[0])%4]
		}
		if len(b) > 1 && b[1]%2 == 1 && len(pts) > 0 {
			// Restarts from a marker: every k-th sample's time (the
			// segments' paths: riseToRestart, liveSetRise).
			k := 2 + 3*int(b[1])
			o.Restarts = []time.Time{}
			for i := k; i < len(pts); i += k {
				o.Restarts = append(o.Restarts, pts[i].T)
			}
		}
		within(t, func() { r = Leak("m", pts, o) })
		switch r.Status {
		case Pass, Inconclusive, Warn, Fail:
		default:
			t.Fatalf("status %q", r.Status)
		}
		if r.Reason == "" {
			t.Fatal("no reason")
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("json: %v", err)
		}
		if math.IsNaN(r.GrowthPct) && r.Status == Fail {
			t.Fatalf("fails on a NaN growth: %+v", r)
		}
	})
}

func FuzzDrift(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		pts := pointsFrom(b)
		for _, o := range []DriftOptions{{}, {Worse: -1}, {Absolute: true, FailPct: 1}} {
			var r DriftResult
			within(t, func() { r = Drift("p95", pts, o) })
			if r.Reason == "" {
				t.Fatal("no reason")
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("json: %v", err)
			}
		}
	})
}

// FuzzMannKendall: p in [0, 1], S within ±n(n-1)/2, the merge-sort S
// equal to the pairwise count.
func FuzzMannKendall(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		pts := pointsFrom(b)
		ys := vals(pts)
		within(t, func() {
			s, _, p := MannKendall(ys)
			_, _, ph, _ := MannKendallHR(ys)
			fin := finite(ys)
			n := float64(len(fin))
			if !(p >= 0 && p <= 1) || !(ph >= 0 && ph <= 1) {
				t.Fatalf("p %v, p(HR) %v", p, ph)
			}
			if math.Abs(s) > n*(n-1)/2 {
				t.Fatalf("S %v for n %v", s, n)
			}
			if len(fin) >= 3 && len(fin) <= 300 {
				want := 0.0
				for i := range fin {
					for j := i + 1; j < len(fin); j++ {
						switch {
						case fin[j] > fin[i]:
							want++
						case fin[j] < fin[i]:
							want--
						}
					}
				}
				if s != want {
					t.Fatalf("S %v, pairwise %v", s, want)
				}
			}
		})
	})
}

// FuzzTheilSen: a finite slope and intercept for any input; an exact line
// comes back exactly.
func FuzzTheilSen(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		pts := pointsFrom(b)
		xs := make([]float64, len(pts))
		for i, p := range pts {
			xs[i] = p.T.Sub(t0).Seconds()
		}
		within(t, func() {
			slope, icept := TheilSen(xs, vals(pts))
			if !isFinite(slope) && !math.IsInf(slope, 0) || math.IsNaN(icept) {
				t.Fatalf("slope %v intercept %v", slope, icept)
			}
			lo, hi := SenInterval(xs, vals(pts), 1.645)
			if math.IsNaN(lo) || math.IsNaN(hi) || lo > hi {
				t.Fatalf("interval [%v, %v]", lo, hi)
			}
		})
	})
}

// FuzzClean: sorted, unique times, finite values, nothing invented.
func FuzzClean(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		pts := pointsFrom(b)
		var out []Point
		var dropped int
		within(t, func() { out, dropped = Clean(pts) })
		if len(out)+dropped != len(pts) {
			t.Fatalf("%d kept + %d dropped != %d", len(out), dropped, len(pts))
		}
		for i, p := range out {
			if !isFinite(p.V) {
				t.Fatalf("non-finite %v kept", p.V)
			}
			if i > 0 && !out[i-1].T.Before(p.T) {
				t.Fatalf("times not increasing at %d", i)
			}
		}
	})
}

func FuzzDetectRestarts(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		pts := pointsFrom(b)
		within(t, func() {
			DetectRestarts(pts, LeakOptions{})
			RestartsFromStartTime(pts)
			RestartsFromCounter(pts)
		})
	})
}

// A week of samples every 0.6 s: the size the benchmark states.
func million() []Point {
	const n = 1_000_000
	pts := make([]Point, n)
	for i := range pts {
		t := time.Duration(i) * 604800 * time.Second / n
		pts[i] = Point{T: t0.Add(t), V: 100e6 * (1 + 0.01*t.Hours() + 0.2*math.Mod(t.Seconds()/97, 1))}
	}
	return pts
}

func BenchmarkLeak1M(b *testing.B) {
	pts := million()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Leak("m", pts, LeakOptions{})
	}
}

func BenchmarkDrift1M(b *testing.B) {
	pts := million()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Drift("p95", pts, DriftOptions{})
	}
}

// The hang: one NaN in a memory series.
func TestLeak_NaNDoesNotHang(t *testing.T) {
	pts := linear(200, 100e6, 1e4)
	pts[50].V = math.NaN()
	within(t, func() {
		r := Leak("m", pts, LeakOptions{})
		if r.Dropped != 1 {
			t.Errorf("dropped %d, want 1", r.Dropped)
		}
	})
	within(t, func() { MannKendall([]float64{1, math.NaN(), 2, math.NaN(), 3}) })
}
