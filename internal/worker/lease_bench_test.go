package worker

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/cluster/rpc"
	"github.com/horde-load/horde/internal/engine"
	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/scenario"
)

// The cost of cluster-wide unique rows: a worker takes rows of a unique
// feeder from a master over gRPC on loopback (both in this process), paced
// at 1,000 rows/s, against the local feeder of a standalone run. It
// reports the latency of a row (mean, p50, p99) and the CPU both
// processes spent per row. docs/cluster.md has the figures:
//
//	go test ./internal/worker -run XXX -bench 'Lease|LocalFeeder' -benchtime 3000x

const benchRows = 200_000

func benchScenario(b *testing.B, prefetch int) (*cluster.Scenario, *scenario.Plan) {
	b.Helper()
	dir := b.TempDir()
	var csv strings.Builder
	csv.WriteString("id\n")
	for i := 1; i <= benchRows; i++ {
		fmt.Fprintf(&csv, "%d\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "rows.csv"), []byte(csv.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	src := fmt.Sprintf("host: http://127.0.0.1:1\ndata:\n  acc: {file: rows.csv, mode: unique, prefetch: %d}\nusers:\n  - name: a\n    feed: acc\n    tasks:\n      - get: /\n", prefetch)
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	sc, err := cluster.NewScenario(path, []byte(src), "", scenario.TLSFlags{})
	if err != nil {
		b.Fatal(err)
	}
	plan, err := scenario.Parse(path, dir, []byte(src), scenario.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return sc, plan
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pace takes b.N rows at 1,000 per second with take, and reports.
func pace(b *testing.B, take func() error) {
	lat := make([]time.Duration, 0, b.N)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		<-tick.C
		t0 := time.Now()
		if err := take(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(float64(sum.Microseconds())/float64(len(lat)), "µs/row")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/row")
}

func benchLease(b *testing.B, prefetch int) {
	if b.N > benchRows {
		b.Skipf("%d rows wanted, %d in the feeder", b.N, benchRows)
	}
	sc, plan := benchScenario(b, prefetch)
	m, err := master.New(master.Config{
		Classes: engine.PlanClasses(plan, plan.Host), Tick: time.Second,
		Cluster: &master.ClusterConfig{Version: "bench", Scenario: sc},
		Feeders: map[string]cluster.FeederInfo{"acc": {Mode: scenario.FeedUnique, Rows: benchRows}},
	})
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := rpc.NewServer(m, rpc.ServerConfig{})
	go srv.Serve(l)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- m.Serve(ctx) }()
	w, err := New(Config{Version: "bench", MasterLostTimeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	wctx, wcancel := context.WithCancel(context.Background())
	wdone := make(chan error, 1)
	go func() { wdone <- w.Run(wctx, rpc.Dialer{Addr: l.Addr().String()}) }()
	defer func() {
		wcancel()
		<-wdone
		cancel()
		<-served
		srv.Stop(time.Second)
	}()
	for len(m.Workers()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := m.Start(cluster.RunSpec{Users: 0, SpawnRate: 1}); err != nil {
		b.Fatal(err)
	}
	var sh *shared
	for sh == nil {
		time.Sleep(10 * time.Millisecond)
		sh = w.currentShared()
	}
	pace(b, func() error {
		_, ok, err := sh.Row(context.Background(), "acc")
		if err == nil && !ok {
			err = fmt.Errorf("no rows left")
		}
		return err
	})
}

// BenchmarkLease_Unique leases each row when a user needs it (prefetch 0:
// exact, one round trip per row).
func BenchmarkLease_Unique(b *testing.B) { benchLease(b, 0) }

// BenchmarkLease_UniquePrefetch100 leases 101 rows at a time.
func BenchmarkLease_UniquePrefetch100(b *testing.B) { benchLease(b, 100) }

// BenchmarkLocalFeeder is a standalone run's unique feeder: an atomic add.
func BenchmarkLocalFeeder(b *testing.B) {
	if b.N > benchRows {
		b.Skipf("%d rows wanted, %d in the feeder", b.N, benchRows)
	}
	_, plan := benchScenario(b, 0)
	f := plan.Feeders["acc"]
	pace(b, func() error {
		if _, ok := f.Next(nil); !ok {
			return fmt.Errorf("no rows left")
		}
		return nil
	})
}
