//go:build e2e

package e2e

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// seedNoWait is examples/seed-api.yaml without the 1-3 s wait, so that a
// few seconds give thousands of tasks.
func seedNoWait(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "examples", "seed-api.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	i := strings.Index(s, "wait:")
	if i < 0 {
		t.Fatal("examples/seed-api.yaml has no wait: line")
	}
	j := strings.IndexByte(s[i:], '\n')
	return s[:i] + "wait: {constant: 0s}" + s[i+j:]
}

// Locust's CSV headers, from LOCUST.md ("CSV files"); the stats CSV has
// horde's columns (bytes, request phases) after Locust's.
var locustHeaders = map[string]string{
	"_stats.csv":         "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Bytes Sent,Bytes Received,Connecting Avg,Connecting Max,TLS Handshaking Avg,TLS Handshaking Max,Waiting Avg,Waiting Max,Receiving Avg,Receiving Max",
	"_stats_history.csv": "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size",
	"_failures.csv":      "Method,Name,Error,Occurrences",
	"_exceptions.csv":    "Count,Message,Traceback,Nodes",
}

// The seed workload through the CLI: task weights hold, every authenticated
// request carries the captured token, on_stop runs once per user, and the
// result files have Locust's headers and include the on_stop requests.
func TestRun_SeedWorkload(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "seed.yaml", seedNoWait(t))
	const users = 10
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "10", "-r", "100", "-t", "5s",
		"-H", host, "--csv", "out/run", "--json", "out/summary.json", "--html", "out/report.html", "--only-summary")
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}

	for suffix, want := range locustHeaders {
		if got := firstLine(t, filepath.Join(dir, "out", "run"+suffix)); got != want {
			t.Errorf("%s header:\n got %s\nwant %s", suffix, got, want)
		}
	}

	rows := statsRows(t, filepath.Join(dir, "out", "run_stats.csv"))
	const reqs, fails = 2, 3
	data := count(t, rows["GET /api/data/[id]"], reqs)
	list := count(t, rows["GET /api/items"], reqs)
	create := count(t, rows["POST /api/items"], reqs)
	update := count(t, rows["PATCH /api/items/[id]"], reqs)
	tasks := data + list + create + update
	if tasks < 5000 {
		t.Fatalf("only %d tasks ran; the weight check needs at least 5000\n%s", tasks, p.stdout)
	}
	t.Logf("tasks: %d (data %d, list %d, create %d, update %d)", tasks, data, list, create, update)
	for _, w := range []struct {
		name   string
		got    int
		weight float64
	}{{"get_data", data, 3}, {"list_items", list, 2}, {"create_item", create, 1}, {"update_item", update, 1}} {
		// Each count within 10 % of its weight's share or, when the run drew
		// too few tasks for that to be fair, within 4 binomial standard
		// deviations (as checkSeed): an idle machine draws about 80,000 (10 %
		// is 11 sd of a weight-1 task), but at the 5,000 the check accepts, 10 %
		// alone fails a fair run with odds 0.8 % (with 4 sd: 1.4e-4).
		p := w.weight / 7
		want := float64(tasks) * p
		tol := max(0.10*want, 4*math.Sqrt(float64(tasks)*p*(1-p)))
		if math.Abs(float64(w.got)-want) > tol {
			t.Errorf("%s: %d of %d tasks, want %.0f ± %.0f", w.name, w.got, tasks, want, tol)
		}
	}

	if got := count(t, rows["POST /api/login"], reqs); got != users {
		t.Errorf("logins: got %d, want %d (on_start once per user)", got, users)
	}
	if got := count(t, rows["POST /api/logout"], reqs); got != users {
		t.Errorf("logouts: got %d, want %d (on_stop once per user, and in the final CSV)", got, users)
	}
	agg := rows[" Aggregated"]
	if got := count(t, agg, fails); got != 0 {
		failures := readCSV(t, filepath.Join(dir, "out", "run_failures.csv"))
		t.Errorf("failures: got %d, want 0 (no 401: every request carries the captured token)\n%v", got, failures)
	}

	var summary struct {
		Total struct {
			NumRequests int64 `json:"num_requests"`
		} `json:"total"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "out", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &summary); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	if got, want := summary.Total.NumRequests, int64(count(t, agg, reqs)); got != want {
		t.Errorf("JSON total requests %d, CSV %d: the two must agree", got, want)
	}
	html, err := os.ReadFile(filepath.Join(dir, "out", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/api/data/[id]", "uPlot"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if !strings.Contains(p.stdout.String(), "Aggregated") {
		t.Errorf("no summary table on stdout:\n%s", p.stdout)
	}
}

// A check that fails shows in _failures.csv with its message, and the exit
// code follows --exit-code-on-error.
func TestRun_CheckFailure(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "check.yaml", `
users:
  - name: checker
    tasks:
      - get: /api/data/1
        name: /api/data/[id]
        check: {status: 200}
      - get: /delay/0
        check: {body_contains: "nope"}
`)
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "2", "-r", "10", "-t", "2s",
		"-H", host, "--csv", "res", "--only-summary", "--exit-code-on-error", "7")
	if code := p.wait(t, 30*time.Second); code != 7 {
		t.Fatalf("exit code %d, want 7\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	rows := readCSV(t, filepath.Join(dir, "res_failures.csv"))
	var msgs []string
	for _, r := range rows[1:] {
		msgs = append(msgs, r[0]+" "+r[1]+": "+r[2])
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{
		"GET /api/data/[id]: check status: got 401, want 200",
		`GET /delay/0: check body_contains "nope": not found`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("_failures.csv lacks %q; it has:\n%s", want, joined)
		}
	}
}

// The seed's on_stop logs out only a user that logged in (`if
// self.token:`): a user stopped in the middle of its on_start (spawned
// as the run ends, its login cut short) sends no logout, so a healthy run
// has no 401; users whose on_start ran log out, each once.
func TestRun_StoppedDuringOnStartSendsNoOnStop(t *testing.T) {
	t.Parallel()
	host := startTarget(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		delay, runTime string
		logouts        int
	}{
		{"3000", "1s", 0}, // every login still waiting when the run stops
		{"0", "2s", 3},
	} {
		writeFile(t, dir, "s.yaml", `
users:
  - name: api
    wait: {constant: 100ms}
    on_start:
      - get: /delay/`+tt.delay+`
        name: /delay/[ms]
      - post: /api/login
        json: {username: "user_{{ vu }}", password: test123}
        capture: {token: {json: token}}
    tasks:
      - get: /api/items
        headers: {Authorization: "Bearer {{ .token }}"}
    on_stop:
      - post: /api/logout
        headers: {Authorization: "Bearer {{ .token }}"}
`)
		p := start(t, dir, nil, hordeBin, "run", "s.yaml", "--headless", "-H", host, "-u", "3", "-r", "100",
			"-t", tt.runTime, "--csv", "res", "--only-summary")
		if code := p.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("delay %s: exit code %d (a failure?)\nstdout:\n%s\nstderr:\n%s", tt.delay, code, p.stdout, p.stderr)
		}
		rows := statsRows(t, filepath.Join(dir, "res_stats.csv"))
		if got := count(t, rows["POST /api/logout"], 2); got != tt.logouts {
			t.Errorf("delay %s: %d logouts, want %d", tt.delay, got, tt.logouts)
		}
		if got := count(t, rows[" Aggregated"], 3); got != 0 {
			t.Errorf("delay %s: %d failures, want 0\n%s", tt.delay, got, p.stdout)
		}
	}
}

