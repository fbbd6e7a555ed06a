package stats_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/stats"
)

var t0 = time.Unix(1_700_000_000, 0)

func sec(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }

func TestRecorder_Record(t *testing.T) {
	r := stats.NewRecorder(4)
	get := stats.Key{Method: "GET", Name: "/a"}
	post := stats.Key{Method: "POST", Name: "/a"}
	samples := []struct {
		shard   int
		key     stats.Key
		d       time.Duration
		bytes   int64
		failure string
	}{
		{0, get, 1500 * time.Microsecond, 10, ""},
		{-7, get, 400 * time.Nanosecond, 20, ""}, // negative shard; rounds to 0 µs
		{1 << 40, get, 2 * time.Hour, 30, "timeout"},
		{3, get, 2 * time.Millisecond, 40, "timeout"},
		{-1, post, 10 * time.Millisecond, 5, "HTTP 500"},
	}
	for _, s := range samples {
		r.Record(s.shard, &stats.Sample{Method: s.key.Method, Name: s.key.Name, Duration: s.d, Bytes: s.bytes, WireBytes: s.bytes, Failure: s.failure})
	}
	iv := r.Flush(sec(0), sec(1))

	if got, want := iv.Start, sec(0); !got.Equal(want) {
		t.Errorf("Start = %v, want %v", got, want)
	}
	if got, want := len(iv.Entries), 2; got != want {
		t.Fatalf("len(Entries) = %d, want %d", got, want)
	}
	g := iv.Entries[get]
	tests := []struct {
		name      string
		got, want int64
	}{
		{"Count", g.Count, 4},
		{"Failures", g.Failures, 2},
		{"SumMicros", g.SumMicros, 1500 + 0 + stats.HighestMicros + 2000},
		{"MinMicros", g.MinMicros, 0},
		{"MaxMicros", g.MaxMicros, stats.HighestMicros},
		{"Bytes", g.Bytes, 100},
		{"OutOfRange", g.OutOfRange, 1},
		{"Hist.TotalCount", g.Hist.TotalCount(), 4},
		{"Errors[timeout]", iv.Errors[stats.ErrorKey{Method: "GET", Name: "/a", Message: "timeout"}], 2},
		{"Errors[500]", iv.Errors[stats.ErrorKey{Method: "POST", Name: "/a", Message: "HTTP 500"}], 1},
		{"ErrorsDropped", iv.ErrorsDropped, 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}

	// The next interval starts empty, and recycled entries carry nothing over.
	r.Record(2, &stats.Sample{Method: "GET", Name: "/a", Duration: time.Millisecond, Bytes: 1, WireBytes: 1})
	iv2 := r.Flush(sec(1), sec(2))
	if got := len(iv2.Errors); got != 0 {
		t.Errorf("second interval: len(Errors) = %d, want 0", got)
	}
	g2 := iv2.Entries[get]
	if g2 == nil || g2.Count != 1 || g2.MinMicros != 1000 || g2.MaxMicros != 1000 || g2.Hist.TotalCount() != 1 || g2.OutOfRange != 0 {
		t.Errorf("second interval entry = %+v, want one sample of 1000 µs", g2)
	}
	if _, ok := iv2.Entries[post]; ok {
		t.Errorf("second interval has an entry for %v, which recorded nothing", post)
	}
	if iv3 := r.Flush(sec(2), sec(3)); len(iv3.Entries) != 0 {
		t.Errorf("empty interval: len(Entries) = %d, want 0", len(iv3.Entries))
	}
}

func TestRecorder_RecordAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	r := stats.NewRecorder(0)
	r.Record(5, &stats.Sample{Method: "GET", Name: "/a", Duration: time.Millisecond, Bytes: 100, WireBytes: 100})
	r.Record(5, &stats.Sample{Method: "GET", Name: "/a", Duration: time.Millisecond, Bytes: 100, WireBytes: 100, Failure: "boom"})
	tests := []struct {
		name    string
		failure string
	}{
		{"success", ""},
		{"existing failure", "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := time.Duration(0)
			allocs := testing.AllocsPerRun(1000, func() {
				d += 997 * time.Microsecond
				r.Record(5, &stats.Sample{Method: "GET", Name: "/a", Duration: d, Bytes: 100, WireBytes: 100, Failure: tt.failure})
			})
			if allocs != 0 {
				t.Errorf("Record allocates %v times per call, want 0", allocs)
			}
		})
	}
}

