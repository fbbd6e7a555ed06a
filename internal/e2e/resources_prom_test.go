//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loadFor drives a steady load at host for d (4 users, about 200
// requests a second), with no monitor of its own.
func loadFor(t *testing.T, dir, host string, d time.Duration) *proc {
	t.Helper()
	file := writeFile(t, dir, "load.yaml", "users:\n  - name: a\n    wait: {constant: 20ms}\n    tasks:\n      - get: /delay/0\n")
	return start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "4", "-r", "50", "-t", d.String(), "-H", host, "--only-summary")
}

// The same checks through `horde analyze --prometheus`, Debian's
// Prometheus scraping a leaking and a healthy target under load: the
// leaking one fails naming open fds and pool slots with forecasts, and
// the time_to_exhaustion threshold; the healthy one passes.
func TestResources_AnalyzePrometheus(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("prometheus"); err != nil {
		skipOrFail(t, "prometheus not installed (Debian package prometheus)")
	}
	leakyHost, leaky := startTargetWithAdmin(t, "--leak-fd-every", "5", "--max-fds", "16384", "--leak-pool-every", "50", "--pool-size", "2000")
	healthyHost, healthy := startTargetWithAdmin(t)
	dir := t.TempDir()
	url := startPrometheus(t, dir, fmt.Sprintf(`  - job_name: leaky
    static_configs: [{targets: ["%s"]}]
  - job_name: healthy
    static_configs: [{targets: ["%s"]}]
`, leaky, healthy))
	l1, l2 := loadFor(t, t.TempDir(), leakyHost, 55*time.Second), loadFor(t, t.TempDir(), healthyHost, 55*time.Second)
	l1.wait(t, 2*time.Minute)
	l2.wait(t, 2*time.Minute)
	for _, tt := range []struct {
		job      string
		wantCode int
		want     []string
	}{
		{"leaky", 1, []string{`FAIL\s+threshold\s+target\.time_to_exhaustion > 7d fails: open fds`,
			`FAIL\s+check\s+open fds \+[0-9]+/min, [0-9,]+ → [0-9,]+ over .*: a leak; reaches its limit of 16,384 in [^ ]+ \([^–]+ – [^)]+\)`,
			`FAIL\s+check\s+pool slots in use .*reaches its limit of 2,000 in`}},
		{"healthy", 0, []string{`PASS\s+check\s+open fds steady`, `PASS\s+check\s+goroutines steady`, `PASS\s+threshold\s+target\.time_to_exhaustion > 7d holds: nothing runs out`}},
	} {
		sel := `{job="` + tt.job + `"}`
		args := []string{"analyze", "--prometheus", url, "--start", "-55s", "--step", "1s",
			"--query", "process_open_fds" + sel, "--query", "process_max_fds" + sel, "--query", "go_goroutines" + sel,
			"--threshold", "target.time_to_exhaustion > 7d"}
		if tt.job == "leaky" { // the healthy target has no pool
			args = append(args, "--query", "horde_target_pool_in_use"+sel, "--query", "horde_target_pool_max"+sel)
		}
		p := start(t, dir, nil, hordeBin, args...)
		code := p.wait(t, 30*time.Second)
		out := p.stdout.String()
		t.Logf("%s:\n%s", tt.job, out)
		if code != tt.wantCode {
			t.Errorf("%s: exit code %d, want %d\n%s", tt.job, code, tt.wantCode, p.stderr)
		}
		for _, w := range tt.want {
			if !regexp.MustCompile(w).MatchString(out) {
				t.Errorf("%s: output lacks %s", tt.job, w)
			}
		}
		if tt.wantCode == 0 && regexp.MustCompile(`(FAIL|WARN|INCONCLUSIVE)\s+check`).MatchString(out) {
			t.Errorf("%s: a resource check did not pass", tt.job)
		}
	}
}

// A process we do not write, read by --pid: a shell that opens a file
// descriptor every 20 ms and never closes it fails the open fds check,
// with a forecast against its own limit (ulimit -n 8192) read from
// /proc; the target's own process, read the same way, passes.
func TestResources_PID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	leaker := start(t, dir, nil, "bash", "-c", `ulimit -n 8192; i=0; while [ $i -lt 2500 ]; do exec {fd}</dev/null; i=$((i+1)); sleep 0.02; done; sleep 120`)
	target := start(t, repoRoot, nil, hordeBin, "target", "--addr", "127.0.0.1:0", "--admin-addr", "off")
	var host string
	for deadline := time.Now().Add(10 * time.Second); host == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listenRE.FindStringSubmatch(target.stdout.String()); m != nil {
			host = m[1]
		}
	}
	if host == "" {
		t.Fatalf("target did not start: %s", target.stderr)
	}
	file := writeFile(t, dir, "load.yaml", "users:\n  - name: a\n    wait: {constant: 20ms}\n    tasks:\n      - get: /delay/0\nmonitor:\n  interval: 1s\n")
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "4", "-r", "50", "-t", "45s", "-H", host, "--only-summary",
		"--pid", strconv.Itoa(leaker.cmd.Process.Pid), "--pid", strconv.Itoa(target.cmd.Process.Pid),
		"--threshold", "target.time_to_exhaustion > 7d")
	code := p.wait(t, 2*time.Minute)
	out := p.stdout.String()
	t.Logf("%s", out)
	if code != 1 {
		t.Errorf("exit code %d, want 1\n%s", code, p.stderr)
	}
	leak := fmt.Sprintf(`FAIL\s+check\s+open fds \+[0-9]+/min, .*: a leak; reaches its limit of 8,192 in [^ ]+ \([^–]+ – [^)]+\) \(pid %d process_open_fds\)`, leaker.cmd.Process.Pid)
	healthy := fmt.Sprintf(`PASS\s+check\s+open fds steady.*\(pid %d process_open_fds\)`, target.cmd.Process.Pid)
	for _, w := range []string{leak, healthy, `FAIL\s+threshold\s+target\.time_to_exhaustion > 7d fails: open fds \(pid`} {
		if !regexp.MustCompile(w).MatchString(out) {
			t.Errorf("output lacks %s", w)
		}
	}
	if strings.Contains(out, fmt.Sprintf("WARN          check      threads: pid %d", target.cmd.Process.Pid)) {
		t.Errorf("the target's threads warned")
	}
}
