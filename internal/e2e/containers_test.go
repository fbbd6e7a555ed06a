//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/store"
)

// horde analyze --prometheus over the seed's own query,
// container_memory_usage_bytes{pod=~"my-app-.*"}, as the kubelet's cAdvisor
// reports it: a container killed at its memory limit comes back in the same
// pod under a new cgroup id, a new series a run. The runs are one
// container, and the change of id is the restart's evidence: the leak that
// restarts fails, saying so. A container whose page cache is reclaimed in
// large drops kept one id: it did not restart, and does not fail. The
// kubelet's own process_start_time_seconds (the job and instance of
// cAdvisor's series) is not taken for the container's. Six hours written
// into Debian's Prometheus with promtool's backfill.
func TestAnalyze_PrometheusContainerRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Now().Add(-8 * time.Hour).Truncate(time.Hour)
	r := rand.New(rand.NewPCG(7, 26))
	const mb = 1e6
	type point struct {
		labels string
		v      float64
		at     time.Time
	}
	var pts []point
	kubelet := `job="kubelet",instance="127.0.0.11:10250",metrics_path="/metrics/cadvisor",namespace="default"`
	series := func(pod, container, id string) string {
		return fmt.Sprintf(`%s,pod=%q,container=%q,id=%q,image="my-app:1"`, kubelet, pod, container, id)
	}
	life, cid := 0, 0
	var born time.Time
	for i := 0; i <= 6*120; i++ {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		saw := math.Mod(float64(i), 4) / 4 // a collection every 2 min
		// my-app-1: leaks 40 %/h of its 200 MB; killed at 320 MB, back at 200.
		if i == 0 || at.Sub(born).Hours() >= 0.6/0.4 {
			if i > 0 {
				life++
			}
			born, cid = at, 1000+life
		}
		age := at.Sub(born).Hours()
		leaky := 200 * mb * (1 + 0.4*age) * (1 + 0.08*saw) * (1 + 0.005*r.NormFloat64())
		pts = append(pts, point{series("my-app-1", "app", fmt.Sprintf("/kubepods/burstable/pod1/%d", cid)), leaky, at},
			point{series("my-app-1", "", "/kubepods/burstable/pod1"), leaky + 5*mb, at})
		// my-app-2: 200 MB in use and a page cache that fills to 60-100 MB
		// and is reclaimed every 40-60 min; one run all along.
		cycle := 50 * time.Minute
		inCycle := math.Mod(at.Sub(t0).Minutes(), cycle.Minutes()) / cycle.Minutes()
		cached := 200*mb*(1+0.08*saw)*(1+0.005*r.NormFloat64()) + 80*mb*inCycle
		pts = append(pts, point{series("my-app-2", "app", "/kubepods/burstable/pod2/2000"), cached, at},
			point{series("my-app-2", "", "/kubepods/burstable/pod2"), cached + 5*mb, at})
	}
	var b strings.Builder
	b.WriteString("# HELP container_memory_usage_bytes Current memory usage in bytes, including all memory regardless of when it was accessed\n# TYPE container_memory_usage_bytes gauge\n")
	for _, p := range pts {
		fmt.Fprintf(&b, "container_memory_usage_bytes{%s} %.0f %d\n", p.labels, p.v, p.at.Unix())
	}
	// kube-state-metrics' restarts counter of each pod's container.
	b.WriteString("# HELP kube_pod_container_status_restarts_total The number of container restarts per container.\n# TYPE kube_pod_container_status_restarts_total counter\n")
	for i := 0; i <= 6*120; i++ {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		killed := int(at.Sub(t0).Hours() / 1.5) // as my-app-1's lives above
		for pod, n := range map[string]int{"my-app-1": killed, "my-app-2": 0} {
			fmt.Fprintf(&b, "kube_pod_container_status_restarts_total{job=\"kube-state-metrics\",instance=\"127.0.0.12:8080\",namespace=\"default\",pod=%q,container=\"app\",uid=\"u-%s\"} %d %d\n", pod, pod, n, at.Unix())
		}
	}
	b.WriteString("# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\n")
	for i := 0; i <= 6*120; i++ {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		fmt.Fprintf(&b, "process_start_time_seconds{job=\"kubelet\",instance=\"127.0.0.11:10250\",metrics_path=\"/metrics\"} %d %d\n", t0.Add(-48*time.Hour).Unix(), at.Unix())
	}
	b.WriteString("# EOF\n")
	url := backfilledPrometheus(t, dir, b.String())
	p := start(t, dir, nil, hordeBin, "analyze", "--prometheus", url, "--query", `container_memory_usage_bytes{pod=~"my-app-.*"}`,
		"--start", strconv.FormatInt(t0.Unix(), 10), "--end", strconv.FormatInt(t0.Add(6*time.Hour).Unix(), 10), "--step", "30s")
	code := p.wait(t, 60*time.Second)
	out := p.stdout.String()
	t.Logf("exit %d\n%s\n%s", code, out, p.stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1 (a leak that restarts)", code)
	}
	// (Prometheus keeps no empty label: the pod's own cgroup has no
	// container label, and is told by its id.)
	line := func(pod, label string) string {
		re := regexp.MustCompile(`(?m)^.*memory leak \(container_memory_usage_bytes\{[^}]*` + regexp.QuoteMeta(label) + `[^}]*pod="` + pod + `"[^}]*\}\).*$`)
		return re.FindString(out)
	}
	if l := line("my-app-1", `container="app"`); !strings.HasPrefix(strings.TrimSpace(l), "FAIL") || !strings.Contains(l, "(a changed container id)") {
		t.Errorf("my-app-1's container, killed at its limit every 90 min: want a FAIL that names the changed container id, got %q", l)
	}
	if strings.Count(out, `container="app"`) != 2 || strings.Contains(out, "/kubepods/burstable/pod1/100") {
		t.Errorf("my-app-1's container runs are not one series")
	}
	if l := line("my-app-2", `container="app"`); l == "" || strings.HasPrefix(strings.TrimSpace(l), "FAIL") || strings.Contains(l, "restarted") {
		t.Errorf("my-app-2's container, page cache reclaimed, one id: want neither a restart nor a FAIL, got %q", l)
	}
	if l := line("my-app-1", `id="/kubepods/burstable/pod1"`); !strings.HasPrefix(strings.TrimSpace(l), "FAIL") {
		t.Errorf("my-app-1's pod (its own cgroup), whose container restarted: want a FAIL, got %q", l)
	}
	if strings.Contains(out, `process_start_time_seconds{job="kubelet"`) {
		t.Errorf("the kubelet's start time was taken for the containers'")
	}

	// A sum by pod, as docs/soak.md advises, has no container id: the
	// pods' restarts come from kube-state-metrics' counter, looked up.
	// Without it my-app-2's page cache reclaimed reads as restarts.
	p = start(t, dir, nil, hordeBin, "analyze", "--prometheus", url, "--query", `sum by (namespace, pod) (container_memory_usage_bytes{pod=~"my-app-.*",container!=""})`,
		"--start", strconv.FormatInt(t0.Unix(), 10), "--end", strconv.FormatInt(t0.Add(6*time.Hour).Unix(), 10), "--step", "30s")
	code = p.wait(t, 60*time.Second)
	out = p.stdout.String()
	t.Logf("sum by pod: exit %d\n%s\n%s", code, out, p.stderr)
	byPod := func(pod string) string {
		return regexp.MustCompile(`(?m)^.*memory leak \(\{namespace="default",pod="` + pod + `"\}\).*$`).FindString(out)
	}
	if l := byPod("my-app-1"); !strings.HasPrefix(strings.TrimSpace(l), "FAIL") || !strings.Contains(l, "kube_pod_container_status_restarts_total") {
		t.Errorf("my-app-1 summed: want a FAIL whose restarts come from kube_pod_container_status_restarts_total, got %q", l)
	}
	if l := byPod("my-app-2"); l == "" || strings.HasPrefix(strings.TrimSpace(l), "FAIL") || strings.Contains(l, "restarted") {
		t.Errorf("my-app-2 summed, its counter at 0: want neither a restart nor a FAIL, got %q", l)
	}
	if !strings.Contains(out, `restarts from kube_pod_container_status_restarts_total{namespace="default",pod="my-app-2"} (looked up; 0 in the range)`) {
		t.Errorf("no note of the looked-up restarts counter")
	}
}

