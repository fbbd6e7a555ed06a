package stats_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/stats"
)

// distributions are latency generators for the accuracy tests.
var distributions = []struct {
	name string
	gen  func(*rand.Rand) time.Duration
}{
	{"uniform 0.2-3 ms", func(r *rand.Rand) time.Duration {
		return time.Duration(200_000 + r.Float64()*2_800_000)
	}},
	{"lognormal median 150 ms", func(r *rand.Rand) time.Duration {
		return time.Duration(150e6 * math.Exp(r.NormFloat64()))
	}},
	{"bimodal 5 ms / 800 ms", func(r *rand.Rand) time.Duration {
		if r.IntN(5) == 0 {
			return time.Duration(max(0, 800e6+100e6*r.NormFloat64()))
		}
		return time.Duration(max(0, 5e6+1e6*r.NormFloat64()))
	}},
	{"tiny 0-50 µs", func(r *rand.Rand) time.Duration {
		return time.Duration(r.Float64() * 50_000)
	}},
}

func generate(seed uint64, n int, gen func(*rand.Rand) time.Duration) []time.Duration {
	r := rand.New(rand.NewPCG(seed, 2))
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = gen(r)
	}
	return ds
}

// roundMicros is the recorder's documented resolution.
func roundMicros(d time.Duration) int64 { return int64((d + 500) / 1000) }

func TestSnapshot_PercentileAccuracy(t *testing.T) {
	const n = 100_000
	for i, dist := range distributions {
		t.Run(dist.name, func(t *testing.T) {
			ds := generate(uint64(i), n, dist.gen)
			r := stats.NewRecorder(4)
			for j, d := range ds {
				r.Record(j, &stats.Sample{Method: "GET", Name: "/x", Duration: d, Bytes: 1, WireBytes: 1})
			}
			s := stats.New(sec(0))
			s.Add(r.Flush(sec(0), sec(1)))
			snap := s.Snapshot(sec(1))
			if len(snap.Entries) != 1 {
				t.Fatalf("len(Entries) = %d, want 1", len(snap.Entries))
			}

			us := make([]int64, n)
			var sum int64
			for j, d := range ds {
				us[j] = roundMicros(d)
				sum += us[j]
			}
			slices.Sort(us)
			exact := func(p float64) float64 { // nearest rank, ms
				rank := int(math.Ceil(math.Round(p*n*1e6) / 1e6))
				return float64(us[max(rank, 1)-1]) / 1000
			}

			for _, e := range []stats.Entry{snap.Entries[0], snap.Total} {
				if got, want := e.MinMs, float64(us[0])/1000; got != want {
					t.Errorf("%s MinMs = %v, want %v", e.Name, got, want)
				}
				if got, want := e.MaxMs, float64(us[n-1])/1000; got != want {
					t.Errorf("%s MaxMs = %v, want %v", e.Name, got, want)
				}
				if got, want := e.AvgMs, float64(sum)/n/1000; got != want {
					t.Errorf("%s AvgMs = %v, want %v", e.Name, got, want)
				}
				for k, p := range stats.Percentiles {
					got, want := e.Percentiles[k], exact(p)
					if tol := 1e-3*want + 0.001; math.Abs(got-want) > tol {
						t.Errorf("%s p%v = %v ms, want %v ± %v", e.Name, p*100, got, want, tol)
					}
					if p == 0.5 && e.MedianMs != got {
						t.Errorf("%s MedianMs = %v, want p50 %v", e.Name, e.MedianMs, got)
					}
					if got < e.MinMs || got > e.MaxMs {
						t.Errorf("%s p%v = %v, outside [%v, %v]", e.Name, p*100, got, e.MinMs, e.MaxMs)
					}
				}
				if got := e.Percentiles[len(e.Percentiles)-1]; got != e.MaxMs {
					t.Errorf("%s p100 = %v, want MaxMs %v", e.Name, got, e.MaxMs)
				}
				if diff := cmp.Diff(e.Percentiles, e.CurrentPercentiles); diff != "" {
					t.Errorf("%s: one interval, yet CurrentPercentiles differ (-cumulative +current):\n%s", e.Name, diff)
				}
			}
		})
	}
}

// sample is one Record call.
type sample struct {
	shard   int
	method  string
	name    string
	d       time.Duration
	bytes   int64
	failure string
}

