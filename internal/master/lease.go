package master

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/cluster"
)

// leases are a run's shared data (docs/cluster.md, "Leases"): the rows of
// its unique feeders, the positions of its sequential feeders and the
// counters behind {{ seq }} and the user number. Guarded by Master.mu;
// reset when a run starts.
type leases struct {
	pools    map[string]*pool // unique feeders
	counters map[string]int64 // next value: "seq", "vu", and "feed:NAME" for a sequential feeder
}

// pool is a unique feeder's rows: each is free (never handed out, or given
// back), held by a worker (leased, not reported used) or used.
type pool struct {
	name     string
	size     int64
	next     int64   // rows from next on were never handed out
	free     []int64 // rows given back, handed out again first
	used     []bool  // by row
	nused    int64
	held     map[string]rowSet // by worker id ("": held when the master restarted, owner unknown)
	spare    map[string]bool   // workers that took rows beyond their need since they last gave some back
	recalled map[string]bool   // workers asked to give rows back that have not answered
	waiting  []waitingLease    // requests that wait for recalled rows
	dry      bool              // the pool was declared empty (logged once)
	owner    map[int64]string  // row -> holder, for the rows in held
	workers  map[string]*workerRec
	// A resumed run hands out no row until the workers of its checkpoint
	// have synced (claimed the rows their users took after it) or
	// syncUntil has passed.
	syncWait  map[string]bool
	syncUntil time.Time
}

// blocked reports whether p waits for the syncs of a resumed run.
func (p *pool) blocked(now time.Time) bool {
	return len(p.syncWait) > 0 && now.Before(p.syncUntil)
}

type rowSet map[int64]struct{}

type waitingLease struct {
	w   *workerRec
	req cluster.LeaseRequest
}

// counterStart is the first value of a counter: seq and the user number
// count from 1, a sequential feeder's positions from 0.
func counterStart(name string) int64 {
	if name == cluster.CounterSeq || name == cluster.CounterVU {
		return 1
	}
	return 0
}

// resetLeasesLocked gives the new run every row and fresh counters.
func (m *Master) resetLeasesLocked() {
	m.leases = leases{pools: map[string]*pool{}, counters: map[string]int64{}}
	for name, f := range m.cfg.Feeders {
		if f.Mode == "unique" {
			m.leases.pools[name] = &pool{
				name: name, size: f.Rows, used: make([]bool, f.Rows),
				held: map[string]rowSet{}, spare: map[string]bool{}, recalled: map[string]bool{},
				owner: map[int64]string{}, workers: map[string]*workerRec{},
			}
		}
	}
}

func (m *Master) runActiveLocked() bool {
	switch m.state {
	case cluster.StateSpawning, cluster.StateRunning, cluster.StateStopping:
		return true
	}
	return false
}

// leaseLocked answers (or queues) w's request.
func (m *Master) leaseLocked(w *workerRec, req *cluster.LeaseRequest) {
	ans := &cluster.Lease{RunID: req.RunID, ID: req.ID, Feeder: req.Feeder, Counter: req.Counter}
	if req.RunID != m.runID || !m.runActiveLocked() || req.Count < 0 || req.Extra < 0 {
		ans.Exhausted = true
		m.sendLocked(w, &cluster.MasterMessage{Lease: ans})
		return
	}
	if req.Counter != "" || (req.Feeder != "" && m.cfg.Feeders[req.Feeder].Mode == "sequential") {
		key := req.Counter
		if key == "" {
			key = "feed:" + req.Feeder
		}
		next, ok := m.leases.counters[key]
		if !ok {
			next = counterStart(key)
		}
		n := req.Count + req.Extra
		ans.First, ans.Count = next, n
		m.leases.counters[key] = next + n
		m.sendLocked(w, &cluster.MasterMessage{Lease: ans})
		return
	}
	p := m.leases.pools[req.Feeder]
	if p == nil {
		ans.Exhausted = true
		m.log.Warn("lease of an unknown feeder", "worker", w.id, "feeder", req.Feeder)
		m.sendLocked(w, &cluster.MasterMessage{Lease: ans})
		return
	}
	p.workers[w.id] = w
	if len(p.waiting) > 0 || p.blocked(time.Now()) {
		// Others wait already: no prefetch, and no overtaking.
		p.waiting = append(p.waiting, waitingLease{w, *req})
		m.serveWaitingLocked(p)
		return
	}
	rows := p.take(req.Count + req.Extra)
	if int64(len(rows)) >= req.Count {
		if int64(len(rows)) > req.Count {
			p.spare[w.id] = true
		}
		m.grantLocked(p, w, ans, rows, false)
		return
	}
	p.giveBack(rows)
	p.waiting = append(p.waiting, waitingLease{w, cluster.LeaseRequest{
		RunID: req.RunID, ID: req.ID, Feeder: req.Feeder, Count: req.Count,
	}})
	m.serveWaitingLocked(p)
}

