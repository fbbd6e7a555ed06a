package run

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
)

// A leak that climbs until the process restarts, three times over 6 h: the
// start-time series the scrape records tells the leak check where the
// segments are, and the leak fails.
func TestJudge_RestartsFromStartTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	src := "http://127.0.0.1:9091/metrics "
	mem := series.Series{Name: src + "process_resident_memory_bytes", Metric: "process_resident_memory_bytes", Memory: true}
	start := series.Series{Name: src + "process_start_time_seconds", Metric: "process_start_time_seconds"}
	began := t0
	for i := 0; i < 6*60; i++ { // a sample a minute
		at := t0.Add(time.Duration(i) * time.Minute)
		if i > 0 && i%90 == 0 {
			began = at // OOM-killed and restarted every 90 minutes
		}
		grown := at.Sub(began).Hours() * 0.2 // +20 %/h from its baseline
		mem.Points = append(mem.Points, series.Point{T: at, V: 100e6 * (1 + grown)})
		start.Points = append(start.Points, series.Point{T: at, V: float64(began.Unix())})
	}
	if got := restartsFor(mem, []series.Series{start}); len(got) != 3 {
		t.Fatalf("restarts from the start time: %v, want 3", got)
	}
	var leak *soak.Verdict
	for _, v := range Judge(nil, nil, nil, []series.Series{mem, start}, 0) {
		if v.Leak != nil {
			if leak != nil {
				t.Errorf("two leak verdicts: the start time series was judged as memory")
			}
			v := v
			leak = &v
		}
	}
	if leak == nil {
		t.Fatal("no leak verdict")
	}
	if leak.Status != soak.Fail || leak.Leak.Restarts != 3 {
		t.Errorf("leak verdict %s with %d restarts (%s), want fail with 3", leak.Status, leak.Leak.Restarts, leak.Reason)
	}
}

func TestRestartsFor_ByPod(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	counter := func(pod string, at int) series.Series {
		s := series.Series{Name: `kube_pod_container_status_restarts_total{pod="` + pod + `"}`, Metric: "kube_pod_container_status_restarts_total"}
		for i := range 10 {
			v := 0.0
			if i >= at {
				v = 1
			}
			s.Points = append(s.Points, series.Point{T: t0.Add(time.Duration(i) * time.Minute), V: v})
		}
		return s
	}
	markers := []series.Series{counter("a", 3), counter("b", 7)}
	mem := series.Series{Name: `memory{pod="b"}`, Metric: "memory", Memory: true}
	got := restartsFor(mem, markers)
	if len(got) != 1 || !got[0].Equal(t0.Add(7*time.Minute)) {
		t.Errorf("restarts of pod b: %v, want the one at 7 min", got)
	}
}

// A heap whose name tells no kind, its old generation collected every
// 20–40 minutes back to a flat live set, queried from Prometheus with its job
// and instance: its drops read as restarts without evidence, but the
// start time of its process, looked up by the monitor under the same job
// and instance (other labels differ, another instance restarted), says it
// never restarted, and the drops are no restarts.
func TestRestartsFor_ByJobAndInstance(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mem := series.Series{Name: `app_used_bytes{area="old",instance="127.0.0.1:8080",job="app"}`, Metric: "app_used_bytes", Memory: true}
	rng := rand.New(rand.NewPCG(7, 1))
	next, last := 0, 0
	mine := series.Series{Name: `process_start_time_seconds process_start_time_seconds{instance="127.0.0.1:8080",job="app"}`, Metric: "process_start_time_seconds"}
	other := series.Series{Name: `process_start_time_seconds process_start_time_seconds{instance="127.0.0.1:8081",job="app"}`, Metric: "process_start_time_seconds"}
	for i := 0; i < 6*120; i++ { // a sample every 30 s over 6 h
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		if i == next { // a major collection every 20–40 minutes
			last, next = i, i+40+rng.IntN(41)
		}
		cycle := float64(i-last) / 60
		mem.Points = append(mem.Points, series.Point{T: at, V: 200e6 * (1 + cycle + 0.02*rng.NormFloat64())})
		mine.Points = append(mine.Points, series.Point{T: at, V: float64(t0.Add(-time.Hour).Unix())})
		began := t0.Add(-time.Hour)
		if i >= 300 {
			began = t0.Add(150 * time.Minute)
		}
		other.Points = append(other.Points, series.Point{T: at, V: float64(began.Unix())})
	}
	at, evidence, ok := restartEvidence(mem, []series.Series{other, mine})
	if !ok || len(at) != 0 || evidence != "process_start_time_seconds" {
		t.Fatalf("restart evidence %v %q %v, want its own process's start time: no restart", at, evidence, ok)
	}
	leak := func(target []series.Series) soak.Verdict {
		t.Helper()
		for _, v := range Judge(nil, nil, nil, target, 0) {
			if v.Leak != nil {
				return v
			}
		}
		t.Fatal("no leak verdict")
		return soak.Verdict{}
	}
	if v := leak([]series.Series{mem}); v.Leak.Restarts == 0 {
		t.Errorf("without evidence: %s, %d restarts: %s; want its drops read as restarts (else this test shows nothing)", v.Status, v.Leak.Restarts, v.Reason)
	}
	if v := leak([]series.Series{mem, other, mine}); v.Status == soak.Fail || v.Leak.Restarts != 0 {
		t.Errorf("with its start time: %s, %d restarts: %s", v.Status, v.Leak.Restarts, v.Reason)
	}
}

// A monitor query of the process exporter's memory takes the start time of
// its own group's oldest process: not another group's, nor the exporter's
// own process_start_time_seconds under the same job and instance.
func TestRestartsFor_ByProcessGroup(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lbl := `instance="127.0.0.21:9256",job="procs"`
	mem := series.Series{Name: `memory namedprocess_namegroup_memory_bytes{groupname="api",` + lbl + `,memtype="resident"}`, Metric: "memory", Memory: true}
	marker := func(metric, group string, restartAt int) series.Series {
		name := metric + " " + metric + "{" + lbl + "}"
		if group != "" {
			name = metric + " " + metric + `{groupname="` + group + `",` + lbl + "}"
		}
		s := series.Series{Name: name, Metric: metric}
		for i := range 100 {
			began := t0.Add(-time.Hour)
			if restartAt > 0 && i >= restartAt {
				began = t0.Add(time.Duration(restartAt) * time.Minute)
			}
			s.Points = append(s.Points, series.Point{T: t0.Add(time.Duration(i) * time.Minute), V: float64(began.Unix())})
		}
		return s
	}
	own := marker("process_start_time_seconds", "", 30)
	worker := marker(monitor.GroupStartMetric, "worker", 50)
	api := marker(monitor.GroupStartMetric, "api", 0)
	at, evidence, ok := restartEvidence(mem, []series.Series{own, worker, api})
	if !ok || len(at) != 0 || evidence != monitor.GroupStartMetric {
		t.Errorf("restart evidence %v %q %v, want its group's start time: no restart", at, evidence, ok)
	}
	if at, evidence, ok := restartEvidence(mem, []series.Series{own, worker}); ok {
		t.Errorf("restart evidence %v %q from another group or the exporter, want none", at, evidence)
	}
}
