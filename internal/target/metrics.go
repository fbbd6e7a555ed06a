package target

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// otherRoute labels requests that matched no route, so that the route label
// only ever holds registered patterns (bounded cardinality).
const otherRoute = "other"

// metrics are the target's own series, on the Server's registry.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// routes holds one entry per registered pattern plus otherRoute. It is
	// filled while New builds the mux and only read afterwards, so request
	// handling reads it without a lock.
	routes map[string]*routeMetrics
}

func newMetrics(reg prometheus.Registerer, leaked, sessions func() int64) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "horde",
			Subsystem: "target",
			Name:      "requests_total",
			Help:      "Requests to the main listener by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "horde",
			Subsystem: "target",
			Name:      "request_duration_seconds",
			Help:      "Time to answer main-listener requests, injected latency and pauses included, by route pattern.",
			// 0.5ms to about 65s: covers /delay/60000 and grown latency.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18),
		}, []string{"route"}),
		routes: make(map[string]*routeMetrics),
	}
	cs := []prometheus.Collector{
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		m.requests,
		m.duration,
		countGauge("leaked_bytes", "Bytes retained on purpose by the leak fault knobs.", leaked),
		countGauge("sessions", "Live /api/login tokens (kept until /api/logout).", sessions),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register target metrics: %w", err)
		}
	}
	m.addRoute(otherRoute)
	return m, nil
}

// countGauge is the gauge horde_target_<name>, read from n at each scrape.
func countGauge(name, help string, n func() int64) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "horde",
		Subsystem: "target",
		Name:      name,
		Help:      help,
	}, func() float64 { return float64(n()) })
}

// addRoute prepares the series of one route; call it only from New.
func (m *metrics) addRoute(pattern string) {
	m.routes[pattern] = &routeMetrics{
		name:     pattern,
		requests: m.requests,
		duration: m.duration.WithLabelValues(pattern),
	}
}

// route returns the series of a pattern, otherRoute's for unknown ones.
func (m *metrics) route(pattern string) *routeMetrics {
	if rm, ok := m.routes[pattern]; ok {
		return rm
	}
	return m.routes[otherRoute]
}

// routeMetrics caches one route's series so that recording a request does
// not hash label values or allocate.
type routeMetrics struct {
	name     string
	requests *prometheus.CounterVec
	duration prometheus.Observer
	// byCode caches the requests_total child of each status code 100-599,
	// created on first use.
	byCode [500]atomic.Pointer[prometheus.Counter]
}

func (rm *routeMetrics) observe(code int, d time.Duration) {
	rm.duration.Observe(d.Seconds())
	i := code - 100
	if i < 0 || i >= len(rm.byCode) {
		rm.requests.WithLabelValues(rm.name, strconv.Itoa(code)).Inc()
		return
	}
	if c := rm.byCode[i].Load(); c != nil {
		(*c).Inc()
		return
	}
	// Racing first uses store the same child, so either store is right.
	c := rm.requests.WithLabelValues(rm.name, strconv.Itoa(code))
	rm.byCode[i].Store(&c)
	c.Inc()
}

// adminRoutes is the admin listener: metrics, health and the pause switch.
func (s *Server) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{
		ErrorLog: promLogger{s},
		Registry: s.reg, // promhttp_metric_handler_errors_total on our registry
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = textPlain
		w.Write(okBody)
	})
	mux.HandleFunc("POST /admin/pause", s.handlePause)
	return mux
}

// handlePause answers POST /admin/pause?d=DURATION, d as in time.ParseDuration.
func (s *Server) handlePause(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("d"))
	if err != nil || d < 0 {
		writeError(w, http.StatusBadRequest, "d must be a non-negative duration such as 1s or 250ms")
		return
	}
	s.Pause(d)
	writeJSON(w, http.StatusOK, struct {
		OK    bool   `json:"ok"`
		Pause string `json:"pause"`
	}{true, d.String()})
}

// promLogger sends promhttp's errors to the Server's logger.
type promLogger struct{ s *Server }

func (l promLogger) Println(v ...any) { l.s.log.Error("serve metrics", "err", fmt.Sprint(v...)) }
