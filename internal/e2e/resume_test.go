//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/csv"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/store"
)

// recorded is what a run file holds, read by the test.
type recorded struct {
	run      store.Run
	ticks    []stats.Tick
	total    int64 // Aggregated requests summed over the interval rows
	latest   int64 // the latest cumulative Aggregated requests
	events   []stats.Event
	fileSize int64
}

func readRun(t *testing.T, path string) recorded {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	var r recorded
	if r.run, err = st.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if r.ticks, err = st.Ticks(ctx); err != nil {
		t.Fatal(err)
	}
	ivs, err := st.Intervals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, iv := range ivs {
		if iv.Name == stats.AggregatedName {
			r.total += iv.Requests
		}
	}
	if snap, err := st.Latest(ctx); err != nil {
		t.Fatal(err)
	} else if snap != nil {
		r.latest = snap.Total.Requests
	}
	if r.events, err = st.Events(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// A master with two workers is killed with SIGKILL mid-run and started
// again on the same --runs-dir: it reopens the run (same id), restores the
// cumulative statistics, the workers rejoin and get their users back, the
// run ends when it would have, and the file keeps every tick written before
// the kill, with a gap no longer than the downtime, recorded as an event;
// every request the target served is counted once.
func TestResume_MasterKilled(t *testing.T) {
	host, admin := startTargetWithAdmin(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "runs.yaml", runsScenario)
	port := freePort(t)
	const runTime = 30 * time.Second
	args := []string{file, "--headless", "-u", "6", "-r", "100", "-t", runTime.String(), "-H", host,
		"--expect-workers", "2", "--expect-workers-max-wait", "30s", "--only-summary", "--stop-timeout", "5s",
		"--runs-dir", "runs", "--resume", "--csv", "out"}
	m1, _ := startMaster(t, dir, port, args...)
	path := runFileOf(t, m1, dir)
	var workers []*proc
	for range 2 {
		workers = append(workers, startWorker(t, t.TempDir(), port))
	}
	waitLog(t, m1, regexp.MustCompile(`all users spawned" users=6`), 20*time.Second)
	// Killed at any phase of the 2 s writes: reports counted since the last
	// write must come again from the workers, the others not.
	time.Sleep(7*time.Second + time.Duration(rand.IntN(2000))*time.Millisecond)
	if err := syscall.Kill(m1.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-m1.done
	killed := time.Now()
	before := readRun(t, path)
	if len(before.ticks) < 4 || before.total == 0 || before.total != before.latest {
		t.Fatalf("before the kill: %d ticks, %d requests in intervals, %d cumulative", len(before.ticks), before.total, before.latest)
	}

	time.Sleep(3 * time.Second) // the master is away
	m2, _ := startMaster(t, dir, port, args...)
	restarted := time.Now()
	if !strings.Contains(m2.stdout.String(), "resumed run "+before.run.ID) {
		runFileOf(t, m2, dir)
		if !strings.Contains(m2.stdout.String(), "resumed run "+before.run.ID) {
			t.Fatalf("the new master did not resume run %s:\n%s\n%s", before.run.ID, m2.stdout, m2.stderr)
		}
	}
	if code := m2.wait(t, runTime+30*time.Second); code != 0 {
		t.Fatalf("resumed master: exit code %d\n%s\n%s", code, m2.stdout, m2.stderr)
	}
	for _, w := range workers {
		if code := w.wait(t, 20*time.Second); code != 0 {
			t.Errorf("worker exit code %d\n%s", code, w.stderr)
		}
	}

	files, _ := filepath.Glob(filepath.Join(dir, "runs", "*.db"))
	if len(files) != 1 {
		t.Fatalf("run files %v: want the one resumed", files)
	}
	after := readRun(t, path)
	if after.run.ID != before.run.ID || after.run.Status != store.StatusPassed || after.run.Ended.IsZero() {
		t.Fatalf("run after resume: %+v", after.run)
	}
	// The run ends when it would have, the downtime included.
	if d := after.run.Ended.Sub(after.run.Started); d < runTime || d > runTime+10*time.Second {
		t.Errorf("run lasted %v, want about %v", d, runTime)
	}
	// Every tick written before the kill is still there.
	have := map[int64]bool{}
	for _, tk := range after.ticks {
		have[tk.Time.UnixMilli()] = true
	}
	for _, tk := range before.ticks {
		if !have[tk.Time.UnixMilli()] {
			t.Fatalf("tick %v, written before the kill, is gone", tk.Time)
		}
	}
	// One gap, no longer than the downtime plus a write interval (2 s, the
	// default --runs-interval) on each side of it, and the new master's start.
	downtime := restarted.Sub(killed)
	var gaps []time.Duration
	for i := 1; i < len(after.ticks); i++ {
		if g := after.ticks[i].Time.Sub(after.ticks[i-1].Time); g > 3500*time.Millisecond {
			gaps = append(gaps, g)
		}
	}
	if len(gaps) != 1 || gaps[0] > downtime+8*time.Second {
		t.Errorf("gaps between ticks %v, want one no longer than the downtime %v (+8 s)", gaps, downtime.Round(time.Millisecond))
	}
	var gapEvent string
	for _, e := range after.events {
		if e.Kind == "gap" {
			gapEvent = e.Detail
		}
	}
	kinds := map[string]int{}
	for _, e := range after.events {
		kinds[e.Kind]++
	}
	// Each worker joined both masters; the run started, was resumed, stopped.
	if gapEvent == "" || kinds["worker joined"] != 4 || kinds["run started"] != 1 || kinds["run resumed"] != 1 || kinds["spawn complete"] < 1 || kinds["stop"] != 1 {
		t.Errorf("events %v: %+v", kinds, after.events)
	}
	// Statistics went on from where they were: the cumulative count is the
	// sum of the intervals, and grew after the restart with the workers'
	// users back.
	if after.total != after.latest || after.latest <= before.latest {
		t.Errorf("after: %d requests in intervals, %d cumulative; before the kill %d", after.total, after.latest, before.latest)
	}
	lastTicks := after.ticks[len(after.ticks)-5:]
	for _, tk := range lastTicks[:3] {
		if tk.Users != 6 {
			t.Errorf("users near the end %+v, want 6 (workers got their users back)", lastTicks)
			break
		}
	}
	rows := statsRows(t, filepath.Join(dir, "out_stats.csv"))
	if got := count(t, rows[" Aggregated"], 2); int64(got) != after.latest {
		t.Errorf("CSV total %d, run file %d", got, after.latest)
	}
	// The per-minute histograms hold every request too: the minute in
	// progress at the kill is in the checkpoint, and the completed ones are
	// written with the tick that takes them off it.
	code, out, errOut := hordeIn(t, dir, "percentiles", path, "--format", "csv")
	prow, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(prow) < 2 || prow[len(prow)-1][1] != "Aggregated" {
		t.Fatalf("percentiles: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if got, _ := strconv.ParseInt(prow[len(prow)-1][2], 10, 64); got != after.latest {
		t.Errorf("the per-minute histograms hold %d requests; the run %d", got, after.latest)
	}
	// Each request counted once: a report is acknowledged only once the
	// checkpoint holding it is written, so what the killed master had not
	// written yet the workers resend, and what it had they do not count twice.
	if got := served(t, admin); got != after.latest {
		t.Errorf("the master counted %d requests; the target served %d", after.latest, got)
	}
	if _, err := os.Stat(path + ".lock"); err == nil {
		t.Errorf("lock file left after the run ended")
	}
	// The resumed master kept each worker's share for it while it reconnected:
	// the first worker back was not given all 6 users.
	dispatched := regexp.MustCompile(`users dispatched.* per_worker="?\[([0-9 ]+)\]`).FindAllStringSubmatch(m2.stderr.String(), -1)
	if len(dispatched) == 0 {
		t.Errorf("the resumed master dispatched no users:\n%s", m2.stderr)
	}
	for _, d := range dispatched {
		if d[1] != "3 3" {
			t.Errorf("the resumed master dispatched %s users per worker, want 3 3:\n%s", d[1], m2.stderr)
			break
		}
	}
	t.Logf("run %s: %d requests before the kill, %d in all; downtime %v, gap %v; event %q",
		after.run.ID, before.latest, after.latest, downtime.Round(time.Millisecond), gaps, gapEvent)
}

// served sums the target's horde_target_requests_total (its admin /metrics).
func served(t *testing.T, admin string) int64 {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "horde_target_requests_total{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return int64(sum)
}

// `horde master --sigterm handover` (what the Kubernetes manifests set): a
// master sent SIGTERM, as when its pod is deleted, leaves the run going; the
// workers keep their users and move to the next master, which resumes the
// run. Not one request is lost or counted twice: the master's final count
// equals what the target served.
func TestResume_SigtermHandsOver(t *testing.T) {
	host, admin := startTargetWithAdmin(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "runs.yaml", runsScenario)
	port := freePort(t)
	args := []string{file, "--headless", "-u", "4", "-r", "100", "-t", "15s", "-H", host,
		"--expect-workers", "2", "--expect-workers-max-wait", "30s", "--only-summary", "--stop-timeout", "5s",
		"--runs-dir", "runs", "--resume", "--sigterm", "handover", "--csv", "out", "--runs-interval", "1s"}
	m1, _ := startMaster(t, dir, port, args...)
	path := runFileOf(t, m1, dir)
	var workers []*proc
	for range 2 {
		workers = append(workers, startWorker(t, t.TempDir(), port))
	}
	waitLog(t, m1, regexp.MustCompile(`all users spawned" users=4`), 20*time.Second)
	time.Sleep(3 * time.Second)
	if err := syscall.Kill(m1.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := m1.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("master on SIGTERM: exit code %d\n%s", code, m1.stderr)
	}
	if !strings.Contains(m1.stderr.String(), "handing the run over") {
		t.Errorf("the master did not hand over:\n%s", m1.stderr)
	}
	handed := readRun(t, path)
	if !handed.run.Ended.IsZero() {
		t.Fatalf("the run was finished on SIGTERM: %+v", handed.run)
	}
	for _, w := range workers {
		select {
		case <-w.done:
			t.Fatalf("a worker exited with the master:\n%s", w.stderr)
		default:
		}
	}
	time.Sleep(time.Second)
	m2, _ := startMaster(t, dir, port, args...)
	if code := m2.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("resumed master: exit code %d\n%s\n%s", code, m2.stdout, m2.stderr)
	}
	if !strings.Contains(m2.stdout.String(), "resumed run "+handed.run.ID) {
		t.Fatalf("the new master did not resume run %s:\n%s", handed.run.ID, m2.stdout)
	}
	after := readRun(t, path)
	kinds := map[string]int{}
	for _, e := range after.events {
		kinds[e.Kind]++
	}
	if kinds["handed over"] != 1 || kinds["gap"] != 1 || kinds["run resumed"] != 1 || after.run.Status != store.StatusPassed {
		t.Errorf("run %+v, events %v", after.run, kinds)
	}
	rows := statsRows(t, filepath.Join(dir, "out_stats.csv"))
	counted := int64(count(t, rows[" Aggregated"], 2))
	if got := served(t, admin); counted != got || counted != after.latest || counted <= handed.latest {
		t.Errorf("the master counted %d requests (run file %d, %d at the handover); the target served %d", counted, after.latest, handed.latest, got)
	}
	t.Logf("handed over at %d requests; %d in all, the target served %d", handed.latest, counted, served(t, admin))
}

// `horde run --headless` killed with SIGKILL (a Job pod evicted) and
// started again with the same command on the same --runs-dir resumes its
// run: same run id, the statistics from before the kill kept, the users
// started again, and the run ends at the time set at its start.
func TestResume_RunKilled(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "runs.yaml", runsScenario)
	const runTime = 20 * time.Second
	args := []string{"run", file, "--headless", "-u", "4", "-r", "100", "-t", runTime.String(), "-H", host,
		"--only-summary", "--runs-dir", "runs", "--runs-interval", "1s", "--csv", "out", "--resume"}
	p1 := start(t, dir, nil, hordeBin, args...)
	path := runFileOf(t, p1, dir)
	waitLog(t, p1, regexp.MustCompile(`all users spawned" users=4`), 20*time.Second)
	time.Sleep(5 * time.Second)
	if err := syscall.Kill(p1.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p1.done
	before := readRun(t, path)
	if before.latest == 0 {
		t.Fatalf("nothing recorded before the kill")
	}

	time.Sleep(2 * time.Second)
	p2 := start(t, dir, nil, hordeBin, args...)
	runFileOf(t, p2, dir)
	if !strings.Contains(p2.stdout.String(), "resumed run "+before.run.ID) {
		t.Fatalf("the second horde run did not resume run %s:\n%s\n%s", before.run.ID, p2.stdout, p2.stderr)
	}
	if code := p2.wait(t, runTime+30*time.Second); code != 0 {
		t.Fatalf("resumed run: exit code %d\n%s\n%s", code, p2.stdout, p2.stderr)
	}
	after := readRun(t, path)
	if after.run.ID != before.run.ID || after.run.Status != store.StatusPassed {
		t.Fatalf("run after resume: %+v", after.run)
	}
	if d := after.run.Ended.Sub(after.run.Started); d < runTime || d > runTime+6*time.Second {
		t.Errorf("run lasted %v, want about %v (the stop time set at the start)", d, runTime)
	}
	if after.latest <= before.latest || after.total != after.latest {
		t.Errorf("after: %d requests (%d in intervals); before the kill %d", after.latest, after.total, before.latest)
	}
	last := after.ticks[len(after.ticks)-3]
	if last.Users != 4 {
		t.Errorf("users near the end: %d, want 4 (started again)", last.Users)
	}
	rows := statsRows(t, filepath.Join(dir, "out_stats.csv"))
	if got := count(t, rows[" Aggregated"], 2); int64(got) != after.latest {
		t.Errorf("CSV total %d, run file %d", got, after.latest)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "runs", "*.db"))
	if len(files) != 1 {
		t.Errorf("run files %v: want the one resumed", files)
	}
}