func samples(seed uint64, n int) []sample {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]sample, n)
	for i := range out {
		d := distributions[r.IntN(len(distributions))].gen(r)
		if r.IntN(1000) == 0 {
			d = 2 * time.Hour // out of range
		}
		var failure string
		if r.IntN(20) == 0 {
			failure = fmt.Sprintf("HTTP %d", 500+r.IntN(4))
		}
		out[i] = sample{
			shard:   r.Int(),
			method:  []string{"GET", "POST"}[r.IntN(2)],
			name:    fmt.Sprintf("/api/%d", r.IntN(5)),
			d:       d,
			bytes:   r.Int64N(10_000),
			failure: failure,
		}
	}
	return out
}

func record(r *stats.Recorder, ss []sample) {
	for _, s := range ss {
		r.Record(s.shard, &stats.Sample{Method: s.method, Name: s.name, Duration: s.d, Bytes: s.bytes, WireBytes: s.bytes, Failure: s.failure})
	}
}

var histEqual = cmp.Comparer(func(a, b *hdr.Histogram) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equals(b)
})

func TestInterval_Merge(t *testing.T) {
	a, b := samples(1, 30_000), samples(2, 20_000)

	ra, rb, rab := stats.NewRecorder(3), stats.NewRecorder(7), stats.NewRecorder(0)
	record(ra, a)
	record(rb, b)
	record(rab, a)
	record(rab, b)
	merged := ra.Flush(sec(0), sec(1))
	merged.Merge(rb.Flush(sec(1), sec(2)))
	want := rab.Flush(sec(0), sec(2))

	if diff := cmp.Diff(want, merged, histEqual); diff != "" {
		t.Errorf("merge(A, B) differs from recording A∪B (-want +got):\n%s", diff)
	}

	// Into an empty interval: a copy, not an alias.
	var empty stats.Interval
	empty.Merge(want)
	if diff := cmp.Diff(want, &empty, histEqual); diff != "" {
		t.Errorf("merge into empty differs (-want +got):\n%s", diff)
	}
	for k, e := range empty.Entries {
		if e.Hist == want.Entries[k].Hist {
			t.Errorf("merged entry %v shares its histogram with the source", k)
		}
	}

	sm, sw := stats.New(sec(0)), stats.New(sec(0))
	sm.Add(merged)
	sw.Add(want)
	if diff := cmp.Diff(sw.Snapshot(sec(3)), sm.Snapshot(sec(3))); diff != "" {
		t.Errorf("snapshots differ (-want +got):\n%s", diff)
	}
}

// constInterval returns an interval ending at second end with n requests of
// the given latency for each key.
func constInterval(end float64, n int, latency time.Duration, failures int, keys ...stats.Key) *stats.Interval {
	r := stats.NewRecorder(1)
	for _, k := range keys {
		for i := range n {
			failure := ""
			if i < failures {
				failure = "boom"
			}
			r.Record(0, &stats.Sample{Method: k.Method, Name: k.Name, Duration: latency, Bytes: 10, WireBytes: 10, Failure: failure})
		}
	}
	return r.Flush(sec(end-1), sec(end))
}

