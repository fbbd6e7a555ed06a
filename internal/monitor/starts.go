package monitor

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/series"
)

// StartTimeMetric is the metric every Prometheus client library (Go, Java,
// Python, Node.js, .NET) and Micrometer export beside a process's memory,
// under the same job and instance: the process's start time, which tells
// where it restarted.
const StartTimeMetric = "process_start_time_seconds"

// GroupStartMetric is the process exporter's start time of the oldest
// process of each group it watches by name (its groupname label), under
// the exporter's job and instance: a group of one process started anew when
// its process did. The exporter's own process_start_time_seconds says
// nothing of them.
const GroupStartMetric = "namedprocess_namegroup_oldest_start_time_seconds"

// startLookups are, by Prometheus server and job, the instances whose
// memory a query returned.
type startLookups map[string]map[string][]string

// want notes the job and instance of a memory sample's labels (nothing when
// it lacks either: a sum over targets has neither).
func (l startLookups) want(url string, labels map[string]string) {
	job, inst := labels["job"], labels["instance"]
	if job == "" || inst == "" || CollectorMetric(labels["__name__"]) {
		return
	}
	if l[url] == nil {
		l[url] = map[string][]string{}
	}
	if !slices.Contains(l[url][job], inst) {
		l[url][job] = append(l[url][job], inst)
	}
}

// markerQueried reports whether a query against the server at url records
// restarts already: a start time or a restarts counter.
func (m *Monitor) markerQueried(url string) bool {
	for _, q := range m.cfg.Queries {
		if q.URL == url && (strings.Contains(q.Query, StartTimeMetric) || strings.Contains(q.Query, GroupStartMetric) || strings.Contains(q.Query, "restarts_total")) {
			return true
		}
	}
	return false
}

// lookUpStarts records, for each memory series a query returned with a job
// and an instance and no restart marker queried beside it, the start time
// of its process (StartTimeMetric{job, instance}): one query a job at each
// sample. The series is named as a query named StartTimeMetric would name
// it, with metric StartTimeMetric, so the leak check reads that process's
// restarts from evidence rather than from its memory's drops (a heap's
// drops are its collector's), in the run and in `horde analyze` of the run
// file. A lookup that fails or finds nothing records nothing: the memory
// series' restarts are then read as before.
func (m *Monitor) lookUpStarts(ctx context.Context, l startLookups, now time.Time) {
	for url, jobs := range l {
		for job, insts := range jobs {
			q := fmt.Sprintf("%s{job=%s}", StartTimeMetric, strconv.Quote(job))
			samples, err := QueryInstant(ctx, m.cfg.Client, url, q, now)
			if err != nil {
				continue
			}
			for _, s := range samples {
				if slices.Contains(insts, s.Labels["instance"]) {
					m.add(QueryName(StartTimeMetric, s.Labels), StartTimeMetric, false, series.Point{T: now, V: s.V})
				}
			}
		}
	}
}

// groupLookups are, by Prometheus server and job, the instance and group
// of each of the process exporter's memory series a query returned.
type groupLookups map[string]map[string][][2]string

// want notes the instance and group of a memory sample of the process
// exporter (a groupname label beside its job and instance).
func (l groupLookups) want(url, query string, labels map[string]string) {
	job, inst, group := labels["job"], labels["instance"], labels["groupname"]
	if job == "" || inst == "" || group == "" || !strings.Contains(labels["__name__"]+" "+query, "namedprocess_") {
		return
	}
	if l[url] == nil {
		l[url] = map[string][][2]string{}
	}
	if k := [2]string{inst, group}; !slices.Contains(l[url][job], k) {
		l[url][job] = append(l[url][job], k)
	}
}

// lookUpGroupStarts records, for each group noted, the start time of its
// oldest process (GroupStartMetric{job}, one query a job at each sample),
// named as a query named GroupStartMetric would name it: the leak check
// reads the group's restarts from it, as lookUpStarts' from a process's own.
func (m *Monitor) lookUpGroupStarts(ctx context.Context, l groupLookups, now time.Time) {
	for url, jobs := range l {
		for job, keys := range jobs {
			q := fmt.Sprintf("%s{job=%s}", GroupStartMetric, strconv.Quote(job))
			samples, err := QueryInstant(ctx, m.cfg.Client, url, q, now)
			if err != nil {
				continue
			}
			for _, s := range samples {
				if slices.Contains(keys, [2]string{s.Labels["instance"], s.Labels["groupname"]}) {
					m.add(QueryName(GroupStartMetric, s.Labels), GroupStartMetric, false, series.Point{T: now, V: s.V})
				}
			}
		}
	}
}

// PodRestartsMetric is kube-state-metrics' count of a container's
// restarts, by namespace, pod and container.
const PodRestartsMetric = "kube_pod_container_status_restarts_total"

// podLookups are, by Prometheus server and namespace, the pods whose
// memory a query returned without its process's own job and instance (a
// collector's series, cAdvisor's container_*, or a sum by pod).
type podLookups map[string]map[string][]string

// want notes the namespace and pod of a memory sample's labels (nothing
// without a pod label, nor for a series with a job and an instance of its
// own process: its start time is looked up instead).
func (l podLookups) want(url string, labels map[string]string) {
	pod := labels["pod"]
	if pod == "" || (labels["job"] != "" && labels["instance"] != "" && !CollectorMetric(labels["__name__"])) {
		return
	}
	ns := labels["namespace"]
	if l[url] == nil {
		l[url] = map[string][]string{}
	}
	if !slices.Contains(l[url][ns], pod) {
		l[url][ns] = append(l[url][ns], pod)
	}
}

// lookUpPodRestarts records, for each pod noted, the restarts counter
// kube-state-metrics keeps for its containers (PodRestartsMetric{namespace,
// pod}): one query a namespace at each sample, each series named as a
// query named PodRestartsMetric would name it. The leak check matches it
// to the memory series by pod and reads the restarts from it. Nothing is
// recorded when kube-state-metrics is not scraped.
func (m *Monitor) lookUpPodRestarts(ctx context.Context, l podLookups, now time.Time) {
	for url, nss := range l {
		for ns, pods := range nss {
			quoted := make([]string, len(pods))
			for i, p := range pods {
				quoted[i] = regexp.QuoteMeta(p)
			}
			sel := "pod=~" + strconv.Quote(strings.Join(quoted, "|"))
			if ns != "" {
				sel = "namespace=" + strconv.Quote(ns) + "," + sel
			}
			samples, err := QueryInstant(ctx, m.cfg.Client, url, PodRestartsMetric+"{"+sel+"}", now)
			if err != nil {
				continue
			}
			for _, s := range samples {
				m.add(QueryName(PodRestartsMetric, s.Labels), PodRestartsMetric, false, series.Point{T: now, V: s.V})
			}
		}
	}
}
