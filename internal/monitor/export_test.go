package monitor

import (
	"io"
	"maps"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/horde-load/horde/internal/stats"
)

type fakeSource struct {
	snap *stats.Snapshot
	st   *stats.Stats // what Buckets reads; nil: no buckets
}

func (f fakeSource) Buckets(bounds []float64, schema int32) []stats.Buckets {
	if f.st == nil {
		return nil
	}
	return f.st.Buckets(bounds, schema)
}

func (f fakeSource) Snapshot() *stats.Snapshot    { return f.snap }
func (f fakeSource) Users() int                   { return 7 }
func (f fakeSource) State() string                { return "running" }
func (f fakeSource) WorkerStates() map[string]int { return map[string]int{"running": 2, "missing": 1} }
func (f fakeSource) RunInfo() map[string]string {
	return map[string]string{"host": "http://t", "version": "v1"}
}

func TestExporter(t *testing.T) {
	snap := &stats.Snapshot{Entries: []stats.Entry{{
		Method: "GET", Name: "/api/items", Requests: 10, Failures: 2, AvgMs: 20,
		Percentiles: []float64{10, 12, 15, 18, 30, 60, 100, 150, 240, 251, 251},
	}}}
	e, err := NewExporter(fakeSource{snap: snap}, Histogram{})
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP horde_requests_total Requests sent, by method and request name.
# TYPE horde_requests_total counter
horde_requests_total{method="GET",name="/api/items"} 10
# HELP horde_request_failures_total Requests that failed, by method and request name.
# TYPE horde_request_failures_total counter
horde_request_failures_total{method="GET",name="/api/items"} 2
# HELP horde_users Virtual users running.
# TYPE horde_users gauge
horde_users 7
# HELP horde_workers Workers by state (distributed runs).
# TYPE horde_workers gauge
horde_workers{state="missing"} 1
horde_workers{state="running"} 2
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), "horde_requests_total", "horde_request_failures_total", "horde_users", "horde_workers"); err != nil {
		t.Error(err)
	}
	rec := httptest.NewRecorder()
	e.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, s := range []string{
		`horde_request_duration_run_seconds{method="GET",name="/api/items",quantile="0.95"} 0.06`,
		`horde_request_duration_run_seconds_sum{method="GET",name="/api/items"} 0.2`,
		`horde_run_info{host="http://t",version="v1"} 1`,
		`horde_run_state{state="running"} 1`,
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), s) {
			t.Errorf("/metrics lacks %q", s)
		}
	}
}

