package master

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/cluster/rpc"
	"github.com/horde-load/horde/internal/logtest"
	"github.com/horde-load/horde/internal/worker"
)

// startCluster serves a distributed master over gRPC on loopback and
// returns it with its address.
func startCluster(t *testing.T, classes []horde.Class, setup func(*Master)) (*Master, string) {
	t.Helper()
	m, err := New(clusterConfig(classes))
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(m)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCluster(t, m, l)
	return m, l.Addr().String()
}

// clusterConfig is the tests' distributed master: fast ticks and reports.
func clusterConfig(classes []horde.Class) Config {
	return Config{
		Classes: classes,
		Tick:    100 * time.Millisecond,
		Cluster: &ClusterConfig{Version: "test", ReportInterval: 150 * time.Millisecond},
	}
}

// serveCluster serves m to workers on l until the test ends.
func serveCluster(t *testing.T, m *Master, l net.Listener) { serveVia(t, m, m, l) }

// serveVia is serveCluster with the sessions handed to acc (which passes
// them on to m).
func serveVia(t *testing.T, m *Master, acc cluster.Acceptor, l net.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := rpc.NewServer(acc, rpc.ServerConfig{})
	go srv.Serve(l)
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Stop(time.Second)
	})
}

func pingClasses() []horde.Class {
	return []horde.Class{
		{Name: "a", Weight: 3, Wait: horde.Constant(2 * time.Millisecond), New: func() horde.User { return pinger{} }},
		{Name: "b", Weight: 1, Wait: horde.Constant(2 * time.Millisecond), New: func() horde.User { return pinger{} }},
	}
}

type runningWorker struct {
	w      *worker.Worker
	cancel context.CancelFunc
	done   chan error
}

func startWorkers(t *testing.T, n int, addr string) []*runningWorker {
	t.Helper()
	return startWorkersOf(t, pingClasses(), n, addr)
}

