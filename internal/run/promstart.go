package run

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
)

// Every Prometheus client library (Go, Java, Python, Node.js, .NET) and
// Micrometer export process_start_time_seconds beside a process's memory,
// under the same job and instance; the process exporter exports the start
// time of each group's oldest process beside the group's memory. When no
// restart marker was queried, `horde analyze --prometheus` looks it up for
// each memory series that carries a job and an instance (and a group): a restart is then read from evidence (the
// start time changed), and a drop the marker does not explain is no
// restart, whatever the series' name says or does not say.

var (
	jobLabel      = regexp.MustCompile(`[{,]job=("(?:[^"\\]|\\.)*")`)
	instanceLabel = regexp.MustCompile(`[{,]instance=("(?:[^"\\]|\\.)*")`)
)

// jobInstance is the job and instance a series' labels name; ok is false when
// it lacks either (a sum over targets has neither).
func jobInstance(s series.Series) (job, instance string, ok bool) {
	j, i := jobLabel.FindStringSubmatch(s.Name), instanceLabel.FindStringSubmatch(s.Name)
	if j == nil || i == nil {
		return "", "", false
	}
	job, err1 := strconv.Unquote(j[1])
	instance, err2 := strconv.Unquote(i[1])
	return job, instance, err1 == nil && err2 == nil
}

// startTimeQuery is the query of the start time of the process a series
// with job and instance comes from.
func startTimeQuery(job, instance string) string {
	return fmt.Sprintf("process_start_time_seconds{job=%s,instance=%s}", strconv.Quote(job), strconv.Quote(instance))
}

var groupnameLabel = regexp.MustCompile(`[{,]groupname=("(?:[^"\\]|\\.)*")`)

// processGroup is the job, instance and group of a series of the process
// exporter (namedprocess_namegroup_*, by its metric, its name or the text
// of the query that returned it, query: one group of the processes it
// watches by name, its groupname label); ok is false for any other series,
// or one without these labels (a sum over groups).
func processGroup(s series.Series, query string) (job, instance, group string, ok bool) {
	if !strings.Contains(s.Metric+" "+s.Name+" "+query, "namedprocess_") {
		return "", "", "", false
	}
	g := groupnameLabel.FindStringSubmatch(s.Name)
	job, instance, ok = jobInstance(s)
	if g == nil || !ok {
		return "", "", "", false
	}
	group, err := strconv.Unquote(g[1])
	return job, instance, group, err == nil
}

// groupStartQuery is the query of the start time of the oldest process of
// the process exporter's group.
func groupStartQuery(job, instance, group string) string {
	return fmt.Sprintf("%s{job=%s,instance=%s,groupname=%s}", monitor.GroupStartMetric, strconv.Quote(job), strconv.Quote(instance), strconv.Quote(group))
}

// markerQuery is the query of the restart marker of the process or
// container a memory series comes from, looked up where none was queried:
// its process's start time (the same job and instance), the process
// exporter's start time of its group, or its pod's restarts counter
// (kube-state-metrics). query is the text of the query that returned the
// series: a sum or a rate has no metric name, and the query tells whether
// its job and instance are a collector's (`sum by (job, instance, pod)
// (container_memory_working_set_bytes)` keeps the kubelet's). ok is false
// when the series names none of them.
func markerQuery(s series.Series, query string) (string, bool) {
	if job, instance, group, ok := processGroup(s, query); ok {
		// (The exporter's own start time, under the same job and
		// instance, is not its processes'.)
		return groupStartQuery(job, instance, group), true
	}
	if job, instance, ok := jobInstance(s); ok && !monitor.CollectorMetric(s.Metric+" "+query) {
		return startTimeQuery(job, instance), true
	}
	// (A collector's job and instance, the kubelet's for cAdvisor's
	// container_*: its start time is not the container's; its pod's
	// restarts counter is.)
	return podRestartsQuery(s)
}

// lookedUpStarts queries the restart marker (markerQuery) of each memory
// series in all that no marker in markers covers; queryOf is the text of
// the query that returned each series, by name. It returns the markers found, by query; a query that fails or
// returns nothing is left out (the series' restarts are then read as
// before), and said in the notes when it failed.
func lookedUpStarts(ctx context.Context, p PromAnalysis, step time.Duration, all, markers []series.Series, queryOf map[string]string) (map[string][]series.Series, []string) {
	var queries []string
	for _, s := range all {
		if !leakSeries(s) {
			continue
		}
		if _, _, ok := restartEvidence(s, markers); ok {
			continue
		}
		if q, ok := markerQuery(s, queryOf[s.Name]); ok && !slices.Contains(queries, q) {
			queries = append(queries, q)
		}
	}
	found := map[string][]series.Series{}
	var notes []string
	for _, q := range queries {
		got, err := monitor.QueryRange(ctx, nil, p.URL, q, p.Start, p.End, step)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v (restarts read from the memory series alone)", q, err))
			continue
		}
		if len(got) > 0 {
			found[q] = got
		}
	}
	return found, notes
}

// withLookedUpStart gives o the restarts the looked-up start time of mem's
// process records, when mem had no other marker and one was found.
func withLookedUpStart(o soak.LeakOptions, mem series.Series, markers []series.Series, found map[string][]series.Series, query string) (soak.LeakOptions, bool) {
	if _, _, ok := restartEvidence(mem, markers); ok {
		return o, false
	}
	q, _ := markerQuery(mem, query)
	ms := found[q]
	if q == "" || len(ms) == 0 {
		return o, false
	}
	o.Restarts = []time.Time{} // a marker that saw no restart: none
	for _, m := range ms {
		if m.Metric == podRestartsMetric {
			o.Restarts = append(o.Restarts, soak.RestartsFromCounter(m.Points)...)
		} else {
			o.Restarts = append(o.Restarts, soak.RestartsFromStartTime(m.Points)...)
		}
	}
	slices.SortFunc(o.Restarts, time.Time.Compare)
	o.RestartEvidence = q
	return o, true
}

// podRestartsMetric is kube-state-metrics' count of a container's restarts.
const podRestartsMetric = "kube_pod_container_status_restarts_total"

var namespaceLabel = regexp.MustCompile(`[{,]namespace=("(?:[^"\\]|\\.)*")`)

// podRestartsQuery is the query of the restarts of the pod a series names
// (its pod label, and its namespace when it has one): the restarts counter
// kube-state-metrics keeps for each of the pod's containers, summed by the
// leak check (a restart of any of them drops the pod's memory). ok is
// false for a series without a pod label.
func podRestartsQuery(s series.Series) (string, bool) {
	pod := podLabel.FindStringSubmatch(s.Name)
	if pod == nil {
		return "", false
	}
	sel := "pod=" + strconv.Quote(unquote(pod[1]))
	if ns := namespaceLabel.FindStringSubmatch(s.Name); ns != nil {
		sel = "namespace=" + ns[1] + "," + sel
	}
	return podRestartsMetric + "{" + sel + "}", true
}

func unquote(s string) string {
	if u, err := strconv.Unquote(`"` + s + `"`); err == nil {
		return u
	}
	return s
}
