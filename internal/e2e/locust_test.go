//go:build e2e

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The CSV files horde writes have exactly the headers of the files Locust
// itself writes for the same workload (Debian's python3-locust).
func TestCSVHeadersEqualLocusts(t *testing.T) {
	locust, err := exec.LookPath("locust")
	if err != nil {
		skipOrFail(t, "locust not installed (Debian package python3-locust)")
	}
	host := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "locustfile.py", `
from locust import HttpUser, task, constant

class Probe(HttpUser):
    wait_time = constant(0.1)

    @task
    def delay(self):
        self.client.get("/delay/0")
`)
	lp := start(t, dir, nil, locust, "-f", "locustfile.py", "--headless", "-u", "2", "-r", "10", "-t", "3s",
		"-H", host, "--csv", "locust", "--only-summary", "--skip-log-setup")
	if code := lp.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("locust exit code %d\n%s\n%s", code, lp.stdout, lp.stderr)
	}
	file := writeFile(t, dir, "probe.yaml", "users:\n  - name: probe\n    wait: {constant: 100ms}\n    tasks:\n      - get: /delay/0\n")
	hp := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "2", "-r", "10", "-t", "2s",
		"-H", host, "--csv", "horde", "--csv-full-history", "--only-summary")
	if code := hp.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("horde exit code %d\n%s", code, hp.stderr)
	}
	for suffix := range locustHeaders {
		want := firstLine(t, filepath.Join(dir, "locust"+suffix))
		got := firstLine(t, filepath.Join(dir, "horde"+suffix))
		// Locust's columns first, in its order; horde's own (request phases,
		// bytes: docs/results.md) only after them, where Locust's readers do
		// not look.
		if got != want && !(suffix == "_stats.csv" && strings.HasPrefix(got, want+",Bytes Sent,")) {
			t.Errorf("%s header:\n horde  %s\n locust %s", suffix, got, want)
		}
	}
}
