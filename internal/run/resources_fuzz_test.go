package run

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/series"
)

// FuzzParseLimits: --limit METRIC=VALUE (horde run, horde analyze) is a
// named positive finite limit or an error that names the flag.
func FuzzParseLimits(f *testing.F) {
	for _, s := range []string{"process_resident_memory_bytes=512MiB", "pool=100", "=1", "x", "a=b=c", " fds = 1e400", "disk=2 GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseLimits([]string{s})
		if err != nil {
			if !strings.Contains(err.Error(), "--limit") {
				t.Fatalf("%q: error %q does not name --limit", s, err)
			}
			return
		}
		for k, v := range m {
			if k == "" || !(v > 0) || math.IsInf(v, 0) {
				t.Fatalf("%q: limit %q = %v", s, k, v)
			}
		}
	})
}

// FuzzResourceRoles: whatever the names of a monitor's series (a query's
// name, its labels), the resource and replicas checks pair them without
// panicking, never judge a limit or a maximum as a resource, and a
// replica count's maximum is the value of a maximum series.
func FuzzResourceRoles(f *testing.F) {
	f.Add("replicas", `kube_horizontalpodautoscaler_status_current_replicas{horizontalpodautoscaler="a"}`, "max_replicas",
		`kube_horizontalpodautoscaler_spec_max_replicas{horizontalpodautoscaler="a"}`, 4.0, 4.0)
	f.Add("", "process_open_fds", "", "process_max_fds", 40.0, 1024.0)
	f.Add("pool", "{", "pool_max", "}{", 1.0, -1.0)
	f.Fuzz(func(t *testing.T, m1, n1, m2, n2 string, v1, v2 float64) {
		t0 := time.Unix(1_700_000_000, 0)
		mk := func(metric, name string, v, step float64) series.Series {
			s := series.Series{Name: strings.TrimSpace(metric + " " + name), Metric: metric}
			if metric == "" {
				s.Metric = name
			}
			for i := range 40 {
				s.Points = append(s.Points, series.Point{T: t0.Add(time.Duration(i) * time.Second), V: v + step*float64(i%7)})
			}
			return s
		}
		a, b := mk(m1, n1, v1, 1), mk(m2, n2, v2, 0)
		if a.Name == b.Name {
			return
		}
		for _, v := range Judge(nil, nil, nil, []series.Series{a, b}, 0) {
			for _, s := range []series.Series{a, b} {
				r := roleOf(s)
				if (r.limit || r.maxRepl) && strings.HasSuffix(v.Name, ": "+s.Name) && (v.Resource != nil || v.Replicas != nil) {
					t.Fatalf("the limit %q was judged: %s", s.Name, v.Reason)
				}
			}
			if v.Replicas != nil && v.Replicas.Limit > 0 && v.Replicas.Limit != lastValue(b.Points) && v.Replicas.Limit != lastValue(a.Points) {
				t.Fatalf("maximum %v is no series' value", v.Replicas.Limit)
			}
		}
	})
}
