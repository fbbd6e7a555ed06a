package run

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
)

// restartMarker reports whether s records a process's restarts rather than
// a value to judge: its start time (process_start_time_seconds, scraped by
// default) or a restart counter (kube_pod_container_status_restarts_total).
func restartMarker(s series.Series) bool {
	return startTimeMetric(s.Metric) || strings.HasSuffix(s.Metric, "restarts_total")
}

// startTimeMetric reports whether m is a process's start time: a client
// library's own (process_start_time_seconds), or the process exporter's
// of the oldest process of each group it watches.
func startTimeMetric(m string) bool {
	return m == monitor.StartTimeMetric || m == monitor.GroupStartMetric
}

// markerRestarts returns the restart times a marker series records.
func markerRestarts(s series.Series) []time.Time {
	if startTimeMetric(s.Metric) {
		return soak.RestartsFromStartTime(s.Points)
	}
	return soak.RestartsFromCounter(s.Points)
}

var podLabel = regexp.MustCompile(`\bpod="([^"]*)"`)

// source is what ties a memory series to its process's marker: the series'
// name without its metric (a scrape's URL, a Prometheus series' labels).
func source(s series.Series) string {
	return strings.Replace(s.Name, s.Metric, "", 1)
}

// leakOptions are the leak check's options for mem: its kind (the
// series's own, else told by its metric's name), and its restarts from
// evidence — a marker (restartsFor), else, for a heap, the drops of an
// OS-level memory series of the same source (a restarted process's RSS
// falls back to its baseline; a heap's own drops are collections).
func leakOptions(mem series.Series, all, markers []series.Series, warmup time.Duration) soak.LeakOptions {
	o := soak.LeakOptions{Warmup: warmup, Kind: seriesKind(mem)}
	if at, evidence, ok := restartEvidence(mem, markers); ok {
		o.Restarts, o.RestartEvidence = at, evidence
		if o.Restarts == nil {
			o.Restarts = []time.Time{} // a marker that saw no restart: none
		}
		return o
	}
	if o.Kind == soak.KindHeap {
		for _, s := range all {
			if s.Memory && s.Name != mem.Name && source(s) == source(mem) && seriesKind(s) == soak.KindOS {
				o.Restarts = soak.DetectRestarts(s.Points, soak.LeakOptions{Kind: soak.KindOS})
				if o.Restarts == nil {
					o.Restarts = []time.Time{}
				}
				o.RestartEvidence = "drops of " + s.Metric
				return o
			}
		}
	}
	return o
}

// seriesKind is s's kind: set by the monitor (a query's `kind:`), else
// told by the metric's name (or the query's text).
func seriesKind(s series.Series) soak.Kind {
	if k, err := soak.ParseKind(s.Kind); err == nil && k != soak.KindUnknown {
		return k
	}
	return soak.KindOf(s.Metric + " " + s.Name)
}

// restartsFor returns the restart times the markers record for mem: those
// of a marker of the same source, else of the same job and instance, else
// of the same pod, else of the only
// marker there is; nil when none applies (the leak check then looks for
// resets in the series itself).
func restartsFor(mem series.Series, markers []series.Series) []time.Time {
	at, _, _ := restartEvidence(mem, markers)
	return at
}

// restartEvidence is restartsFor with the evidence's name, and whether a
// marker applies at all (then no restart in it means none).
func restartEvidence(mem series.Series, markers []series.Series) ([]time.Time, string, bool) {
	for _, m := range markers {
		if source(m) == source(mem) {
			return markerRestarts(m), evidenceName(m), true
		}
	}
	if job, inst, group, ok := processGroup(mem, ""); ok {
		// The process exporter's series of a group and its oldest
		// process's start time: the same exporter and group.
		for _, m := range markers {
			if j, i, g, ok := processGroup(m, ""); ok && m.Metric == monitor.GroupStartMetric && j == job && i == inst && g == group {
				return markerRestarts(m), evidenceName(m), true
			}
		}
	}
	_, _, _, grouped := processGroup(mem, "")
	if job, inst, ok := jobInstance(mem); ok && !grouped && !monitor.CollectorMetric(mem.Metric) {
		// A Prometheus series and its process's start time: the same
		// job and instance, whatever other labels each carries.
		for _, m := range markers {
			if j, i, ok := jobInstance(m); ok && j == job && i == inst && m.Metric != monitor.GroupStartMetric {
				return markerRestarts(m), evidenceName(m), true
			}
		}
	}
	if p := podLabel.FindStringSubmatch(mem.Name); p != nil {
		// The changes of its containers' ids first: the monitor records
		// kube-state-metrics' counter of the same restarts beside them.
		for _, ids := range []bool{true, false} {
			var out []time.Time
			found, name := false, ""
			for _, m := range markers {
				if q := podLabel.FindStringSubmatch(m.Name); q != nil && q[1] == p[1] && (m.Metric == monitor.ContainerRestartsMetric) == ids {
					out, found, name = append(out, markerRestarts(m)...), true, evidenceName(m)
				}
			}
			if found {
				slices.SortFunc(out, time.Time.Compare)
				return out, name, true
			}
		}
	}
	if len(markers) == 1 && markers[0].Metric != monitor.ContainerRestartsMetric && markers[0].Metric != monitor.GroupStartMetric {
		return markerRestarts(markers[0]), evidenceName(markers[0]), true
	}
	return nil, "", false
}

// evidenceName names the evidence of a marker's restarts in a verdict.
func evidenceName(m series.Series) string {
	if m.Metric == monitor.ContainerRestartsMetric {
		return "a changed container id"
	}
	return m.Metric
}

// splitMarkers separates the restart markers from the series to judge.
func splitMarkers(all []series.Series) (judged, markers []series.Series) {
	for _, s := range all {
		if restartMarker(s) {
			markers = append(markers, s)
		} else {
			judged = append(judged, s)
		}
	}
	return judged, markers
}
