package monitor

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/horde-load/horde/internal/stats"
)

// Source is what the exporter reads at each scrape (a master).
type Source interface {
	Snapshot() *stats.Snapshot
	Users() int
	State() string
	// WorkerStates counts the workers by state (nil when standalone).
	WorkerStates() map[string]int
	// RunInfo labels horde_run_info: e.g. {"host": ..., "version": ...}.
	RunInfo() map[string]string
}

// Exporter serves horde's own metrics for Prometheus ("monitor out"): a
// Collector that reads a Source when scraped, so there is no second set
// of counters to keep in step, on its own registry with the Go and process
// collectors for the generator's health.
type Exporter struct {
	src Source
	reg *prometheus.Registry

	requests, failures, duration, users, workers, info, state *prometheus.Desc
}

var _ prometheus.Collector = (*Exporter)(nil)

// NewExporter returns an exporter of src on a new registry.
func NewExporter(src Source) (*Exporter, error) {
	names := []string{"method", "name"}
	e := &Exporter{
		src:      src,
		reg:      prometheus.NewRegistry(),
		requests: prometheus.NewDesc("horde_requests_total", "Requests sent, by method and request name.", names, nil),
		failures: prometheus.NewDesc("horde_request_failures_total", "Requests that failed, by method and request name.", names, nil),
		duration: prometheus.NewDesc("horde_request_duration_seconds",
			"Response times by method and request name: exact percentiles of the whole run (HDR histogram, 3 significant digits), count and sum.", names, nil),
		users:   prometheus.NewDesc("horde_users", "Virtual users running.", nil, nil),
		workers: prometheus.NewDesc("horde_workers", "Workers by state (distributed runs).", []string{"state"}, nil),
		state:   prometheus.NewDesc("horde_run_state", "1 for the run's current state.", []string{"state"}, nil),
		info:    prometheus.NewDesc("horde_run_info", "Information about the run; always 1.", []string{"host", "version"}, nil),
	}
	for _, c := range []prometheus.Collector{
		e,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := e.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Handler serves the registry in the Prometheus text format.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{})
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{e.requests, e.failures, e.duration, e.users, e.workers, e.state, e.info} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it reads the source once.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	snap := e.src.Snapshot()
	for i := range snap.Entries {
		en := &snap.Entries[i]
		ch <- prometheus.MustNewConstMetric(e.requests, prometheus.CounterValue, float64(en.Requests), en.Method, en.Name)
		ch <- prometheus.MustNewConstMetric(e.failures, prometheus.CounterValue, float64(en.Failures), en.Method, en.Name)
		q := make(map[float64]float64, len(stats.Percentiles))
		if en.Requests > 0 {
			for j, p := range stats.Percentiles {
				if j < len(en.Percentiles) {
					q[p] = en.Percentiles[j] / 1000
				}
			}
		}
		sum := en.AvgMs * float64(en.Requests) / 1000
		ch <- prometheus.MustNewConstSummary(e.duration, uint64(en.Requests), sum, q, en.Method, en.Name)
	}
	ch <- prometheus.MustNewConstMetric(e.users, prometheus.GaugeValue, float64(e.src.Users()))
	for state, n := range e.src.WorkerStates() {
		ch <- prometheus.MustNewConstMetric(e.workers, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(e.state, prometheus.GaugeValue, 1, e.src.State())
	info := e.src.RunInfo()
	ch <- prometheus.MustNewConstMetric(e.info, prometheus.GaugeValue, 1, info["host"], info["version"])
}