// serveWaitingLocked answers the waiting requests, in order, while rows
// last; when they run short it recalls the rows other workers took beyond
// their need, and declares the pool empty only when none can be recalled.
func (m *Master) serveWaitingLocked(p *pool) {
	if p.blocked(time.Now()) {
		return
	}
	for len(p.waiting) > 0 {
		wl := p.waiting[0]
		rows := p.take(wl.req.Count)
		ans := &cluster.Lease{RunID: wl.req.RunID, ID: wl.req.ID, Feeder: p.name}
		if int64(len(rows)) >= wl.req.Count {
			p.waiting = p.waiting[1:]
			m.grantLocked(p, wl.w, ans, rows, false)
			continue
		}
		p.giveBack(rows)
		for id := range p.spare {
			if id == wl.w.id || p.recalled[id] {
				continue
			}
			delete(p.spare, id)
			ow := p.workers[id]
			if ow == nil || ow.state.Gone() || len(p.held[id]) == 0 {
				continue
			}
			// A worker between sessions answers with its sync when it is
			// back, or its rows come back when it is marked missing.
			p.recalled[id] = true
			if ow.sess != nil {
				m.sendLocked(ow, &cluster.MasterMessage{Recall: &cluster.Recall{RunID: m.runID, Feeder: p.name}})
			}
		}
		if len(p.recalled) > 0 {
			return // the answers bring rows back, or end the wait
		}
		p.waiting = p.waiting[1:]
		rows = p.take(wl.req.Count)
		if !p.dry {
			p.dry = true
			m.log.Info("unique feeder has no rows left", "feeder", p.name, "rows", p.size, "used", p.nused)
		}
		m.grantLocked(p, wl.w, ans, rows, true)
	}
}

func (m *Master) grantLocked(p *pool, w *workerRec, ans *cluster.Lease, rows []int64, exhausted bool) {
	hs := p.held[w.id]
	if hs == nil {
		hs = rowSet{}
		p.held[w.id] = hs
	}
	for _, r := range rows {
		hs[r] = struct{}{}
		p.owner[r] = w.id
	}
	ans.Rows, ans.Exhausted = rows, exhausted
	m.sendLocked(w, &cluster.MasterMessage{Lease: ans})
}

// take hands out up to n rows: given-back ones first, then new ones.
func (p *pool) take(n int64) []int64 {
	var out []int64
	for n > 0 && len(p.free) > 0 {
		out = append(out, p.free[0])
		p.free = p.free[1:]
		n--
	}
	for n > 0 && p.next < p.size {
		r := p.next
		p.next++
		if _, held := p.owner[r]; held || p.used[r] {
			continue // claimed by a worker after a restart of the master
		}
		out = append(out, r)
		n--
	}
	return out
}

// giveBack puts rows just taken back in front of the free list.
func (p *pool) giveBack(rows []int64) {
	if len(rows) > 0 {
		p.free = append(slices.Clone(rows), p.free...)
	}
}

