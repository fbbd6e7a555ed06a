// Package monitor records the system under test's own metrics beside the
// client-side statistics: it scrapes Prometheus text endpoints (such as
// `horde target`'s admin listener), evaluates PromQL queries against a
// Prometheus server and reads local processes from /proc, on a fixed
// interval, into bounded series timestamped on horde's clock.
package monitor

import (
	"context"
	"fmt"
	"github.com/horde-load/horde/internal/soak"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/horde-load/horde/internal/series"
)

// Defaults.
const (
	DefaultInterval  = 5 * time.Second
	DefaultMaxPoints = 20000 // per series; older points are thinned, never the span
	// MaxQuerySeries bounds the label sets kept from one PromQL query at
	// one sample (the first by name); a query over every pod of a cluster
	// should aggregate (sum by (pod) ...) instead.
	MaxQuerySeries = 100
	scrapeTimeout  = 10 * time.Second
)

// DefaultMetrics are scraped when a target names none: memory, CPU,
// goroutines, threads and open file descriptors with their limit, what a
// soak test watches for leaks and exhaustion, and the process's start
// time, which tells the leak check where it restarted.
var DefaultMetrics = []string{"process_resident_memory_bytes", "process_cpu_seconds_total", "go_goroutines", "process_start_time_seconds",
	"process_open_fds", "process_max_fds", "go_threads"}

// Scrape is one Prometheus text endpoint and the metrics kept from it.
type Scrape struct {
	URL     string
	Metrics []string // default DefaultMetrics
}

// Query is a PromQL query evaluated against a Prometheus server at every
// sample (an instant query at the sample's time). Each label set it
// returns is a series named QueryName(Name, labels), with Metric Name.
type Query struct {
	URL   string // the server, e.g. http://prometheus:9090 (API under /api/v1)
	Name  string // names the series; unique among the queries
	Query string // PromQL, e.g. sum(container_memory_working_set_bytes{pod=~"my-app-.*"})
	// Memory marks the series as memory, judged for leaks; nil: MemoryQuery decides.
	Memory *bool
	// Kind overrides the series' kind for the leak check (heap, os,
	// count); empty: told by the metric names in Query (soak.KindOf).
	Kind string
}

// Config is what to watch.
type Config struct {
	Interval  time.Duration // default DefaultInterval
	Scrapes   []Scrape
	Queries   []Query
	Processes []int // PIDs read from /proc: rss bytes, cpu seconds, threads, open fds and their limit, the cgroup memory limit
	// Limits are resource limits given as numbers, by metric (or query
	// name): each is recorded as a series of its own, named LimitPrefix
	// and the metric, so the run file keeps it and the resource checks
	// pair it with the series it limits.
	Limits    map[string]float64
	MaxPoints int // per series; default DefaultMaxPoints
	Client    *http.Client
}

// LimitPrefix names the series of a limit given as a number: "limit:"
// and the metric it limits.
const LimitPrefix = "limit:"

// Monitor records the configured series. Safe for concurrent use.
type Monitor struct {
	cfg Config

	mu     sync.Mutex
	series map[string]*series.Series
	order  []string
	errs   map[string]string // last error per source

	containers containerRuns // the runs of cAdvisor container series (Sample's goroutine only)
}

// New returns a monitor for cfg.
func New(cfg Config) (*Monitor, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxPoints <= 0 {
		cfg.MaxPoints = DefaultMaxPoints
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: scrapeTimeout}
	}
	for i, s := range cfg.Scrapes {
		if !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://") {
			return nil, fmt.Errorf("scrape[%d]: %q is not an http(s) URL", i, s.URL)
		}
		if len(s.Metrics) == 0 {
			cfg.Scrapes[i].Metrics = DefaultMetrics
		}
	}
	names := map[string]bool{}
	for i, q := range cfg.Queries {
		if _, err := checkBase(q.URL); err != nil {
			return nil, fmt.Errorf("query[%d] %s: %w", i, q.Name, err)
		}
		if q.Name == "" || strings.TrimSpace(q.Query) == "" {
			return nil, fmt.Errorf("query[%d]: needs a name and a query", i)
		}
		if names[q.Name] {
			return nil, fmt.Errorf("query[%d]: two queries are named %q", i, q.Name)
		}
		names[q.Name] = true
	}
	for i, pid := range cfg.Processes {
		if pid <= 0 {
			return nil, fmt.Errorf("process[%d]: %d is not a PID", i, pid)
		}
	}
	return &Monitor{cfg: cfg, series: map[string]*series.Series{}, errs: map[string]string{}}, nil
}

// Empty reports whether there is nothing to watch.
func (m *Monitor) Empty() bool {
	return len(m.cfg.Scrapes) == 0 && len(m.cfg.Queries) == 0 && len(m.cfg.Processes) == 0
}