// TestRecorder_Concurrent records from several goroutines while another
// flushes repeatedly; nothing may be lost or counted twice. Run with -race.
func TestRecorder_Concurrent(t *testing.T) {
	const (
		goroutines = 8
		perG       = 20_000
	)
	r := stats.NewRecorder(5)
	s := stats.New(sec(0))
	done := make(chan struct{})
	flushed := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				flushed <- n
				return
			default:
			}
			s.Add(r.Flush(sec(float64(n)), sec(float64(n+1))))
			n++
		}
	}()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				failure := ""
				if i%10 == 0 {
					failure = fmt.Sprintf("error %d", i%3)
				}
				r.Record(g*perG+i, &stats.Sample{Method: "GET", Name: fmt.Sprintf("/k%d", i%3), Duration: time.Duration(i) * time.Microsecond, Bytes: 1, WireBytes: 1, Failure: failure})
			}
		})
	}
	wg.Wait()
	close(done)
	n := <-flushed
	s.Add(r.Flush(sec(float64(n)), sec(float64(n+1))))
	t.Logf("%d flushes", n+1)

	snap := s.Snapshot(sec(float64(n + 1)))
	if got, want := snap.Total.Requests, int64(goroutines*perG); got != want {
		t.Errorf("Total.Requests = %d, want %d", got, want)
	}
	if got, want := snap.Total.Failures, int64(goroutines*perG/10); got != want {
		t.Errorf("Total.Failures = %d, want %d", got, want)
	}
	var occ int64
	for _, e := range snap.Errors {
		occ += e.Occurrences
	}
	if got, want := occ, int64(goroutines*perG/10); got != want {
		t.Errorf("error occurrences = %d, want %d", got, want)
	}
	if got, want := snap.Total.MaxMs, float64(perG-1)/1000; got != want {
		t.Errorf("Total.MaxMs = %v, want %v", got, want)
	}
	var sum int64
	for _, e := range snap.Entries {
		sum += e.Requests
	}
	if sum != snap.Total.Requests {
		t.Errorf("sum of entries = %d, want Total.Requests %d", sum, snap.Total.Requests)
	}
}

func BenchmarkRecorder_Record(b *testing.B) {
	r := stats.NewRecorder(0)
	r.Record(1, &stats.Sample{Method: "GET", Name: "/api/items", Duration: time.Millisecond, Bytes: 100, WireBytes: 100})
	b.ReportAllocs()
	d := time.Duration(0)
	for b.Loop() {
		d = (d + 7919*time.Microsecond) % time.Second
		r.Record(1, &stats.Sample{Method: "GET", Name: "/api/items", Duration: d, Bytes: 100, WireBytes: 100})
	}
}

func BenchmarkRecorder_RecordParallel(b *testing.B) {
	r := stats.NewRecorder(0)
	var ids atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		shard := int(ids.Add(1))
		d := time.Duration(shard) * time.Microsecond
		for pb.Next() {
			d = (d + 7919*time.Microsecond) % time.Second
			r.Record(shard, &stats.Sample{Method: "GET", Name: "/api/items", Duration: d, Bytes: 100, WireBytes: 100})
		}
	})
}

func BenchmarkRecorder_Flush(b *testing.B) {
	if b.N > 10_000 {
		b.Skip("a once-a-second operation: run with -benchtime 100x")
	}
	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("/k%d", i))
	}
	r := stats.NewRecorder(0)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for range b.N {
		for i := range 1000 {
			r.Record(i, &stats.Sample{Method: "GET", Name: names[i%20], Duration: time.Duration(i) * time.Millisecond, Bytes: 100, WireBytes: 100})
		}
		r.Flush(sec(float64(n)), sec(float64(n+1)))
		n++
	}
}