// release frees a row held by id.
func (p *pool) release(id string, r int64) {
	delete(p.held[id], r)
	delete(p.owner, r)
	p.free = append(p.free, r)
}

// returnLocked takes back the rows w gives back (a Recall's answer, or the
// sync after a Welcome).
func (m *Master) returnLocked(w *workerRec, ret *cluster.LeaseReturn) {
	p := m.leases.pools[ret.Feeder]
	if p == nil || ret.RunID != m.runID {
		return
	}
	p.workers[w.id] = w
	delete(p.recalled, w.id)
	if ret.Sync {
		delete(p.syncWait, w.id)
	}
	for _, r := range ret.Rows {
		own, ok := p.owner[r]
		switch {
		case ok && (own == w.id || own == ""):
			p.release(own, r)
		case !ok && r >= 0 && r < p.next && !p.used[r] && !slices.Contains(p.free, r):
			// Leased by a master that died after its last checkpoint.
			p.free = append(p.free, r)
		}
	}
	if ret.Sync {
		if p.held[w.id] == nil {
			p.held[w.id] = rowSet{}
		}
		kept := rowSet{}
		for _, r := range ret.Kept {
			kept[r] = struct{}{}
		}
		// What w held and neither kept nor reported used was lost with its
		// previous session (a lease it never received).
		for r := range p.held[w.id] {
			if _, ok := kept[r]; !ok {
				p.release(w.id, r)
			}
		}
		for _, r := range ret.Kept {
			if r < 0 || r >= p.size || p.used[r] {
				continue
			}
			if own, ok := p.owner[r]; ok {
				if own == "" {
					delete(p.held[""], r)
					p.held[w.id][r] = struct{}{}
					p.owner[r] = w.id
				}
				continue
			}
			// Freed while w was missing; its users have it.
			if i := slices.Index(p.free, r); i >= 0 {
				p.free = slices.Delete(p.free, i, i+1)
			}
			p.held[w.id][r] = struct{}{}
			p.owner[r] = w.id
		}
	}
	m.serveWaitingLocked(p)
}

// usedLocked counts the rows w's users took as used.
func (m *Master) usedLocked(w *workerRec, used []cluster.FeederUse) {
	for _, u := range used {
		p := m.leases.pools[u.Feeder]
		if p == nil {
			continue
		}
		for _, r := range u.Rows {
			if r < 0 || r >= p.size || p.used[r] {
				continue
			}
			if own, ok := p.owner[r]; ok {
				if own != w.id && own != "" {
					m.log.Warn("unique row taken by two workers (the first was missing when it took it)",
						"feeder", p.name, "row", r+1, "worker", w.id, "other", own)
				}
				delete(p.held[own], r)
				delete(p.owner, r)
			} else if i := slices.Index(p.free, r); i >= 0 {
				p.free = slices.Delete(p.free, i, i+1) // freed while w was missing
			}
			p.used[r] = true
			p.nused++
		}
	}
}

// lostLocked gives the rows a missing worker held and did not report used
// back to the pool, for the others.
func (m *Master) lostLocked(w *workerRec) {
	for _, p := range m.leases.pools {
		n := len(p.held[w.id])
		for r := range p.held[w.id] {
			p.release(w.id, r)
		}
		delete(p.held, w.id)
		delete(p.spare, w.id)
		delete(p.recalled, w.id)
		delete(p.syncWait, w.id)
		kept := p.waiting[:0]
		for _, wl := range p.waiting {
			if wl.w != w {
				kept = append(kept, wl)
			}
		}
		p.waiting = kept
		if n > 0 {
			m.log.Info("rows of a missing worker back in the pool", "feeder", p.name, "worker", w.id, "rows", n)
		}
		m.serveWaitingLocked(p)
	}
}