func TestSnapshot_Window(t *testing.T) {
	key := stats.Key{Method: "GET", Name: "/w"}
	s := stats.New(sec(0))
	// Second k (interval [k-1, k)) has k requests of k ms, one failing.
	for k := 1; k <= 30; k++ {
		s.Add(constInterval(float64(k), k, time.Duration(k)*time.Millisecond, 1, key))
	}
	sum := func(from, to int) (n float64) {
		for k := from; k <= to; k++ {
			n += float64(k)
		}
		return n
	}
	tests := []struct {
		name         string
		now          float64
		wantRPS      float64
		wantFail     float64
		wantP100     float64 // 0: CurrentPercentiles must be nil
		wantMedianMs float64
	}{
		{"last 10 s only", 30, sum(21, 30) / 10, 1, 30, 26},
		{"fraction of a second", 30.9, sum(21, 30) / 10, 1, 30, 26},
		{"traffic stopping", 35, sum(26, 30) / 10, 0.5, 30, 28},
		{"20 s after traffic stopped", 50, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := s.Snapshot(sec(tt.now))
			for _, e := range []stats.Entry{snap.Entries[0], snap.Total} {
				if e.CurrentRPS != tt.wantRPS || e.CurrentFailPerSec != tt.wantFail {
					t.Errorf("%s: CurrentRPS, CurrentFailPerSec = %v, %v; want %v, %v", e.Name, e.CurrentRPS, e.CurrentFailPerSec, tt.wantRPS, tt.wantFail)
				}
				if tt.wantP100 == 0 {
					if e.CurrentPercentiles != nil {
						t.Errorf("%s: CurrentPercentiles = %v, want nil", e.Name, e.CurrentPercentiles)
					}
					continue
				}
				if len(e.CurrentPercentiles) != len(stats.Percentiles) {
					t.Fatalf("%s: CurrentPercentiles = %v, want %d values", e.Name, e.CurrentPercentiles, len(stats.Percentiles))
				}
				if got := e.CurrentPercentiles[len(e.CurrentPercentiles)-1]; got != tt.wantP100 {
					t.Errorf("%s: current p100 = %v, want %v", e.Name, got, tt.wantP100)
				}
				if got := e.CurrentPercentiles[0]; math.Abs(got-tt.wantMedianMs) > 1e-3*tt.wantMedianMs {
					t.Errorf("%s: current p50 = %v, want %v", e.Name, got, tt.wantMedianMs)
				}
			}
			// Cumulative values do not depend on the window.
			if got, want := snap.Total.Requests, int64(sum(1, 30)); got != want {
				t.Errorf("Total.Requests = %d, want %d", got, want)
			}
		})
	}

	// A young run: rates are divided by the time since the start, at least 1 s.
	young := stats.New(sec(0))
	young.Add(constInterval(1, 2, time.Millisecond, 0, key))
	young.Add(constInterval(2, 4, time.Millisecond, 0, key))
	for _, tt := range []struct{ now, want float64 }{{0.5, 0}, {1, 2}, {1.5, 2 / 1.5}, {2, 3}, {4, 6.0 / 4}} {
		if got := young.Snapshot(sec(tt.now)).Total.CurrentRPS; got != tt.want {
			t.Errorf("young run at %v s: CurrentRPS = %v, want %v", tt.now, got, tt.want)
		}
	}

	snap := s.Snapshot(sec(50))
	e := snap.Entries[0]
	if got, want := e.TotalRPS, sum(1, 30)/30; got != want {
		t.Errorf("TotalRPS = %v, want %v (requests / (last request - start))", got, want)
	}
	if got, want := e.TotalFailPerSec, 1.0; got != want {
		t.Errorf("TotalFailPerSec = %v, want %v", got, want)
	}
	if !e.FirstRequest.Equal(sec(0)) || !e.LastRequest.Equal(sec(30)) {
		t.Errorf("FirstRequest, LastRequest = %v, %v; want %v, %v", e.FirstRequest, e.LastRequest, sec(0), sec(30))
	}

	// An interval far too late for the ring only counts cumulatively.
	s.Add(constInterval(10, 1000, time.Millisecond, 0, key))
	snap = s.Snapshot(sec(30))
	if got, want := snap.Total.CurrentRPS, sum(21, 30)/10; got != want {
		t.Errorf("after a late interval: CurrentRPS = %v, want %v", got, want)
	}
	if got, want := snap.Total.Requests, int64(sum(1, 30))+1000; got != want {
		t.Errorf("after a late interval: Requests = %d, want %d", got, want)
	}
}

