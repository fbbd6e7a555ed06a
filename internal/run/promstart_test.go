package run

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/soak"
)

// fakeProm answers query_range with the series of each query (by its text),
// sampled every step from start to end.
func fakeProm(t *testing.T, series map[string]func(t time.Duration) (labels map[string]string, v float64)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f, ok := series[q.Get("query")]
		var start, end, step float64
		fmt.Sscan(q.Get("start"), &start)
		fmt.Sscan(q.Get("end"), &end)
		fmt.Sscan(q.Get("step"), &step)
		type result struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		}
		var res []result
		if ok {
			var one result
			for ts := start; ts <= end; ts += step {
				labels, v := f(time.Duration((ts - start) * float64(time.Second)))
				one.Metric = labels
				one.Values = append(one.Values, [2]any{ts, fmt.Sprint(v)})
			}
			res = append(res, one)
		}
		b, _ := json.Marshal(map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": res}})
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A memory series whose name does not tell its kind, with a JVM's
// major collections every 30 minutes (its old generation climbing by
// half the live set, then back): judged alone, its drops read as
// restarts of an OS-level series and fail it as "a leak that restarts".
// Its process's start time, looked up under the same job and instance,
// shows no restart: the drops are not restarts, and the note says where
// the evidence came from. A start time that changes is a restart.
func TestAnalyzePrometheus_LooksUpStartTime(t *testing.T) {
	labels := map[string]string{"__name__": "app_memory_bytes", "job": "app", "instance": "127.0.0.1:8080"}
	mem := func(d time.Duration) (map[string]string, float64) {
		phase := math.Mod(d.Minutes(), 30) / 30
		return labels, 100e6 * (1 + 0.5*phase + 0.15*math.Mod(d.Seconds(), 20)/20)
	}
	started := func(restartAt time.Duration) func(d time.Duration) (map[string]string, float64) {
		return func(d time.Duration) (map[string]string, float64) {
			l := map[string]string{"__name__": "process_start_time_seconds", "job": "app", "instance": "127.0.0.1:8080"}
			if restartAt > 0 && d >= restartAt {
				return l, 1.7e9 + restartAt.Seconds()
			}
			return l, 1.7e9
		}
	}
	end := time.Now().Truncate(time.Second)
	p := PromAnalysis{Queries: []string{"app_memory_bytes"}, MemoryQueries: []string{"app_memory_bytes"}, Start: end.Add(-3 * time.Hour), End: end, Step: 15 * time.Second}
	startQ := `process_start_time_seconds{job="app",instance="127.0.0.1:8080"}`

	alone := fakeProm(t, map[string]func(time.Duration) (map[string]string, float64){"app_memory_bytes": mem})
	p.URL = alone.URL
	out, err := AnalyzePrometheus(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("without a start time: %s %s", out.Verdicts[0].Status, out.Verdicts[0].Reason)

	withStart := fakeProm(t, map[string]func(time.Duration) (map[string]string, float64){"app_memory_bytes": mem, startQ: started(0)})
	p.URL = withStart.URL
	out, err = AnalyzePrometheus(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("with its start time: %s %s", out.Verdicts[0].Status, out.Verdicts[0].Reason)
	if v := out.Verdicts[0]; v.Status == soak.Fail || strings.Contains(v.Reason, "restarted") {
		t.Errorf("with a start time that never changed: %s %s, want no restart and no fail", v.Status, v.Reason)
	}
	if !strings.Contains(strings.Join(out.Notes, "\n"), "restarts from "+startQ+" (looked up; 0 in the range)") {
		t.Errorf("notes %q lack the looked-up start time", out.Notes)
	}

	restarted := fakeProm(t, map[string]func(time.Duration) (map[string]string, float64){"app_memory_bytes": mem, startQ: started(100 * time.Minute)})
	p.URL = restarted.URL
	out, err = AnalyzePrometheus(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted: %s %s", out.Verdicts[0].Status, out.Verdicts[0].Reason)
	if !strings.Contains(strings.Join(out.Notes, "\n"), "(looked up; 1 in the range)") {
		t.Errorf("notes %q lack the restart the start time records", out.Notes)
	}
}

// The process exporter's resident memory of a group (a C allocator's heap
// trimmed back every 30 minutes, say): its drops read as restarts alone.
// The start time of the group's oldest process, looked up under the
// exporter's job and instance and the group's name, says it never
// restarted; the exporter's own start time (which changed: the exporter
// restarted) is not taken for its processes'.
func TestAnalyzePrometheus_LooksUpProcessGroupStart(t *testing.T) {
	const memQ = `namedprocess_namegroup_memory_bytes{memtype="resident"}`
	mem := func(d time.Duration) (map[string]string, float64) {
		phase := math.Mod(d.Minutes(), 30) / 30
		return map[string]string{"__name__": "namedprocess_namegroup_memory_bytes", "job": "procs", "instance": "127.0.0.21:9256", "groupname": "api", "memtype": "resident"},
			100e6 * (1 + 0.5*phase + 0.15*math.Mod(d.Seconds(), 20)/20)
	}
	groupQ := `namedprocess_namegroup_oldest_start_time_seconds{job="procs",instance="127.0.0.21:9256",groupname="api"}`
	ownQ := `process_start_time_seconds{job="procs",instance="127.0.0.21:9256"}`
	start := func(name string, restartAt time.Duration) func(d time.Duration) (map[string]string, float64) {
		return func(d time.Duration) (map[string]string, float64) {
			l := map[string]string{"__name__": name, "job": "procs", "instance": "127.0.0.21:9256"}
			if name != "process_start_time_seconds" {
				l["groupname"] = "api"
			}
			if restartAt > 0 && d >= restartAt {
				return l, 1.7e9 + restartAt.Seconds()
			}
			return l, 1.7e9
		}
	}
	end := time.Now().Truncate(time.Second)
	p := PromAnalysis{Queries: []string{memQ}, MemoryQueries: []string{memQ}, Start: end.Add(-3 * time.Hour), End: end, Step: 15 * time.Second}
	judge := func(series map[string]func(time.Duration) (map[string]string, float64)) (soak.Verdict, string) {
		t.Helper()
		p.URL = fakeProm(t, series).URL
		out, err := AnalyzePrometheus(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %s; notes %q", out.Verdicts[0].Status, out.Verdicts[0].Reason, out.Notes)
		return out.Verdicts[0], strings.Join(out.Notes, "\n")
	}

	if v, _ := judge(map[string]func(time.Duration) (map[string]string, float64){memQ: mem, ownQ: start("process_start_time_seconds", 70*time.Minute)}); !strings.Contains(v.Reason, "restarted") {
		t.Errorf("without the group's start time: %s %s, want its drops read as restarts (the exporter's own start time is not its processes')", v.Status, v.Reason)
	}
	v, notes := judge(map[string]func(time.Duration) (map[string]string, float64){memQ: mem, ownQ: start("process_start_time_seconds", 70*time.Minute), groupQ: start(monitor.GroupStartMetric, 0)})
	if v.Status == soak.Fail || strings.Contains(v.Reason, "restarted") {
		t.Errorf("with a group start time that never changed: %s %s, want no restart and no fail", v.Status, v.Reason)
	}
	if !strings.Contains(notes, "restarts from "+groupQ+" (looked up; 0 in the range)") {
		t.Errorf("notes %q lack the looked-up group start time", notes)
	}
	if _, notes := judge(map[string]func(time.Duration) (map[string]string, float64){memQ: mem, groupQ: start(monitor.GroupStartMetric, 100*time.Minute)}); !strings.Contains(notes, "(looked up; 1 in the range)") {
		t.Errorf("notes %q lack the restart the group's start time records", notes)
	}
}

// A sum keeps no metric name, and the query's text tells whose job and
// instance it kept: a sum of the process exporter's memory by group takes
// its group's start time, and a sum of cAdvisor's by pod that kept the
// kubelet's job and instance takes its pod's restarts counter; neither takes
// the exporter's or the kubelet's own process_start_time_seconds.
func TestAnalyzePrometheus_SumLooksUpByItsQuery(t *testing.T) {
	saw := func(d time.Duration) float64 {
		return 100e6 * (1 + 0.5*math.Mod(d.Minutes(), 30)/30 + 0.15*math.Mod(d.Seconds(), 20)/20)
	}
	constant := func(labels map[string]string) func(time.Duration) (map[string]string, float64) {
		return func(time.Duration) (map[string]string, float64) { return labels, 1.7e9 }
	}
	end := time.Now().Truncate(time.Second)
	for _, c := range []struct {
		query  string
		labels map[string]string
		marker string // the query looked up
		own    string // the collector's own start time, never looked up
	}{
		{`sum by (job, instance, groupname) (namedprocess_namegroup_memory_bytes{memtype="resident"})`,
			map[string]string{"job": "procs", "instance": "127.0.0.21:9256", "groupname": "api"},
			`namedprocess_namegroup_oldest_start_time_seconds{job="procs",instance="127.0.0.21:9256",groupname="api"}`,
			`process_start_time_seconds{job="procs",instance="127.0.0.21:9256"}`},
		{`sum by (job, instance, namespace, pod) (container_memory_working_set_bytes{pod=~"api-.*",container!=""})`,
			map[string]string{"job": "kubelet", "instance": "127.0.0.22:10250", "namespace": "shop", "pod": "api-1"},
			`kube_pod_container_status_restarts_total{namespace="shop",pod="api-1"}`,
			`process_start_time_seconds{job="kubelet",instance="127.0.0.22:10250"}`},
	} {
		mem := func(d time.Duration) (map[string]string, float64) { return c.labels, saw(d) }
		srv := fakeProm(t, map[string]func(time.Duration) (map[string]string, float64){c.query: mem, c.marker: constant(map[string]string{"__name__": "x"}), c.own: constant(map[string]string{"__name__": "process_start_time_seconds"})})
		p := PromAnalysis{URL: srv.URL, Queries: []string{c.query}, MemoryQueries: []string{c.query}, Start: end.Add(-3 * time.Hour), End: end, Step: 15 * time.Second}
		out, err := AnalyzePrometheus(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(out.Notes, "\n")
		t.Logf("%s: %s %s; notes %q", c.query, out.Verdicts[0].Status, out.Verdicts[0].Reason, notes)
		if !strings.Contains(notes, "restarts from "+c.marker+" (looked up;") || strings.Contains(notes, c.own) {
			t.Errorf("%s: notes %q, want restarts from %s, not from %s", c.query, notes, c.marker, c.own)
		}
	}
}
