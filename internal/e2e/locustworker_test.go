//go:build e2e

package e2e

import (
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Unmodified Locust workers (Debian's python3-locust 2.12.1, which reports
// an empty version) join horde master -f locustfile.py and run the seed's
// locustfile (internal/locustfile/testdata/seed.py, as the seed ships it) against
// horde target on loopback.

func locustBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("locust")
	if err != nil {
		skipOrFail(t, "locust not installed (Debian package python3-locust)")
	}
	return p
}

// seedLocustfile copies the seed's locustfile into dir.
func seedLocustfile(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "internal", "locustfile", "testdata", "seed.py"))
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "locustfile.py", string(src))
}

func startLocustWorker(t *testing.T, dir string, port int) *proc {
	t.Helper()
	return start(t, dir, nil, locustBin(t), "-f", "locustfile.py", "--worker", "--master-host", "127.0.0.1", "--master-port", strconv.Itoa(port))
}

// Two Locust workers run the seed's locustfile for a horde master: the
// request names and their weights (3:2:1:1 within sampling error), no
// 401, one logout per login, and the users split over both workers.
func TestLocustWorkers_Seed(t *testing.T) {
	t.Parallel()
	locustBin(t)
	host := startTarget(t)
	dir := t.TempDir()
	seedLocustfile(t, dir)
	m, port := startMaster(t, dir, 0, "-f", "locustfile.py", "--headless", "-H", host, "-u", "30", "-r", "30", "-t", "25s",
		"--expect-workers", "2", "--expect-workers-max-wait", "60s", "--csv", "lw", "--only-summary")
	w1 := startLocustWorker(t, dir, port)
	w2 := startLocustWorker(t, dir, port)
	waitLog(t, m, regexp.MustCompile(`Locust worker reports an empty version`), 30*time.Second)
	waitLog(t, m, regexp.MustCompile(`users dispatched" users=30 workers=2 per_worker="\[15 15\]"`), 60*time.Second)
	waitLog(t, m, regexp.MustCompile(`all users spawned" users=30`), 20*time.Second)
	if code := m.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("master exit code %d\nstdout:\n%s\nstderr:\n%s", code, m.stdout, m.stderr)
	}
	for _, w := range []*proc{w1, w2} { // told to quit at the end, as a Locust master does
		if code := w.wait(t, 20*time.Second); code != 0 {
			t.Errorf("Locust worker exit code %d\n%s", code, w.stderr)
		}
	}
	if !strings.Contains(m.stdout.String(), "Locust workers report response times rounded") {
		t.Errorf("the summary does not qualify the percentiles:\n%s", m.stdout)
	}
	rows := statsRows(t, filepath.Join(dir, "lw_stats.csv"))
	login, logout := count(t, rows["POST /api/login"], 2), count(t, rows["POST /api/logout"], 2)
	if login != 30 || logout != login {
		t.Errorf("logins %d, logouts %d: want 30 of each (one per user)", login, logout)
	}
	tasks := map[string]float64{"GET /api/data/[id]": 3, "GET /api/items": 2, "POST /api/items": 1, "PATCH /api/items/[id]": 1}
	total := 0
	for name := range tasks {
		total += count(t, rows[name], 2)
	}
	if total < 150 {
		t.Fatalf("only %d task requests: %v", total, rows)
	}
	for name, w := range tasks {
		p := w / 7
		got := float64(count(t, rows[name], 2))
		want := p * float64(total)
		if sd := math.Sqrt(float64(total) * p * (1 - p)); math.Abs(got-want) > 4*sd {
			t.Errorf("%s: %v of %d task requests, want %.0f ± %.0f (weight %v of 7)", name, got, total, want, 4*sd, w)
		}
	}
	for name, r := range rows {
		if name != " Aggregated" && count(t, r, 3) != 0 {
			t.Errorf("%s: %s failures", name, r[3])
		}
	}
	fails, _ := os.ReadFile(filepath.Join(dir, "lw_failures.csv"))
	if strings.Contains(string(fails), "401") {
		t.Errorf("401s in the failures:\n%s", fails)
	}
	t.Logf("%d task requests, %d logins, %d logouts", total, login, logout)
}

