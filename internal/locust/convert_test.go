package locust

import (
	"os"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/stats"
)

// countAt is the count of the histogram bucket holding v.
func countAt(h *hdr.Histogram, v int64) int64 {
	for _, b := range h.Distribution() {
		if b.From <= v && v <= b.To {
			return b.Count
		}
	}
	return 0
}

func readMsg(t *testing.T, name string) *Message {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// testdata/stats_2.12.msgpack is a stats message serialized by Debian's
// Locust 2.12.1 (locust.stats.RequestStats and locust.rpc.protocol),
// with response times 0.4, 2.5, 3.5, 99.6, 145, 155, 1234.5 and 12500 ms.
func TestConvertStats_Locust212(t *testing.T) {
	m := readMsg(t, "stats_2.12.msgpack")
	if m.Type != "stats" || m.NodeID != "vm_abc" {
		t.Fatalf("got %s from %q", m.Type, m.NodeID)
	}
	r, err := ConvertStats(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	get := r.Interval.Entries[stats.Key{Method: "GET", Name: "/api/data/[id]"}]
	if get == nil {
		t.Fatalf("no GET entry in %v", r.Interval.Entries)
	}
	type exact struct{ Count, Failures, Sum, Min, Max, Bytes int64 }
	if got, want := (exact{get.Count, get.Failures, get.SumMicros, get.MinMicros, get.MaxMicros, get.Bytes}),
		(exact{8, 1, 14_140_500, 400, 12_500_000, 800}); got != want {
		t.Errorf("GET exact fields: got %+v, want %+v", got, want)
	}
	// Locust's buckets (banker's rounding): 0, 2, 4, 100, 140, 160, 1200, 12000 ms.
	for _, ms := range []int64{0, 2, 4, 100, 140, 160, 1200, 12000} {
		if n := countAt(get.Hist, ms*1000); n != 1 {
			t.Errorf("bucket %d ms: count %d, want 1", ms, n)
		}
	}
	if n := get.Hist.TotalCount(); n != 8 {
		t.Errorf("histogram holds %d, want 8", n)
	}
	post := r.Interval.Entries[stats.Key{Method: "POST", Name: "/api/items"}]
	if post == nil || post.Count != 1 || post.MinMicros != 7000 || countAt(post.Hist, 7000) != 1 {
		t.Errorf("POST entry: %+v", post)
	}
	wantErr := map[stats.ErrorKey]int64{{Method: "GET", Name: "/api/data/[id]", Message: "Exception('boom')"}: 1}
	if diff := cmp.Diff(wantErr, r.Interval.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"APIUser": 3, "Other": 0}, r.ClassUsers); diff != "" || r.Users != 3 {
		t.Errorf("users %d, classes (-want +got):\n%s", r.Users, diff)
	}
}

// The converted interval merges into a run's statistics: percentiles are
// those of Locust's buckets, clamped to the exact min and max.
func TestConvertStats_Percentiles(t *testing.T) {
	r, err := ConvertStats(readMsg(t, "stats_2.12.msgpack").Data)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	r.Interval.Start, r.Interval.End = t0, t0.Add(time.Second)
	st := stats.New(t0)
	st.Add(r.Interval)
	snap := st.Snapshot(t0.Add(time.Second))
	var got *stats.Entry
	for i := range snap.Entries {
		if snap.Entries[i].Method == "GET" {
			got = &snap.Entries[i]
		}
	}
	if got == nil {
		t.Fatal("no GET entry in the snapshot")
	}
	if got.Requests != 8 || got.Failures != 1 {
		t.Errorf("requests %d failures %d, want 8 and 1", got.Requests, got.Failures)
	}
	if got.MaxMs != 12500 || got.MinMs != 0.4 {
		t.Errorf("min %v max %v, want Locust's exact 0.4 and 12500", got.MinMs, got.MaxMs)
	}
}

func TestConvertStats_Bad(t *testing.T) {
	for name, data := range map[string]any{
		"not a dict":       "x",
		"stats not a list": map[any]any{"stats": "x"},
		"entry no name":    map[any]any{"stats": []any{map[any]any{"num_requests": int64(1)}}},
		"negative count":   map[any]any{"stats": []any{map[any]any{"name": "a", "num_requests": int64(-1)}}},
		"buckets too many": map[any]any{"stats": []any{map[any]any{"name": "a", "num_requests": int64(1), "response_times": map[any]any{int64(5): int64(2)}}}},
		"bucket not a number": map[any]any{"stats": []any{map[any]any{"name": "a", "num_requests": int64(1),
			"response_times": map[any]any{"x": int64(1)}}}},
		"errors not a dict": map[any]any{"errors": []any{}},
	} {
		if _, err := ConvertStats(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
