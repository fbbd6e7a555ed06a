package soak

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// countProcess simulates a resource that leaks one unit every `every`
// requests at about rps requests a second (the rate wanders ±15 %, as a
// real soak's throughput does), over a base that churns with the
// connections in flight. It returns the samples every step for span, and
// the true time (from the end of span) at which the count first reaches
// limit when the same process runs on.
func countProcess(seed uint64, rps, every float64, base, churn, limit float64, span, step time.Duration) ([]Point, time.Duration) {
	rng := rand.New(rand.NewPCG(seed, 7))
	t0 := time.Unix(1_700_000_000, 0)
	leaked, mult := 0.0, 1.0
	var pts []Point
	const dt = 0.1
	for i := 0; ; i++ {
		t := float64(i) * dt
		mult = 1 + 0.9*(mult-1) + 0.03*rng.NormFloat64()
		mult = min(max(mult, 0.7), 1.3)
		// Requests in dt: Poisson, by its normal approximation.
		reqs := max(rps*mult*dt+math.Sqrt(rps*mult*dt)*rng.NormFloat64(), 0)
		leaked += reqs / every
		v := base + math.Floor(leaked) + math.Round(churn*rng.Float64())
		at := time.Duration(t * float64(time.Second))
		if at <= span && i%int(step.Seconds()/dt) == 0 {
			pts = append(pts, Point{T: t0.Add(at), V: v})
		}
		if at > span && v >= limit {
			return pts, at - span
		}
		if at > 1000*span {
			return pts, maxForecast
		}
	}
}

// heapProcess is a garbage-collected heap: a sawtooth between a live set
// and twice it, the live set growing by leak bytes a second.
func heapProcess(seed uint64, live, leak, limit float64, span, step time.Duration) ([]Point, time.Duration) {
	rng := rand.New(rand.NewPCG(seed, 9))
	t0 := time.Unix(1_700_000_000, 0)
	var pts []Point
	phase := rng.Float64()
	for t := 0.0; ; t += step.Seconds() / 5 {
		ls := live + leak*t*(1+0.1*rng.NormFloat64()/math.Sqrt(1+t))
		phase += 0.05 + 0.2*rng.Float64() // irregular cycles, as a collector's
		v := ls * (1 + math.Mod(phase, 1)*0.8)
		at := time.Duration(t * float64(time.Second))
		if at <= span && math.Mod(t, step.Seconds()) < step.Seconds()/5/2 {
			pts = append(pts, Point{T: t0.Add(at), V: v})
		}
		if at > span && v >= limit {
			return pts, at - span
		}
		if at > 1000*span {
			return pts, maxForecast
		}
	}
}

// The forecast's interval holds the true time to exhaustion, continued
// from the same process, in 18 of 20 runs at least.
func TestForecast_Coverage(t *testing.T) {
	cases := []struct {
		name string
		gen  func(seed uint64) ([]Point, time.Duration)
	}{
		{"fds 1 per 10 requests at 200 rps, limit 4096, 60 s every 5 s", func(s uint64) ([]Point, time.Duration) {
			return countProcess(s, 200, 10, 40, 6, 4096, time.Minute, 5*time.Second)
		}},
		{"fds 1 per 50 requests at 150 rps, limit 1024, 90 s every 2 s", func(s uint64) ([]Point, time.Duration) {
			return countProcess(s, 150, 50, 30, 10, 1024, 90*time.Second, 2*time.Second)
		}},
		{"pool slot 1 per 200 requests at 100 rps, limit 100, 120 s every 5 s", func(s uint64) ([]Point, time.Duration) {
			return countProcess(s, 100, 200, 2, 3, 100, 2*time.Minute, 5*time.Second)
		}},
		{"goroutines 1 per 20 requests, 10 min every 15 s, limit 100k", func(s uint64) ([]Point, time.Duration) {
			return countProcess(s, 100, 20, 50, 20, 100000, 10*time.Minute, 15*time.Second)
		}},
		{"heap +1 MB/s over 40 MB, limit 512 MiB, 120 s every 2 s", func(s uint64) ([]Point, time.Duration) {
			return heapProcess(s, 40e6, 1e6, 512<<20, 2*time.Minute, 2*time.Second)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := 0
			var misses []string
			for seed := uint64(1); seed <= 20; seed++ {
				pts, truth := c.gen(seed)
				limit := 1024.0
				switch {
				case strings.Contains(c.name, "limit 4096"):
					limit = 4096
				case strings.HasPrefix(c.name, "pool"):
					limit = 100
				case strings.HasPrefix(c.name, "goroutines"):
					limit = 100000
				case strings.HasPrefix(c.name, "heap"):
					limit = 512 << 20
				}
				f, ok := ForecastLimit(pts, 0, nil, limit, 0)
				if !ok {
					t.Fatalf("seed %d: no forecast", seed)
				}
				if truth >= f.Lo && (f.HiNever || truth <= f.Hi) {
					in++
				} else {
					misses = append(misses, HumanDuration(truth)+" not in "+HumanDuration(f.Lo)+" – "+HumanDuration(f.Hi))
				}
			}
			t.Logf("%d of 20 intervals hold the truth; misses: %v", in, misses)
			if in < 18 {
				t.Errorf("coverage %d/20, want ≥ 18: %v", in, misses)
			}
		})
	}
}

