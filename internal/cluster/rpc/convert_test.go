package rpc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/stats"
)

// Open-model intervals keep their uncorrected latencies across the wire.
func TestIntervalPB_Uncorrected(t *testing.T) {
	rec := stats.NewRecorder(2)
	for i := range 200 {
		rec.Record(i, &stats.Sample{Method: "GET", Name: "/x", Duration: time.Duration(1+i%5) * time.Millisecond, Corrected: true, Lag: time.Duration(i%3) * 100 * time.Millisecond, Bytes: 10, WireBytes: 10})
	}
	rec.Record(1, &stats.Sample{Method: "GET", Name: "/closed", Duration: time.Millisecond, Bytes: 0, WireBytes: 0})
	now := time.Now()
	iv := rec.Flush(now, now.Add(time.Second))
	p, err := IntervalToPB(iv)
	if err != nil {
		t.Fatal(err)
	}
	back, err := IntervalFromPB(p)
	if err != nil {
		t.Fatal(err)
	}
	want, got := iv.Entries[stats.Key{Method: "GET", Name: "/x"}], back.Entries[stats.Key{Method: "GET", Name: "/x"}]
	if got == nil || got.Uncorrected.Hist == nil {
		t.Fatalf("uncorrected histogram lost on the wire: %+v", got)
	}
	if got.Uncorrected.Summary != want.Uncorrected.Summary || got.Summary != want.Summary {
		t.Errorf("summaries: got %+v (uncorrected %+v), want %+v (uncorrected %+v)", got.Summary, got.Uncorrected.Summary,
			want.Summary, want.Uncorrected.Summary)
	}
	if !got.Uncorrected.Hist.Equals(want.Uncorrected.Hist) || !got.Hist.Equals(want.Hist) {
		t.Error("histograms differ after the round trip")
	}
	if c := back.Entries[stats.Key{Method: "GET", Name: "/closed"}]; c == nil || c.Uncorrected.Count != 0 || c.Uncorrected.Hist != nil {
		t.Errorf("a closed-model entry gained uncorrected data: %+v", c)
	}
}

// A report's exceptions keep their tracebacks across the wire.
func TestReportPB_ExceptionTraceback(t *testing.T) {
	rec := stats.NewRecorder(1)
	now := time.Now()
	r := &cluster.Report{Seq: 3, RunID: "r", Interval: rec.Flush(now, now.Add(time.Second)), Exceptions: []stats.Exception{
		{Message: "a.star:3:4: in f: boom", Count: 2, Traceback: "Traceback (most recent call last):\n  a.star:3:4: in f\nError: boom"},
		{Message: "plain", Count: 1},
	}}
	p, err := ReportToPB(r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReportFromPB(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Exceptions, back.Exceptions); diff != "" {
		t.Errorf("exceptions after the round trip (-want +got):\n%s", diff)
	}
}
