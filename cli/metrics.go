package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/scenario"
)

// metricsOptions are the flags of horde's own /metrics.
type metricsOptions struct {
	addr         string
	buckets      string
	nativeFactor float64
}

func addMetricsFlags(f *pflag.FlagSet, m *metricsOptions) {
	f.StringVar(&m.addr, "metrics-addr", "", "serve horde's Prometheus /metrics on HOST:PORT (a headless run has no web UI to serve it), e.g. 0.0.0.0:9646")
	f.StringVar(&m.buckets, "metrics-buckets", "", "upper bounds of horde_request_duration_seconds's classic buckets, ascending, in seconds or as durations (default 1ms,2.5ms,5ms,10ms,25ms,50ms,100ms,250ms,500ms,1s,2.5s,5s,10s,30s,60s)")
	f.Float64Var(&m.nativeFactor, "metrics-native-factor", monitor.DefaultNativeFactor, "growth factor of horde_request_duration_seconds's native buckets (client_golang's NativeHistogramBucketFactor; 1: none)")
}

// config turns the flags into the run's Metrics.
func (m *metricsOptions) config() (run.Metrics, error) {
	c := run.Metrics{Addr: m.addr}
	if m.buckets != "" {
		bs, err := parseBuckets(m.buckets)
		if err != nil {
			return c, badInput("--metrics-buckets: %v", err)
		}
		c.Histogram.Buckets = bs
	}
	if m.nativeFactor < 1 {
		return c, badInput("--metrics-native-factor: %v is below 1 (1: no native buckets)", m.nativeFactor)
	}
	c.Histogram.NativeFactor = m.nativeFactor
	return c, nil
}

// parseBuckets reads a comma-separated list of ascending upper bounds: a
// plain number is seconds (0.25), anything else a duration (250ms).
func parseBuckets(s string) ([]float64, error) {
	var out []float64
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			d, derr := scenario.ParseDuration(f)
			if derr != nil {
				return nil, fmt.Errorf("bound %d %q: want seconds (0.25) or a duration (250ms)", i+1, f)
			}
			v = d.Seconds()
		}
		if !(v > 0) || v > 1e9 {
			return nil, fmt.Errorf("bound %d %q: want a positive number of seconds", i+1, f)
		}
		if len(out) > 0 && v <= out[len(out)-1] {
			return nil, fmt.Errorf("bound %d %q: bounds must ascend (after %v s)", i+1, f, out[len(out)-1])
		}
		out = append(out, v)
	}
	return out, nil
}