// recorded returns statistics holding the given durations of one request.
func recorded(ds ...time.Duration) *stats.Stats {
	r := stats.NewRecorder(1)
	for _, d := range ds {
		r.Record(0, &stats.Sample{Method: "GET", Name: "/a", Duration: d, Bytes: 0, WireBytes: 0})
	}
	t0 := time.Unix(1700000000, 0)
	st := stats.New(t0)
	st.Add(r.Flush(t0, t0.Add(time.Second)))
	return st
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// horde_request_duration_seconds is a histogram with the classic buckets
// asked for, read from the recorded histogram.
func TestExporter_Histogram(t *testing.T) {
	ds := append(repeat(70, 3*time.Millisecond), repeat(20, 40*time.Millisecond)...)
	ds = append(ds, repeat(9, 200*time.Millisecond)...)
	ds = append(ds, 0, 5*time.Millisecond) // 0 and an exact bound
	e, err := NewExporter(fakeSource{snap: &stats.Snapshot{}, st: recorded(ds...)}, Histogram{Buckets: []float64{0.005, 0.05, 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP horde_request_duration_seconds Response times by method and request name: a histogram (classic and native buckets) of the whole run, for rate() and histogram_quantile() over any window.
# TYPE horde_request_duration_seconds histogram
horde_request_duration_seconds_bucket{method="GET",name="/a",le="0.005"} 72
horde_request_duration_seconds_bucket{method="GET",name="/a",le="0.05"} 92
horde_request_duration_seconds_bucket{method="GET",name="/a",le="0.1"} 92
horde_request_duration_seconds_bucket{method="GET",name="/a",le="+Inf"} 101
horde_request_duration_seconds_sum{method="GET",name="/a"} 2.815
horde_request_duration_seconds_count{method="GET",name="/a"} 101
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), "horde_request_duration_seconds"); err != nil {
		t.Error(err)
	}
}

// The native buckets: schema 3 for the default factor 1.1, each value in
// the bucket whose bounds hold it, 0 in the zero bucket.
func TestExporter_NativeHistogram(t *testing.T) {
	ds := append(repeat(10, 3*time.Millisecond), repeat(5, 250*time.Millisecond)...)
	ds = append(ds, 0, time.Second)
	e, err := NewExporter(fakeSource{snap: &stats.Snapshot{}, st: recorded(ds...)}, Histogram{})
	if err != nil {
		t.Fatal(err)
	}
	fams, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var h *dto.Histogram
	for _, f := range fams {
		if f.GetName() == "horde_request_duration_seconds" {
			h = f.GetMetric()[0].GetHistogram()
		}
	}
	if h == nil {
		t.Fatal("no horde_request_duration_seconds")
	}
	if h.GetSchema() != 3 || h.GetZeroCount() != 1 || h.GetSampleCount() != 17 {
		t.Fatalf("schema %d, zero count %d, count %d; want 3, 1, 17", h.GetSchema(), h.GetZeroCount(), h.GetSampleCount())
	}
	// Decode the spans and deltas back into index → count.
	got := map[int]int64{}
	idx, di := 0, 0
	var n int64
	for si, sp := range h.GetPositiveSpan() {
		if si == 0 {
			idx = int(sp.GetOffset())
		} else {
			idx += int(sp.GetOffset())
		}
		for range sp.GetLength() {
			n += h.GetPositiveDelta()[di]
			got[idx] = n
			di++
			idx++
		}
	}
	want := map[int]int64{}
	for _, c := range []struct {
		v float64
		n int64
	}{{0.003, 10}, {0.25, 5}, {1, 1}} {
		k := stats.NativeKey(c.v, 3)
		lo, hi := math.Pow(2, float64(k-1)/8), math.Pow(2, float64(k)/8)
		if !(lo < c.v && c.v <= hi) {
			t.Errorf("NativeKey(%v, 3) = %d: bounds (%v, %v]", c.v, k, lo, hi)
		}
		want[k] = c.n
	}
	if !maps.Equal(got, want) {
		t.Errorf("native buckets %v, want %v", got, want)
	}
	if k := stats.NativeKey(1, 3); k != 0 {
		t.Errorf("NativeKey(1, 3) = %d, want 0 (1 is bucket 0's upper bound)", k)
	}
}

func TestNativeSchema(t *testing.T) {
	for _, tt := range []struct {
		f    float64
		want int32
	}{{1.1, 3}, {2, 0}, {1.0001, 8}, {4, -1}, {1e9, -4}, {1.5, 1}} {
		if got := stats.NativeSchema(tt.f); got != tt.want {
			t.Errorf("NativeSchema(%v) = %d, want %d", tt.f, got, tt.want)
		}
		// The schema's growth factor is at most f (client_golang's rule).
		if got := math.Pow(2, math.Pow(2, -float64(stats.NativeSchema(tt.f)))); got > tt.f*(1+1e-12) && tt.want > -4 && tt.want < 8 {
			t.Errorf("schema %d of %v grows by %v", stats.NativeSchema(tt.f), tt.f, got)
		}
	}
}

func TestNewExporter_BadBuckets(t *testing.T) {
	for _, bs := range [][]float64{{}, {0.1, 0.1}, {0.2, 0.1}, {-1}, {math.NaN()}} {
		if _, err := NewExporter(fakeSource{}, Histogram{Buckets: bs}); err == nil {
			t.Errorf("buckets %v: no error", bs)
		}
	}
}