// kill -9 of one of two Locust workers: its users run on the other within
// 10 s.
func TestLocustWorkers_KillOne(t *testing.T) {
	t.Parallel()
	locustBin(t)
	host := startTarget(t)
	dir := t.TempDir()
	seedLocustfile(t, dir)
	m, port := startMaster(t, dir, 0, "-f", "locustfile.py", "--headless", "-H", host, "-u", "20", "-r", "20", "-t", "40s",
		"--expect-workers", "2", "--expect-workers-max-wait", "60s", "--csv", "k", "--only-summary")
	w1 := startLocustWorker(t, dir, port)
	startLocustWorker(t, dir, port)
	waitLog(t, m, regexp.MustCompile(`all users spawned" users=20`), 60*time.Second)
	killed := time.Now()
	if err := syscall.Kill(w1.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitLog(t, m, regexp.MustCompile(`worker lost`), 10*time.Second)
	waitLog(t, m, regexp.MustCompile(`per_worker="?\[20\]"? at_once=true`), 10*time.Second)
	back := false
	for time.Since(killed) < 10*time.Second+1500*time.Millisecond {
		if at, users := lastUsers(dir); users == 20 && at > killed.Unix()+1 {
			back = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !back {
		_, users := lastUsers(dir)
		t.Errorf("user count %d, not back to 20 within 10 s of the kill (+1.5 s for the history row)\n%s", users, m.stderr)
	}
	t.Logf("users back on the other worker %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	syscall.Kill(m.cmd.Process.Pid, syscall.SIGINT)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
}

// A horde worker (given the seed as a YAML scenario) and a Locust worker
// (the seed's locustfile) in one swarm share the users.
func TestLocustWorkers_MixedSwarm(t *testing.T) {
	t.Parallel()
	locustBin(t)
	host := startTarget(t)
	dir := t.TempDir()
	seedLocustfile(t, dir)
	seed, err := os.ReadFile(filepath.Join(repoRoot, "examples", "seed-api.yaml")) // with the locustfile's waits
	if err != nil {
		t.Fatal(err)
	}
	scen := writeFile(t, dir, "seed.yaml", strings.Replace(string(seed), "- name: api\n", "- name: APIUser\n", 1))
	m, port := startMaster(t, dir, 0, scen, "-f", "locustfile.py", "--headless", "-H", host, "-u", "20", "-r", "20", "-t", "15s",
		"--expect-workers", "2", "--expect-workers-max-wait", "60s", "--csv", "mx", "--only-summary")
	hw := startWorker(t, t.TempDir(), port)
	startLocustWorker(t, dir, port)
	waitLog(t, m, regexp.MustCompile(`users dispatched" users=20 workers=2 per_worker="\[10 10\]"`), 60*time.Second)
	waitLog(t, m, regexp.MustCompile(`all users spawned" users=20`), 20*time.Second)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	hw.wait(t, 20*time.Second)
	fromHorde := acknowledged(t, hw)
	rows := statsRows(t, filepath.Join(dir, "mx_stats.csv"))
	total := count(t, rows[" Aggregated"], 2)
	if logins := count(t, rows["POST /api/login"], 2); logins != 20 {
		t.Errorf("%d logins, want 20 (10 on each worker)", logins)
	}
	if fromHorde <= 0 || total-fromHorde <= 0 {
		t.Errorf("requests: %d in all, %d from the horde worker: want both workers to have sent some", total, fromHorde)
	}
	t.Logf("%d requests: %d from the horde worker, %d from the Locust worker", total, fromHorde, total-fromHorde)
}

// Driven from the web API: a start and an edit re-split the users over the
// Locust workers, a third worker joining mid-run gets its share at once,
// and /stop ends the run with one logout per login.
func TestLocustWorkers_WebLifecycle(t *testing.T) {
	t.Parallel()
	locustBin(t)
	host := startTarget(t)
	dir := t.TempDir()
	seedLocustfile(t, dir)
	m, port := startMaster(t, dir, 0, "-f", "locustfile.py", "-H", host, "--web-port", strconv.Itoa(webFreePort(t)), "--only-summary", "--csv", "wl")
	var base string
	for deadline := time.Now().Add(15 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if mm := webURLRE.FindStringSubmatch(m.stdout.String()); mm != nil {
			base = mm[1]
		}
	}
	if base == "" {
		t.Fatalf("no web UI:\n%s", m.stdout)
	}
	c := newAPIClient(base)
	startLocustWorker(t, dir, port)
	startLocustWorker(t, dir, port)
	waitLog(t, m, regexp.MustCompile(`worker joined.*workers=2`), 60*time.Second)
	if r := c.do(t, "POST", "/swarm", url.Values{"user_count": {"4"}, "spawn_rate": {"20"}}); r.status != 200 {
		t.Fatalf("/swarm: %d %s", r.status, r.body)
	}
	waitLog(t, m, regexp.MustCompile(`users dispatched" users=4 workers=2 per_worker="\[2 2\]"`), 10*time.Second)
	waitLog(t, m, regexp.MustCompile(`all users spawned" users=4`), 15*time.Second)
	if r := c.do(t, "POST", "/swarm", url.Values{"user_count": {"8"}, "spawn_rate": {"20"}}); r.status != 200 {
		t.Fatalf("/swarm edit: %d %s", r.status, r.body)
	}
	waitLog(t, m, regexp.MustCompile(`users dispatched" users=8 workers=2 per_worker="\[4 4\]"`), 10*time.Second)
	startLocustWorker(t, dir, port)
	waitLog(t, m, regexp.MustCompile(`users dispatched" users=8 workers=3 per_worker="\[3 3 2\]" at_once=true`), 60*time.Second)
	time.Sleep(4 * time.Second) // a report from every worker
	if r := c.do(t, "GET", "/stop", nil); r.status != 200 {
		t.Fatalf("/stop: %d %s", r.status, r.body)
	}
	waitLog(t, m, regexp.MustCompile(`run stopped`), 30*time.Second)
	if code := m.sigint(t); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "wl_stats.csv"))
	login, logout := count(t, rows["POST /api/login"], 2), count(t, rows["POST /api/logout"], 2)
	// 8 users, and the 2 the third worker started when two others each
	// gave one up (which logged out then).
	if login != 10 || logout != login {
		t.Errorf("logins %d, logouts %d: want 10 of each\n%s", login, logout, m.stderr)
	}
}

// -T and class names reach Locust workers: only the tagged task of the
// named class runs.
func TestLocustWorkers_TagsAndClasses(t *testing.T) {
	t.Parallel()
	locustBin(t)
	host := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "locustfile.py", `from locust import HttpUser, task, tag, constant

class A(HttpUser):
    wait_time = constant(0.2)

    @tag("t1")
    @task
    def tagged(self):
        self.client.get("/delay/0", name="a-tagged")

    @task
    def plain(self):
        self.client.get("/delay/0", name="a-plain")

class B(HttpUser):
    wait_time = constant(0.2)

    @task
    def b(self):
        self.client.get("/delay/0", name="b")
`)
	m, port := startMaster(t, dir, 0, "-f", "locustfile.py", "A", "-T", "t1", "--headless", "-H", host, "-u", "2", "-r", "10", "-t", "6s",
		"--expect-workers", "1", "--expect-workers-max-wait", "60s", "--csv", "tg", "--only-summary")
	startLocustWorker(t, dir, port)
	if code := m.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "tg_stats.csv"))
	if count(t, rows["GET a-tagged"], 2) == 0 {
		t.Errorf("the tagged task of A did not run: %v", rows)
	}
	for _, name := range []string{"GET a-plain", "GET b"} {
		if n := count(t, rows[name], 2); n != 0 {
			t.Errorf("%s ran %d times: -T t1 and class A should leave it out", name, n)
		}
	}
}

