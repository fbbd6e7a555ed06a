package monitor

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/horde-load/horde/internal/series"
)

// A container restarted by Kubernetes (killed at its memory limit, failing
// its liveness probe) keeps its pod and its name, but cAdvisor (the
// kubelet's /metrics/cadvisor, where container_memory_usage_bytes and
// container_memory_working_set_bytes come from) reports the new run under
// a new cgroup: its `id` label (and, with Docker, its `name`) changes. A
// query returns one series a run. Stitched back into one series a
// container, the change of id is the restart's evidence (issue #25: "a
// restart marker: process_start_time_seconds, a restarts counter, a
// container id that changes"), recorded as a counter series beside it,
// ContainerRestartsMetric, which the leak check reads like
// kube_pod_container_status_restarts_total. A container whose id never
// changed did not restart: its series' drops (page cache reclaimed) are
// not restarts.

// ContainerRestartsMetric is the restart counter horde derives from the
// changes of a cAdvisor container series' id: 0 at the container's first
// run, one more at each new id.
const ContainerRestartsMetric = "horde_container_restarts_total"

// identityLabels name one run of a container in cAdvisor's series.
var identityLabels = []string{"id", "name", "container_id"}

// containerRun reports whether labels are those of one run of one
// container in a cAdvisor series: a container_* metric with an id and a
// container name (not the pod's own cgroup, container="", nor its pause
// container, "POD"). It returns the labels without the run's identity,
// and that identity.
func containerRun(labels map[string]string) (rest map[string]string, identity string, ok bool) {
	c := labels["container"]
	if !strings.HasPrefix(labels["__name__"], "container_") || labels["id"] == "" || c == "" || c == "POD" {
		return nil, "", false
	}
	rest = make(map[string]string, len(labels))
	var id []string
	for k, v := range labels {
		if slices.Contains(identityLabels, k) {
			id = append(id, k+"="+v)
			continue
		}
		rest[k] = v
	}
	slices.Sort(id)
	return rest, strings.Join(id, ","), true
}

// restartsLabels are the labels of the restart counter of the container
// series whose labels without identity are rest, in a range query's
// result: its labels under ContainerRestartsMetric, so that it shares the
// memory series' source (the name without the metric).
func restartsLabels(rest map[string]string) map[string]string {
	m := make(map[string]string, len(rest))
	for k, v := range rest {
		m[k] = v
	}
	m["__name__"] = ContainerRestartsMetric
	return m
}

// stitchRuns joins the runs of each container in a range query's result
// into one series a container, and adds each container's restart counter
// (ContainerRestartsMetric). results are the query's series with their
// labels; a result that is not a container run is kept as it is. Runs of
// one container that overlap by more than staleness (two containers at
// once under one name: not a restart) are left apart.
func stitchRuns(results []labelled, query string) []series.Series {
	const staleness = 5 * time.Minute // Prometheus's lookback: a dead run's last sample lingers this long
	type group struct {
		rest map[string]string
		runs []labelled
	}
	groups := map[string]*group{}
	var order []string // result order: a series' position is its first run's
	var out []series.Series
	for _, r := range results {
		rest, _, ok := containerRun(r.labels)
		if !ok || len(r.s.Points) == 0 {
			out = append(out, r.s)
			continue
		}
		key := labelsName(rest, query)
		if groups[key] == nil {
			groups[key] = &group{rest: rest}
			order = append(order, key)
		}
		groups[key].runs = append(groups[key].runs, r)
	}
	for _, key := range order {
		g := groups[key]
		runs := g.runs
		slices.SortStableFunc(runs, func(a, b labelled) int { return a.s.Points[0].T.Compare(b.s.Points[0].T) })
		apart := false
		for i := 1; i < len(runs); i++ {
			prev := runs[i-1].s.Points
			if prev[len(prev)-1].T.Sub(runs[i].s.Points[0].T) > staleness {
				apart = true
			}
		}
		if apart {
			for _, r := range runs {
				out = append(out, r.s)
			}
			continue
		}
		mem := runs[0].s
		mem.Name = labelsName(g.rest, query)
		mem.Points = nil
		marker := series.Series{Name: labelsName(restartsLabels(g.rest), ""), Metric: ContainerRestartsMetric}
		for i, r := range runs {
			for _, p := range r.s.Points {
				// The next run takes over from its first sample (the
				// dead run's last one lingers for the staleness).
				if i+1 < len(runs) && !p.T.Before(runs[i+1].s.Points[0].T) {
					break
				}
				mem.Points = append(mem.Points, p)
				marker.Points = append(marker.Points, series.Point{T: p.T, V: float64(i)})
			}
		}
		out = append(out, mem, marker)
	}
	return out
}

