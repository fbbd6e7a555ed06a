package worker

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/scenario"
)

func leaseWorker(t *testing.T, prefetch int) (*Worker, *shared) {
	t.Helper()
	w, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := scenario.NewFeeder("acc", scenario.FeedUnique, []string{"id"}, [][]string{{"1"}, {"2"}, {"3"}})
	if err != nil {
		t.Fatal(err)
	}
	f.Prefetch = prefetch
	return w, newShared(w, "r1", &scenario.Plan{Feeders: map[string]*scenario.Feeder{"acc": f}})
}

// ctrl takes the queued lease messages.
func (w *Worker) takeCtrl() []*cluster.WorkerMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.ctrl
	w.ctrl = nil
	return out
}

func (s *shared) waiting(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.leases[key].waiters)
}

type rowResult struct {
	row int
	ok  bool
	err error
}

// Users that need a row while a request is on its way share the next
// request; an exhausted answer fails those it cannot serve; what they
// took goes into the next report.
func TestShared_CoalescesWaitingUsers(t *testing.T) {
	w, sh := leaseWorker(t, 0)
	res := make(chan rowResult, 3)
	get := func() {
		row, ok, err := sh.Row(context.Background(), "acc")
		res <- rowResult{row, ok, err}
	}
	go get()
	waitFor(t, func() bool { return sh.waiting("f:acc") == 1 })
	go get()
	go get()
	waitFor(t, func() bool { return sh.waiting("f:acc") == 3 })
	msgs := w.takeCtrl()
	if len(msgs) != 1 || msgs[0].Lease == nil || msgs[0].Lease.Count != 1 || msgs[0].Lease.Feeder != "acc" {
		t.Fatalf("requests %+v, want one for 1 row", msgs)
	}
	sh.onLease(&cluster.Lease{RunID: "r1", ID: msgs[0].Lease.ID, Feeder: "acc", Rows: []int64{7}})
	if r := <-res; r.row != 7 || !r.ok || r.err != nil {
		t.Fatalf("first user got %+v, want row 7", r)
	}
	msgs = w.takeCtrl()
	if len(msgs) != 1 || msgs[0].Lease == nil || msgs[0].Lease.Count != 2 {
		t.Fatalf("requests %+v, want one for the 2 users who waited meanwhile", msgs)
	}
	sh.onLease(&cluster.Lease{RunID: "r1", ID: msgs[0].Lease.ID, Feeder: "acc", Rows: []int64{2}, Exhausted: true})
	a, b := <-res, <-res
	if a.ok == b.ok || a.err != nil || b.err != nil {
		t.Fatalf("got %+v and %+v, want one row 2 and one refusal", a, b)
	}
	sh.mu.Lock()
	used := sh.usedLocked()
	sh.mu.Unlock()
	if len(used) != 1 || !slices.Equal(used[0].Rows, []int64{7, 2}) {
		t.Errorf("used %+v, want rows 7 and 2", used)
	}
}

// A recall gives back the prefetched rows no user took; after a reconnect
// the sync gives back the rest and lists the rows taken but not reported;
// at the end of the run the rows left go back.
func TestShared_RecallSyncClose(t *testing.T) {
	w, sh := leaseWorker(t, 3)
	res := make(chan rowResult, 1)
	go func() {
		row, ok, err := sh.Row(context.Background(), "acc")
		res <- rowResult{row, ok, err}
	}()
	waitFor(t, func() bool { return sh.waiting("f:acc") == 1 })
	req := w.takeCtrl()[0].Lease
	if req.Count != 1 || req.Extra != 3 {
		t.Fatalf("request %+v, want 1 + 3 extra", req)
	}
	sh.onLease(&cluster.Lease{RunID: "r1", ID: req.ID, Feeder: "acc", Rows: []int64{0, 1, 2, 3}})
	<-res
	if row, ok, _ := sh.Row(context.Background(), "acc"); !ok || row != 1 {
		t.Fatalf("second row %d %v, want 1 from the prefetch", row, ok)
	}
	sh.onRecall("acc")
	if ret := w.takeCtrl()[0].Return; ret == nil || !slices.Equal(ret.Rows, []int64{2, 3}) || ret.Sync {
		t.Fatalf("recall answer %+v, want rows 2 and 3", ret)
	}
	sh.resync()
	var sync *cluster.LeaseReturn
	for _, m := range w.takeCtrl() {
		if m.Return != nil {
			sync = m.Return
		}
	}
	if sync == nil || !sync.Sync || !slices.Equal(sync.Kept, []int64{0, 1}) || len(sync.Rows) != 0 {
		t.Fatalf("sync %+v, want rows 0 and 1 kept", sync)
	}
	sh.onLease(&cluster.Lease{RunID: "r1", ID: 99, Feeder: "acc", Rows: []int64{5}}) // stale: given back
	if ret := w.takeCtrl(); len(ret) != 1 || ret[0].Return == nil || !slices.Equal(ret[0].Return.Rows, []int64{5}) {
		t.Fatalf("stale lease: %+v, want its rows given back", ret)
	}
	sh.close()
	if _, _, err := sh.Row(context.Background(), "acc"); err == nil {
		t.Error("a row after the run closed")
	}
}

// A user that stops while waiting leaves no waiter behind.
func TestShared_CancelledWait(t *testing.T) {
	_, sh := leaseWorker(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := sh.Row(ctx, "acc"); err == nil {
		t.Fatal("no error from a cancelled wait")
	}
	if n := sh.waiting("f:acc"); n != 0 {
		t.Errorf("%d waiters left", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}