// The master killed (SIGKILL) and started again with the same command on
// its runs dir: it resumes the run file (same run id), the Locust workers,
// whose sockets reconnect by themselves without a new client_ready, are
// taken in by their ids, the run goes on with their users and ends when it
// would have, and the stop still collects one logout per login.
func TestLocustWorkers_MasterRestart(t *testing.T) {
	t.Parallel()
	locustBin(t)
	host := startTarget(t)
	dir := t.TempDir()
	seedLocustfile(t, dir)
	port := freePort(t)
	const runTime = 30 * time.Second
	args := []string{"-f", "locustfile.py", "--headless", "-H", host, "-u", "10", "-r", "10", "-t", runTime.String(),
		"--expect-workers", "2", "--expect-workers-max-wait", "60s", "--csv", "rs", "--only-summary",
		// --resume: the e2e package sets HORDE_RESUME=false for every
		// other test (runs_test.go), whose killed masters must not resume.
		"--runs-dir", "runs", "--runs-interval", "1s", "--resume"}
	m1, _ := startMaster(t, dir, port, args...)
	path := runFileOf(t, m1, dir)
	w1 := startLocustWorker(t, dir, port)
	w2 := startLocustWorker(t, dir, port)
	waitLog(t, m1, regexp.MustCompile(`all users spawned" users=10`), 60*time.Second)
	time.Sleep(5 * time.Second)
	if err := syscall.Kill(m1.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-m1.done
	before := readRun(t, path)
	if len(before.ticks) == 0 || before.latest == 0 {
		t.Fatalf("before the kill: %d ticks, %d requests\n%s", len(before.ticks), before.latest, m1.stderr)
	}

	m2, _ := startMaster(t, dir, port, args...)
	if got := runFileOf(t, m2, dir); got != path || !strings.Contains(m2.stdout.String(), "resumed run "+before.run.ID) {
		t.Fatalf("the new master did not resume run %s in %s:\n%s\n%s", before.run.ID, path, m2.stdout, m2.stderr)
	}
	waitLog(t, m2, regexp.MustCompile(`run resumed`), 15*time.Second)
	waitLog(t, m2, regexp.MustCompile(`(?s)reconnected without client_ready.*reconnected without client_ready`), 20*time.Second)
	if code := m2.wait(t, runTime+60*time.Second); code != 0 {
		t.Fatalf("resumed master: exit code %d\n%s\n%s", code, m2.stdout, m2.stderr)
	}
	for _, w := range []*proc{w1, w2} { // told to quit at the end, as a Locust master does
		if code := w.wait(t, 20*time.Second); code != 0 {
			t.Errorf("Locust worker exit code %d\n%s", code, w.stderr)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "runs", "*.db"))
	if len(files) != 1 {
		t.Errorf("run files %v: want the one resumed", files)
	}
	after := readRun(t, path)
	if after.run.ID != before.run.ID || after.run.Ended.IsZero() {
		t.Fatalf("run after resume: %+v", after.run)
	}
	if d := after.run.Ended.Sub(after.run.Started); d < runTime || d > runTime+15*time.Second {
		t.Errorf("run lasted %v, want about %v (the downtime included)", d, runTime)
	}
	if after.latest <= before.latest {
		t.Errorf("%d requests after the restart, %d before: the workers' requests were not counted on", after.latest, before.latest)
	}
	rows := statsRows(t, filepath.Join(dir, "rs_stats.csv"))
	login, logout := count(t, rows["POST /api/login"], 2), count(t, rows["POST /api/logout"], 2)
	if login != 10 || logout != 10 {
		t.Errorf("logins %d, logouts %d: want 10 of each (one per user, across the restart)\n%s", login, logout, m2.stderr)
	}
	if n := count(t, rows[" Aggregated"], 2); int64(n) != after.latest {
		t.Errorf("CSV total %d, run file %d", n, after.latest)
	}
}

// --stop-timeout reaches Locust workers in each spawn: at the stop, each
// user's request in flight (4 s, the second begun about 4 s into a 6 s
// run: a spawn late by up to 2 s keeps it so) completes and is counted with
// --stop-timeout 10s, and is cut off and not counted without it.
func TestLocustWorkers_StopTimeout(t *testing.T) {
	t.Parallel()
	locustBin(t)
	host := startTarget(t)
	const users = 4
	for _, c := range []struct {
		name string
		args []string
		want int // slow requests counted: two per user, or one
	}{
		{"with", []string{"--stop-timeout", "10s"}, 2 * users},
		{"without", nil, users},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "locustfile.py", `from locust import HttpUser, task, constant

class Slow(HttpUser):
    wait_time = constant(0)

    @task
    def slow(self):
        self.client.get("/delay/4000", name="slow")
`)
			args := append([]string{"-f", "locustfile.py", "--headless", "-H", host, "-u", strconv.Itoa(users), "-r", "100", "-t", "6s",
				"--expect-workers", "1", "--expect-workers-max-wait", "60s", "--csv", "st", "--only-summary"}, c.args...)
			m, port := startMaster(t, dir, 0, args...)
			w := startLocustWorker(t, dir, port)
			if code := m.wait(t, 90*time.Second); code != 0 {
				t.Fatalf("master exit code %d\n%s", code, m.stderr)
			}
			if code := w.wait(t, 20*time.Second); code != 0 {
				t.Errorf("Locust worker exit code %d\n%s", code, w.stderr)
			}
			rows := statsRows(t, filepath.Join(dir, "st_stats.csv"))
			if got := count(t, rows["GET slow"], 2); got != c.want {
				t.Errorf("%d slow requests counted, want %d (%s --stop-timeout)\n%s", got, c.want, c.name, m.stderr)
			}
			if n := count(t, rows["GET slow"], 3); n != 0 {
				t.Errorf("%d slow requests failed", n)
			}
		})
	}
}