// A compressed body counts decoded in the content size, as received in the
// wire size; both survive the interval, the snapshot and the state.
func TestRecorder_RecordWire(t *testing.T) {
	r := stats.NewRecorder(2)
	r.Record(0, &stats.Sample{Method: "GET", Name: "/gz", Duration: time.Millisecond, Bytes: 1000, WireBytes: 100})
	r.Record(1, &stats.Sample{Method: "GET", Name: "/gz", Duration: time.Millisecond, Corrected: true, Lag: time.Millisecond, Bytes: 3000, WireBytes: 300})
	r.Record(1, &stats.Sample{Method: "GET", Name: "/plain", Duration: time.Millisecond, Bytes: 50, WireBytes: 50})
	iv := r.Flush(sec(0), sec(1))
	if e := iv.Entries[stats.Key{Method: "GET", Name: "/gz"}]; e.Bytes != 4000 || e.WireBytes != 400 {
		t.Errorf("interval: bytes %d, wire %d; want 4000, 400", e.Bytes, e.WireBytes)
	}
	s := stats.New(sec(0))
	s.Add(iv)
	b, err := s.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	restored := stats.New(sec(0))
	if err := restored.RestoreState(b); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*stats.Stats{s, restored} {
		snap := st.Snapshot(sec(1))
		for _, e := range snap.Entries {
			want := map[string][2]float64{"/gz": {2000, 200}, "/plain": {50, 50}}[e.Name]
			if e.AvgContentSize != want[0] || e.AvgWireSize != want[1] {
				t.Errorf("%s: content %v, wire %v; want %v", e.Name, e.AvgContentSize, e.AvgWireSize, want)
			}
		}
		if tot := snap.Total; tot.AvgWireSize != 450.0/3 {
			t.Errorf("total wire %v, want %v", tot.AvgWireSize, 450.0/3)
		}
	}
}

// Phases, message bytes and checks go through the one merge: recorder,
// interval, cumulative statistics and the checkpoint state.
func TestRecorder_PhasesAndChecks(t *testing.T) {
	r := stats.NewRecorder(4)
	for i := range 10 {
		smp := &stats.Sample{Method: "GET", Name: "/a", Duration: 50 * time.Millisecond, SentBytes: 100, RecvBytes: 1000,
			Waiting: 40 * time.Millisecond, Receiving: time.Duration(i) * time.Millisecond, Answered: true}
		if i < 2 {
			smp.Dialed, smp.Connecting, smp.TLSHandshaking = true, time.Millisecond, 3*time.Millisecond
		}
		r.Record(i, smp)
		r.RecordCheck(i, "status 200", i != 3)
		r.RecordCheck(i, "body_contains \"ok\"", true)
	}
	start := time.Unix(1000, 0)
	iv := r.Flush(start, start.Add(time.Second))
	s := stats.New(start)
	s.Add(iv)
	restored := stats.New(start)
	b, err := s.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if err := restored.RestoreState(b); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*stats.Stats{"live": s, "restored": restored} {
		snap := st.Snapshot(start.Add(2 * time.Second))
		e := snap.Entries[0]
		if e.SentBytes != 1000 || e.RecvBytes != 10000 || snap.Total.RecvBytes != 10000 {
			t.Errorf("%s: sent %d, received %d (total %d)", name, e.SentBytes, e.RecvBytes, snap.Total.RecvBytes)
		}
		want := stats.PhaseStats{
			Connecting:     stats.PhaseStat{Count: 2, AvgMs: 1, MinMs: 1, MaxMs: 1, SumMs: 2},
			TLSHandshaking: stats.PhaseStat{Count: 2, AvgMs: 3, MinMs: 3, MaxMs: 3, SumMs: 6},
			Waiting:        stats.PhaseStat{Count: 10, AvgMs: 40, MinMs: 40, MaxMs: 40, SumMs: 400},
			Receiving:      stats.PhaseStat{Count: 10, AvgMs: 4.5, MinMs: 0, MaxMs: 9, SumMs: 45},
		}
		if diff := cmp.Diff(want, e.Phases); diff != "" {
			t.Errorf("%s: phases (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(want, snap.Total.Phases); diff != "" {
			t.Errorf("%s: total's phases (-want +got):\n%s", name, diff)
		}
		wantChecks := []stats.Check{{Name: "body_contains \"ok\"", CheckCount: stats.CheckCount{Passes: 10}}, {Name: "status 200", CheckCount: stats.CheckCount{Passes: 9, Fails: 1}}}
		if diff := cmp.Diff(wantChecks, snap.Checks); diff != "" {
			t.Errorf("%s: checks (-want +got):\n%s", name, diff)
		}
	}
}