func startWorkersOf(t *testing.T, classes []horde.Class, n int, addr string) []*runningWorker {
	t.Helper()
	var out []*runningWorker
	for range n {
		w, err := worker.New(worker.Config{Version: "test", Classes: classes, MasterLostTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		rw := &runningWorker{w: w, cancel: cancel, done: make(chan error, 1)}
		go func() { rw.done <- w.Run(ctx, rpc.Dialer{Addr: addr}) }()
		out = append(out, rw)
		t.Cleanup(func() { cancel(); <-rw.done })
	}
	return out
}

// stopWorkers stops the workers, which deliver what is pending (the final
// acks may still be on their way when a run ends), and returns the requests
// their acknowledged reports hold.
func stopWorkers(ws []*runningWorker) int64 {
	var acked int64
	for _, w := range ws {
		w.cancel()
		<-w.done
		w.done <- nil // for the cleanup
		_, req := w.w.Acknowledged()
		acked += req
	}
	return acked
}

func waitWorkers(t *testing.T, m *Master, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		have := 0
		for _, w := range m.Workers() {
			if w.State == cluster.StateReady {
				have++
			}
		}
		if have >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d workers ready: %+v", have, n, m.Workers())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A connection that drops between a report and its acknowledgement: the
// worker resends the report after reconnecting, and the master counts it
// once. The master's total is exactly what the workers' acknowledged
// reports hold.
func TestMaster_DropBetweenReportAndAck(t *testing.T) {
	var drops atomic.Int64
	var mu sync.Mutex
	seen := map[uint64]bool{}
	m, err := New(clusterConfig(pingClasses()))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveVia(t, m, dropAcks{m, func(seq uint64) bool {
		mu.Lock()
		defer mu.Unlock()
		// Drop the first delivery of reports 2 and 5 (of each worker).
		if (seq == 2 || seq == 5) && !seen[seq] {
			seen[seq] = true
			drops.Add(1)
			return true
		}
		return false
	}}, l)
	ws := startWorkers(t, 2, l.Addr().String())
	waitWorkers(t, m, 2)
	if err := m.Start(cluster.RunSpec{Users: 6, SpawnRate: 100, RunTime: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.RunDone():
	case <-time.After(30 * time.Second):
		t.Fatal("run did not end")
	}
	if drops.Load() < 2 {
		t.Fatalf("only %d sessions dropped before an ack", drops.Load())
	}
	acked := stopWorkers(ws)
	got := m.Snapshot().Total.Requests
	if got == 0 || got != acked {
		t.Errorf("master counted %d requests, workers' acknowledged reports hold %d (dropped %d sessions)", got, acked, drops.Load())
	}
}

// dropAcks ends a worker's session after the master has read a report for
// which drop is true and before its acknowledgement reaches the worker.
type dropAcks struct {
	m    *Master
	drop func(seq uint64) bool
}

func (d dropAcks) Accept(ctx context.Context, conn cluster.MasterConn) error {
	return d.m.Accept(ctx, &ackDropper{MasterConn: conn, drop: d.drop})
}

type ackDropper struct {
	cluster.MasterConn
	drop    func(seq uint64) bool
	mu      sync.Mutex
	dropped bool
}

func (c *ackDropper) Recv() (*cluster.WorkerMessage, error) {
	c.mu.Lock()
	dropped := c.dropped
	c.mu.Unlock()
	if dropped {
		return nil, errors.New("test: connection dropped before an acknowledgement")
	}
	msg, err := c.MasterConn.Recv()
	if err == nil && msg.Report != nil && c.drop(msg.Report.Seq) {
		c.mu.Lock()
		c.dropped = true
		c.mu.Unlock()
	}
	return msg, err
}

func (c *ackDropper) Send(msg *cluster.MasterMessage) error {
	c.mu.Lock()
	dropped := c.dropped
	c.mu.Unlock()
	if dropped && msg.Ack != nil {
		return errors.New("test: connection dropped before an acknowledgement")
	}
	return c.MasterConn.Send(msg)
}

// The users are split exactly over the workers, per class.
func TestMaster_SplitsUsersPerClass(t *testing.T) {
	m, addr := startCluster(t, pingClasses(), nil)
	startWorkers(t, 3, addr)
	waitWorkers(t, m, 3)
	if err := m.Start(cluster.RunSpec{Users: 10, SpawnRate: 1000}); err != nil {
		t.Fatal(err)
	}
	waitState(t, m, cluster.StateRunning)
	ws := m.Workers()
	total := []int{0, 0}
	for _, w := range ws {
		if len(w.ClassUsers) != 2 {
			t.Fatalf("worker %s class users %v", w.ID, w.ClassUsers)
		}
		for c, u := range w.ClassUsers {
			total[c] += u
		}
		if w.Users < 3 || w.Users > 4 {
			t.Errorf("worker %s has %d users, want 3 or 4", w.ID, w.Users)
		}
	}
	// 10 users at weights 3:1 are 8 of a and 2 of b (cluster.Counts).
	if total[0] != 8 || total[1] != 2 {
		t.Errorf("class users %v, want [8 2]", total)
	}
	if got := m.ClassUsers(); got[0] != 8 || got[1] != 2 {
		t.Errorf("ClassUsers %v, want [8 2]", got)
	}
	m.Stop()
	<-m.RunDone()
}

// A recording master is killed mid-run and another resumes from the last
// checkpoint it wrote: every request the workers made is counted once. The
// first master writes every other checkpoint only (as --runs-interval does)
// and dies without writing its last ones; what it had counted but not
// written, the workers resend, because it acknowledged only written
// checkpoints.
func TestMaster_ResumeCountsEachReportOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	serve := func(l net.Listener, onCheckpoint func(Checkpoint)) (*Master, func()) {
		cfg := clusterConfig(pingClasses())
		cfg.OnCheckpoint = onCheckpoint
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return m, func() { serveCluster(t, m, l) }
	}

	var mu sync.Mutex
	var ticks int
	var dead bool
	var written Checkpoint
	m1, start1 := serve(l, func(cp Checkpoint) {
		mu.Lock()
		defer mu.Unlock()
		if dead {
			return
		}
		if ticks++; ticks%2 == 0 {
			written = cp
			cp.Written()
		}
	})
	start1()
	ws := startWorkers(t, 2, addr)
	waitWorkers(t, m1, 2)
	if err := m1.Start(cluster.RunSpec{Users: 6, SpawnRate: 100, RunTime: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1300 * time.Millisecond)

	// The kill: nothing more is written or acknowledged, the connections go.
	mu.Lock()
	dead = true
	cp := written
	mu.Unlock()
	m1.Detach()
	l.Close()
	m1.mu.Lock()
	for _, w := range m1.workers {
		if w.sess != nil {
			w.sess.cancel()
		}
	}
	counted := m1.pending != nil || m1.st.Snapshot(time.Now()).Total.Requests > 0
	m1.mu.Unlock()
	if !counted || cp.RunID == "" {
		t.Fatalf("nothing counted or written before the kill (checkpoint %+v)", cp.RunID)
	}

	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	m2, start2 := serve(l2, func(cp Checkpoint) { cp.Written() })
	if err := m2.Resume(cp, nil); err != nil {
		t.Fatal(err)
	}
	start2()
	select {
	case <-m2.RunDone():
	case <-time.After(30 * time.Second):
		t.Fatal("the resumed run did not end")
	}
	acked := stopWorkers(ws)
	if got := m2.Snapshot().Total.Requests; got == 0 || got != acked {
		t.Errorf("the resumed master counted %d requests; the workers' acknowledged reports hold %d", got, acked)
	}
}

// sleeper's task takes 3 s (less when its context ends).
type sleeper struct{}

func (sleeper) OnStart(ctx context.Context, vu horde.VU) error { return nil }
func (sleeper) OnStop(ctx context.Context, vu horde.VU) error  { return nil }
func (sleeper) Task(ctx context.Context, vu horde.VU) error {
	select {
	case <-time.After(3 * time.Second):
	case <-ctx.Done():
	}
	vu.Record(horde.Sample{Method: "GET", Name: "/slow", Duration: 3 * time.Second})
	return nil
}

// A worker that joins while a run is stopping never ran it: the master
// does not wait for a final report of it (it used to, until its guard
// timeout, about 15 s here), and ends the run once the others' are in.
func TestMaster_WorkerJoiningWhileStopping(t *testing.T) {
	var logs logtest.Buffer
	classes := []horde.Class{{Name: "s", Weight: 1, Wait: horde.Constant(0), New: func() horde.User { return sleeper{} }}}
	cfg := clusterConfig(classes)
	cfg.StopTimeout, cfg.Logger = 5*time.Second, slog.New(slog.NewTextHandler(&logs, nil))
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCluster(t, m, l)
	startWorkersOf(t, classes, 1, l.Addr().String())
	waitWorkers(t, m, 1)
	if err := m.Start(cluster.RunSpec{Users: 2, SpawnRate: 100}); err != nil {
		t.Fatal(err)
	}
	waitState(t, m, cluster.StateRunning)
	time.Sleep(300 * time.Millisecond) // the users are in their 3 s tasks
	m.Stop()
	startWorkersOf(t, classes, 1, l.Addr().String())
	for deadline := time.Now().Add(10 * time.Second); len(m.Workers()) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second worker did not join")
		}
	}
	if s := m.State(); s != cluster.StateStopping {
		t.Fatalf("the second worker joined in state %s; the test needs it to join while stopping", s)
	}
	select {
	case <-m.RunDone():
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end")
	}
	if strings.Contains(logs.String(), "not every worker sent its final report") {
		t.Errorf("the master waited for a final report of the worker that joined while stopping:\n%s", logs.String())
	}
	if got := m.Snapshot().Total.Requests; got < 2 {
		t.Errorf("%d requests counted, want the 2 users' tasks at least", got)
	}
}