// leaseWatchLocked serves the requests a resumed run held back once the
// wait for the workers' syncs is over.
func (m *Master) leaseWatchLocked(now time.Time) {
	for _, p := range m.leases.pools {
		if p.syncWait != nil && !p.blocked(now) {
			if len(p.syncWait) > 0 {
				m.log.Warn("resumed run: not every worker came back to claim its rows; handing rows out", "feeder", p.name, "missing", len(p.syncWait))
			}
			p.syncWait = nil
			m.serveWaitingLocked(p)
		}
	}
}

// FeederUse is a unique feeder's rows by state, for logs and tests.
type FeederUse struct {
	Feeder            string
	Rows, Used, Held  int64
	Free, NeverLeased int64
}

func (u FeederUse) String() string {
	return fmt.Sprintf("%s: %d rows, %d used, %d held, %d free", u.Feeder, u.Rows, u.Used, u.Held, u.Free+u.NeverLeased)
}

// FeederUses returns the current run's unique feeders by state.
func (m *Master) FeederUses() []FeederUse {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []FeederUse
	for _, p := range m.leases.pools {
		out = append(out, FeederUse{Feeder: p.name, Rows: p.size, Used: p.nused, Held: int64(len(p.owner)),
			Free: int64(len(p.free)), NeverLeased: p.size - p.next})
	}
	slices.SortFunc(out, func(a, b FeederUse) int {
		if a.Feeder < b.Feeder {
			return -1
		}
		return 1
	})
	return out
}

// LeaseCheckpoint is what a checkpoint keeps of a run's leases.
type LeaseCheckpoint struct {
	Counters map[string]int64          `json:"counters,omitempty"`
	Pools    map[string]PoolCheckpoint `json:"pools,omitempty"`
}

// PoolCheckpoint is a unique feeder's state: Used has bit i set when row i
// was reported used; rows below Next that are neither used nor in Free
// were held by workers.
type PoolCheckpoint struct {
	Next int64   `json:"next"`
	Free []int64 `json:"free,omitempty"`
	Used []byte  `json:"used,omitempty"`
}

// counterGap is added to each counter on resume: the master that died may
// have leased numbers after its last checkpoint.
const counterGap = 1 << 20

func (l *leases) checkpoint() *LeaseCheckpoint {
	if len(l.pools) == 0 && len(l.counters) == 0 {
		return nil
	}
	cp := &LeaseCheckpoint{Counters: maps.Clone(l.counters), Pools: map[string]PoolCheckpoint{}}
	for name, p := range l.pools {
		bits := make([]byte, (p.size+7)/8)
		for i, u := range p.used {
			if u {
				bits[i/8] |= 1 << (i % 8)
			}
		}
		cp.Pools[name] = PoolCheckpoint{Next: p.next, Free: slices.Clone(p.free), Used: bits}
	}
	return cp
}

// restore sets a resumed run's leases from its checkpoint. The rows that
// were held go to an unknown holder: a worker that reconnects claims the
// ones its users took (the sync after its Welcome) and gives back the
// others; the rows of a worker that never comes back are not handed out
// again.
func (l *leases) restore(cp *LeaseCheckpoint) {
	if cp == nil {
		return
	}
	for k, v := range cp.Counters {
		l.counters[k] = v
		if !strings.HasPrefix(k, "feed:") {
			l.counters[k] = v + counterGap
		}
	}
	for name, pc := range cp.Pools {
		p := l.pools[name]
		if p == nil {
			continue
		}
		p.next = min(max(pc.Next, 0), p.size)
		for i := range p.used {
			if i/8 < len(pc.Used) && pc.Used[i/8]&(1<<(i%8)) != 0 {
				p.used[i] = true
				p.nused++
			}
		}
		inFree := map[int64]bool{}
		for _, r := range pc.Free {
			if r >= 0 && r < p.size && !p.used[r] {
				p.free = append(p.free, r)
				inFree[r] = true
			}
		}
		held := rowSet{}
		for r := int64(0); r < p.next; r++ {
			if !p.used[r] && !inFree[r] {
				held[r] = struct{}{}
				p.owner[r] = ""
			}
		}
		p.held[""] = held
	}
}