// --config-users as Locust's: B's fixed_count and A's weight change the
// master's split, also for Debian's 2.12 worker, which predates
// update_user_class (the master warns that B's other attribute does not
// reach it); each user logs in once in on_start, so the logins per class
// are its users. A class the locustfile lacks is bad input naming the flag.
func TestLocustWorkers_ConfigUsers(t *testing.T) {
	t.Parallel()
	locustBin(t)
	host := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "locustfile.py", `from locust import HttpUser, task, constant

class A(HttpUser):
    wait_time = constant(1)

    def on_start(self):
        self.client.get("/delay/0", name="start-a")

    @task
    def a(self):
        pass

class B(HttpUser):
    weight = 5
    wait_time = constant(1)

    def on_start(self):
        self.client.get("/delay/0", name="start-b")

    @task
    def b(self):
        pass
`)
	bad := start(t, dir, nil, hordeBin, "master", "-f", "locustfile.py", "--headless", "-u", "1", "-t", "1s", "--master-bind-port", "0",
		"--config-users", `{"user_class_name": "C", "weight": 2}`)
	if code := bad.wait(t, 30*time.Second); code != 2 || !strings.Contains(bad.stderr.String(), `--config-users "{\"user_class_name\": \"C\", \"weight\": 2}": user class "C" is not in the locustfile (its classes: A, B)`) {
		t.Errorf("an unknown class: exit %d, want 2 naming --config-users and the class\n%s", code, bad.stderr)
	}
	m, port := startMaster(t, dir, 0, "-f", "locustfile.py", "--headless", "-H", host, "-u", "5", "-r", "10", "-t", "4s",
		"--config-users", `{"user_class_name": "B", "fixed_count": 1, "some_attr": 1}`, "--config-users", `[{"user_class_name": "A", "weight": 3}]`,
		"--expect-workers", "1", "--expect-workers-max-wait", "60s", "--csv", "cu", "--only-summary")
	startLocustWorker(t, dir, port)
	if code := m.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "cu_stats.csv"))
	if a, b := count(t, rows["GET start-a"], 2), count(t, rows["GET start-b"], 2); a != 4 || b != 1 {
		t.Errorf("users A %d, B %d: want 4 and 1 (B fixed_count 1 from --config-users)", a, b)
	}
	if !strings.Contains(m.stderr.String(), "predates update_user_class") || !strings.Contains(m.stderr.String(), "not_applied=some_attr") {
		t.Errorf("no warning that the 2.12 worker does not get some_attr:\n%s", m.stderr)
	}
}

