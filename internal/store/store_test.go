package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// gen makes the cumulative snapshot of tick i of a run with n names, each
// doing 10 requests a second (1 failure every 10 ticks).
func gen(n, i int) *stats.Snapshot {
	s := &stats.Snapshot{Time: t0.Add(time.Duration(i) * time.Second), Start: t0}
	ps := make([]float64, len(stats.Percentiles))
	for j := range ps {
		ps[j] = float64(10 + j + i%7)
	}
	var tot int64
	for k := 0; k < n; k++ {
		e := stats.Entry{Method: "GET", Name: fmt.Sprintf("/api/item/%02d", k), Requests: int64(10 * (i + 1)), Failures: int64((i + 1) / 10),
			AvgMs: 12.5, MinMs: 1, MaxMs: 99, AvgContentSize: 512, CurrentRPS: 10, Percentiles: ps, CurrentPercentiles: ps}
		tot += e.Requests
		s.Entries = append(s.Entries, e)
	}
	s.Total = stats.Entry{Name: stats.AggregatedName, Requests: tot, Failures: int64(n * (i + 1) / 10), AvgMs: 12.5, AvgContentSize: 512,
		CurrentRPS: float64(10 * n), Percentiles: ps, CurrentPercentiles: ps}
	return s
}

// ivGen makes the interval of tick i of gen(n, i): what was recorded since
// tick i-1.
func ivGen(n, i int) *stats.Interval {
	iv := &stats.Interval{Start: t0.Add(time.Duration(i-1) * time.Second), End: t0.Add(time.Duration(i) * time.Second), Entries: map[stats.Key]*stats.IntervalEntry{}}
	for k := 0; k < n; k++ {
		e := &stats.IntervalEntry{Bytes: 10 * 512, WireBytes: 10 * 512}
		if k == 0 { // the failures of gen's total
			e.Failures = int64(n*(i+1)/10 - n*i/10)
		}
		e.Summary = stats.Summary{Count: 10, SumMicros: 10 * 12500, MinMicros: 1000, MaxMicros: 99000}
		iv.Entries[stats.Key{Method: "GET", Name: fmt.Sprintf("/api/item/%02d", k)}] = e
	}
	return iv
}

