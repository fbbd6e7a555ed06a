package monitor

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/horde-load/horde/internal/soak"
)

// verdictsCacheFor is how long one judgement of the run serves scrapes.
const verdictsCacheFor = 5 * time.Second

// verdictCollector exports each resource's limit and forecast of
// exhaustion from the run's running verdicts, so
// Grafana can show when a resource runs out beside the load.
type verdictCollector struct {
	judge func() []soak.Verdict

	mu   sync.Mutex
	at   time.Time
	last []soak.Verdict

	limit, in, lo, hi *prometheus.Desc
}

// SetVerdicts adds the resource checks' forecasts to the exporter, judged
// by judge at most every 5 s (each verdict's status is horde_verdict):
// for each resource check with a limit
// horde_target_resource_limit{resource,series} and, with a forecast,
// horde_target_exhaustion_seconds (and its _lower_seconds and
// _upper_seconds; no upper when it may never run out). Call it once.
func (e *Exporter) SetVerdicts(judge func() []soak.Verdict) error {
	labels := []string{"resource", "series"}
	c := &verdictCollector{
		judge: judge,
		limit: prometheus.NewDesc("horde_target_resource_limit", "A resource's limit (open fds, bytes of memory or disk, pool slots), where known.", labels, nil),
		in:    prometheus.NewDesc("horde_target_exhaustion_seconds", "Forecast time until a resource reaches its limit (0: reached).", labels, nil),
		lo:    prometheus.NewDesc("horde_target_exhaustion_lower_seconds", "The forecast interval's early end.", labels, nil),
		hi:    prometheus.NewDesc("horde_target_exhaustion_upper_seconds", "The forecast interval's late end (absent: may never run out).", labels, nil),
	}
	return e.reg.Register(c)
}

func (c *verdictCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.limit, c.in, c.lo, c.hi} {
		ch <- d
	}
}

func (c *verdictCollector) verdicts() []soak.Verdict {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); c.at.IsZero() || now.Sub(c.at) >= verdictsCacheFor {
		c.last, c.at = c.judge(), now
	}
	return c.last
}

func (c *verdictCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[[2]string]bool{}
	for _, v := range c.verdicts() {
		k := [2]string{v.Kind, v.Name}
		if seen[k] {
			continue // one sample per label set
		}
		seen[k] = true
		r := v.Resource
		if r == nil || r.Limit <= 0 {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, r.Limit, string(r.Kind), r.Name)
		if f := r.Forecast; f != nil {
			in, lo, hi := f.In, f.Lo, f.Hi
			if f.Reached {
				in, lo, hi = 0, 0, 0
			}
			ch <- prometheus.MustNewConstMetric(c.in, prometheus.GaugeValue, in.Seconds(), string(r.Kind), r.Name)
			ch <- prometheus.MustNewConstMetric(c.lo, prometheus.GaugeValue, lo.Seconds(), string(r.Kind), r.Name)
			if !f.HiNever {
				ch <- prometheus.MustNewConstMetric(c.hi, prometheus.GaugeValue, hi.Seconds(), string(r.Kind), r.Name)
			}
		}
	}
}