// labelled is a series with the labels it was named from.
type labelled struct {
	s      series.Series
	labels map[string]string
}

// containerRuns tracks, for the monitor's instant queries, the runs of
// each container series (by its labels without the run's identity): the
// ids seen, the last one, and its restarts.
type containerRuns struct {
	mu       sync.Mutex
	last     map[string]string
	ids      map[string]map[string]bool
	restarts map[string]int
}

// seen notes that the container series whose labels without identity are
// rest is in run id, and returns its restarts so far: one more at each
// new id.
func (c *containerRuns) seen(rest map[string]string, id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last, c.ids, c.restarts = map[string]string{}, map[string]map[string]bool{}, map[string]int{}
	}
	k := labelsName(rest, "")
	if last, ok := c.last[k]; ok && last != id {
		c.restarts[k]++
	}
	c.last[k] = id
	if c.ids[k] == nil {
		c.ids[k] = map[string]bool{}
	}
	c.ids[k][id] = true
	return c.restarts[k]
}

// current drops, from an instant query's samples, a container's run that
// another run of it replaced: for up to Prometheus's staleness a dead
// run's last sample is still returned beside the new one's. Of two or
// more runs of one container, a run not seen before is kept (the new
// one), else the run seen last; samples that are not container runs are
// kept as they are.
func (c *containerRuns) current(samples []Sample) []Sample {
	byName := map[string][]int{}
	for i, s := range samples {
		if rest, _, ok := containerRun(s.Labels); ok {
			k := labelsName(rest, "")
			byName[k] = append(byName[k], i)
		}
	}
	drop := map[int]bool{}
	c.mu.Lock()
	for k, idx := range byName {
		if len(idx) < 2 {
			continue
		}
		keep, rank := idx[0], -1
		for _, i := range idx {
			_, id, _ := containerRun(samples[i].Labels)
			r := 0 // a run seen before, not last
			switch {
			case !c.ids[k][id]:
				r = 2
			case c.last[k] == id:
				r = 1
			}
			if r > rank {
				keep, rank = i, r
			}
		}
		for _, i := range idx {
			drop[i] = i != keep
		}
	}
	c.mu.Unlock()
	if len(drop) == 0 {
		return samples
	}
	out := make([]Sample, 0, len(samples))
	for i, s := range samples {
		if !drop[i] {
			out = append(out, s)
		}
	}
	return out
}

// collectorMetric matches the metrics a collector exports about other
// processes or containers (cAdvisor's container_*, kube-state-metrics'
// kube_*, the node exporter's node_*, the process exporter's
// namedprocess_*, the Windows exporter's windows_process_*, OpenTelemetry's
// kubeletstats k8s_*): their job and instance labels name the collector,
// whose own process_start_time_seconds says nothing of theirs.
var collectorMetric = regexp.MustCompile(`\b(container|kube|kubelet|node|machine|namedprocess|windows_process|k8s|systemd)_[a-zA-Z0-9_:]*`)

// CollectorMetric reports whether a metric name or a query's text names a
// metric a collector exports about other processes (collectorMetric): the
// start time of its job and instance is not its process's.
func CollectorMetric(nameOrQuery string) bool {
	return collectorMetric.MatchString(quoted.ReplaceAllString(nameOrQuery, `""`))
}

// quoted matches a PromQL string (a label's value): not a metric name.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
