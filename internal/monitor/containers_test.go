package monitor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/series"
)

// A container restarted in its pod is a new run with a new cgroup id in
// cAdvisor's series: the range query's runs are stitched into one series a
// container, its restart counter beside it (0, then 1 from the new run's
// first sample). The pod's own cgroup (container="") and a series of
// another container stay as they are; two runs at once are not stitched.
func TestQueryRange_StitchesContainerRuns(t *testing.T) {
	run := func(pod, container, id string, from, to int, v float64) string {
		var vals []string
		for ts := from; ts <= to; ts += 60 {
			vals = append(vals, fmt.Sprintf(`[%d,"%g"]`, ts, v))
		}
		return fmt.Sprintf(`{"metric":{"__name__":"container_memory_usage_bytes","job":"kubelet","instance":"127.0.0.11:10250","pod":%q,"container":%q,"id":%q,"name":%q},"values":[%s]}`,
			pod, container, id, "k8s_"+id, strings.Join(vals, ","))
	}
	const t0 = 1700000000
	results := []string{
		run("my-app-1", "app", "/kubepods/pod1/aaa", t0, t0+600, 100),
		run("my-app-1", "app", "/kubepods/pod1/bbb", t0+660, t0+1200, 50),
		// the dead run's last sample lingers (Prometheus's staleness)
		run("my-app-1", "app", "/kubepods/pod1/ccc", t0+1260, t0+1800, 60),
		run("my-app-1", "", "/kubepods/pod1", t0, t0+1800, 120),
		run("my-app-2", "app", "/kubepods/pod2/ddd", t0, t0+1800, 70),
		// two runs at once under one name: not restarts
		run("my-app-3", "app", "/kubepods/pod3/eee", t0, t0+1800, 10),
		run("my-app-3", "app", "/kubepods/pod3/fff", t0, t0+1800, 20),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[`+strings.Join(results, ",")+`]}}`)
	}))
	defer srv.Close()
	start := time.Unix(t0, 0)
	got, err := QueryRange(context.Background(), nil, srv.URL, `container_memory_usage_bytes{pod=~"my-app-.*"}`, start, start.Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]series.Series{}
	for _, s := range got {
		byName[s.Name] = s
	}
	const labels = `{container="app",instance="127.0.0.11:10250",job="kubelet",pod="my-app-1"}`
	app, ok := byName["container_memory_usage_bytes"+labels]
	if !ok {
		t.Fatalf("no stitched series of my-app-1's app container in %v", names(got))
	}
	if len(app.Points) != 31 || app.Points[0].V != 100 || app.Points[11].V != 50 || app.Points[30].V != 60 || app.Metric != "container_memory_usage_bytes" {
		t.Errorf("stitched series: %d points %v", len(app.Points), app.Points)
	}
	marker, ok := byName[ContainerRestartsMetric+labels]
	if !ok {
		t.Fatalf("no restart counter beside it in %v", names(got))
	}
	if marker.Metric != ContainerRestartsMetric || marker.Memory || len(marker.Points) != 31 ||
		marker.Points[10].V != 0 || marker.Points[11].V != 1 || marker.Points[21].V != 2 || !marker.Points[11].T.Equal(time.Unix(t0+660, 0)) {
		t.Errorf("restart counter: %+v", marker)
	}
	if s, ok := byName[`container_memory_usage_bytes{container="",id="/kubepods/pod1",instance="127.0.0.11:10250",job="kubelet",name="k8s_/kubepods/pod1",pod="my-app-1"}`]; !ok || len(s.Points) != 31 {
		t.Errorf("the pod's own cgroup is not kept as it was: %v", names(got))
	}
	if m, ok := byName[ContainerRestartsMetric+`{container="app",instance="127.0.0.11:10250",job="kubelet",pod="my-app-2"}`]; !ok || m.Points[len(m.Points)-1].V != 0 {
		t.Errorf("a container that never restarted has no counter at 0: %v", names(got))
	}
	n3 := 0
	for _, s := range got {
		if strings.Contains(s.Name, "my-app-3") {
			n3++
			if s.Metric == ContainerRestartsMetric {
				t.Errorf("two runs at once read as restarts: %s", s.Name)
			}
		}
	}
	if n3 != 2 {
		t.Errorf("two runs at once: %d series, want both as they were", n3)
	}
}

func names(ss []series.Series) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

// The monitor's instant queries: a container's new run (a new id) is one
// more restart on its counter, under one series; a dead run's sample that
// lingers beside the new one is dropped.
func TestContainerRuns_Instant(t *testing.T) {
	sample := func(id string, v float64) Sample {
		return Sample{Labels: map[string]string{"__name__": "container_memory_working_set_bytes", "pod": "p", "container": "app", "id": id}, Point: series.Point{V: v}}
	}
	var c containerRuns
	for i, step := range []struct {
		samples []Sample
		keepV   float64
		count   int
	}{
		{[]Sample{sample("a", 1)}, 1, 0},
		{[]Sample{sample("a", 2)}, 2, 0},
		{[]Sample{sample("a", 2), sample("b", 3)}, 3, 1}, // the old run lingers
		{[]Sample{sample("b", 4), sample("a", 2)}, 4, 1},
		{[]Sample{sample("c", 5)}, 5, 2},
	} {
		kept := c.current(step.samples)
		if len(kept) != 1 || kept[0].V != step.keepV {
			t.Fatalf("step %d: kept %+v, want the sample %g", i, kept, step.keepV)
		}
		rest, id, ok := containerRun(kept[0].Labels)
		if !ok {
			t.Fatalf("step %d: not a container run", i)
		}
		if n := c.seen(rest, id); n != step.count {
			t.Errorf("step %d: %d restarts, want %d", i, n, step.count)
		}
	}
}

func TestCollectorMetric(t *testing.T) {
	for q, want := range map[string]bool{
		"container_memory_working_set_bytes":                            true,
		`sum by (pod) (container_memory_usage_bytes{pod=~"my-app-.*"})`: true,
		"kube_pod_container_status_restarts_total":                      true,
		"node_memory_MemAvailable_bytes":                                true,
		"process_resident_memory_bytes":                                 false,
		`process_resident_memory_bytes{job="node_app"}`:                 false,
		`jvm_memory_used_bytes{area="heap"}`:                            false,
		"go_memstats_heap_inuse_bytes":                                  false,
	} {
		if got := CollectorMetric(q); got != want {
			t.Errorf("CollectorMetric(%q) = %v, want %v", q, got, want)
		}
	}
}

// The monitor's prometheus: source over cAdvisor's series: one memory
// series a container across its runs, its restart counter beside it under
// the same source (the name without the metric: what ties a marker to the
// series it tells of), and no lookup of the kubelet's start time.
func TestMonitor_ContainerRestarts(t *testing.T) {
	var calls []string
	round := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		calls = append(calls, q)
		id := "/kubepods/pod1/aaa"
		if round >= 2 {
			id = "/kubepods/pod1/bbb"
		}
		io.WriteString(w, fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"container_memory_working_set_bytes","job":"kubelet","instance":"127.0.0.11:10250","pod":"my-app-1","container":"app","id":%q},"value":[1700000000,"%d"]}]}}`, id, 100+round))
	}))
	defer srv.Close()
	m, err := New(Config{Queries: []Query{{URL: srv.URL, Name: "memory", Query: `container_memory_working_set_bytes{pod=~"my-app-.*"}`}}})
	if err != nil {
		t.Fatal(err)
	}
	for round = range 4 {
		m.Sample(context.Background(), time.Unix(1700000000+int64(round)*15, 0))
	}
	var mem, marker *series.Series
	got := m.Series()
	for i, s := range got {
		switch s.Metric {
		case "memory":
			mem = &got[i]
		case ContainerRestartsMetric:
			marker = &got[i]
		}
	}
	if len(got) != 2 || mem == nil || marker == nil {
		t.Fatalf("series %v, want one memory series and its restart counter", names(got))
	}
	if len(mem.Points) != 4 || !mem.Memory || strings.Contains(mem.Name, "aaa") {
		t.Errorf("memory series %+v", mem)
	}
	if strings.Replace(mem.Name, mem.Metric, "", 1) != strings.Replace(marker.Name, marker.Metric, "", 1) {
		t.Errorf("the counter %q and the series %q have different sources", marker.Name, mem.Name)
	}
	if vs := []float64{marker.Points[0].V, marker.Points[1].V, marker.Points[2].V, marker.Points[3].V}; vs[1] != 0 || vs[2] != 1 || vs[3] != 1 {
		t.Errorf("restart counter %v, want 0 0 1 1", vs)
	}
	for _, q := range calls {
		if strings.Contains(q, "process_start_time_seconds") {
			t.Errorf("looked up %s: the kubelet's start time is not the container's", q)
		}
	}
}