func TestResource_Verdicts(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	mk := func(n int, step time.Duration, f func(i int) float64) []Point {
		pts := make([]Point, n)
		for i := range pts {
			pts[i] = Point{T: t0.Add(time.Duration(i) * step), V: f(i)}
		}
		return pts
	}
	rng := rand.New(rand.NewPCG(3, 3))
	// A leak of open fds with a limit: fails, names the resource, forecasts.
	leak, _ := countProcess(5, 100, 10, 40, 4, 1024, time.Minute, 2*time.Second)
	r := Resource("fds", ResFDs, leak, ResourceOptions{Limit: 1024})
	if r.Status != Fail || r.Forecast == nil || !strings.Contains(r.Reason, "open fds +") || !strings.Contains(r.Reason, "a leak") || !strings.Contains(r.Reason, "limit of 1,024 in") {
		t.Errorf("fd leak: %s %q %+v", r.Status, r.Reason, r.Forecast)
	}
	// Flat with noise: passes, no forecast.
	flat := mk(60, 2*time.Second, func(int) float64 { return 40 + float64(rng.IntN(5)) })
	r = Resource("fds", ResFDs, flat, ResourceOptions{Limit: 1024})
	if r.Status != Pass || r.Forecast != nil || !strings.Contains(r.Reason, "no forecast") {
		t.Errorf("flat: %s %q", r.Status, r.Reason)
	}
	// Grew then levelled: bounded, no forecast, says so.
	bounded := mk(120, 5*time.Second, func(i int) float64 { return 40 + 200*(1-math.Exp(-float64(i)/20)) + float64(rng.IntN(3)) })
	r = Resource("goroutines", ResGoroutines, bounded, ResourceOptions{Limit: 10000})
	if r.Status == Fail || r.Forecast != nil || !strings.Contains(r.Reason, "bounded growth: no forecast") {
		t.Errorf("bounded: %s %q", r.Status, r.Reason)
	}
	// At the limit already: fails.
	full := mk(60, 2*time.Second, func(i int) float64 { return min(10+float64(i)*3, 100) })
	r = Resource("pool", ResPool, full, ResourceOptions{Limit: 100})
	if r.Status != Fail || r.Forecast == nil || !r.Forecast.Reached {
		t.Errorf("full pool: %s %q", r.Status, r.Reason)
	}
	// Disk free falling at 50 MB/s from 10 GB: the disk fills.
	disk := mk(60, 2*time.Second, func(i int) float64 { return 10e9 - 50e6*2*float64(i) + 1e6*rng.NormFloat64() })
	r = Resource("avail", ResDiskFree, disk, ResourceOptions{})
	if r.Forecast == nil || r.Status != Fail || !strings.Contains(r.Reason, "the disk fills in") {
		t.Errorf("disk: %s %q", r.Status, r.Reason)
	} else if in := r.Forecast.In; in < 75*time.Second || in > 90*time.Second {
		t.Errorf("disk fills in %v, want about 82 s", in)
	}
}

func TestClassify(t *testing.T) {
	for metric, want := range map[string]struct {
		k     ResourceKind
		limit bool
	}{
		"process_open_fds": {ResFDs, false}, "process_max_fds": {ResFDs, true},
		"go_goroutines": {ResGoroutines, false}, "go_threads": {ResThreads, false},
		"horde_target_pool_in_use": {ResPool, false}, "horde_target_pool_max": {ResPool, true},
		"node_filesystem_avail_bytes": {ResDiskFree, false}, "horde_target_disk_used_bytes": {ResDisk, false},
		"horde_target_disk_limit_bytes": {ResDisk, true}, `kube_pod_container_resource_limits{resource="memory"}`: {ResMemory, true},
		"memory_limit_bytes": {ResMemory, true}, "pgbouncer_pools_client_active_connections": {ResConnections, false},
		"kube_deployment_status_replicas": {ResNone, false}, "process_cpu_seconds_total": {ResNone, false},
	} {
		k, l := ClassifyResource(metric)
		if k != want.k || l != want.limit {
			t.Errorf("ClassifyResource(%q) = %q, %v; want %q, %v", metric, k, l, want.k, want.limit)
		}
	}
}
