//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// setupScenario logs in once in setup: (capturing the token every user
// sends) and logs out once in teardown:. The users' requests need the
// token: without it the target answers 401.
func setupScenario(host, check string) string {
	return fmt.Sprintf(`host: %s
setup:
  - post: /api/login
    name: setup login
    json: {username: admin, password: secret}
    capture:
      token: {json: token}
    check: {status: %s}
users:
  - name: member
    wait: {constant: 50ms}
    tasks:
      - get: /api/items
        headers: {Authorization: "Bearer {{ .token }}"}
teardown:
  - post: /api/logout
    name: teardown logout
    headers: {Authorization: "Bearer {{ .token }}"}
    check: {status: 200}
`, host, check)
}

// checkSetupStats checks a run's stats: one setup login, one teardown
// logout, users' requests all authorised.
func checkSetupStats(t *testing.T, path string) {
	t.Helper()
	rows := statsRows(t, path)
	if got := count(t, rows["POST setup login"], 2); got != 1 {
		t.Errorf("setup logins %d, want 1", got)
	}
	if got := count(t, rows["POST teardown logout"], 2); got != 1 {
		t.Errorf("teardown logouts %d, want 1", got)
	}
	items := rows["GET /api/items"]
	if n := count(t, items, 2); n < 20 {
		t.Errorf("only %d user requests", n)
	}
	if f := count(t, rows[" Aggregated"], 3); f != 0 {
		t.Errorf("%d failed requests (401s: the users did not get the setup's token)", f)
	}
}

// Standalone: setup once before the users, its token in every user's
// requests (zero 401s), teardown once after them.
func TestSetup_TokenForEveryUser(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "setup.yaml", setupScenario(host, "200"))
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "5", "-r", "100", "-t", "3s", "--csv", "out/s", "--only-summary")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.stderr)
	}
	checkSetupStats(t, filepath.Join(dir, "out", "s_stats.csv"))
}

// Distributed, two workers: the setup runs once (on the master), and the
// users of both workers send its token.
func TestSetup_OnceAcrossWorkers(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "setup.yaml", setupScenario(host, "200"))
	m, port := startMaster(t, dir, 0, file, "--headless", "-u", "6", "-r", "100", "-t", "3s",
		"--expect-workers", "2", "--expect-workers-max-wait", "30s", "--csv", "out/d", "--only-summary")
	for range 2 {
		startWorker(t, t.TempDir(), port)
	}
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	checkSetupStats(t, filepath.Join(dir, "out", "d_stats.csv"))
}

// A setup whose check fails stops the run before any user starts: its
// message (with the step's place) and exit code 1.
func TestSetup_FailureStopsRun(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "setup.yaml", setupScenario(host, "201"))
	runsDir := []string{"HORDE_RUNS_DIR=" + filepath.Join(dir, "runs")}
	p := start(t, dir, runsDir, hordeBin, "run", file, "--headless", "-u", "5", "-r", "100", "-t", "30s", "--csv", "out/f")
	code := p.wait(t, 30*time.Second)
	if code != 1 {
		t.Errorf("exit code %d, want 1\n%s", code, p.stderr)
	}
	want := "setup failed: " + file + ":3: POST setup login: check status: got 200, want 201"
	if !strings.Contains(p.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, p.stderr)
	}
	if strings.Contains(p.stderr.String(), "run started") {
		t.Errorf("the run started after a failed setup:\n%s", p.stderr)
	}
	// Its run file ends failed, exit 1, not "running" for ever.
	runs := start(t, dir, runsDir, hordeBin, "runs")
	if c := runs.wait(t, 30*time.Second); c != 0 {
		t.Fatalf("horde runs: exit %d\n%s", c, runs.stderr)
	}
	if lines := strings.Split(strings.TrimSpace(runs.stdout.String()), "\n"); len(lines) != 2 ||
		!regexp.MustCompile(`\sfailed\s+0\s+0\s+1$`).MatchString(lines[1]) {
		t.Errorf("horde runs after the failed setup:\n%s", runs.stdout)
	}
}
