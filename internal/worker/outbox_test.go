package worker

import (
	"testing"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/stats"
)

func rep(run string, requests int64) *cluster.Report {
	r := stats.NewRecorder(1)
	for range requests {
		r.Record(0, &stats.Sample{Method: "GET", Name: "/", Duration: time.Millisecond, Bytes: 1, WireBytes: 1})
	}
	return &cluster.Report{RunID: run, Interval: r.Flush(time.Now(), time.Now())}
}

// Sent reports are frozen and resent with their numbers; unsent ones
// absorb the next; acks release them.
func TestOutbox(t *testing.T) {
	var o outbox
	o.add(rep("r", 1), 1)
	o.add(rep("r", 2), 2) // merged: nothing sent yet
	if len(o.items) != 1 || o.items[0].requests != 3 || o.items[0].rep.Seq != 1 {
		t.Fatalf("after two adds: %d items", len(o.items))
	}
	if got := o.next(8); got == nil || got.Seq != 1 {
		t.Fatalf("next: %+v", got)
	}
	o.add(rep("r", 4), 4) // a new report: seq 1 is frozen
	if len(o.items) != 2 || o.items[1].rep.Seq != 2 {
		t.Fatalf("after send and add: %d items", len(o.items))
	}
	if got := o.items[0].rep.Interval.Entries[stats.Key{Method: "GET", Name: "/"}].Count; got != 3 {
		t.Errorf("sent report changed: %d requests", got)
	}
	o.resend() // reconnect: both go again, in order
	if a, b := o.next(8), o.next(8); a.Seq != 1 || b.Seq != 2 {
		t.Errorf("resend order %d, %d", a.Seq, b.Seq)
	}
	if reports, requests := o.ack(1); reports != 1 || requests != 3 {
		t.Errorf("ack(1): %d reports, %d requests", reports, requests)
	}
	if o.next(8) != nil {
		t.Error("a report sent twice in one session")
	}
	// In-flight bound: with 1 in flight, a new report waits (and absorbs).
	o.add(rep("r", 1), 1)
	if o.next(1) != nil {
		t.Error("sent past the in-flight bound")
	}
	o.add(rep("r", 1), 1)
	if len(o.items) != 2 {
		t.Errorf("%d items, want the unsent one to absorb the next", len(o.items))
	}
}
