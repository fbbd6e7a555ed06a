package master

import (
	"slices"
	"testing"

	"github.com/horde-load/horde/internal/cluster"
)

// leaseMaster is a distributed master with a running run (no users) whose
// feeder acc has n unique rows, and fake workers whose messages the test
// reads from their session queues.
func leaseMaster(t *testing.T, n int64, ids ...string) (*Master, map[string]*workerRec) {
	t.Helper()
	cfg := clusterConfig(pingClasses())
	cfg.Feeders = map[string]cluster.FeederInfo{"acc": {Mode: "unique", Rows: n}, "seqf": {Mode: "sequential", Rows: 3}}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(cluster.RunSpec{Users: 0, SpawnRate: 1}); err != nil {
		t.Fatal(err)
	}
	ws := map[string]*workerRec{}
	for _, id := range ids {
		w := &workerRec{id: id, state: cluster.StateRunning, sess: &session{out: make(chan *cluster.MasterMessage, 64), cancel: func() {}}}
		m.workers[id] = w
		ws[id] = w
	}
	return m, ws
}

// next returns the next lease message sent to w (skipping others), or nil.
func next(w *workerRec) *cluster.MasterMessage {
	for {
		select {
		case msg := <-w.sess.out:
			if msg.Lease != nil || msg.Recall != nil {
				return msg
			}
		default:
			return nil
		}
	}
}

func (m *Master) request(w *workerRec, count, extra int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leaseLocked(w, &cluster.LeaseRequest{RunID: m.runID, ID: 1, Feeder: "acc", Count: count, Extra: extra})
}

func wantRows(t *testing.T, msg *cluster.MasterMessage, rows []int64, exhausted bool) {
	t.Helper()
	if msg == nil || msg.Lease == nil {
		t.Fatalf("got %+v, want a lease of %v", msg, rows)
	}
	got := slices.Clone(msg.Lease.Rows)
	slices.Sort(got)
	if !slices.Equal(got, rows) || msg.Lease.Exhausted != exhausted {
		t.Fatalf("lease rows %v exhausted %v, want %v %v", got, msg.Lease.Exhausted, rows, exhausted)
	}
}

// A worker short of rows waits while the rows another took beyond its
// need are recalled; the pool is declared empty only when none is left.
func TestLeases_RecallBeforeEmpty(t *testing.T) {
	m, ws := leaseMaster(t, 10, "a", "b")
	a, b := ws["a"], ws["b"]
	m.request(a, 1, 5)
	wantRows(t, next(a), []int64{0, 1, 2, 3, 4, 5}, false)
	m.request(b, 1, 5)
	wantRows(t, next(b), []int64{6, 7, 8, 9}, false)
	m.request(b, 1, 0) // b's users took its 4 rows; a holds spare ones
	if msg := next(b); msg != nil {
		t.Fatalf("b answered before a gave rows back: %+v", msg)
	}
	if msg := next(a); msg == nil || msg.Recall == nil || msg.Recall.Feeder != "acc" {
		t.Fatalf("a got %+v, want a recall", msg)
	}
	m.mu.Lock()
	m.returnLocked(a, &cluster.LeaseReturn{RunID: m.runID, Feeder: "acc", Rows: []int64{4, 5}})
	m.mu.Unlock()
	wantRows(t, next(b), []int64{4}, false)
	m.request(b, 2, 0)
	wantRows(t, next(b), []int64{5}, true) // nothing more to recall: empty
	if msg := next(a); msg != nil {
		t.Fatalf("a recalled twice without taking spare rows again: %+v", msg)
	}
}

// The rows a lost worker held and did not report used go to the others;
// the ones it reported used never do.
func TestLeases_LostWorkerRowsGoBack(t *testing.T) {
	m, ws := leaseMaster(t, 6, "a", "b")
	a, b := ws["a"], ws["b"]
	m.request(a, 3, 3)
	wantRows(t, next(a), []int64{0, 1, 2, 3, 4, 5}, false)
	m.mu.Lock()
	m.usedLocked(a, []cluster.FeederUse{{Feeder: "acc", Rows: []int64{0, 2}}})
	m.markMissingLocked(a)
	m.mu.Unlock()
	m.request(b, 4, 0)
	wantRows(t, next(b), []int64{1, 3, 4, 5}, false)
	m.request(b, 1, 0)
	wantRows(t, next(b), nil, true)
	if u := m.FeederUses()[0]; u.Used != 2 || u.Held != 4 {
		t.Errorf("feeder state %v, want 2 used, 4 held", u)
	}
}