// SIGINT stops the run gracefully: on_stop runs and the files are final.
func TestRun_SIGINTStopsGracefully(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "seed.yaml", seedNoWait(t))
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "4", "-r", "100", "-t", "5m",
		"-H", host, "--csv", "sig", "--only-summary")
	time.Sleep(2 * time.Second)
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGINT\n%s\n%s", code, p.stdout, p.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "sig_stats.csv"))
	if got := count(t, rows["POST /api/logout"], 2); got != 4 {
		t.Errorf("logouts after SIGINT: got %d, want 4", got)
	}
}

// Every flag reads HORDE_* from the environment.
func TestRun_Environment(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "seed.yaml", seedNoWait(t))
	env := []string{"HORDE_USERS=3", "HORDE_SPAWN_RATE=50", "HORDE_RUN_TIME=2s", "HORDE_HOST=" + host,
		"HORDE_HEADLESS=true", "HORDE_CSV=env", "HORDE_ONLY_SUMMARY=true"}
	p := start(t, dir, env, hordeBin, "run", file)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "env_stats.csv"))
	if got := count(t, rows["POST /api/login"], 2); got != 3 {
		t.Errorf("logins: got %d, want 3 (HORDE_USERS=3)", got)
	}
}

func TestRun_BadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "ok.yaml", "host: http://127.0.0.1:9\nusers:\n  - name: a\n    tasks:\n      - get: /\n")
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unknown flag", nil, []string{"run", good, "--headless", "--nope"}, "horde run has no flag --nope"},
		{"bad duration", nil, []string{"run", good, "--headless", "-t", "5x"}, "5x"},
		{"bad env", []string{"HORDE_USERS=many"}, []string{"run", good, "--headless"}, "HORDE_USERS"},
		{"missing file", nil, []string{"run", filepath.Join(dir, "nope.yaml"), "--headless"}, "nope.yaml"},
		{"full history without csv", nil, []string{"run", good, "--headless", "--csv-full-history"}, "--csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, dir, tt.env, hordeBin, tt.args...)
			if code := p.wait(t, 20*time.Second); code != 2 {
				t.Errorf("exit code %d, want 2\n%s", code, p.stderr)
			}
			if !strings.Contains(p.stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, p.stderr)
			}
		})
	}
}

