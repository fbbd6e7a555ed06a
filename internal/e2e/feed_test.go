//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rowLog is a loopback target that counts the row values users send as
// /start?row=N, and answers every request.
type rowLog struct {
	mu   sync.Mutex
	rows map[string]int
	seqs map[string]int
	vus  map[string]int
}

func newRowLog() *rowLog {
	return &rowLog{rows: map[string]int{}, seqs: map[string]int{}, vus: map[string]int{}}
}

func (l *rowLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l.mu.Lock()
	if r.URL.Path == "/start" {
		l.rows[q.Get("row")]++
		if v := q.Get("vu"); v != "" {
			l.vus[v]++
		}
	}
	if s := q.Get("seq"); s != "" {
		l.seqs[s]++
	}
	l.mu.Unlock()
	fmt.Fprintln(w, "ok")
}

// check fails unless rows 1..n arrived exactly once each (and nothing else).
func (l *rowLog) check(t *testing.T, n int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var missing, twice, other []string
	for i := 1; i <= n; i++ {
		switch c := l.rows[strconv.Itoa(i)]; {
		case c == 0:
			missing = append(missing, strconv.Itoa(i))
		case c > 1:
			twice = append(twice, fmt.Sprintf("%d (x%d)", i, c))
		}
	}
	for k := range l.rows {
		if i, err := strconv.Atoi(k); err != nil || i < 1 || i > n {
			other = append(other, strconv.Quote(k))
		}
	}
	sort.Strings(other)
	if len(missing)+len(twice)+len(other) > 0 {
		t.Errorf("rows 1..%d: never used %v; used more than once %v; unexpected %v", n, missing, twice, other)
	}
}

func (l *rowLog) distinct() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.rows)
}

