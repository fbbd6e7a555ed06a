package report

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/horde-load/horde/internal/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	testStart = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	testNow   = testStart.Add(65 * time.Second)
)

// testSnapshot is a hand-built snapshot: an ordinary entry, one whose name
// needs CSV quoting, one without requests, and the Aggregated total.
func testSnapshot() *stats.Snapshot {
	return &stats.Snapshot{
		Time:  testNow,
		Start: testStart,
		Entries: []stats.Entry{
			{
				Method: "POST", Name: `/api/a,"b"`, Requests: 10, Failures: 0,
				MinMs: 1.5, MaxMs: 3, AvgMs: 2, MedianMs: 2, AvgContentSize: 12,
				TotalRPS: 0.25, TotalFailPerSec: 0, CurrentRPS: 0.5, CurrentFailPerSec: 0,
				Percentiles:        []float64{2, 2, 2.2, 2.4, 2.5, 2.5, 3, 3, 3, 3, 3},
				CurrentPercentiles: []float64{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
			},
			{
				Method: "GET", Name: "/api/items", Requests: 100, Failures: 2,
				MinMs: 0.7513569998991443, MaxMs: 250.5, AvgMs: 12.5, MedianMs: 10.4, AvgContentSize: 1234,
				TotalRPS: 10, TotalFailPerSec: 0.2, CurrentRPS: 12.5, CurrentFailPerSec: 0.1,
				Percentiles:        []float64{10.4, 12, 15, 18, 30, 60, 100, 150, 240, 250.5, 250.5},
				CurrentPercentiles: nil,
				SentBytes:          9000, RecvBytes: 140000,
				Phases: stats.PhaseStats{
					Connecting:     stats.PhaseStat{Count: 4, AvgMs: 0.25, MinMs: 0.1, MaxMs: 0.5, SumMs: 1},
					TLSHandshaking: stats.PhaseStat{Count: 4, AvgMs: 2.5, MinMs: 2, MaxMs: 3, SumMs: 10},
					Waiting:        stats.PhaseStat{Count: 100, AvgMs: 11.5, MinMs: 0.5, MaxMs: 240, SumMs: 1150},
					Receiving:      stats.PhaseStat{Count: 100, AvgMs: 0.75, MinMs: 0.1, MaxMs: 10, SumMs: 75},
				},
			},
			{Method: "GET", Name: "/empty"},
		},
		Total: stats.Entry{
			Method: "", Name: "Aggregated", Requests: 110, Failures: 2,
			MinMs: 0.7513569998991443, MaxMs: 250.5, AvgMs: 11.545454545454545, MedianMs: 9.6, AvgContentSize: 1122.909090909091,
			TotalRPS: 10.25, TotalFailPerSec: 0.2, CurrentRPS: 13, CurrentFailPerSec: 0.1,
			Percentiles:        []float64{9.6, 11.5, 14.5, 17, 29, 58, 99.5, 149, 240, 250.5, 250.5},
			CurrentPercentiles: []float64{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22},
			SentBytes:          9000, RecvBytes: 140000,
			Phases: stats.PhaseStats{
				Connecting:     stats.PhaseStat{Count: 4, AvgMs: 0.25, MinMs: 0.1, MaxMs: 0.5, SumMs: 1},
				TLSHandshaking: stats.PhaseStat{Count: 4, AvgMs: 2.5, MinMs: 2, MaxMs: 3, SumMs: 10},
				Waiting:        stats.PhaseStat{Count: 100, AvgMs: 11.5, MinMs: 0.5, MaxMs: 240, SumMs: 1150},
				Receiving:      stats.PhaseStat{Count: 100, AvgMs: 0.75, MinMs: 0.1, MaxMs: 10, SumMs: 75},
			},
		},
		Errors: []stats.Error{
			{Method: "GET", Name: "/api/items", Message: "HTTPError('404 Client Error: Not Found for url: /api/items')", Occurrences: 2},
		},
	}
}

func testExceptions() []stats.Exception {
	return []stats.Exception{{
		Count:     3,
		Message:   `ValueError("bad, value")`,
		Traceback: "Traceback (most recent call last):\n  File \"x\", line 1\nValueError",
		Nodes:     "worker-1,worker-2",
	}}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestPyFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{1, "1.0"},
		{12.5, "12.5"},
		{0.7513569998991443, "0.7513569998991443"},
		{1234, "1234.0"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{1.5e16, "1.5e+16"},
		{1e15, "1000000000000000.0"},
		{-2.5, "-2.5"},
		{math.NaN(), "nan"},
		{math.Inf(1), "inf"},
	}
	for _, tt := range tests {
		if got := pyFloat(tt.in); got != tt.want {
			t.Errorf("pyFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMsInt(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {0.4, "0"}, {0.5, "1"}, {0.75, "1"}, {2.5, "3"}, {10.4, "10"}, {250.5, "251"}, {3599999.9, "3600000"},
	}
	for _, tt := range tests {
		if got := msInt(tt.in); got != tt.want {
			t.Errorf("msInt(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
