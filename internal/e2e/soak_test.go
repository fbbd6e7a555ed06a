package e2e

import (
	"strings"
	"testing"
	"time"
)

// startTargetWithAdmin runs `horde target` with its admin listener on free
// loopback ports and returns the API and admin addresses.
func startTargetWithAdmin(t *testing.T, args ...string) (host, admin string) {
	t.Helper()
	p := start(t, repoRoot, nil, hordeBin, append([]string{"target", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...)...)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out := p.stdout.String()
		if m := listenRE.FindStringSubmatch(out); m != nil {
			if a := adminRE.FindStringSubmatch(out); a != nil {
				return m[1], a[1]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("target did not start: %s", p.stderr)
	return "", ""
}

// An accelerated soak: the target leaks 2 MB a second; horde scrapes its
// memory, flags the leak with the right order of growth, and the
// target.memory_growth threshold fails the run. The same run against a
// target without the leak passes.
func TestSoak_LeakFailsTheRun(t *testing.T) {
	t.Parallel()
	scenario := `
users:
  - name: a
    wait: {constant: 20ms}
    tasks:
      - get: /delay/0
monitor:
  interval: 1s
thresholds:
  - "target.memory_growth < 10%"
`
	for _, tt := range []struct {
		name     string
		leak     string
		wantCode int
		want     string
	}{
		{"leaking target", "2000000", 1, "FAIL  threshold  target.memory_growth < 10%"},
		{"healthy target", "0", 0, "PASS  threshold  target.memory_growth < 10%"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host, admin := startTargetWithAdmin(t, "--leak-bytes-per-second", tt.leak)
			dir := t.TempDir()
			file := writeFile(t, dir, "soak.yaml", scenario)
			p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "4", "-r", "50", "-t", "45s", "--warmup", "20s",
				"-H", host, "--scrape", "http://"+admin+"/metrics", "--only-summary")
			code := p.wait(t, 90*time.Second)
			out := p.stdout.String()
			i := strings.Index(out, "Verdict")
			if i < 0 {
				t.Fatalf("no verdict (exit %d):\n%s\n%s", code, out, p.stderr)
			}
			t.Logf("%s", out[i:])
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("verdict lacks %q", tt.want)
			}
			leakCheck := strings.Contains(out, "FAIL  check      memory leak")
			if leakCheck != (tt.leak != "0") {
				t.Errorf("memory leak check failed: %v, want %v", leakCheck, tt.leak != "0")
			}
		})
	}
}

// A target whose latency grows fails the degradation threshold and check.
func TestSoak_LatencyGrowthFailsDegradation(t *testing.T) {
	t.Parallel()
	host, _ := startTargetWithAdmin(t, "--latency-growth", "60ms")
	dir := t.TempDir()
	file := writeFile(t, dir, "deg.yaml", `
users:
  - name: a
    wait: {constant: 20ms}
    tasks:
      - get: /delay/0
thresholds:
  - "degradation(p95) < 20%"
`)
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "4", "-r", "50", "-t", "40s", "--warmup", "10s",
		"-H", host, "--only-summary")
	code := p.wait(t, 90*time.Second)
	out := p.stdout.String()
	if i := strings.Index(out, "Verdict"); i >= 0 {
		t.Logf("%s", out[i:])
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1\n%s", code, p.stderr)
	}
	for _, want := range []string{"FAIL  threshold  degradation(p95) < 20%", "FAIL  check      latency p95 (ms) went from"} {
		if !strings.Contains(out, want) {
			t.Errorf("verdict lacks %q", want)
		}
	}
}