// A sum by pod has no container id and no job of its own: the monitor
// looks up the pods' restarts counter (kube-state-metrics), one query a
// namespace at each sample, and records what it finds under the counter's
// name, for the leak check to match by pod.
func TestMonitor_PodRestartsLookedUp(t *testing.T) {
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		calls = append(calls, q)
		result := `{"metric":{"namespace":"shop","pod":"my-app-1"},"value":[1700000000,"100"]},{"metric":{"namespace":"shop","pod":"my-app-2"},"value":[1700000000,"90"]}`
		if strings.HasPrefix(q, PodRestartsMetric) {
			result = `{"metric":{"__name__":"` + PodRestartsMetric + `","namespace":"shop","pod":"my-app-1","container":"app"},"value":[1700000000,"2"]}`
		}
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[`+result+`]}}`)
	}))
	defer srv.Close()
	m, err := New(Config{Queries: []Query{{URL: srv.URL, Name: "memory", Query: `sum by (namespace, pod) (container_memory_working_set_bytes{pod=~"my-app-.*"})`}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Sample(context.Background(), time.Unix(1700000000, 0))
	want := PodRestartsMetric + `{namespace="shop",pod=~"my-app-1|my-app-2"}`
	if len(calls) != 2 || calls[1] != want {
		t.Errorf("queries %q, want the memory query and %s", calls, want)
	}
	var found bool
	for _, s := range m.Series() {
		if s.Metric == PodRestartsMetric && strings.Contains(s.Name, `pod="my-app-1"`) && len(s.Points) == 1 && s.Points[0].V == 2 {
			found = true
		}
	}
	if !found {
		t.Errorf("no restarts counter recorded: %v", names(m.Series()))
	}
}

// The process exporter's memory of each group it watches, queried from
// Prometheus: the start time of each group's oldest process is looked up
// under the exporter's job (its own process_start_time_seconds, under the
// same job and instance, is not its processes'), and recorded for the
// groups the query returned only.
func TestMonitor_ProcessGroupStartsLookedUp(t *testing.T) {
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		calls = append(calls, q)
		lbl := `"job":"procs","instance":"127.0.0.21:9256"`
		result := `{"metric":{"__name__":"namedprocess_namegroup_memory_bytes",` + lbl + `,"groupname":"api","memtype":"resident"},"value":[1700000000,"100"]}`
		if strings.HasPrefix(q, GroupStartMetric) {
			result = `{"metric":{"__name__":"` + GroupStartMetric + `",` + lbl + `,"groupname":"api"},"value":[1700000000,"1699990000"]},` +
				`{"metric":{"__name__":"` + GroupStartMetric + `",` + lbl + `,"groupname":"worker"},"value":[1700000000,"1699995000"]}`
		}
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[`+result+`]}}`)
	}))
	defer srv.Close()
	m, err := New(Config{Queries: []Query{{URL: srv.URL, Name: "memory", Query: `namedprocess_namegroup_memory_bytes{memtype="resident",groupname="api"}`}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Sample(context.Background(), time.Unix(1700000000, 0))
	want := GroupStartMetric + `{job="procs"}`
	if len(calls) != 2 || calls[1] != want {
		t.Errorf("queries %q, want the memory query and %s", calls, want)
	}
	var got []string
	for _, s := range m.Series() {
		if s.Metric == GroupStartMetric {
			got = append(got, s.Name)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], `groupname="api"`) {
		t.Errorf("group start times recorded %q, want the api group's only", got)
	}
}
