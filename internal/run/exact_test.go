package run

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/cluster/rpc"

	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/store"
	"github.com/horde-load/horde/internal/worker"
)

// The run file's interval rows of a distributed run hold exactly what the
// workers reported: per name and in total, the requests, failures and
// bytes of the rows add up to the sums of the reports' intervals as they
// crossed the wire, integer for integer, and the rows' means to their
// latency sums. Ticks are written every 250 ms while the master ticks
// every 100 ms, so the rows also hold intervals of ticks not written.
func TestRunFile_RowsAreTheWorkersIntervals(t *testing.T) {
	ctx := context.Background()
	st, err := store.Create(ctx, t.TempDir(), store.Run{Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	rec := newRecorder(st, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), 250*time.Millisecond)
	var recMu sync.Mutex
	classes := []horde.Class{{Name: "recorder", Weight: 1, Wait: horde.Constant(time.Millisecond), New: func() horde.User { return &sampler{} }}}
	m, err := master.New(master.Config{
		Classes: classes, Tick: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Cluster: &master.ClusterConfig{Version: "test", ReportInterval: 150 * time.Millisecond},
		OnTick: func(tk master.Tick) {
			recMu.Lock()
			defer recMu.Unlock()
			rec.tick(tk)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tap := &reportTap{m: m, sum: &stats.Interval{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	srv := rpc.NewServer(tap, rpc.ServerConfig{})
	go srv.Serve(l)
	served := make(chan error, 1)
	go func() { served <- m.Serve(sctx) }()
	defer func() {
		cancel()
		<-served
		srv.Stop(time.Second)
	}()

	var ws []chan error
	wctx, stopWorkers := context.WithCancel(ctx)
	defer func() {
		stopWorkers()
		for _, done := range ws {
			<-done
		}
	}()
	for range 2 {
		w, err := worker.New(worker.Config{Version: "test", Classes: classes, MasterLostTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- w.Run(wctx, rpc.Dialer{Addr: l.Addr().String()}) }()
		ws = append(ws, done)
	}
	for deadline := time.Now().Add(10 * time.Second); len(m.Workers()) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the workers did not join")
		}
	}
	if err := m.Start(cluster.RunSpec{Users: 4, SpawnRate: 100, RunTime: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.RunDone():
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end")
	}
	recMu.Lock()
	rec.finish(time.Now(), ExitOK, m.Snapshot(), nil, nil)
	recMu.Unlock()

	rows, err := st.Intervals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type sums struct{ requests, failures, bytes int64 }
	got := map[stats.Key]sums{}
	var meanSum float64 // Σ mean × requests over the Aggregated rows, ms
	for _, r := range rows {
		k := stats.Key{Method: r.Method, Name: r.Name}
		g := got[k]
		g.requests += r.Requests
		g.failures += r.Failures
		g.bytes += r.Bytes
		got[k] = g
		if r.Name == stats.AggregatedName && r.Requests > 0 {
			meanSum += r.Mean * float64(r.Requests)
		}
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	want := map[stats.Key]sums{}
	var total stats.IntervalEntry
	for k, e := range tap.sum.Entries {
		want[k] = sums{e.Count, e.Failures, e.Bytes}
		total.Merge(e)
	}
	want[stats.Key{Name: stats.AggregatedName}] = sums{total.Count, total.Failures, total.Bytes}
	if total.Count == 0 || total.Failures == 0 || tap.reports < 4 {
		t.Fatalf("the workers reported %d requests, %d failures in %d reports: too few to tell", total.Count, total.Failures, tap.reports)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s %s: the run file's rows hold %+v, the workers reported %+v", k.Method, k.Name, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the run file has rows for %d names, the workers reported %d", len(got), len(want))
	}
	if wantMs := float64(total.SumMicros) / 1000; math.Abs(meanSum-wantMs) > 1e-9*wantMs {
		t.Errorf("Σ mean×requests of the rows = %.6f ms, the workers' latency sum is %.6f ms", meanSum, wantMs)
	}
}

// reportTap passes sessions to the master and adds up the intervals of
// the reports it reads, each (session, sequence number) once.
type reportTap struct {
	m       *master.Master
	mu      sync.Mutex
	sum     *stats.Interval
	reports int
}

func (tp *reportTap) Accept(ctx context.Context, conn cluster.MasterConn) error {
	return tp.m.Accept(ctx, &tappedConn{MasterConn: conn, tap: tp, seen: map[uint64]bool{}})
}

type tappedConn struct {
	cluster.MasterConn
	tap  *reportTap
	seen map[uint64]bool
}

func (c *tappedConn) Recv() (*cluster.WorkerMessage, error) {
	msg, err := c.MasterConn.Recv()
	if err == nil && msg.Report != nil && !c.seen[msg.Report.Seq] {
		c.seen[msg.Report.Seq] = true
		c.tap.mu.Lock()
		c.tap.reports++
		if err := msg.Report.MergeInto(c.tap.sum); err != nil {
			panic(err)
		}
		c.tap.mu.Unlock()
	}
	return msg, err
}

// sampler records made-up samples, no network: two names, a failure every
// seventh, a body size that varies.
type sampler struct{ n int }

func (s *sampler) OnStart(context.Context, horde.VU) error { return nil }
func (s *sampler) OnStop(context.Context, horde.VU) error  { return nil }
func (s *sampler) Task(_ context.Context, vu horde.VU) error {
	s.n++
	smp := horde.Sample{Method: "GET", Name: fmt.Sprintf("/n%d", s.n%2), Duration: time.Duration(100+vu.Rand().IntN(5000)) * time.Microsecond,
		Bytes: int64(10 + s.n%13)}
	if s.n%7 == 0 {
		smp.Failure = "boom"
	}
	vu.Record(smp)
	return nil
}
