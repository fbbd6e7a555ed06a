package soak

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

func snapshot() *stats.Snapshot {
	pcts := func(p50, p95, p99 float64) []float64 {
		return []float64{p50, p50, p50, p50, p95, p95, p99, p99, p99, p99, p99}
	}
	return &stats.Snapshot{
		Entries: []stats.Entry{
			{Method: "GET", Name: "/api/items", Requests: 1000, Failures: 5, AvgMs: 40, Percentiles: pcts(30, 120, 400), TotalRPS: 50},
			{Method: "POST", Name: "/api/items", Requests: 200, Failures: 0, AvgMs: 60, Percentiles: pcts(50, 90, 100), TotalRPS: 10},
			{Method: "GET", Name: "/api/data/[id]", Requests: 500, AvgMs: 10, Percentiles: pcts(8, 20, 30), TotalRPS: 25},
		},
		Total: stats.Entry{Name: "Aggregated", Requests: 1700, Failures: 5, AvgMs: 35, Percentiles: pcts(20, 110, 350), TotalRPS: 85},
	}
}

func TestEvaluateThresholds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	in := Inputs{Snapshot: snapshot(), Series: map[string][]Point{
		"p95": latencies(r, 600, 100, 60.0/600, 3), // +~50 %
	}}
	tests := []struct {
		text string
		pass bool
		want string
	}{
		{"p95 < 300ms", true, "actual 110 ms"},
		{"p95(GET /api/items) < 100ms", false, "actual 120 ms"},
		{"p99(/api/data/[id]) < 50ms", true, ""},
		{"error_rate < 1%", true, "actual 0.294%"},
		{"error_rate(GET /api/items) < 0.1%", false, "actual 0.5%"},
		{"rps > 100", false, "actual 85"},
		{"p95(/api/items) < 1s", false, "names 2 entries"},
		{"p95(/nope) < 1s", false, "no requests named"},
		{"degradation(p95) < 20%", false, "last quarter vs first"},
		{"degradation(p99) < 20%", false, "not enough history"},
	}
	for _, tt := range tests {
		th, err := scenario.ParseThreshold(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		got := EvaluateThresholds([]*scenario.Threshold{th}, in)[0]
		if got.Pass != tt.pass || !strings.Contains(got.Reason, tt.want) {
			t.Errorf("%s: pass %v (%s); want pass %v and %q", tt.text, got.Pass, got.Reason, tt.pass, tt.want)
		}
	}
}
