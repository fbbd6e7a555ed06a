package report

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/stats"
)

func testInfo() Info {
	return Info{
		Title:        "Checkout <script>alert(1)</script> load",
		ScenarioFile: "scenarios/checkout.yaml",
		Host:         "http://target.local:8080",
		Start:        testStart,
		End:          testNow,
		Users:        20,
		SpawnRate:    2.5,
		RunTime:      time.Minute,
		Classes: []ClassInfo{
			{Name: "Browser", Weight: 3, Users: 15, Tasks: []TaskInfo{{Name: "index", Weight: 1}, {Name: "items", Weight: 3}}},
			{Name: "Buyer", Weight: 1, Users: 5, Tasks: []TaskInfo{{Name: "checkout", Weight: 1}}},
		},
		Exceptions: testExceptions(),
		ExitCode:   1,
	}
}

func testHistory() []stats.Tick {
	var pts []stats.Tick
	for i := range 5 {
		pts = append(pts, stats.Tick{
			Time: testStart.Add(time.Duration(i+1) * 10 * time.Second), Users: 4 * (i + 1),
			RPS: float64(2 * i), FailPerSec: 0.1 * float64(i),
			P50Ms: float64(10 * i), P95Ms: float64(20 * i), P99Ms: float64(30 * i),
			Requests: int64(20 * i), Failures: int64(i), Target: 20, SchedDelayMs: 0.5 * float64(i),
		})
	}
	return pts
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestWriteJSON(t *testing.T) {
	var b strings.Builder
	if err := WriteJSON(&b, testInfo(), testSnapshot(), testHistory()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b.String())
	}

	entryKeys := []string{"avg_content_length", "avg_response_time", "avg_wire_length", "bytes_received", "bytes_sent", "current_fail_per_sec", "current_rps",
		"max_response_time", "median_response_time", "method", "min_response_time", "name",
		"num_failures", "num_requests", "percentiles", "phases", "total_fail_per_sec", "total_rps"}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"document", keys(doc), []string{"all_checks", "checks", "data", "errors", "errors_dropped", "exceptions", "history", "info", "stats", "total"}},
		{"info", keys(doc["info"].(map[string]any)), []string{"classes", "duration_s", "end", "exit_code", "host",
			"passed", "run_time_s", "scenario_file", "snapshot_time", "spawn_rate", "start", "title", "users", "verdicts"}},
		{"stats[0]", keys(doc["stats"].([]any)[0].(map[string]any)), entryKeys},
		{"total", keys(doc["total"].(map[string]any)), entryKeys},
		{"errors[0]", keys(doc["errors"].([]any)[0].(map[string]any)), []string{"error", "method", "name", "occurrences"}},
		{"exceptions[0]", keys(doc["exceptions"].([]any)[0].(map[string]any)), []string{"count", "message", "nodes", "traceback"}},
		{"history[0]", keys(doc["history"].([]any)[0].(map[string]any)), []string{"fail_per_sec", "failures", "open", "p50", "p95", "p99", "requests", "rps", "target", "time", "users"}},
		{"classes[0]", keys(doc["info"].(map[string]any)["classes"].([]any)[0].(map[string]any)), []string{"name", "tasks", "users", "weight"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s keys mismatch (-want +got):\n%s", tt.name, diff)
		}
	}

	info := doc["info"].(map[string]any)
	total := doc["total"].(map[string]any)
	items := doc["stats"].([]any)[1].(map[string]any)
	empty := doc["stats"].([]any)[2].(map[string]any)
	values := []struct {
		name      string
		got, want any
	}{
		{"info.start", info["start"], "2024-05-01T12:00:00Z"},
		{"info.end", info["end"], "2024-05-01T12:01:05Z"},
		{"info.duration_s", info["duration_s"], 65.0},
		{"info.run_time_s", info["run_time_s"], 60.0},
		{"info.passed", info["passed"], false},
		{"info.exit_code", info["exit_code"], 1.0},
		{"total.name", total["name"], "Aggregated"},
		{"total.method", total["method"], ""},
		{"total.num_requests", total["num_requests"], 110.0},
		{"stats[1].min_response_time", items["min_response_time"], 0.7513569998991443},
		{"stats[1].percentiles", items["percentiles"], map[string]any{
			"50": 10.4, "66": 12.0, "75": 15.0, "80": 18.0, "90": 30.0, "95": 60.0,
			"98": 100.0, "99": 150.0, "99.9": 240.0, "99.99": 250.5, "100": 250.5}},
		{"stats[2].percentiles.50", empty["percentiles"].(map[string]any)["50"], nil},
		{"errors_dropped", doc["errors_dropped"], 0.0},
		{"history[4].time", doc["history"].([]any)[4].(map[string]any)["time"], "2024-05-01T12:00:50Z"},
		{"history[4].p99", doc["history"].([]any)[4].(map[string]any)["p99"], 120.0},
		{"history[4].target", doc["history"].([]any)[4].(map[string]any)["target"], 20.0},
		{"history[4].open", doc["history"].([]any)[4].(map[string]any)["open"], false},
	}
	for _, v := range values {
		if diff := cmp.Diff(v.want, v.got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", v.name, diff)
		}
	}
	// Percentile keys keep Locust's order in the text.
	if i, j := strings.Index(b.String(), `"99.99"`), strings.Index(b.String(), `"100"`); i < 0 || j < i {
		t.Errorf(`"100" does not follow "99.99" in the percentiles object`)
	}
}

func TestWriteJSON_emptyListsAreArrays(t *testing.T) {
	s := testSnapshot()
	s.Entries, s.Errors = nil, nil
	var b strings.Builder
	if err := WriteJSON(&b, Info{}, s, nil); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"stats", "errors", "exceptions", "history"} {
		if _, ok := doc[k].([]any); !ok {
			t.Errorf("%s = %#v, want an empty array", k, doc[k])
		}
	}
	info := doc["info"].(map[string]any)
	if info["start"] != nil {
		t.Errorf("info.start = %#v for a zero time, want null", info["start"])
	}
	if _, ok := info["classes"].([]any); !ok {
		t.Errorf("info.classes = %#v, want an empty array", info["classes"])
	}
}
