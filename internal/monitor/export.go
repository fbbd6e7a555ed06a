package monitor

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// VerdictSource is what a Source may also give: the running verdicts of
// the run's thresholds and checks, exported as horde_verdict.
type VerdictSource interface {
	Verdicts() []soak.Verdict
}

// Source is what the exporter reads at each scrape (a master).
type Source interface {
	Snapshot() *stats.Snapshot
	Users() int
	State() string
	// WorkerStates counts the workers by state (nil when standalone).
	WorkerStates() map[string]int
	// RunInfo labels horde_run_info: e.g. {"host": ..., "version": ...}.
	RunInfo() map[string]string
	// Buckets counts each key's cumulative response times into histogram
	// buckets (classic bounds in seconds, native schema).
	Buckets(bounds []float64, schema int32) []stats.Buckets
}

// DefaultBuckets are the classic upper bounds of horde_request_duration_seconds,
// in seconds: client_golang's DefBuckets widened to 1 ms below (loopback and
// cached answers) and to 60 s above (timeouts).
var DefaultBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// DefaultNativeFactor is the NativeHistogramBucketFactor of
// horde_request_duration_seconds: each native bucket is at most 10 % wider
// than the one below it (schema 3: 2^(1/8), about 9 %).
const DefaultNativeFactor = 1.1

// Histogram sets the buckets of horde_request_duration_seconds.
type Histogram struct {
	// Buckets are the classic upper bounds in seconds, ascending (nil:
	// DefaultBuckets).
	Buckets []float64
	// NativeFactor is the native buckets' growth factor, as client_golang's
	// HistogramOpts.NativeHistogramBucketFactor (0: DefaultNativeFactor;
	// 1 or less: no native buckets).
	NativeFactor float64
}

// check fills in the defaults and validates h.
func (h *Histogram) check() error {
	if h.Buckets == nil {
		h.Buckets = DefaultBuckets
	}
	if len(h.Buckets) == 0 {
		return errors.New("no bucket bounds")
	}
	for i, b := range h.Buckets {
		if !(b > 0) || b > 1e9 {
			return fmt.Errorf("bucket bound %v: want a positive number of seconds", b)
		}
		if i > 0 && b <= h.Buckets[i-1] {
			return fmt.Errorf("bucket bounds must ascend: %v after %v", b, h.Buckets[i-1])
		}
	}
	if h.NativeFactor == 0 {
		h.NativeFactor = DefaultNativeFactor
	}
	return nil
}

// Exporter serves horde's own metrics for Prometheus ("monitor out"): a
// Collector that reads a Source when scraped, so there is no second set
// of counters to keep in step, on its own registry with the Go and process
// collectors for the generator's health.
type Exporter struct {
	src  Source
	reg  *prometheus.Registry
	hist Histogram

	requests, failures, duration, runDuration, users, workers, info, state, verdict *prometheus.Desc
	phase, sent, received, checks                                                   *prometheus.Desc
}

var _ prometheus.Collector = (*Exporter)(nil)