// A run's monitor: prometheus: query over cAdvisor's series, as a real
// Prometheus scrapes them from the kubelet (here an exporter in the test
// with the kubelet's shape: the container's memory under its cgroup id,
// and the kubelet's own start time beside it). Kubernetes restarts the
// container 7 s in: a new id, a new label set. The run file holds one
// memory series for the container, named without its id, and its restart
// counter beside it (1 at the end); the kubelet's start time is not looked
// up for it.
func TestRun_PrometheusMonitorContainerRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	host := startTarget(t)
	began := time.Now()
	kubelet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		age := time.Since(began)
		id, v := "/kubepods/burstable/pod1/aaa", 200e6+10e6*age.Seconds()
		if age > 7*time.Second {
			id, v = "/kubepods/burstable/pod1/bbb", 200e6+10e6*(age-7*time.Second).Seconds()
		}
		fmt.Fprintf(w, "# TYPE container_memory_working_set_bytes gauge\ncontainer_memory_working_set_bytes{namespace=\"default\",pod=\"my-app-1\",container=\"app\",id=%q} %.0f\n", id, v)
		fmt.Fprintf(w, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %d\n", began.Add(-48*time.Hour).Unix())
	}))
	t.Cleanup(kubelet.Close)
	prom := startPrometheus(t, dir, fmt.Sprintf("  - job_name: kubelet\n    static_configs: [{targets: [%q]}]\n", strings.TrimPrefix(kubelet.URL, "http://")))
	const memQuery = `container_memory_working_set_bytes{pod=~"my-app-.*"}`
	waitPromSeries(t, prom, memQuery)
	file := writeFile(t, dir, "pods.yaml", fmt.Sprintf(`host: %s
monitor:
  interval: 1s
  prometheus:
    url: %s
    queries:
      - {name: memory, query: '%s'}
users:
  - name: a
    wait: {constant: 100ms}
    tasks:
      - get: /
`, host, prom, memQuery))
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "2", "-r", "10", "-t", "12s", "--only-summary", "--runs-dir", filepath.Join(dir, "runs"))
	p.wait(t, 60*time.Second)
	_, stored := runAndSeries(t, runFileOf(t, p, dir))
	var names []string
	var mem, restarts *series.Series
	for i, s := range stored {
		names = append(names, s.Name)
		switch {
		case s.Metric == "memory":
			if mem != nil || strings.Contains(s.Name, "/kubepods") {
				t.Errorf("the container's runs are not one series: %s", s.Name)
			}
			mem = &stored[i]
		case s.Metric == "horde_container_restarts_total":
			restarts = &stored[i]
		case strings.Contains(s.Name, "process_start_time_seconds"):
			t.Errorf("the kubelet's start time was looked up for the container: %s", s.Name)
		}
	}
	t.Logf("run:\n%s\nseries: %q", p.stdout, names)
	if mem == nil || restarts == nil {
		t.Fatalf("want the container's memory series and its restart counter, got %q", names)
	}
	if len(mem.Points) < 8 || len(restarts.Points) != len(mem.Points) {
		t.Errorf("memory %d samples, restart counter %d: want one each a second", len(mem.Points), len(restarts.Points))
	}
	if first, last := restarts.Points[0].V, restarts.Points[len(restarts.Points)-1].V; first != 0 || last != 1 {
		t.Errorf("restart counter from %g to %g, want 0 to 1 (one new id)", first, last)
	}
}

