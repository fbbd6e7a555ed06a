package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/horde-load/horde/internal/stats"
)

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Create(ctx, dir, Run{Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		st := &State{Stats: json.RawMessage(`{"n":1}`), Master: json.RawMessage(`{"run_id":"r1"}`)}
		if err := s.Tick(ctx, Tick{Snapshot: gen(2, i), Interval: ivGen(2, i), Load: Load{Users: 3, Target: 4, Open: i == 2}, Samples: []Sample{{Series: "rss", T: gen(2, i).Time, V: 1}}, State: st}); err != nil {
			t.Fatal(err)
		}
	}
	// A live writer holds the file.
	if _, err := Reopen(ctx, s.Path()); !errors.Is(err, ErrLocked) {
		t.Fatalf("Reopen of a file in use: %v", err)
	}
	if un, _ := Unfinished(ctx, dir); len(un) != 0 {
		t.Fatalf("a file in use is not resumable: %+v", un)
	}
	s.Close(ctx) // the process went away without finishing the run

	un, err := Unfinished(ctx, dir)
	if err != nil || len(un) != 1 || un[0].Path != s.Path() {
		t.Fatalf("unfinished %+v %v", un, err)
	}
	r, err := Reopen(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if r.ID() != s.ID() {
		t.Fatalf("id %s, want %s", r.ID(), s.ID())
	}
	st, err := r.State(ctx)
	if err != nil || st == nil || string(st.Master) != `{"run_id":"r1"}` || !st.T.Equal(gen(2, 2).Time) {
		t.Fatalf("state %+v %v", st, err)
	}
	if tks, _ := r.Ticks(ctx); len(tks) != 3 || tks[0].Target != 4 || tks[0].Open || !tks[2].Open {
		t.Fatalf("ticks' load targets: %+v", tks)
	}
	last, _ := r.LastTick(ctx)
	if !last.Equal(gen(2, 2).Time) {
		t.Fatalf("last tick %v", last)
	}
	// The next tick's deltas continue from the stored counts, and the
	// existing names and series are reused.
	if err := r.Tick(ctx, Tick{Snapshot: gen(2, 3), Interval: ivGen(2, 3), Load: Load{Users: 3}, Samples: []Sample{{Series: "rss", T: gen(2, 3).Time, V: 2}}}); err != nil {
		t.Fatal(err)
	}
	ivs, _ := r.Intervals(ctx)
	var agg int64
	for _, iv := range ivs {
		if iv.Name == stats.AggregatedName {
			agg += iv.Requests
			if iv.Requests != 20 {
				t.Fatalf("interval after reopening %+v", iv)
			}
		}
	}
	if agg != 80 {
		t.Fatalf("aggregated %d, want 80", agg)
	}
	ser, _ := r.Series(ctx)
	if len(ser) != 1 || len(ser[0].Points) != 4 {
		t.Fatalf("series %+v", ser)
	}
	if err := r.Finish(ctx, Final{End: gen(2, 4).Time, Status: StatusPassed, Snapshot: gen(2, 3)}); err != nil {
		t.Fatal(err)
	}
	r.Close(ctx)
	if _, err := Reopen(ctx, s.Path()); err == nil {
		t.Fatal("a finished run was reopened")
	}
	if un, _ := Unfinished(ctx, dir); len(un) != 0 {
		t.Fatalf("finished run listed as unfinished: %+v", un)
	}
}

func TestReopenForeign(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "x.db")
	os.WriteFile(p, []byte("hello, not a database, but long enough to have a header......................................................"), 0o644)
	if _, err := Reopen(ctx, p); !errors.Is(err, ErrForeign) {
		t.Fatalf("foreign file: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b[:5]) != "hello" {
		t.Fatal("foreign file changed")
	}
	if un, err := Unfinished(ctx, dir); err != nil || len(un) != 0 {
		t.Fatalf("unfinished %+v %v", un, err)
	}
}
