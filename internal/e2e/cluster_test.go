//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Distributed runs through the binary: a master and workers as separate
// processes on loopback, killed by PID at cleanup, every load bounded.

var masterAddrRE = regexp.MustCompile(`listening for workers on ([0-9.]+:[0-9]+)`)

// startMaster runs `horde master` on a free loopback port (or port, when
// not 0) and returns it with the port workers dial.
func startMaster(t *testing.T, dir string, port int, args ...string) (*proc, int) {
	t.Helper()
	all := append([]string{"master", "--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(port)}, args...)
	p := start(t, dir, nil, hordeBin, all...)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := masterAddrRE.FindStringSubmatch(p.stdout.String()); m != nil {
			_, ps, _ := net.SplitHostPort(m[1])
			n, _ := strconv.Atoi(ps)
			return p, n
		}
		select {
		case <-p.done:
			t.Fatalf("master exited: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("master did not listen:\n%s\n%s", p.stdout, p.stderr)
	return nil, 0
}

func startWorker(t *testing.T, dir string, port int, args ...string) *proc {
	t.Helper()
	return start(t, dir, nil, hordeBin, append([]string{"worker", "--master-port", strconv.Itoa(port)}, args...)...)
}

// waitLog waits until the process's stderr matches re, or fails.
func waitLog(t *testing.T, p *proc, re *regexp.Regexp, limit time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line matching %q within %v in %v:\n%s", re, limit, p.cmd.Args, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var ackedRE = regexp.MustCompile(`worker stopped.*requests_acknowledged=(\d+) reports_unacknowledged=(\d+)`)

// acknowledged returns how many requests a worker that has exited says the
// master acknowledged.
func acknowledged(t *testing.T, p *proc) int {
	t.Helper()
	m := ackedRE.FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("worker printed no totals:\n%s", p.stderr)
	}
	if m[2] != "0" {
		t.Errorf("worker exited with %s unacknowledged reports", m[2])
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func freePort(t *testing.T) int {
	t.Helper()
	freePorts.Lock()
	defer freePorts.Unlock()
	if freePorts.given == nil {
		freePorts.given = map[int]bool{}
	}
	// Ports below Linux's ephemeral range (32768 up): a port released here
	// is not taken meanwhile by a connection's source port or by a
	// concurrent process listening on port 0, as one from the range was.
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if freePorts.given[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		freePorts.given[p] = true
		return p
	}
	t.Fatal("no free loopback port between 20000 and 32000")
	return 0
}

// freePorts are the ports freePort gave out in this test binary.
var freePorts struct {
	sync.Mutex
	given map[int]bool
}

// seedCluster starts a headless master of the seed scenario (without
// waits) against a new target, with args, expecting n workers, and the n
// workers; it returns them with the master's directory.
func seedCluster(t *testing.T, n int, args ...string) (m *proc, workers []*proc, dir string) {
	t.Helper()
	host := startTarget(t)
	dir = t.TempDir()
	file := writeFile(t, dir, "seed.yaml", seedNoWait(t))
	all := append([]string{file, "--headless", "-H", host, "--expect-workers", strconv.Itoa(n), "--expect-workers-max-wait", "30s"}, args...)
	m, port := startMaster(t, dir, 0, all...)
	for range n {
		workers = append(workers, startWorker(t, t.TempDir(), port))
	}
	return m, workers, dir
}

// A master and three workers run the seed scenario: the users are split
// exactly, and the master's totals are the sum of what the workers sent.
func TestCluster_ThreeWorkersTotals(t *testing.T) {
	m, workers, dir := seedCluster(t, 3, "-u", "31", "-r", "200", "-t", "5s", "--csv", "out/dist", "--only-summary")
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d\nstdout:\n%s\nstderr:\n%s", code, m.stdout, m.stderr)
	}
	sum := 0
	for i, w := range workers {
		if code := w.wait(t, 20*time.Second); code != 0 {
			t.Fatalf("worker %d exit code %d\n%s", i, code, w.stderr)
		}
		sum += acknowledged(t, w)
	}
	if got := waitLog(t, m, regexp.MustCompile(`per_worker="\[(\d+ \d+ \d+)\]"`), time.Second)[1]; got != "11 10 10" {
		t.Errorf("31 users over 3 workers: got %s, want 11 10 10", got)
	}
	// The master told its workers to quit as it ended: their leaving is no
	// warning.
	if strings.Contains(m.stderr.String(), "worker disconnected") {
		t.Errorf("the master warned of workers it had told to quit:\n%s", m.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "out", "dist_stats.csv"))
	total := count(t, rows[" Aggregated"], 2)
	if total < 1000 {
		t.Fatalf("only %d requests", total)
	}
	if total != sum {
		t.Errorf("master counted %d requests; the workers' acknowledged reports hold %d", total, sum)
	}
	if got := count(t, rows["POST /api/login"], 2); got != 31 {
		t.Errorf("logins %d, want 31 (on_start once per user, over all workers)", got)
	}
	if got := count(t, rows["POST /api/logout"], 2); got != 31 {
		t.Errorf("logouts %d, want 31 (on_stop in the final reports)", got)
	}
}

var usersRE = regexp.MustCompile(`(?m)^([0-9]+),([0-9]+),,Aggregated,`)

// lastUsers returns the time and user count of the last row of the history CSV.
func lastUsers(dir string) (unix int64, users int) {
	b, err := readFileQuiet(filepath.Join(dir, "k_stats_history.csv"))
	if err != nil {
		return 0, -1
	}
	all := usersRE.FindAllStringSubmatch(b, -1)
	if len(all) == 0 {
		return 0, -1
	}
	unix, _ = strconv.ParseInt(all[len(all)-1][1], 10, 64)
	users, _ = strconv.Atoi(all[len(all)-1][2])
	return unix, users
}

// kill -9 of a worker: its users run on the others within 5 s and the user
// count returns to the target; nothing counted before is lost.
func TestCluster_KillWorker(t *testing.T) {
	m, workers, dir := seedCluster(t, 3, "-u", "30", "-r", "300", "-t", "25s", "--csv", "k", "--only-summary")
	waitLog(t, m, regexp.MustCompile(`all users spawned" users=30`), 15*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for requestsSoFar(dir) <= 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	before := requestsSoFar(dir)
	victim := workers[0]
	killed := time.Now()
	if err := syscall.Kill(victim.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitLog(t, m, regexp.MustCompile(`worker lost`), 5*time.Second)
	waitLog(t, m, regexp.MustCompile(`per_worker="\[15 15\]" at_once=true`), 5*time.Second)
	for _, w := range workers[1:] {
		waitLog(t, w, regexp.MustCompile(`users reassigned.*users=15`), 5*time.Second)
	}
	// The reported user count is back to 30 (the history is written every
	// second from the workers' heartbeats).
	back := false
	for time.Since(killed) < 5*time.Second+1500*time.Millisecond {
		if at, users := lastUsers(dir); users == 30 && at > killed.Unix()+1 {
			back = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !back {
		_, users := lastUsers(dir)
		t.Errorf("user count %d, not back to 30 within 5 s of the kill (+1.5 s for the history row)", users)
	}
	t.Logf("users back on the others %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	syscall.Kill(m.cmd.Process.Pid, syscall.SIGINT)
	if code := m.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "k_stats.csv"))
	if final := count(t, rows[" Aggregated"], 2); final < before || before <= 0 {
		t.Errorf("requests counted before the kill %d, at the end %d: want none lost", before, final)
	}
}

// requestsSoFar reads the total request count of the last history row.
func requestsSoFar(dir string) int {
	b, err := readFileQuiet(filepath.Join(dir, "k_stats_history.csv"))
	if err != nil {
		return -1
	}
	lines := strings.Split(strings.TrimSpace(b), "\n")
	for i := len(lines) - 1; i > 0; i-- {
		f := strings.Split(lines[i], ",")
		if len(f) > 17 && f[3] == "Aggregated" {
			n, _ := strconv.Atoi(f[17])
			return n
		}
	}
	return -1
}

// A worker that joins mid-run gets its share at once: users rebalance
// within one report interval (2 s).
func TestCluster_WorkerJoinsMidRun(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "seed.yaml", seedNoWait(t))
	// --exit-code-on-error 0: the test stops the run within milliseconds of the
	// join, and a user stopped during its on_start login still runs its on_stop
	// logout (as Locust does), without a token: one 401 is possible.
	m, port := startMaster(t, dir, 0, file, "--headless", "-u", "30", "-r", "300", "-t", "20s", "-H", host,
		"--expect-workers", "2", "--expect-workers-max-wait", "30s", "--only-summary", "--exit-code-on-error", "0")
	a, b := startWorker(t, t.TempDir(), port), startWorker(t, t.TempDir(), port)
	waitLog(t, m, regexp.MustCompile(`all users spawned" users=30`), 15*time.Second)
	c := startWorker(t, t.TempDir(), port)
	joined := waitLog(t, m, regexp.MustCompile(`worker joined.*index=2`), 15*time.Second)
	_ = joined
	t0 := time.Now()
	waitLog(t, c, regexp.MustCompile(`run started.*users=10`), 2*time.Second)
	waitLog(t, a, regexp.MustCompile(`users reassigned.*users=10`), 2*time.Second)
	waitLog(t, b, regexp.MustCompile(`users reassigned.*users=10`), 2*time.Second)
	t.Logf("rebalanced %v after the join was logged", time.Since(t0).Round(10*time.Millisecond))
	syscall.Kill(m.cmd.Process.Pid, syscall.SIGINT)
	if code := m.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
}

// requestLog is a target that logs when each request arrived.
type requestLog struct {
	mu    sync.Mutex
	times []time.Time
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.times = append(l.times, time.Now())
	l.mu.Unlock()
	fmt.Fprintln(w, "ok")
}

func (l *requestLog) since(t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.times {
		if x.After(t) {
			n++
		}
	}
	return n
}

// The master is killed: the workers stop their load within the grace
// period (seen from the target's own request log), reconnect to a new
// master, and run again when it tells them.
func TestCluster_MasterKilled(t *testing.T) {
	log := &requestLog{}
	target := httptest.NewServer(log)
	defer target.Close()
	dir := t.TempDir()
	file := writeFile(t, dir, "ping.yaml", `host: `+target.URL+`
users:
  - name: pinger
    wait: {constant: 20ms}
    tasks:
      - get: /ping
`)
	port := freePort(t)
	const grace = 2 * time.Second
	m1, _ := startMaster(t, dir, port, file, "--headless", "-u", "6", "-r", "100", "-t", "2m",
		"--expect-workers", "2", "--expect-workers-max-wait", "30s", "--only-summary")
	var workers []*proc
	for range 2 {
		workers = append(workers, startWorker(t, t.TempDir(), port, "--master-lost-timeout", grace.String()))
	}
	waitLog(t, m1, regexp.MustCompile(`all users spawned" users=6`), 15*time.Second)
	time.Sleep(time.Second)
	killed := time.Now()
	if log.since(killed.Add(-500*time.Millisecond)) == 0 {
		t.Fatal("no load before the kill")
	}
	if err := syscall.Kill(m1.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-m1.done
	for _, w := range workers {
		waitLog(t, w, regexp.MustCompile(`master lost`), grace+3*time.Second)
	}
	// A grace period, plus a check interval and the users' stop.
	quiet := killed.Add(grace + time.Second)
	time.Sleep(time.Until(quiet) + 2*time.Second)
	if n := log.since(quiet); n != 0 {
		t.Errorf("%d requests reached the target more than %v after the master died", n, grace+time.Second)
	}
	t.Logf("requests after the kill: %d within the grace period, 0 after", log.since(killed))

	// A new master on the same port: the workers rejoin and run again.
	m2, _ := startMaster(t, dir, port, file, "--headless", "-u", "4", "-r", "100", "-t", "3s",
		"--expect-workers", "2", "--expect-workers-max-wait", "30s", "--csv", "again", "--only-summary")
	restarted := time.Now()
	if code := m2.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("second master exit code %d\n%s", code, m2.stderr)
	}
	if n := log.since(restarted); n == 0 {
		t.Error("no load after the new master started")
	}
	rows := statsRows(t, filepath.Join(dir, "again_stats.csv"))
	if got := count(t, rows["GET /ping"], 2); got == 0 {
		t.Errorf("the new master counted no requests")
	}
	for _, w := range workers {
		if code := w.wait(t, 20*time.Second); code != 0 {
			t.Errorf("worker exit code %d\n%s", code, w.stderr)
		}
	}
}

// A worker with a wrong token, or of another version, is refused loudly on
// both sides.
func TestCluster_Refusals(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "ping.yaml", "host: http://127.0.0.1:9\nusers:\n  - name: a\n    tasks:\n      - get: /\n")
	m, port := startMaster(t, dir, 0, file, "--headless", "-u", "1", "-t", "1m", "--worker-token", "s3cret",
		"--expect-workers", "1", "--expect-workers-max-wait", "20s")
	w := startWorker(t, dir, port, "--worker-token", "wrong")
	if code := w.wait(t, 20*time.Second); code != 2 {
		t.Errorf("worker with a wrong token: exit code %d, want 2\n%s", code, w.stderr)
	}
	if !strings.Contains(w.stderr.String(), "wrong worker token") {
		t.Errorf("worker does not say why:\n%s", w.stderr)
	}
	waitLog(t, m, regexp.MustCompile(`worker refused.*wrong worker token`), 5*time.Second)

	// Another version: built with a different cli.Version.
	bin := filepath.Join(buildDir, "horde-other")
	build := start(t, repoRoot, nil, "go", "build", "-o", bin, "-ldflags", "-X github.com/horde-load/horde/cli.Version=9.9.9", "./cmd/horde")
	if code := build.wait(t, 5*time.Minute); code != 0 {
		t.Fatalf("build: %s", build.stderr)
	}
	old := start(t, dir, []string{"HORDE_WORKER_TOKEN=s3cret"}, bin, "worker", "--master-port", strconv.Itoa(port))
	if code := old.wait(t, 20*time.Second); code != 2 {
		t.Errorf("worker of another version: exit code %d, want 2\n%s", code, old.stderr)
	}
	for _, want := range []string{"9.9.9", "0.1.0-dev", "version mismatch"} {
		if !strings.Contains(old.stderr.String(), want) {
			t.Errorf("worker's refusal lacks %q:\n%s", want, old.stderr)
		}
	}
	line := waitLog(t, m, regexp.MustCompile(`worker refused.*version mismatch[^\n]*`), 5*time.Second)[0]
	for _, want := range []string{"9.9.9", "0.1.0-dev"} {
		if !strings.Contains(line, want) {
			t.Errorf("master's refusal lacks %q: %s", want, line)
		}
	}
	syscall.Kill(m.cmd.Process.Pid, syscall.SIGINT)
	m.wait(t, 20*time.Second)
}

func readFileQuiet(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
