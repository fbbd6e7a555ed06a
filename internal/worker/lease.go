package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/engine"
	"github.com/horde-load/horde/internal/scenario"
)

// Block sizes of the counters' leases: numbers a worker asks for beyond
// the one it needs now. Counters are never given back, so a worker that
// stops (or dies) leaves a gap of at most this many numbers.
const (
	seqExtra = 99 // {{ seq }}: one lease per 100 values
	vuExtra  = 15 // user numbers: one lease per 16 users
)

// leaseWait bounds a wait for a lease that has no context of its own
// ({{ seq }}, the user number): the master answers within a round trip,
// or the session is broken and the request is sent again after the
// reconnect.
const leaseWait = 30 * time.Second

// errRunOver fails the waits of a run that stopped.
var errRunOver = errors.New("the run is over on this worker")

// shared is a run's data leased from the master (docs/cluster.md,
// "Leases"): the rows of its unique and sequential feeders, {{ seq }} and
// the user numbers. It implements engine.Shared. Lock order: shared.mu,
// then Worker.mu.
type shared struct {
	w     *Worker
	runID string
	plan  *scenario.Plan // nil: Go users (counters only)

	mu     sync.Mutex
	leases map[string]*lease  // "f:FEEDER" or "c:COUNTER"
	taken  map[string][]int64 // unique rows taken since the last report, by feeder
	closed bool
}

var _ engine.Shared = (*shared)(nil)

// lease is one feeder's or counter's values on this worker.
type lease struct {
	feeder, counter string
	unique          bool
	extra           int64
	rows            []int64 // unique: rows held that no user took
	first, left     int64   // counter or sequential feeder: the next value, and how many are left
	waiters         []*waiter
	reqID           uint64 // the request in flight; 0: none
}

type waiter struct {
	done   chan struct{}
	v      int64
	ok     bool
	err    error
	served bool
}

func newShared(w *Worker, runID string, plan *scenario.Plan) *shared {
	s := &shared{w: w, runID: runID, plan: plan, leases: map[string]*lease{}, taken: map[string][]int64{}}
	if plan != nil {
		for name, f := range plan.Feeders {
			switch f.Mode() {
			case scenario.FeedUnique:
				s.leases["f:"+name] = &lease{feeder: name, unique: true, extra: int64(f.Prefetch)}
			case scenario.FeedSequential:
				s.leases["f:"+name] = &lease{feeder: name, extra: int64(f.Prefetch)}
			}
		}
	}
	s.leases["c:"+cluster.CounterSeq] = &lease{counter: cluster.CounterSeq, extra: seqExtra}
	s.leases["c:"+cluster.CounterVU] = &lease{counter: cluster.CounterVU, extra: vuExtra}
	return s
}

// Row implements engine.Shared.
func (s *shared) Row(ctx context.Context, feeder string) (int, bool, error) {
	v, ok, err := s.get(ctx, "f:"+feeder)
	return int(v), ok, err
}

// Seq implements engine.Shared.
func (s *shared) Seq() (int64, error) { return s.counter(cluster.CounterSeq) }

// UserID implements engine.Shared.
func (s *shared) UserID() (int, error) {
	v, err := s.counter(cluster.CounterVU)
	return int(v), err
}

// counter is the next value of the run-wide counter name; errRunOver
// once the run has ended.
func (s *shared) counter(name string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), leaseWait)
	defer cancel()
	v, ok, err := s.get(ctx, "c:"+name)
	if err == nil && !ok {
		err = errRunOver
	}
	return v, err
}