// rowsCSV is a one-column CSV of rows 1..n.
func rowsCSV(n int) string {
	var b strings.Builder
	b.WriteString("id\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}

// uniqueScenario is a scenario whose users each take a row of a unique
// feeder of n rows (prefetch rows leased ahead) and send it once.
func uniqueScenario(host string, prefetch int, load string) string {
	return fmt.Sprintf(`host: %s
data:
  accounts: {file: accounts.csv, mode: unique, prefetch: %d}
%s
users:
  - name: member
    feed: accounts
    wait: {constant: 200ms}
    on_start:
      - get: "/start?row={{ .accounts.id }}&vu={{ vu }}"
    tasks:
      - get: "/task?seq={{ seq }}"
`, host, prefetch, load)
}

// Two and five workers, a unique feeder of N rows and N users: every row
// is used exactly once over the cluster (the workers lease rows ahead and
// give back what the others need), and the user numbers and {{ seq }}
// values are unique cluster-wide.
func TestFeed_UniqueRowsAcrossWorkers(t *testing.T) {
	for _, tc := range []struct{ workers, users int }{{2, 12}, {5, 25}} {
		t.Run(fmt.Sprintf("%d workers", tc.workers), func(t *testing.T) {
			log := newRowLog()
			target := httptest.NewServer(log)
			defer target.Close()
			dir := t.TempDir()
			writeFile(t, dir, "accounts.csv", rowsCSV(tc.users))
			file := writeFile(t, dir, "unique.yaml", uniqueScenario(target.URL, 3, ""))
			m, port := startMaster(t, dir, 0, file, "--headless", "-u", strconv.Itoa(tc.users), "-r", "100", "-t", "4s",
				"--expect-workers", strconv.Itoa(tc.workers), "--expect-workers-max-wait", "30s", "--only-summary")
			for range tc.workers {
				startWorker(t, t.TempDir(), port)
			}
			if code := m.wait(t, 60*time.Second); code != 0 {
				t.Fatalf("master exit code %d\n%s", code, m.stderr)
			}
			log.check(t, tc.users)
			log.mu.Lock()
			defer log.mu.Unlock()
			if len(log.vus) != tc.users {
				t.Errorf("%d distinct user numbers over %d users: %v", len(log.vus), tc.users, log.vus)
			}
			for v, c := range log.vus {
				if c != 1 {
					t.Errorf("user number %s started %d users", v, c)
				}
			}
			if len(log.seqs) < tc.users {
				t.Errorf("only %d seq values", len(log.seqs))
			}
			for s, c := range log.seqs {
				if c != 1 {
					t.Errorf("seq %s sent %d times", s, c)
				}
			}
		})
	}
}

// kill -9 of a worker: the rows it leased and no user of it took go back
// to the pool, and the other worker's users use them. Two workers with 2
// users each lease 1+5 rows each (4 taken, 8 held unused); after the kill
// the load grows to 18 users, all on the survivor: the 16 rows left are
// only enough because the dead worker's 4 unused ones came back.
func TestFeed_UniqueRowsWorkerKilled(t *testing.T) {
	const rows = 20
	log := newRowLog()
	target := httptest.NewServer(log)
	defer target.Close()
	dir := t.TempDir()
	writeFile(t, dir, "accounts.csv", rowsCSV(rows))
	// The first stage outlasts the waits before the kill on a loaded machine
	// (the kill came after a 9 s stage in CI: the dead worker had used its rows).
	load := "load:\n  users: 4\n  stages:\n    - {duration: 16s, target: 4}\n    - {duration: 1s, target: 18}\n    - {duration: 3s, target: 18}\n"
	file := writeFile(t, dir, "unique.yaml", uniqueScenario(target.URL, 5, load))
	m, port := startMaster(t, dir, 0, file, "--headless", "-r", "100", "--report-interval", "500ms",
		"--expect-workers", "2", "--expect-workers-max-wait", "30s", "--only-summary", "--exit-code-on-error", "0")
	a := startWorker(t, t.TempDir(), port)
	b := startWorker(t, t.TempDir(), port)
	waitLog(t, a, regexp.MustCompile(`run started.*users=2`), 20*time.Second)
	waitLog(t, b, regexp.MustCompile(`run started.*users=2`), 5*time.Second)
	deadline := time.Now().Add(14 * time.Second)
	for log.distinct() < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := log.distinct(); n != 4 {
		log.mu.Lock()
		used := fmt.Sprint(log.rows)
		log.mu.Unlock()
		t.Fatalf("%d rows used before the kill, want 4: %s\nworker a:\n%s\nworker b:\n%s\nmaster:\n%s", n, used, a.stderr, b.stderr, m.stderr)
	}
	time.Sleep(1500 * time.Millisecond) // three report intervals: the rows taken are reported
	if err := syscall.Kill(b.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitLog(t, m, regexp.MustCompile(`rows of a missing worker back in the pool.*rows=4`), 10*time.Second)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	log.check(t, rows)
	if strings.Contains(m.stderr.String(), "no rows left") {
		t.Errorf("a user found no row:\n%s", m.stderr)
	}
}

// The master is killed mid-run and a new one resumes the run from its
// runs dir: no unique row is handed out twice (the checkpoint holds the
// used rows; the workers claim the ones their users took after it).
func TestFeed_UniqueRowsMasterRestarted(t *testing.T) {
	const rows = 16
	log := newRowLog()
	target := httptest.NewServer(log)
	defer target.Close()
	dir := t.TempDir()
	writeFile(t, dir, "accounts.csv", rowsCSV(rows))
	load := "load:\n  stages:\n    - {duration: 12s, target: 16}\n    - {duration: 4s, target: 16}\n"
	file := writeFile(t, dir, "unique.yaml", uniqueScenario(target.URL, 0, load))
	port := freePort(t)
	args := []string{file, "--headless", "-r", "100", "--expect-workers", "2", "--expect-workers-max-wait", "30s",
		"--only-summary", "--runs-dir", "runs", "--resume", "--exit-code-on-error", "0"}
	m1, _ := startMaster(t, dir, port, args...)
	var workers []*proc
	for range 2 {
		workers = append(workers, startWorker(t, t.TempDir(), port))
	}
	deadline := time.Now().Add(20 * time.Second)
	for log.distinct() < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// Past a written checkpoint (every 2 s): the rows used so far are
	// acknowledged, so the workers no longer hold them; only the run file does.
	time.Sleep(2500 * time.Millisecond)
	if err := syscall.Kill(m1.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-m1.done
	before := log.distinct()
	time.Sleep(time.Second)
	m2, _ := startMaster(t, dir, port, args...)
	if code := m2.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("resumed master exit code %d\n%s\n%s", code, m2.stdout, m2.stderr)
	}
	if !strings.Contains(m2.stdout.String(), "resumed run") {
		t.Fatalf("the new master did not resume the run:\n%s", m2.stdout)
	}
	t.Logf("%d rows used before the kill", before)
	log.check(t, rows)
	for _, w := range workers {
		w.wait(t, 20*time.Second)
	}
}

// A unique feeder taken per iteration, more rows than users, two workers
// with a prefetch: every row once over the cluster, then the users idle.
func TestFeed_UniquePerIterationAcrossWorkers(t *testing.T) {
	const rows = 60
	log := newRowLog()
	target := httptest.NewServer(log)
	defer target.Close()
	dir := t.TempDir()
	writeFile(t, dir, "accounts.csv", rowsCSV(rows))
	file := writeFile(t, dir, "iter.yaml", fmt.Sprintf(`host: %s
data:
  accounts: {file: accounts.csv, mode: unique, prefetch: 4}
users:
  - name: member
    feed: {accounts: per_iteration}
    wait: {constant: 20ms}
    tasks:
      - get: "/start?row={{ .accounts.id }}"
`, target.URL))
	m, port := startMaster(t, dir, 0, file, "--headless", "-u", "4", "-r", "100", "-t", "4s",
		"--expect-workers", "2", "--expect-workers-max-wait", "30s", "--only-summary", "--exit-code-on-error", "0")
	for range 2 {
		startWorker(t, t.TempDir(), port)
	}
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	log.check(t, rows)
}
