//go:build e2e

package e2e

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Masters killed by a test's cleanup leave unfinished runs in the runs
// directory (TestMain gives every test binary its own): only the resume test
// resumes (with --resume on its command line).
func init() {
	os.Setenv("HORDE_RESUME", "false")
}

var runFileRE = regexp.MustCompile(`run file: (\S+)`)

const runsScenario = `
thresholds:
  - "p95 < 5s"
users:
  - name: a
    wait: {constant: 10ms}
    tasks:
      - get: /delay/0
        name: home
      - get: /delay/0
        name: items
`

// runFileOf waits for the "run file:" line of p and returns the path,
// relative to dir when it is.
func runFileOf(t *testing.T, p *proc, dir string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := runFileRE.FindStringSubmatch(p.stdout.String()); m != nil {
			path := m[1]
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			return path
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no run file printed\nstdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
	return ""
}

func hordeIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	p := start(t, dir, nil, hordeBin, args...)
	code := p.wait(t, 30*time.Second)
	return code, p.stdout.String(), p.stderr.String()
}

// A run writes its file; runs lists it; analyze judges it again with the
// documented exit codes; report rebuilds the HTML, JSON and Markdown.
func TestRuns_RecordListAnalyzeReport(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "runs.yaml", runsScenario)
	runs := filepath.Join(dir, "runs")
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "2", "-r", "10", "-t", "3s", "-H", host, "--only-summary", "--runs-dir", runs)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("run: exit code %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	path := runFileOf(t, p, dir)
	if filepath.Dir(path) != runs || !strings.HasSuffix(path, ".db") {
		t.Fatalf("run file %s not in %s", path, runs)
	}
	id := strings.TrimSuffix(filepath.Base(path), ".db")
	for _, junk := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + junk); err == nil {
			t.Errorf("%s%s left behind after a clean end", path, junk)
		}
	}
	// A foreign file in the runs dir is skipped, never touched.
	foreign := writeFile(t, runs, "notes.db", "not a database, just text that happens to end in .db")

	code, out, errOut := hordeIn(t, dir, "runs", "--runs-dir", runs)
	if code != 0 {
		t.Fatalf("runs: exit %d\n%s", code, errOut)
	}
	var row string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, id) {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) != 8 || f[4] != "passed" || f[5] == "0" || f[7] != "0" {
		t.Fatalf("runs: want a passed row for %s with requests and exit 0:\n%s", id, out)
	}
	if !strings.Contains(errOut, "notes.db") || !strings.Contains(errOut, "not a horde run file") {
		t.Errorf("runs: the foreign file is not reported:\n%s", errOut)
	}
	if b, _ := os.ReadFile(foreign); string(b) != "not a database, just text that happens to end in .db" {
		t.Errorf("the foreign file was changed")
	}

	code, out, errOut = hordeIn(t, dir, "analyze", path)
	if code != 0 || !strings.Contains(out, "PASS  threshold  p95 < 5s holds") || !strings.Contains(out, "throughput") {
		t.Fatalf("analyze: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = hordeIn(t, dir, "analyze", "--runs-dir", runs, id, "--threshold", "p99 < 1us", "--format", "json")
	if code != 1 || !strings.Contains(errOut, "p99 < 1us") {
		t.Fatalf("analyze with a failing threshold: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	var doc struct {
		Passed   bool `json:"passed"`
		Verdicts []struct{ Kind, Name, Status string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Passed || len(doc.Verdicts) < 2 {
		t.Fatalf("analyze --format json: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"analyze", filepath.Join(dir, "missing.db")},
		{"analyze", foreign},
		{"analyze", path, "--threshold", "p99 << 1s"},
		{"analyze", path, "--format", "xml"},
		{"report", path, "--format", "xml"},
	} {
		if code, _, errOut := hordeIn(t, dir, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", bad, code, errOut)
		}
	}

	if code, _, errOut := hordeIn(t, dir, "report", path, "-o", "x.html"); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := hordeIn(t, dir, "report", path, "-o", "x.txt", "--format", "markdown"); code != 0 {
		t.Fatalf("report --format markdown: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := hordeIn(t, dir, "report", path, "-o", "x.json"); code != 0 {
		t.Fatalf("report -o x.json: exit %d\n%s", code, errOut)
	}
	for _, f := range []string{"x.html", "x.txt", "x.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"home", "items", "p95 &lt; 5s"} {
			if f != "x.html" {
				want = strings.ReplaceAll(want, "&lt;", "<")
			}
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", f, want)
			}
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "x.txt"))
	if !strings.HasPrefix(string(md), "# ") || !strings.Contains(string(md), "| GET | home |") {
		t.Errorf("markdown summary:\n%s", md)
	}
}

// A run killed with SIGKILL leaves a readable file with every tick up to
// the kill.
func TestRuns_KilledRunIsReadable(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "runs.yaml", runsScenario)
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "2", "-r", "10", "-t", "60s", "-H", host, "--only-summary", "--runs-dir", "runs")
	path := runFileOf(t, p, dir)
	started := time.Now()
	time.Sleep(4 * time.Second)
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	p.wait(t, 10*time.Second)
	elapsed := time.Since(started)

	code, out, errOut := hordeIn(t, dir, "runs", "--runs-dir", "runs")
	if code != 0 || !strings.Contains(out, strings.TrimSuffix(filepath.Base(path), ".db")) {
		t.Fatalf("runs: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = hordeIn(t, dir, "report", path, "--format", "json")
	if code != 0 {
		t.Fatalf("report of a killed run: exit %d\n%s", code, errOut)
	}
	var doc struct {
		Info struct {
			Title  string `json:"title"`
			Passed bool   `json:"passed"`
		} `json:"info"`
		Stats   []struct{ Name string }
		History []struct {
			Requests int64 `json:"requests"`
		} `json:"history"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("report json: %v\n%s", err, out)
	}
	// A tick written every 2 s (--runs-interval): every one before the kill
	// is there, but the one in flight.
	if want := int(elapsed/(2*time.Second)) - 1; len(doc.History) < want {
		t.Errorf("%d ticks recorded in %v before the kill, want at least %d", len(doc.History), elapsed, want)
	}
	if n := len(doc.History); n == 0 || doc.History[n-1].Requests == 0 {
		t.Errorf("no requests in the recorded history: %+v", doc.History)
	}
	if len(doc.Stats) != 2 || doc.Info.Passed || !strings.Contains(doc.Info.Title, "unfinished") {
		t.Errorf("report of a killed run: %+v", doc.Info)
	}
	if code, out, errOut := hordeIn(t, dir, "analyze", path); code != 0 || !strings.Contains(out, "p95 < 5s") {
		t.Errorf("analyze of a killed run: exit %d\n%s\n%s", code, out, errOut)
	}
}

// The run's exceptions (here: users that found no row left in a unique
// feeder) are recorded in its file: `horde report RUN` lists the same ones
// as the run's own exceptions CSV.
func TestRuns_ExceptionsRecorded(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "users.csv", "name\nonly-one\n")
	file := writeFile(t, dir, "feed.yaml", `
data:
  creds: {file: users.csv, mode: unique}
users:
  - name: a
    feed: [creds]
    wait: {constant: 50ms}
    tasks:
      - get: /delay/0
        name: home
`)
	runs := filepath.Join(dir, "runs")
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "3", "-r", "30", "-t", "2s", "-H", host,
		"--only-summary", "--runs-dir", runs, "--csv", "out")
	if code := p.wait(t, 30*time.Second); code != 1 {
		t.Fatalf("run: exit code %d, want 1 (exceptions)\n%s\n%s", code, p.stdout, p.stderr)
	}
	path := runFileOf(t, p, dir)
	f, err := os.Open(filepath.Join(dir, "out_exceptions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 2 || rows[1][0] != "2" {
		t.Fatalf("exceptions CSV: want one exception, twice: %q %v", rows, err)
	}
	if code, _, errOut := hordeIn(t, dir, "report", path, "-o", "x.json"); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, "x.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Exceptions []struct {
			Count   int64  `json:"count"`
			Message string `json:"message"`
			Nodes   string `json:"nodes"`
		} `json:"exceptions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Exceptions) != 1 || doc.Exceptions[0].Count != 2 || doc.Exceptions[0].Nodes != "local" ||
		doc.Exceptions[0].Message != rows[1][1] {
		t.Errorf("report of the run file: exceptions %+v; the run's CSV: %q", doc.Exceptions, rows)
	}
}

// analyze of a finished run reproduces the verdicts the run printed, line
// for line, whatever --runs-interval wrote of the statistics: the run file
// keeps every point of the history the run judged.
func TestRuns_AnalyzeReproducesTheRun(t *testing.T) {
	t.Parallel()
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "runs.yaml", runsScenario)
	runs := filepath.Join(dir, "runs")
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "4", "-r", "2", "-t", "24s", "-H", host,
		"--only-summary", "--runs-dir", runs, "--runs-interval", "4s")
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run: exit code %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	verdicts := func(out string) []string {
		var vs []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 2 && (f[1] == "check" || f[1] == "threshold") &&
				slices.Contains([]string{"PASS", "WARN", "FAIL", "INCONCLUSIVE"}, f[0]) {
				vs = append(vs, strings.TrimSpace(l))
			}
		}
		slices.Sort(vs)
		return vs
	}
	ran := verdicts(p.stdout.String())
	if len(ran) < 4 {
		t.Fatalf("the run printed %d verdicts:\n%s", len(ran), p.stdout)
	}
	path := runFileOf(t, p, dir)
	code, out, errOut := hordeIn(t, dir, "analyze", path)
	// analyze's checks decide its exit code (a run's inform): 1 exactly
	// when a check or threshold failed (a loaded machine can make a short
	// run's p95 climb), else 0.
	failed := slices.ContainsFunc(ran, func(v string) bool { return strings.HasPrefix(v, "FAIL") })
	if want := map[bool]int{false: 0, true: 1}[failed]; code != want {
		t.Fatalf("analyze: exit %d, want %d for the run's verdicts\n%s\n%s", code, want, out, errOut)
	}
	if again := verdicts(out); !slices.Equal(ran, again) {
		t.Errorf("analyze judged the run differently:\nrun:\n%s\nanalyze:\n%s", strings.Join(ran, "\n"), strings.Join(again, "\n"))
	}
	if strings.Contains(out, " now, ") {
		t.Errorf("analyze says a verdict differs:\n%s", out)
	}
}