// get takes the next value of a lease: at once when the worker holds one,
// else after the master answers the request it shares with every user
// waiting meanwhile.
func (s *shared) get(ctx context.Context, key string) (int64, bool, error) {
	s.mu.Lock()
	l := s.leases[key]
	if l == nil {
		s.mu.Unlock()
		return 0, false, errors.New("not leased by the master: " + key)
	}
	if s.closed {
		s.mu.Unlock()
		return 0, false, errRunOver
	}
	if v, ok := s.takeLocked(l); ok {
		s.mu.Unlock()
		return v, true, nil
	}
	wt := &waiter{done: make(chan struct{})}
	l.waiters = append(l.waiters, wt)
	if l.reqID == 0 {
		s.requestLocked(l)
	}
	s.mu.Unlock()
	select {
	case <-wt.done:
		return wt.v, wt.ok, wt.err
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if wt.served {
		if wt.ok && l.unique {
			// The user is gone before it could use its row: keep the row
			// for the next one.
			s.untakeLocked(l, wt.v)
		}
		return 0, false, ctx.Err()
	}
	for i, x := range l.waiters {
		if x == wt {
			l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
			break
		}
	}
	return 0, false, ctx.Err()
}

// takeLocked takes a value the worker holds.
func (s *shared) takeLocked(l *lease) (int64, bool) {
	if l.unique {
		if len(l.rows) == 0 {
			return 0, false
		}
		v := l.rows[0]
		l.rows = l.rows[1:]
		s.taken[l.feeder] = append(s.taken[l.feeder], v)
		return v, true
	}
	if l.left == 0 {
		return 0, false
	}
	v := l.first
	l.first++
	l.left--
	return v, true
}

func (s *shared) untakeLocked(l *lease, v int64) {
	t := s.taken[l.feeder]
	for i := len(t) - 1; i >= 0; i-- {
		if t[i] == v {
			s.taken[l.feeder] = append(t[:i], t[i+1:]...)
			l.rows = append(l.rows, v)
			return
		}
	}
	// Already reported used: it stays used.
}

// requestLocked asks the master for values for every user waiting.
func (s *shared) requestLocked(l *lease) {
	l.reqID = s.w.queueLeaseRequest(func(id uint64) *cluster.LeaseRequest {
		return &cluster.LeaseRequest{
			RunID: s.runID, ID: id, Feeder: l.feeder, Counter: l.counter,
			Count: int64(len(l.waiters)), Extra: l.extra,
		}
	})
}

func (s *shared) sendLocked(msg *cluster.WorkerMessage) { s.w.queueCtrl(msg) }

// onLease takes the master's answer to a request.
func (s *shared) onLease(m *cluster.Lease) {
	key := "c:" + m.Counter
	if m.Feeder != "" {
		key = "f:" + m.Feeder
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[key]
	if l == nil {
		return
	}
	if s.closed || m.ID != l.reqID {
		if l.unique && len(m.Rows) > 0 {
			s.sendLocked(&cluster.WorkerMessage{Return: &cluster.LeaseReturn{RunID: s.runID, Feeder: l.feeder, Rows: m.Rows}})
		}
		return
	}
	l.reqID = 0
	if l.unique {
		l.rows = append(l.rows, m.Rows...)
	} else {
		l.first, l.left = m.First, m.Count
	}
	for len(l.waiters) > 0 {
		v, ok := s.takeLocked(l)
		if !ok {
			break
		}
		wt := l.waiters[0]
		l.waiters = l.waiters[1:]
		wt.v, wt.ok, wt.served = v, true, true
		close(wt.done)
	}
	if len(l.waiters) == 0 {
		return
	}
	if m.Exhausted || (!l.unique && m.Count == 0) {
		for _, wt := range l.waiters {
			wt.served = true
			if !l.unique {
				wt.err = errRunOver
			}
			close(wt.done)
		}
		l.waiters = nil
		return
	}
	s.requestLocked(l)
}

// onRecall gives back the rows of a unique feeder that no user took.
func (s *shared) onRecall(feeder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ret := &cluster.LeaseReturn{RunID: s.runID, Feeder: feeder}
	if l := s.leases["f:"+feeder]; l != nil && l.unique {
		ret.Rows, l.rows = l.rows, nil
	}
	s.sendLocked(&cluster.WorkerMessage{Return: ret})
}

// resync runs after each Welcome: the requests of the previous session
// are sent again, and for each unique feeder the master learns which rows
// this worker's users took that no acknowledged report holds (kept); the
// rows no user took are given back.
func (s *shared) resync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	inOutbox := s.w.usedInOutbox(s.runID)
	for _, l := range s.leases {
		l.reqID = 0
		if l.unique {
			kept := append(inOutbox[l.feeder], s.taken[l.feeder]...)
			s.sendLocked(&cluster.WorkerMessage{Return: &cluster.LeaseReturn{
				RunID: s.runID, Feeder: l.feeder, Rows: l.rows, Sync: true, Kept: kept,
			}})
			l.rows = nil
		}
		if len(l.waiters) > 0 {
			s.requestLocked(l)
		}
	}
}

// usedLocked drains the rows taken since the last report, for the next.
func (s *shared) usedLocked() []cluster.FeederUse {
	var out []cluster.FeederUse
	for f, rows := range s.taken {
		if len(rows) > 0 {
			out = append(out, cluster.FeederUse{Feeder: f, Rows: rows})
		}
		delete(s.taken, f)
	}
	return out
}

// close ends the run's leases: waits fail, and the rows no user took go
// back to the master.
func (s *shared) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, l := range s.leases {
		for _, wt := range l.waiters {
			wt.served, wt.err = true, errRunOver
			close(wt.done)
		}
		l.waiters = nil
		if l.unique && len(l.rows) > 0 {
			s.sendLocked(&cluster.WorkerMessage{Return: &cluster.LeaseReturn{RunID: s.runID, Feeder: l.feeder, Rows: l.rows}})
			l.rows = nil
		}
	}
}
