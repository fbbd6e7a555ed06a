package run

import (
	"regexp"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
)

// restartMarker reports whether s records a process's restarts rather than
// a value to judge: its start time (process_start_time_seconds, scraped by
// default) or a restart counter (kube_pod_container_status_restarts_total).
func restartMarker(s series.Series) bool {
	m := s.Metric
	return m == "process_start_time_seconds" || strings.HasSuffix(m, "restarts_total")
}

// markerRestarts returns the restart times a marker series records.
func markerRestarts(s series.Series) []time.Time {
	if s.Metric == "process_start_time_seconds" {
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

// restartsFor returns the restart times the markers record for mem: those
// of a marker of the same source, else of the same pod, else of the only
// marker there is; nil when none applies (the leak check then looks for
// resets in the series itself).
func restartsFor(mem series.Series, markers []series.Series) []time.Time {
	for _, m := range markers {
		if source(m) == source(mem) {
			return markerRestarts(m)
		}
	}
	if p := podLabel.FindStringSubmatch(mem.Name); p != nil {
		var out []time.Time
		found := false
		for _, m := range markers {
			if q := podLabel.FindStringSubmatch(m.Name); q != nil && q[1] == p[1] {
				out, found = append(out, markerRestarts(m)...), true
			}
		}
		if found {
			return out
		}
	}
	if len(markers) == 1 {
		return markerRestarts(markers[0])
	}
	return nil
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
