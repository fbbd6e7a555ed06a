package monitor

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horde-load/horde/internal/stats"
)

type fakeSource struct{ snap *stats.Snapshot }

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
	e, err := NewExporter(fakeSource{snap})
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
		`horde_request_duration_seconds{method="GET",name="/api/items",quantile="0.95"} 0.06`,
		`horde_request_duration_seconds_sum{method="GET",name="/api/items"} 0.2`,
		`horde_run_info{host="http://t",version="v1"} 1`,
		`horde_run_state{state="running"} 1`,
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), s) {
			t.Errorf("/metrics lacks %q", s)
		}
	}
}