// validate reports every problem at once as file:line:col and exits 2.
func TestValidate(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", `host: http://127.0.0.1:8080
users:
  - name: api
    wieght: 2
    wait: {between: [1s, 3x]}
    tasks:
      - get: "/api/data/{{ randint 1 10 }}"
        weight: 0
`)
	p := start(t, dir, nil, hordeBin, "validate", bad)
	if code := p.wait(t, 20*time.Second); code != 2 {
		t.Fatalf("exit code %d, want 2\n%s", code, p.stderr)
	}
	out := p.stderr.String()
	for _, want := range []string{
		bad + ":4:5: ",
		`"wieght"`,
		`did you mean "weight"`,
		bad + ":5:",
		"3x",
		bad + ":7:",
		`"randint"`,
		bad + ":8:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	for _, ex := range []string{"seed-api.yaml", "iot-devices.yaml"} {
		p := start(t, repoRoot, nil, hordeBin, "validate", filepath.Join("examples", ex))
		if code := p.wait(t, 20*time.Second); code != 0 {
			t.Errorf("validate %s: exit code %d\n%s", ex, code, p.stderr)
		}
	}
}

// The README's first command: the demo needs nothing but the binary.
func TestDemo(t *testing.T) {
	p := start(t, t.TempDir(), nil, hordeBin, "demo", "-t", "4s", "-u", "5", "-r", "50", "--only-summary")
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	out := p.stdout.String()
	for _, want := range []string{"POST", "/api/login", "/api/data/[id]", "Aggregated", "Response time percentiles"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// A user written in Go, built into its own binary (examples/go-user).
func TestGoUser(t *testing.T) {
	bin := filepath.Join(buildDir, "go-user")
	build := start(t, repoRoot, nil, "go", "build", "-o", bin, "./examples/go-user")
	if code := build.wait(t, 5*time.Minute); code != 0 {
		t.Fatalf("build examples/go-user: %s", build.stderr)
	}
	host := startTarget(t)
	dir := t.TempDir()
	p := start(t, dir, nil, bin, "run", "--headless", "-u", "3", "-r", "50", "-t", "2s", "-H", host, "--csv", "go", "--only-summary")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "go_stats.csv"))
	if got := count(t, rows["POST /api/login"], 2); got != 3 {
		t.Errorf("logins: got %d, want 3", got)
	}
	if got := count(t, rows["GET /api/data/[id]"], 2); got == 0 {
		t.Errorf("no /api/data/[id] requests: %v", rows)
	}
	if got := count(t, rows["POST /api/logout"], 2); got != 3 {
		t.Errorf("logouts: got %d, want 3", got)
	}
}

// Thresholds decide the exit code: 0 when all hold, 1 when one fails, and
// the verdict is printed and written to the JSON.
func TestRun_Thresholds(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "th.yaml", `
thresholds:
  - "p95 < 5s"
  - "error_rate < 1%"
users:
  - name: a
    wait: {constant: 10ms}
    tasks:
      - get: /delay/0
`)
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "2", "-r", "10", "-t", "2s", "-H", host, "--only-summary")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("all thresholds hold: exit code %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "PASS  threshold  p95 < 5s holds") {
		t.Errorf("no verdict printed:\n%s", p.stdout)
	}
	p = start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "2", "-r", "10", "-t", "2s", "-H", host, "--only-summary",
		"--threshold", "p99 < 1us", "--json", "th.json")
	if code := p.wait(t, 30*time.Second); code != 1 {
		t.Fatalf("a failing threshold: exit code %d, want 1\n%s", code, p.stderr)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "th.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"status": "fail"`) || !strings.Contains(string(raw), "p99 < 1us") {
		t.Errorf("th.json lacks the failed threshold:\n%s", raw)
	}
	bad := start(t, dir, nil, hordeBin, "run", file, "--headless", "-t", "1s", "-H", host, "--threshold", "p99 << 1s")
	if code := bad.wait(t, 30*time.Second); code != 2 {
		t.Errorf("a bad threshold: exit code %d, want 2\n%s", code, bad.stderr)
	}
}

// A threshold with abort_on_fail stops the run early once it fails after
// its grace period, and the run exits 1.
func TestRun_AbortOnFail(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "abort.yaml", `
thresholds:
  - threshold: "error_rate < 1%"
    abort_on_fail: true
    grace: 2s
users:
  - name: a
    wait: {constant: 20ms}
    tasks:
      - get: /api/data/1
`)
	began := time.Now()
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "2", "-r", "10", "-t", "60s", "-H", host, "--only-summary")
	code := p.wait(t, 50*time.Second)
	if took := time.Since(began); took > 30*time.Second {
		t.Errorf("the run took %v: it was not aborted", took)
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1\n%s", code, p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "run aborted early: error_rate < 1% fails") {
		t.Errorf("no abort verdict:\n%s", p.stdout)
	}
}