// sampleLimits records each limit given as a number.
func (m *Monitor) sampleLimits(now time.Time) {
	names := make([]string, 0, len(m.cfg.Limits))
	for k := range m.cfg.Limits {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		m.add(LimitPrefix+k, LimitPrefix+k, false, series.Point{T: now, V: m.cfg.Limits[k]})
	}
}

// Run samples every interval, starting at once, until ctx is done.
func (m *Monitor) Run(ctx context.Context) error {
	if m.Empty() {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		m.Sample(ctx, time.Now())
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sample takes one sample of every source, timestamped now (to the
// millisecond, as the run file keeps it: the run and `horde analyze` judge
// the same points).
func (m *Monitor) Sample(ctx context.Context, now time.Time) {
	now = now.Truncate(time.Millisecond)
	m.sampleLimits(now)
	for _, s := range m.cfg.Scrapes {
		vals, err := m.scrape(ctx, s)
		m.noteErr(s.URL, err)
		for name, v := range vals {
			m.add(s.URL+" "+name, name, MemoryMetric(name), series.Point{T: now, V: v})
		}
	}
	starts, pods, groups := startLookups{}, podLookups{}, groupLookups{}
	for _, q := range m.cfg.Queries {
		samples, err := m.query(ctx, q, now)
		m.noteErr("prometheus "+q.Name, err)
		memory := MemoryQuery(q.Name, q.Query, q.Memory)
		kind := q.Kind
		if kind == "" || kind == "auto" {
			kind = string(soak.KindOf(q.Query))
		}
		for _, s := range m.containers.current(samples) {
			labels := s.Labels
			if rest, id, ok := containerRun(labels); ok {
				// One series a container, its runs' ids its restarts.
				labels = rest
				n := m.containers.seen(rest, id)
				m.add(QueryName(ContainerRestartsMetric, rest), ContainerRestartsMetric, false, series.Point{T: now, V: float64(n)})
			}
			m.addKind(QueryName(q.Name, labels), q.Name, memory, kind, series.Point{T: now, V: s.V})
			if memory && !m.markerQueried(q.URL) {
				if !CollectorMetric(q.Query) {
					starts.want(q.URL, s.Labels)
				}
				groups.want(q.URL, q.Query, s.Labels)
				if _, _, run := containerRun(s.Labels); !run {
					pods.want(q.URL, s.Labels) // (a container's run has its id)
				}
			}
		}
	}
	m.lookUpStarts(ctx, starts, now)
	m.lookUpPodRestarts(ctx, pods, now)
	m.lookUpGroupStarts(ctx, groups, now)
	for _, pid := range m.cfg.Processes {
		ps, err := readProcSample(pid)
		src := "pid " + strconv.Itoa(pid)
		m.noteErr(src, err)
		if err == nil {
			pt := func(v float64) series.Point { return series.Point{T: now, V: v} }
			m.add(src+" process_rss_bytes", "process_rss_bytes", true, pt(ps.RSS))
			m.add(src+" process_cpu_seconds_total", "process_cpu_seconds_total", false, pt(ps.CPU))
			m.add(src+" process_threads", "process_threads", false, pt(ps.Threads))
			if ps.OpenFDs >= 0 {
				m.add(src+" process_open_fds", "process_open_fds", false, pt(ps.OpenFDs))
			}
			if ps.MaxFDs > 0 {
				m.add(src+" process_max_fds", "process_max_fds", false, pt(ps.MaxFDs))
			}
			if ps.MemoryLimit > 0 {
				m.add(src+" memory_limit_bytes", "memory_limit_bytes", false, pt(ps.MemoryLimit))
			}
		}
	}
}

func (m *Monitor) noteErr(src string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		delete(m.errs, src)
		return
	}
	m.errs[src] = err.Error()
}

// Errors returns the last error of each failing source.
func (m *Monitor) Errors() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.errs))
	for k, v := range m.errs {
		out[k] = v
	}
	return out
}

func (m *Monitor) add(key, metric string, memory bool, p series.Point) {
	m.addKind(key, metric, memory, "", p)
}

func (m *Monitor) addKind(key, metric string, memory bool, kind string, p series.Point) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.series[key]
	if s == nil {
		s = &series.Series{Name: key, Metric: metric, Memory: memory, Kind: kind}
		m.series[key] = s
		m.order = append(m.order, key)
	}
	s.Points = appendThinned(s.Points, p, m.cfg.MaxPoints)
}

// appendThinned appends p to pts, first keeping every other point when
// pts holds max: the series still spans the whole run.
func appendThinned(pts []series.Point, p series.Point, max int) []series.Point {
	if len(pts) >= max {
		n := 0
		for i := 0; i < len(pts); i += 2 {
			pts[n] = pts[i]
			n++
		}
		pts = pts[:n]
	}
	return append(pts, p)
}