// tickOf is the Tick of tick i of a run with n names and users users.
func tickOf(n, i, users int, samples []Sample) Tick {
	return Tick{Snapshot: gen(n, i), Interval: ivGen(n, i), Load: Load{Users: users}, Samples: samples}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Create(ctx, dir, Run{Started: t0, Config: json.RawMessage(`{"users":3}`), Scenario: "host: x"})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(s.Path()) != dir || filepath.Ext(s.Path()) != Ext {
		t.Fatalf("path %s", s.Path())
	}
	for i := 0; i < 5; i++ {
		sm := []Sample{{Series: "x rss", Metric: "process_resident_memory_bytes", Memory: true, T: t0.Add(time.Duration(i) * time.Second), V: float64(1000 + i)}}
		if err := s.Tick(ctx, tickOf(2, i, 3, sm)); err != nil {
			t.Fatal(err)
		}
	}
	// idle tick: nothing recorded
	if err := s.Tick(ctx, Tick{Snapshot: gen(2, 4), Interval: &stats.Interval{}}); err != nil {
		t.Fatal(err)
	}
	final := gen(2, 4)
	final.Errors = []stats.Error{{Method: "GET", Name: "/api/item/00", Message: "HTTP 500", Occurrences: 1}}
	if err := s.Finish(ctx, Final{End: t0.Add(5 * time.Second), Status: StatusFailed, ExitCode: 1, Snapshot: final,
		Verdicts:   []soak.Verdict{{Kind: "threshold", Name: "p95 < 1ms", Status: "fail", Reason: "too slow"}},
		Exceptions: []stats.Exception{{Message: "KeyError: token", Traceback: "step 2", Nodes: "local", Count: 3}, {Message: "boom", Count: 7}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	r, err := Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	run, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != StatusFailed || run.ExitCode != 1 || string(run.Config) != `{"users":3}` || run.Scenario != "host: x" || !run.Ended.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("run %+v", run)
	}
	ticks, _ := r.Ticks(ctx)
	if len(ticks) != 5 || ticks[0].Users != 3 {
		t.Fatalf("ticks %+v", ticks)
	}
	ivs, _ := r.Intervals(ctx)
	if len(ivs) != 15 {
		t.Fatalf("%d intervals", len(ivs))
	}
	var agg int64
	for _, iv := range ivs {
		if iv.Name == stats.AggregatedName {
			agg += iv.Requests
			if iv.Requests != 20 || iv.Mean != 12.5 || iv.Bytes != 20*512 || iv.P95 != float64(15+iv.T.Sub(t0)/time.Second%7) {
				t.Fatalf("interval %+v", iv)
			}
		}
	}
	if agg != 100 {
		t.Fatalf("aggregated requests %d", agg)
	}
	snap, err := r.Latest(ctx)
	if err != nil || snap == nil || len(snap.Entries) != 2 || snap.Total.Requests != 100 || len(snap.Errors) != 1 {
		t.Fatalf("latest %+v %v", snap, err)
	}
	ser, _ := r.Series(ctx)
	if len(ser) != 1 || len(ser[0].Points) != 5 || !ser[0].Memory || ser[0].Points[4].V != 1004 {
		t.Fatalf("series %+v", ser)
	}
	vs, _ := r.Verdicts(ctx)
	if len(vs) != 1 || vs[0].Status != "fail" {
		t.Fatalf("verdicts %+v", vs)
	}
	ex, err := r.Exceptions(ctx)
	if err != nil || len(ex) != 2 || ex[0] != (stats.Exception{Message: "boom", Count: 7}) ||
		ex[1] != (stats.Exception{Message: "KeyError: token", Traceback: "step 2", Nodes: "local", Count: 3}) {
		t.Fatalf("exceptions %+v %v", ex, err)
	}
	evs, _ := r.Events(ctx)
	if len(evs) != 3 || evs[0].Kind != "start" || evs[1].Kind != "stop" || evs[2].Kind != "verdict" {
		t.Fatalf("events %+v", evs)
	}
	sums, err := List(ctx, dir)
	if err != nil || len(sums) != 1 || sums[0].Requests != 100 || sums[0].Failures != 1 || sums[0].Err != nil {
		t.Fatalf("list %+v %v", sums, err)
	}
}

func TestResetStats(t *testing.T) {
	ctx := context.Background()
	s, err := Create(ctx, t.TempDir(), Run{Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	s.Tick(ctx, tickOf(1, 9, 1, nil))
	reset := tickOf(1, 0, 1, nil) // cumulative counts went down: a reset
	reset.Snapshot.Time = t0.Add(time.Minute)
	s.Tick(ctx, reset)
	ivs, _ := s.Intervals(ctx)
	for _, iv := range ivs {
		if iv.Requests < 0 {
			t.Fatalf("negative delta %+v", iv)
		}
	}
	if ivs[len(ivs)-1].Requests != 10 {
		t.Fatalf("after reset %+v", ivs[len(ivs)-1])
	}
}

func TestForeignFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.db")
	os.WriteFile(text, []byte("not a database at all, just some text that is long enough to look like a header"), 0o644)
	if _, err := Open(ctx, text); !errors.Is(err, ErrForeign) {
		t.Fatalf("text file: %v", err)
	}
	before, _ := os.ReadFile(text)
	if string(before) != "not a database at all, just some text that is long enough to look like a header" {
		t.Fatal("foreign file changed")
	}
	// another application's SQLite file
	other := filepath.Join(dir, "other.db")
	s, err := open(ctx, other, true)
	if err != nil {
		t.Fatal(err)
	}
	s.db.Exec(`CREATE TABLE t (x)`)
	s.db.Close()
	if _, err := Open(ctx, other); !errors.Is(err, ErrForeign) {
		t.Fatalf("other sqlite file: %v", err)
	}
	if _, err := Open(ctx, filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Fatal("Open created a missing file")
	}
	sums, err := List(ctx, dir)
	if err != nil || len(sums) != 2 || sums[0].Err == nil || sums[1].Err == nil {
		t.Fatalf("list: %+v %v", sums, err)
	}
	// Create never overwrites.
	if _, err := Create(ctx, dir, Run{ID: "other"}); err == nil {
		t.Fatal("Create overwrote a file")
	}
}

// TestSizePerDay measures the file's growth for 20 names at 1 s ticks and
// extrapolates it to a day (see docs/runs.md).
func TestSizePerDay(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ctx := context.Background()
	s, err := Create(ctx, t.TempDir(), Run{Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	const names, ticks = 20, 3600
	size := func() int64 {
		s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		fi, err := os.Stat(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	base := size()
	start := time.Now()
	for i := 0; i < ticks; i++ {
		sm := []Sample{
			{Series: "http://t/metrics process_resident_memory_bytes", Metric: "process_resident_memory_bytes", Memory: true, T: t0.Add(time.Duration(i) * time.Second), V: 1e8 + float64(i)},
			{Series: "http://t/metrics go_goroutines", Metric: "go_goroutines", T: t0.Add(time.Duration(i) * time.Second), V: 42},
		}
		tk := tickOf(names, i, 100, sm)
		tk.History = []stats.Tick{{Time: t0.Add(time.Duration(i) * time.Second), Users: 100, RPS: 812.5, FailPerSec: 1.5,
			P50Ms: 12.5, P95Ms: 48.25, P99Ms: 97.5, Requests: int64(812 * i), Failures: int64(i), Target: 100, SchedDelayMs: 0.25}}
		if err := s.Tick(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	per := time.Since(start) / ticks
	grown := size() - base
	perDay := float64(grown) / ticks * 86400
	t.Logf("%d names, 1 s ticks, 2 target series: %d bytes per tick, %.0f MB per day (%.1f GB per 7 days); %v per tick written",
		names, grown/ticks, perDay/1e6, perDay*7/1e9, per)
	if perDay > 2e9 {
		t.Errorf("%.0f MB per day: the format grew", perDay/1e6)
	}
	s.Close(ctx)
	if math.IsNaN(perDay) {
		t.Fatal("nan")
	}
}

func BenchmarkTick(b *testing.B) {
	ctx := context.Background()
	s, err := Create(ctx, b.TempDir(), Run{Started: t0})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	ticks := make([]Tick, 100)
	for i := range ticks {
		ticks[i] = tickOf(20, i, 100, nil)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk := ticks[i%100]
		sn := *tk.Snapshot
		sn.Time = t0.Add(time.Duration(i) * time.Second)
		tk.Snapshot = &sn
		if err := s.Tick(ctx, tk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTickState is a master's tick with its resume state: 20 names and
// a 260 KB statistics state (a long soak's histograms), replaced every tick.
func BenchmarkTickState(b *testing.B) {
	ctx := context.Background()
	s, err := Create(ctx, b.TempDir(), Run{Started: t0})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	blob := make([]byte, 260<<10)
	for i := range blob {
		blob[i] = 'a' + byte(i%26)
	}
	st := &State{Stats: json.RawMessage(`"` + string(blob) + `"`), Master: json.RawMessage(`{"run_id":"x"}`)}
	for i := 0; b.Loop(); i++ {
		tk := tickOf(20, i%100, 100, nil)
		tk.Snapshot.Time = t0.Add(time.Duration(i) * time.Second)
		tk.State = st
		if err := s.Tick(ctx, tk); err != nil {
			b.Fatal(err)
		}
	}
	s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	if fi, err := os.Stat(s.Path()); err == nil {
		b.ReportMetric(float64(fi.Size())/1e6, "MB-file")
	}
}

// A file of an older schema (here version 2, without the exceptions table,
// the ticks' scheduling delay and the history table) is brought up to date
// when opened, and keeps what it holds: its history rebuilt from the ticks
// goes into the history table, so a resumed run keeps its start.
func TestMigrateFromVersion2(t *testing.T) {
	ctx := context.Background()
	s, err := Create(ctx, t.TempDir(), Run{Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tick(ctx, tickOf(2, 0, 3, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `DROP TABLE exceptions; DROP TABLE history; ALTER TABLE ticks DROP COLUMN sched_delay; PRAGMA user_version = 2`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	var ver int
	if err := r.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&ver); err != nil || ver != Version || Version != 6 {
		t.Fatalf("user_version %d (%v), Version %d", ver, err, Version)
	}
	if ex, err := r.Exceptions(ctx); err != nil || len(ex) != 0 {
		t.Fatalf("exceptions %+v %v", ex, err)
	}
	if ticks, err := r.Ticks(ctx); err != nil || len(ticks) != 1 || ticks[0].SchedDelayMs != 0 {
		t.Fatalf("ticks %+v %v", ticks, err)
	}
	var kept int
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM history`).Scan(&kept); err != nil || kept != 1 {
		t.Fatalf("history rows %d (%v), want the one tick", kept, err)
	}
}

// Every history point a tick carries is kept, whatever was written of the
// ticks, and a reset forgets the points before it.
func TestHistoryKept(t *testing.T) {
	ctx := context.Background()
	s, err := Create(ctx, t.TempDir(), Run{Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	pt := func(sec int, p95 float64) stats.Tick {
		return stats.Tick{Time: t0.Add(time.Duration(sec) * time.Second), Users: 3, RPS: 10, P95Ms: p95, Requests: int64(10 * sec), Target: 3, SchedDelayMs: 0.5, LoadCPUPct: 37.5}
	}
	tk := tickOf(2, 0, 3, nil)
	tk.History = []stats.Tick{pt(1, 5), pt(2, 6)}
	if err := s.Tick(ctx, tk); err != nil {
		t.Fatal(err)
	}
	tk = tickOf(4, 0, 3, nil)
	tk.History = []stats.Tick{pt(3, 7), pt(4, math.NaN())}
	if err := s.Tick(ctx, tk); err != nil {
		t.Fatal(err)
	}
	same := func(a, b stats.Tick) bool {
		ok := a.Time.Equal(b.Time)
		a.Time, b.Time = time.Time{}, time.Time{}
		return ok && a == b
	}
	h, err := s.History(ctx)
	if err != nil || len(h) != 4 || !same(h[0], pt(1, 5)) || !same(h[2], pt(3, 7)) || h[3].P95Ms != 0 {
		t.Fatalf("history %+v %v", h, err)
	}
	tk = tickOf(6, 0, 3, nil)
	tk.History, tk.HistoryReset = []stats.Tick{pt(6, 8)}, true
	if err := s.Tick(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if h, err := s.History(ctx); err != nil || len(h) != 1 || !same(h[0], pt(6, 8)) {
		t.Fatalf("after a reset: %+v %v", h, err)
	}
}

// A tick's scheduling delay is kept and read back.
func TestTickSchedDelay(t *testing.T) {
	ctx := context.Background()
	s, err := Create(ctx, t.TempDir(), Run{Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	tk := tickOf(2, 0, 3, nil)
	tk.Load.SchedDelayMs = 4.25
	if err := s.Tick(ctx, tk); err != nil {
		t.Fatal(err)
	}
	ticks, err := s.Ticks(ctx)
	if err != nil || len(ticks) != 1 || ticks[0].SchedDelayMs != 4.25 {
		t.Fatalf("ticks %+v %v", ticks, err)
	}
}