// What the master must read (weight, fixed_count) and cannot is bad input
// naming file:line:col; what only the workers need (a host or tags written
// as expressions) is a warning, and the Locust worker evaluates it: here
// its class's host, as os.getenv gives it, is where the requests go.
func TestLocustWorkers_UnreadableLocustfile(t *testing.T) {
	t.Parallel()
	locustBin(t)
	host := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "bad.py", "import os\nfrom locust import HttpUser, task\n\nclass A(HttpUser):\n    weight = int(os.getenv(\"W\", \"1\"))\n\n    @task\n    def t(self):\n        pass\n")
	bad := start(t, dir, nil, hordeBin, "master", "-f", "bad.py", "--headless", "-u", "1", "-t", "1s", "--master-bind-port", "0")
	if code := bad.wait(t, 30*time.Second); code != 2 || !strings.Contains(bad.stderr.String(), "bad.py:5:5: weight is not a number horde can read without running Python") {
		t.Errorf("an unreadable weight: exit %d, want 2 naming bad.py:5:5\n%s", code, bad.stderr)
	}
	writeFile(t, dir, "locustfile.py", `import os
from locust import HttpUser, task, tag, constant
TAGS = ["t1"]

class A(HttpUser):
    host = os.getenv("TARGET_HOST", "`+host+`")
    wait_time = constant(0.5)

    @tag(*TAGS)
    @task
    def t(self):
        self.client.get("/delay/0", name="from-class-host")
`)
	m, port := startMaster(t, dir, 0, "-f", "locustfile.py", "--headless", "-u", "1", "-r", "1", "-t", "3s",
		"--expect-workers", "1", "--expect-workers-max-wait", "60s", "--csv", "uh", "--only-summary")
	startLocustWorker(t, dir, port)
	if code := m.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	for _, want := range []string{"locustfile.py:6:5: class A: host is an expression horde cannot read", "class A: locustfile.py:9:6: @tag with a value horde cannot read"} {
		if !strings.Contains(m.stderr.String(), want) {
			t.Errorf("no warning %q:\n%s", want, m.stderr)
		}
	}
	rows := statsRows(t, filepath.Join(dir, "uh_stats.csv"))
	if n := count(t, rows["GET from-class-host"], 2); n == 0 || count(t, rows["GET from-class-host"], 3) != 0 {
		t.Errorf("requests to the class's own host: %v", rows["GET from-class-host"])
	}
}
