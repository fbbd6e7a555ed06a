package run

import (
	"strings"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
)

func ramp(name, metric string, n int, v0, step float64, memory bool) series.Series {
	t0 := time.Unix(1_700_000_000, 0)
	s := series.Series{Name: name, Metric: metric, Memory: memory}
	for i := range n {
		s.Points = append(s.Points, series.Point{T: t0.Add(time.Duration(i) * time.Second), V: v0 + step*float64(i)})
	}
	return s
}

// Limits pair with what they limit (same source, or a number given for
// the metric); the shortest forecast is target.time_to_exhaustion.
func TestJudgeResources_LimitsAndExhaustion(t *testing.T) {
	src := "http://127.0.0.1:9/metrics "
	target := []series.Series{
		ramp(src+"process_open_fds", "process_open_fds", 90, 40, 5, false),
		ramp(src+"process_max_fds", "process_max_fds", 90, 1024, 0, false),
		ramp("other process_max_fds", "process_max_fds", 90, 1e6, 0, false),
		ramp(src+"process_resident_memory_bytes", "process_resident_memory_bytes", 90, 100e6, 2e6, true),
		ramp(src+"go_goroutines", "go_goroutines", 90, 14, 0, false),
	}
	target = append(target, LimitSeries(map[string]float64{"process_resident_memory_bytes": 1 << 30}, target[0].Points[0].T, target[0].Points[89].T)...)
	ths := []*scenario.Threshold{mustThreshold(t, "target.time_to_exhaustion > 7d")}
	vs := Judge(ths, nil, nil, target, 0)
	byName := map[string]soak.Verdict{}
	for _, v := range vs {
		byName[v.Name] = v
	}
	fds := byName["open fds: "+src+"process_open_fds"]
	if fds.Status != soak.Fail || fds.Resource == nil || fds.Resource.Limit != 1024 || !strings.Contains(fds.Reason, "reaches its limit of 1,024 in") {
		t.Errorf("open fds: %+v", fds)
	}
	mem := byName["memory leak: "+src+"process_resident_memory_bytes"]
	if mem.Resource == nil || mem.Resource.Limit != 1<<30 || !strings.Contains(mem.Reason, "reaches its limit of 1 GiB in") {
		t.Errorf("memory: %+v", mem)
	}
	if g := byName["goroutines: "+src+"go_goroutines"]; g.Status != soak.Pass {
		t.Errorf("goroutines: %+v", g)
	}
	th := byName["target.time_to_exhaustion > 7d"]
	if th.Status != soak.Fail || !strings.Contains(th.Reason, "open fds") {
		t.Errorf("threshold: %+v", th)
	}
	for _, v := range vs {
		if strings.Contains(v.Name, "max_fds") || strings.Contains(v.Name, "limit:") {
			t.Errorf("a limit was judged: %s", v.Name)
		}
	}
}

func mustThreshold(t *testing.T, s string) *scenario.Threshold {
	t.Helper()
	th, err := scenario.ParseThreshold(s)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestParseLimits(t *testing.T) {
	m, err := ParseLimits([]string{"process_resident_memory_bytes=512MiB", "pool=100"})
	if err != nil || m["process_resident_memory_bytes"] != 512<<20 || m["pool"] != 100 {
		t.Errorf("%v %v", m, err)
	}
	for _, bad := range []string{"nolimit", "=5", "x=lots"} {
		if _, err := ParseLimits([]string{bad}); err == nil || !strings.Contains(err.Error(), "--limit") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// A monitor's named queries (replicas, max_replicas) of several
// autoscalers pair each count with the maximum of the same labels.
func TestJudgeResources_ReplicasPairByLabels(t *testing.T) {
	hpa := func(q, metric, name string, v0, step float64) series.Series {
		return ramp(q+" "+metric+`{horizontalpodautoscaler="`+name+`",namespace="shop"}`, q, 60, v0, step, false)
	}
	const cur, mx = "kube_horizontalpodautoscaler_status_current_replicas", "kube_horizontalpodautoscaler_spec_max_replicas"
	target := []series.Series{
		hpa("replicas", cur, "a", 4, 0), hpa("max_replicas", mx, "a", 4, 0),
		hpa("replicas", cur, "b", 4, 0), hpa("max_replicas", mx, "b", 10, 0),
	}
	got := map[string]float64{}
	for _, v := range Judge(nil, nil, nil, target, 0) {
		if v.Replicas != nil {
			got[v.Name[strings.Index(v.Name, `"`)+1:][:1]] = v.Replicas.Limit
			if strings.Contains(v.Name, `"a"`) && v.Status != soak.Fail {
				t.Errorf("a: pinned at its maximum the whole run: %s %s", v.Status, v.Reason)
			}
		}
	}
	if got["a"] != 4 || got["b"] != 10 {
		t.Errorf("maxima %v, want a: 4, b: 10", got)
	}
}