// After a reconnect, a worker's sync keeps the rows its users took (not
// yet in an acknowledged report) and frees the rest of what the master
// counted as its own, including a lease lost with the old session.
func TestLeases_SyncAfterReconnect(t *testing.T) {
	m, ws := leaseMaster(t, 6, "a", "b")
	a, b := ws["a"], ws["b"]
	m.request(a, 1, 5)
	wantRows(t, next(a), []int64{0, 1, 2, 3, 4, 5}, false)
	m.mu.Lock()
	m.returnLocked(a, &cluster.LeaseReturn{RunID: m.runID, Feeder: "acc", Rows: []int64{2}, Sync: true, Kept: []int64{0, 1}})
	m.mu.Unlock()
	m.request(b, 4, 0)
	wantRows(t, next(b), []int64{2, 3, 4, 5}, false)
	m.mu.Lock()
	m.usedLocked(a, []cluster.FeederUse{{Feeder: "acc", Rows: []int64{0, 1}}})
	m.mu.Unlock()
	if u := m.FeederUses()[0]; u.Used != 2 || u.Held != 4 {
		t.Errorf("feeder state %v, want 2 used, 4 held", u)
	}
}

// A resumed master does not hand out rows its checkpoint had as used or
// held; a reconnecting worker gives back the held ones no user took.
func TestLeases_Resume(t *testing.T) {
	m, ws := leaseMaster(t, 6, "a")
	a := ws["a"]
	m.request(a, 2, 2)
	wantRows(t, next(a), []int64{0, 1, 2, 3}, false)
	m.mu.Lock()
	m.usedLocked(a, []cluster.FeederUse{{Feeder: "acc", Rows: []int64{0}}})
	m.leaseLocked(a, &cluster.LeaseRequest{RunID: m.runID, ID: 2, Counter: cluster.CounterSeq, Count: 1, Extra: 99})
	cp := m.leases.checkpoint()
	runID := m.runID
	m.mu.Unlock()
	if msg := next(a); msg.Lease.First != 1 || msg.Lease.Count != 100 {
		t.Fatalf("seq lease %+v, want 1..100", msg.Lease)
	}

	m2, ws2 := leaseMaster(t, 6, "a", "b")
	a2, b2 := ws2["a"], ws2["b"]
	m2.mu.Lock()
	m2.runID = runID
	m2.resetLeasesLocked()
	m2.leases.restore(cp)
	m2.mu.Unlock()
	m2.request(b2, 2, 0)
	wantRows(t, next(b2), []int64{4, 5}, false)
	m2.mu.Lock()
	// a's users took row 1 (in a report not yet acknowledged); 2 and 3 were spare.
	m2.returnLocked(a2, &cluster.LeaseReturn{RunID: runID, Feeder: "acc", Rows: []int64{2, 3}, Sync: true, Kept: []int64{1}})
	m2.leaseLocked(a2, &cluster.LeaseRequest{RunID: runID, ID: 3, Counter: cluster.CounterSeq, Count: 1})
	m2.mu.Unlock()
	m2.request(b2, 3, 0)
	wantRows(t, next(b2), []int64{2, 3}, true)
	if msg := next(a2); msg.Lease.First <= 100 {
		t.Errorf("seq after resume starts at %d: values up to 100 were leased", msg.Lease.First)
	}
}

// Sequential feeders and counters are leased as blocks that never repeat.
func TestLeases_Counters(t *testing.T) {
	m, ws := leaseMaster(t, 1, "a", "b")
	a, b := ws["a"], ws["b"]
	m.mu.Lock()
	m.leaseLocked(a, &cluster.LeaseRequest{RunID: m.runID, Feeder: "seqf", Count: 2})
	m.leaseLocked(b, &cluster.LeaseRequest{RunID: m.runID, Feeder: "seqf", Count: 1, Extra: 1})
	m.leaseLocked(a, &cluster.LeaseRequest{RunID: "other", Counter: cluster.CounterVU, Count: 1})
	m.mu.Unlock()
	if l := next(a).Lease; l.First != 0 || l.Count != 2 {
		t.Errorf("a's block %d+%d, want 0+2", l.First, l.Count)
	}
	if l := next(b).Lease; l.First != 2 || l.Count != 2 {
		t.Errorf("b's block %d+%d, want 2+2", l.First, l.Count)
	}
	if l := next(a).Lease; !l.Exhausted || l.Count != 0 {
		t.Errorf("a lease of another run: %+v, want refused", l)
	}
}

// A worker holding spare rows between two sessions is waited for: its
// rows come back with its sync, or when it is marked missing.
func TestLeases_WaitForDisconnectedHolder(t *testing.T) {
	m, ws := leaseMaster(t, 4, "a", "b")
	a, b := ws["a"], ws["b"]
	m.request(a, 1, 3)
	wantRows(t, next(a), []int64{0, 1, 2, 3}, false)
	m.mu.Lock()
	a.sess = nil // disconnected, not yet missing
	m.mu.Unlock()
	m.request(b, 1, 0)
	if msg := next(b); msg != nil {
		t.Fatalf("b answered while a may give rows back: %+v", msg)
	}
	m.mu.Lock()
	m.markMissingLocked(a)
	m.mu.Unlock()
	if msg := next(b); msg == nil || msg.Lease == nil || len(msg.Lease.Rows) != 1 || msg.Lease.Exhausted {
		t.Fatalf("b got %+v, want one of a's rows", msg)
	}
}