// runAndSeries are a run file's run and the target series it holds.
func runAndSeries(t *testing.T, path string) (store.Run, []series.Series) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	run, err := st.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.Series(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return run, stored
}

// horde analyze --prometheus over the process exporter's memory of two
// groups, six hours written into Debian's Prometheus: "api" leaks and is
// killed at its cap every 90 minutes (its oldest process's start time
// changes), "cache" is a C allocator's heap trimmed back every 50 minutes
// (no restart: its start time holds). The start times are looked up by
// group; the exporter's own process_start_time_seconds, under the same job
// and instance, is not taken for its processes'.
func TestAnalyze_PrometheusProcessGroupStarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Now().Add(-8 * time.Hour).Truncate(time.Hour)
	r := rand.New(rand.NewPCG(7, 27))
	const mb = 1e6
	exporter := `job="process-exporter",instance="127.0.0.13:9256"`
	var mem, starts strings.Builder
	born := t0
	for i := 0; i <= 6*120; i++ {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		if at.Sub(born) >= 90*time.Minute {
			born = at
		}
		api := 200 * mb * (1 + 0.4*at.Sub(born).Hours()) * (1 + 0.005*r.NormFloat64())
		trim := math.Mod(at.Sub(t0).Minutes(), 50) / 50
		cache := 150 * mb * (1 + 0.4*trim) * (1 + 0.005*r.NormFloat64())
		fmt.Fprintf(&mem, "namedprocess_namegroup_memory_bytes{%s,groupname=\"api\",memtype=\"resident\"} %.0f %d\n", exporter, api, at.Unix())
		fmt.Fprintf(&mem, "namedprocess_namegroup_memory_bytes{%s,groupname=\"cache\",memtype=\"resident\"} %.0f %d\n", exporter, cache, at.Unix())
		fmt.Fprintf(&starts, "namedprocess_namegroup_oldest_start_time_seconds{%s,groupname=\"api\"} %d %d\n", exporter, born.Unix(), at.Unix())
		fmt.Fprintf(&starts, "namedprocess_namegroup_oldest_start_time_seconds{%s,groupname=\"cache\"} %d %d\n", exporter, t0.Add(-24*time.Hour).Unix(), at.Unix())
		// The exporter itself was restarted three hours in.
		own := t0.Add(-48 * time.Hour)
		if i >= 360 {
			own = t0.Add(3 * time.Hour)
		}
		fmt.Fprintf(&starts, "process_start_time_seconds{%s} %d %d\n", exporter, own.Unix(), at.Unix())
	}
	var b strings.Builder
	b.WriteString("# HELP namedprocess_namegroup_memory_bytes number of bytes of memory in use\n# TYPE namedprocess_namegroup_memory_bytes gauge\n")
	b.WriteString(mem.String())
	b.WriteString("# HELP namedprocess_namegroup_oldest_start_time_seconds start time in seconds since 1970/01/01 of oldest process in group\n# TYPE namedprocess_namegroup_oldest_start_time_seconds gauge\n")
	// (OpenMetrics wants a metric family's samples together.)
	var groupStarts, ownStarts strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(starts.String()), "\n") {
		if strings.HasPrefix(l, "process_start_time_seconds") {
			ownStarts.WriteString(l + "\n")
		} else {
			groupStarts.WriteString(l + "\n")
		}
	}
	b.WriteString(groupStarts.String())
	b.WriteString("# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\n")
	b.WriteString(ownStarts.String())
	b.WriteString("# EOF\n")
	url := backfilledPrometheus(t, dir, b.String())
	p := start(t, dir, nil, hordeBin, "analyze", "--prometheus", url, "--query", `namedprocess_namegroup_memory_bytes{memtype="resident"}`,
		"--start", strconv.FormatInt(t0.Unix(), 10), "--end", strconv.FormatInt(t0.Add(6*time.Hour).Unix(), 10), "--step", "30s")
	code := p.wait(t, 60*time.Second)
	out := p.stdout.String()
	t.Logf("exit %d\n%s\n%s", code, out, p.stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1 (a leak that restarts)", code)
	}
	line := func(group string) string {
		return regexp.MustCompile(`(?m)^.*memory leak \(namedprocess_namegroup_memory_bytes\{groupname="` + group + `"[^}]*\}\).*$`).FindString(out)
	}
	if l := line("api"); !strings.HasPrefix(strings.TrimSpace(l), "FAIL") || !strings.Contains(l, "namedprocess_namegroup_oldest_start_time_seconds") {
		t.Errorf("api, killed at its cap every 90 min: want a FAIL that names its group's start time, got %q", l)
	}
	if l := line("cache"); l == "" || strings.HasPrefix(strings.TrimSpace(l), "FAIL") || strings.Contains(l, "restarted") {
		t.Errorf("cache, trimmed, never restarted: want neither a restart nor a FAIL, got %q", l)
	}
	if strings.Contains(out, `process_start_time_seconds{job="process-exporter"`) {
		t.Errorf("the exporter's own start time was taken for its processes'")
	}
}