// Thin is what a Monitor of max points a series (DefaultMaxPoints when
// max <= 0) keeps of pts sampled in order: a series as the live run held
// it, rebuilt from every sample its run file recorded, so `horde analyze`
// judges what the run judged.
func Thin(pts []series.Point, max int) []series.Point {
	if max <= 0 {
		max = DefaultMaxPoints
	}
	if len(pts) <= max {
		return pts
	}
	out := make([]series.Point, 0, max)
	for _, p := range pts {
		out = appendThinned(out, p, max)
	}
	return out
}

// Restore adds the series a run recorded before this monitor started (a
// resumed run's), point by point as if sampled: the series then hold what
// they would had one monitor sampled the whole run.
func (m *Monitor) Restore(prior []series.Series) {
	for _, s := range prior {
		for _, p := range s.Points {
			m.addKind(s.Name, s.Metric, s.Memory, s.Kind, p)
		}
	}
}

// Series returns a copy of every series, in the order first seen.
func (m *Monitor) Series() []series.Series {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]series.Series, 0, len(m.order))
	for _, k := range m.order {
		s := *m.series[k]
		s.Points = append([]series.Point(nil), s.Points...)
		out = append(out, s)
	}
	return out
}

// query evaluates q at now. Past MaxQuerySeries label sets, the first by
// name are kept and the rest reported as an error.
func (m *Monitor) query(ctx context.Context, q Query, now time.Time) ([]Sample, error) {
	samples, err := QueryInstant(ctx, m.cfg.Client, q.URL, q.Query, now)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q.Query, err)
	}
	if len(samples) <= MaxQuerySeries {
		return samples, nil
	}
	sort.Slice(samples, func(i, j int) bool { return labelsName(samples[i].Labels, "") < labelsName(samples[j].Labels, "") })
	return samples[:MaxQuerySeries], fmt.Errorf("query %s: %d series, kept the first %d: aggregate it (sum by (...))", q.Query, len(samples), MaxQuerySeries)
}

// QueryName names the series of one label set returned by the query
// named name: the name alone for a result without labels (a sum), else
// the name, the metric name if any, and the other labels sorted, e.g.
// `memory process_resident_memory_bytes{instance="127.0.0.1:9091",job="target"}`
// or `memory{pod="my-app-1"}`. The same labels always give the same name.
func QueryName(name string, labels map[string]string) string {
	l := labelsName(labels, "")
	if l == "" {
		return name
	}
	if labels["__name__"] != "" {
		return name + " " + l
	}
	return name + l
}

// MemoryMetric reports whether a scraped metric is memory, judged for
// leaks: its name ends in "memory_bytes" (process_resident_memory_bytes)
// or "memory_usage_bytes" (container_memory_usage_bytes).
// So is a name the common exporters give a garbage-collected heap or
// memory the operating system accounts (soak.KindOf), in bytes:
// go_memstats_heap_inuse_bytes, nodejs_heap_size_used_bytes,
// jvm_memory_used_bytes, container_memory_working_set_bytes.
func MemoryMetric(metric string) bool {
	if strings.HasSuffix(metric, "memory_bytes") || strings.HasSuffix(metric, "memory_usage_bytes") || metric == "container_memory_rss" {
		return true
	}
	return strings.HasSuffix(metric, "_bytes") && soak.KindOf(metric) != soak.KindUnknown
}

// MemoryQuery reports whether a PromQL query's series are memory, judged
// for leaks: memory when set, else when the query's name or its text
// mentions "memory" (any case): `name: memory`, or a query over
// container_memory_working_set_bytes.
func MemoryQuery(name, query string, memory *bool) bool {
	if memory != nil {
		return *memory
	}
	return strings.Contains(strings.ToLower(name), "memory") || strings.Contains(strings.ToLower(query), "memory")
}

// scrape fetches one endpoint and returns the wanted metrics' values; a
// metric with several series (labels) is summed.
func (m *Monitor) scrape(ctx context.Context, s Scrape) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := m.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("scrape %s: HTTP %d", s.URL, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", s.URL, err)
	}
	out := map[string]float64{}
	for _, name := range s.Metrics {
		f, ok := fams[name]
		if !ok {
			continue
		}
		sum, found := 0.0, false
		for _, mt := range f.GetMetric() {
			switch {
			case mt.Gauge != nil:
				sum += mt.Gauge.GetValue()
				found = true
			case mt.Counter != nil:
				sum += mt.Counter.GetValue()
				found = true
			case mt.Untyped != nil:
				sum += mt.Untyped.GetValue()
				found = true
			}
		}
		if found {
			out[name] = sum
		}
	}
	return out, nil
}