// NewExporter returns an exporter of src on a new registry, with h's
// buckets (the zero Histogram: the defaults).
func NewExporter(src Source, h Histogram) (*Exporter, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	names := []string{"method", "name"}
	e := &Exporter{
		src:      src,
		reg:      prometheus.NewRegistry(),
		hist:     h,
		requests: prometheus.NewDesc("horde_requests_total", "Requests sent, by method and request name.", names, nil),
		failures: prometheus.NewDesc("horde_request_failures_total", "Requests that failed, by method and request name.", names, nil),
		duration: prometheus.NewDesc("horde_request_duration_seconds",
			"Response times by method and request name: a histogram (classic and native buckets) of the whole run, for rate() and histogram_quantile() over any window.", names, nil),
		runDuration: prometheus.NewDesc("horde_request_duration_run_seconds",
			"Response times by method and request name: exact percentiles of the whole run so far (HDR histogram, 3 significant digits), count and sum.", names, nil),
		users:   prometheus.NewDesc("horde_users", "Virtual users running.", nil, nil),
		workers: prometheus.NewDesc("horde_workers", "Workers by state (distributed runs).", []string{"state"}, nil),
		state:   prometheus.NewDesc("horde_run_state", "1 for the run's current state.", []string{"state"}, nil),
		info:    prometheus.NewDesc("horde_run_info", "Information about the run; always 1.", []string{"host", "version"}, nil),
		phase: prometheus.NewDesc("horde_request_phase_seconds",
			"Request phases by method, request name and phase (k6's http_req_connecting, _tls_handshaking, _waiting, _receiving): count and sum of the whole run; connecting and tls_handshaking count the connections opened.",
			[]string{"method", "name", "phase"}, nil),
		sent:     prometheus.NewDesc("horde_sent_bytes_total", "Bytes of the requests as written (request line, headers, body), by method and request name.", names, nil),
		received: prometheus.NewDesc("horde_received_bytes_total", "Bytes of the responses as read (status line, headers, body), by method and request name.", names, nil),
		checks:   prometheus.NewDesc("horde_checks_total", "Check evaluations by check name and result (pass or fail).", []string{"check", "result"}, nil),
		verdict: prometheus.NewDesc("horde_verdict",
			"1 for each threshold's and check's current verdict (status: pass, warn, fail or inconclusive, the words of every view); none before the run has data.",
			[]string{"kind", "name", "status"}, nil),
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
	for _, d := range []*prometheus.Desc{e.requests, e.failures, e.duration, e.runDuration, e.users, e.workers, e.state, e.info, e.verdict,
		e.phase, e.sent, e.received, e.checks} {
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
		ch <- prometheus.MustNewConstSummary(e.runDuration, uint64(en.Requests), sum, q, en.Method, en.Name)
		ch <- prometheus.MustNewConstMetric(e.sent, prometheus.CounterValue, float64(en.SentBytes), en.Method, en.Name)
		ch <- prometheus.MustNewConstMetric(e.received, prometheus.CounterValue, float64(en.RecvBytes), en.Method, en.Name)
		for _, p := range en.Phases.All() {
			ch <- prometheus.MustNewConstSummary(e.phase, uint64(p.Count), p.SumMs/1000, nil, en.Method, en.Name, p.Name)
		}
	}
	schema := int32(0)
	if e.hist.NativeFactor > 1 {
		schema = stats.NativeSchema(e.hist.NativeFactor)
	}
	for _, b := range e.src.Buckets(e.hist.Buckets, schema) {
		ch <- e.histogram(&b, schema)
	}
	for _, c := range snap.Checks {
		ch <- prometheus.MustNewConstMetric(e.checks, prometheus.CounterValue, float64(c.Passes), c.Name, "pass")
		ch <- prometheus.MustNewConstMetric(e.checks, prometheus.CounterValue, float64(c.Fails), c.Name, "fail")
	}
	ch <- prometheus.MustNewConstMetric(e.users, prometheus.GaugeValue, float64(e.src.Users()))
	for state, n := range e.src.WorkerStates() {
		ch <- prometheus.MustNewConstMetric(e.workers, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(e.state, prometheus.GaugeValue, 1, e.src.State())
	info := e.src.RunInfo()
	ch <- prometheus.MustNewConstMetric(e.info, prometheus.GaugeValue, 1, info["host"], info["version"])
	if vs, ok := e.src.(VerdictSource); ok && snap.Total.Requests > 0 {
		seen := map[[2]string]bool{}
		for _, v := range vs.Verdicts() {
			k := [2]string{v.Kind, v.Name}
			if seen[k] {
				continue // one series a verdict
			}
			seen[k] = true
			ch <- prometheus.MustNewConstMetric(e.verdict, prometheus.GaugeValue, 1, v.Kind, v.Name, string(v.Status))
		}
	}
}

// histogram is one key's horde_request_duration_seconds: classic buckets,
// and native ones when NativeFactor is above 1. A scrape in the text format
// sees the classic buckets; one in the protobuf format (Prometheus with
// native histograms enabled) sees both, as for a client_golang Histogram
// with Buckets and NativeHistogramBucketFactor.
func (e *Exporter) histogram(b *stats.Buckets, schema int32) prometheus.Metric {
	h := &dto.Histogram{SampleCount: proto.Uint64(b.Count), SampleSum: proto.Float64(b.SumSeconds)}
	for i, ub := range e.hist.Buckets {
		h.Bucket = append(h.Bucket, &dto.Bucket{CumulativeCount: proto.Uint64(b.Classic[i]), UpperBound: proto.Float64(ub)})
	}
	if e.hist.NativeFactor > 1 {
		h.Schema = proto.Int32(schema)
		h.ZeroThreshold = proto.Float64(prometheus.DefNativeHistogramZeroThreshold)
		h.ZeroCount = proto.Uint64(b.Zero)
		h.PositiveSpan, h.PositiveDelta = nativeSpans(b.Native)
		if len(h.PositiveSpan) == 0 && b.Zero == 0 {
			// An empty span marks the histogram native (client_golang does the same).
			h.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
		}
	}
	return histogramMetric{desc: e.duration, h: h, labels: prometheus.MakeLabelPairs(e.duration, []string{b.Method, b.Name})}
}

// nativeSpans encodes native buckets as Prometheus spans (runs of
// consecutive indexes) and deltas (each count minus the one before).
func nativeSpans(buckets map[int]int64) ([]*dto.BucketSpan, []int64) {
	keys := make([]int, 0, len(buckets))
	for k, n := range buckets {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, cmp.Compare)
	var spans []*dto.BucketSpan
	deltas := make([]int64, 0, len(keys))
	var prev int64
	for i, k := range keys {
		if i == 0 || k != keys[i-1]+1 {
			off := k
			if i > 0 {
				off = k - keys[i-1] - 1
			}
			spans = append(spans, &dto.BucketSpan{Offset: proto.Int32(int32(off)), Length: proto.Uint32(0)})
		}
		*spans[len(spans)-1].Length++
		deltas = append(deltas, buckets[k]-prev)
		prev = buckets[k]
	}
	return spans, deltas
}

// histogramMetric is a histogram built at scrape time.
type histogramMetric struct {
	desc   *prometheus.Desc
	h      *dto.Histogram
	labels []*dto.LabelPair
}

func (m histogramMetric) Desc() *prometheus.Desc { return m.desc }

func (m histogramMetric) Write(out *dto.Metric) error {
	out.Histogram, out.Label = m.h, m.labels
	return nil
}