func TestSnapshot_Entries(t *testing.T) {
	s := stats.New(sec(0))
	keys := []stats.Key{{"POST", "/b"}, {"GET", "/b"}, {"GET", "/a"}, {"DELETE", "/c"}}
	s.Add(constInterval(2, 4, 3*time.Millisecond, 1, keys...))
	snap := s.Snapshot(sec(2))

	var got []stats.Key
	for _, e := range snap.Entries {
		got = append(got, stats.Key{Method: e.Method, Name: e.Name})
	}
	want := []stats.Key{{"GET", "/a"}, {"GET", "/b"}, {"POST", "/b"}, {"DELETE", "/c"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entry order (-want +got):\n%s", diff)
	}
	if snap.Total.Method != "" || snap.Total.Name != stats.AggregatedName {
		t.Errorf("Total is %q %q, want \"\" %q", snap.Total.Method, snap.Total.Name, stats.AggregatedName)
	}
	e := snap.Entries[0]
	wantEntry := stats.Entry{
		Method: "GET", Name: "/a",
		Requests: 4, Failures: 1,
		MinMs: 3, MaxMs: 3, AvgMs: 3, MedianMs: 3,
		AvgContentSize:     10,
		AvgWireSize:        10, // recorded with Record: as received
		TotalRPS:           2,  // last request at 2 s
		TotalFailPerSec:    0.5,
		CurrentRPS:         2, // run is 2 s old
		CurrentFailPerSec:  0.5,
		Percentiles:        []float64{3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
		CurrentPercentiles: []float64{3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
		FirstRequest:       sec(1),
		LastRequest:        sec(2),
	}
	if diff := cmp.Diff(wantEntry, e); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
	if got, want := snap.Total.Requests, int64(16); got != want {
		t.Errorf("Total.Requests = %d, want %d", got, want)
	}
	wantErrors := []stats.Error{
		{"DELETE", "/c", "boom", 1}, {"GET", "/a", "boom", 1}, {"GET", "/b", "boom", 1}, {"POST", "/b", "boom", 1},
	}
	if diff := cmp.Diff(wantErrors, snap.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestSnapshot_Empty(t *testing.T) {
	snap := stats.New(sec(0)).Snapshot(sec(0))
	want := &stats.Snapshot{
		Time:    sec(0),
		Start:   sec(0),
		Entries: []stats.Entry{},
		Total:   stats.Entry{Name: stats.AggregatedName, Percentiles: make([]float64, len(stats.Percentiles))},
		Errors:  []stats.Error{},
	}
	if diff := cmp.Diff(want, snap); diff != "" {
		t.Errorf("empty snapshot (-want +got):\n%s", diff)
	}
}

func TestStats_ErrorCap(t *testing.T) {
	const extra = 500
	r := stats.NewRecorder(1)
	for i := range stats.DefaultMaxErrors + extra {
		r.Record(0, &stats.Sample{Method: "GET", Name: "/e", Duration: time.Millisecond, Bytes: 0, WireBytes: 0, Failure: fmt.Sprintf("error %04d", i)})
	}
	r.Record(0, &stats.Sample{Method: "GET", Name: "/e", Duration: time.Millisecond, Bytes: 0, WireBytes: 0, Failure: "error 0000"}) // existing key: kept
	iv := r.Flush(sec(0), sec(1))
	if got, want := len(iv.Errors), stats.DefaultMaxErrors; got != want {
		t.Errorf("interval: len(Errors) = %d, want %d", got, want)
	}
	if got, want := iv.ErrorsDropped, int64(extra); got != want {
		t.Errorf("interval: ErrorsDropped = %d, want %d", got, want)
	}

	s := stats.New(sec(0))
	s.Add(iv)
	// A second interval with only new messages: all dropped by Stats.
	other := &stats.Interval{Start: sec(1), End: sec(2), Errors: map[stats.ErrorKey]int64{}}
	for i := range 300 {
		other.Errors[stats.ErrorKey{Method: "GET", Name: "/e", Message: fmt.Sprintf("other %d", i)}] = 2
	}
	other.Errors[stats.ErrorKey{Method: "GET", Name: "/e", Message: "error 0001"}] = 5
	s.Add(other)

	snap := s.Snapshot(sec(2))
	if got, want := snap.ErrorsDropped, int64(extra+600); got != want {
		t.Errorf("ErrorsDropped = %d, want %d", got, want)
	}
	if got, want := len(snap.Errors), stats.DefaultMaxErrors+1; got != want {
		t.Errorf("len(Errors) = %d, want %d (the cap plus the synthetic row)", got, want)
	}
	wantTop := []stats.Error{
		{Message: stats.OtherErrorsMessage, Occurrences: extra + 600},
		{"GET", "/e", "error 0001", 6},
		{"GET", "/e", "error 0000", 2},
		{"GET", "/e", "error 0002", 1},
	}
	if diff := cmp.Diff(wantTop, snap.Errors[:4]); diff != "" {
		t.Errorf("top errors (-want +got):\n%s", diff)
	}
	var occ int64
	for _, e := range snap.Errors {
		occ += e.Occurrences
	}
	if got, want := occ, int64(stats.DefaultMaxErrors+extra+1+600+5); got != want {
		t.Errorf("total occurrences = %d, want %d", got, want)
	}

	// Interval.Merge keeps the cap too.
	merged := &stats.Interval{}
	merged.Merge(iv)
	merged.Merge(other)
	if got, want := len(merged.Errors), stats.DefaultMaxErrors; got != want {
		t.Errorf("merged: len(Errors) = %d, want %d", got, want)
	}
	if got, want := merged.ErrorsDropped, int64(extra+600); got != want {
		t.Errorf("merged: ErrorsDropped = %d, want %d", got, want)
	}
}

func TestStats_Reset(t *testing.T) {
	key := stats.Key{Method: "GET", Name: "/r"}
	s := stats.New(sec(0))
	for k := 1; k <= 5; k++ {
		s.Add(constInterval(float64(k), 10, time.Millisecond, 2, key))
	}
	s.Reset(sec(5))
	snap := s.Snapshot(sec(5.5))
	want := &stats.Snapshot{
		Time:    sec(5.5),
		Start:   sec(5),
		Entries: []stats.Entry{},
		Total:   stats.Entry{Name: stats.AggregatedName, Percentiles: make([]float64, len(stats.Percentiles))},
		Errors:  []stats.Error{},
	}
	if diff := cmp.Diff(want, snap); diff != "" {
		t.Errorf("after Reset (-want +got):\n%s", diff)
	}

	s.Add(constInterval(6, 3, 2*time.Millisecond, 0, key))
	snap = s.Snapshot(sec(6))
	if got := snap.Total.Requests; got != 3 {
		t.Errorf("after Reset and Add: Requests = %d, want 3", got)
	}
	if got, want := snap.Total.CurrentRPS, 3.0; got != want {
		t.Errorf("after Reset and Add: CurrentRPS = %v, want %v (1 s since reset)", got, want)
	}
	if got, want := snap.Total.TotalRPS, 3.0; got != want {
		t.Errorf("after Reset and Add: TotalRPS = %v, want %v", got, want)
	}
}

func TestEntry_Percentile(t *testing.T) {
	e := stats.Entry{MaxMs: 100, Percentiles: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100}}
	tests := []struct {
		p, want float64
	}{
		{0.5, 1}, {0.95, 6}, {0.999, 9}, {1, 100}, {0.1, 1}, {0.97, 7}, {2, 100},
	}
	for _, tt := range tests {
		if got := e.Percentile(tt.p); got != tt.want {
			t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := (&stats.Entry{}).Percentile(0.5); got != 0 {
		t.Errorf("empty entry: Percentile(0.5) = %v, want 0", got)
	}
}

// TestStats_Memory checks that Stats stays small over a long run with 20
// keys whose latencies spread over many buckets.
func TestStats_Memory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("slow, and the race detector changes heap accounting")
	}
	const (
		keys    = 20
		seconds = 60
		perKey  = 3000
	)
	rng := rand.New(rand.NewPCG(3, 4))
	iv := &stats.Interval{Entries: map[stats.Key]*stats.IntervalEntry{}}
	for i := range keys {
		iv.Entries[stats.Key{Method: "GET", Name: fmt.Sprintf("/k%02d", i)}] = &stats.IntervalEntry{
			Latency: stats.Latency[*hdr.Histogram]{Hist: hdr.New(stats.LowestMicros, stats.HighestMicros, stats.SignificantFigures)},
		}
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	s := stats.New(sec(0))
	for k := 1; k <= seconds; k++ {
		iv.Start, iv.End = sec(float64(k-1)), sec(float64(k))
		for _, e := range iv.Entries {
			e.Hist.Reset()
			*e = stats.IntervalEntry{Latency: stats.Latency[*hdr.Histogram]{
				Hist: e.Hist, Summary: stats.Summary{Count: perKey, MinMicros: 1, MaxMicros: stats.HighestMicros},
			}}
			for range perKey {
				v := int64(math.Exp(rng.Float64() * math.Log(float64(stats.HighestMicros))))
				_ = e.Hist.RecordValue(v)
				e.SumMicros += v
			}
		}
		s.Add(iv)
		s.Snapshot(sec(float64(k)))
	}
	iv = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("Stats for %d keys over %d s: %.1f MB", keys, seconds, float64(grown)/1e6)
	if grown > 50e6 {
		t.Errorf("Stats uses %.1f MB, want well under 50 MB", float64(grown)/1e6)
	}
	runtime.KeepAlive(s)
}

func BenchmarkStats_Snapshot(b *testing.B) {
	var keys []stats.Key
	for i := range 20 {
		keys = append(keys, stats.Key{Method: "GET", Name: fmt.Sprintf("/api/%02d", i)})
	}
	s := stats.New(sec(0))
	ss := samples(9, 2000)
	for k := 1; k <= stats.WindowSeconds; k++ {
		r := stats.NewRecorder(4)
		for i, smp := range ss {
			key := keys[i%len(keys)]
			r.Record(smp.shard, &stats.Sample{Method: key.Method, Name: key.Name, Duration: smp.d, Bytes: smp.bytes, WireBytes: smp.bytes, Failure: smp.failure})
		}
		s.Add(r.Flush(sec(float64(k-1)), sec(float64(k))))
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Snapshot(sec(stats.WindowSeconds))
	}
}

func BenchmarkStats_Add(b *testing.B) {
	if b.N > 10_000 {
		b.Skip("a once-a-second operation: run with -benchtime 100x")
	}
	r := stats.NewRecorder(4)
	for i, smp := range samples(9, 20_000) {
		r.Record(smp.shard, &stats.Sample{Method: smp.method, Name: fmt.Sprintf("/api/%02d", i%20), Duration: smp.d, Bytes: smp.bytes, WireBytes: smp.bytes, Failure: smp.failure})
	}
	iv := r.Flush(sec(0), sec(1))
	s := stats.New(sec(0))
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for range b.N {
		n++
		iv.Start, iv.End = sec(float64(n-1)), sec(float64(n))
		s.Add(iv)
	}
}

// BenchmarkStats_Buckets is the cost of a /metrics scrape's histograms: 20
// keys whose durations span 1 µs to an hour (every HDR bucket populated).
func BenchmarkStats_Buckets(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := stats.NewRecorder(1)
	for i := range 200_000 {
		us := math.Exp(rng.Float64() * math.Log(float64(stats.HighestMicros)))
		r.Record(0, &stats.Sample{Method: "GET", Name: fmt.Sprintf("/api/%02d", i%20), Duration: time.Duration(us * 1000), Bytes: 0, WireBytes: 0})
	}
	s := stats.New(sec(0))
	s.Add(r.Flush(sec(0), sec(1)))
	bounds := []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	b.ReportAllocs()
	for b.Loop() {
		s.Buckets(bounds, 3)
	}
}

// Buckets agree with the histogram: classic counts are cumulative and end
// at the count; native counts sum to it; the sum is exact.
func TestStats_Buckets(t *testing.T) {
	r := stats.NewRecorder(1)
	var sumUs int64
	for i := range 5000 {
		d := time.Duration(i*37%4000) * 100 * time.Microsecond // 0 to 400 ms
		sumUs += int64(d / time.Microsecond)
		r.Record(0, &stats.Sample{Method: "GET", Name: "/a", Duration: d, Bytes: 0, WireBytes: 0})
	}
	r.Record(0, &stats.Sample{Method: "POST", Name: "/b", Duration: 2 * time.Hour, Bytes: 0, WireBytes: 0}) // clamped to an hour
	s := stats.New(sec(0))
	s.Add(r.Flush(sec(0), sec(1)))
	bounds := []float64{0.01, 0.1, 0.2, 0.3}
	bs := s.Buckets(bounds, 3)
	if len(bs) != 2 || bs[0].Name != "/a" || bs[1].Name != "/b" {
		t.Fatalf("buckets of %d keys: %+v", len(bs), bs)
	}
	a := bs[0]
	if a.Count != 5000 || math.Abs(a.SumSeconds-float64(sumUs)/1e6) > 1e-9 {
		t.Errorf("count %d sum %v, want 5000 and %v", a.Count, a.SumSeconds, float64(sumUs)/1e6)
	}
	// Durations are multiples of 100 µs, each of 0..3999 hit the same number of times (5000/4000, rounded).
	exact := func(limitUs int64) uint64 {
		var n uint64
		for i := range 5000 {
			if int64(i*37%4000)*100 <= limitUs {
				n++
			}
		}
		return n
	}
	for i, ub := range bounds {
		if want := exact(int64(ub * 1e6)); a.Classic[i] != want {
			t.Errorf("le=%v: %d, want %d", ub, a.Classic[i], want)
		}
	}
	var native int64
	for _, n := range a.Native {
		native += n
	}
	if uint64(native)+a.Zero != a.Count || a.Zero != exact(0) {
		t.Errorf("native %d + zero %d, want %d with %d zeros", native, a.Zero, a.Count, exact(0))
	}
	if b := bs[1]; b.Count != 1 || b.Classic[len(bounds)-1] != 0 || b.Native[stats.NativeKey(3600, 3)] != 1 {
		t.Errorf("an hour: %+v", b)
	}
}
