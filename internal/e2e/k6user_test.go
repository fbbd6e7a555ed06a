//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// What a k6 user looks for (issue 30, items 9 to 12), through the doors a
// user uses.

// A worker stopped cleanly (SIGINT) says goodbye: the master logs "worker
// left", never "worker lost", and shows "1 worker (1 left)" in the
// console table and "1 (1 left)" in the web UI's header.
func TestMaster_WorkerLeftShows(t *testing.T) {
	t.Parallel()
	host := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "s.yaml", "users:\n  - name: a\n    wait: {constant: 200ms}\n    tasks:\n      - get: /delay/1\n")

	t.Run("console", func(t *testing.T) {
		t.Parallel()
		port := freePort(t)
		m, _ := startMaster(t, dir, port, "s.yaml", "--headless", "-u", "4", "-r", "100", "-t", "8s", "-H", host,
			"--expect-workers", "2", "--expect-workers-max-wait", "20s", "--heartbeat-timeout", "2s")
		w1 := startWorker(t, t.TempDir(), port)
		startWorker(t, t.TempDir(), port)
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(m.stdout.String(), ", 2 workers\n") && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if err := syscall.Kill(w1.cmd.Process.Pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		waitLog(t, m, regexp.MustCompile(`worker left`), 10*time.Second)
		if code := w1.wait(t, 20*time.Second); code != 0 {
			t.Errorf("the stopped worker: exit %d\n%s", code, w1.stderr)
		}
		if code := m.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("master: exit %d\n%s", code, m.stderr)
		}
		if out := m.stdout.String(); !strings.Contains(out, ", 1 worker (1 left)\n") {
			t.Errorf("no \", 1 worker (1 left)\" in the live tables:\n%s", out)
		}
		if strings.Contains(m.stderr.String(), "worker lost") {
			t.Errorf("a worker that left is said lost:\n%s", m.stderr)
		}
	})

	t.Run("web", func(t *testing.T) {
		t.Parallel()
		port := freePort(t)
		web := freePort(t)
		m, _ := startMaster(t, dir, port, "s.yaml", "-u", "4", "-r", "100", "-t", "60s", "-H", host, "--autostart",
			"--web-port", strconv.Itoa(web), "--heartbeat-timeout", "2s")
		w1 := startWorker(t, t.TempDir(), port)
		startWorker(t, t.TempDir(), port)
		ctx := newBrowser(t)
		browserDo(t, ctx, "open the web UI", chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/", web)))
		browserWait(t, ctx, "two workers in the header", `document.getElementById("status-workers").textContent === "2"`, 20*time.Second)
		if err := syscall.Kill(w1.cmd.Process.Pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		browserWait(t, ctx, "the worker that left in the header", `document.getElementById("status-workers").textContent === "1 (1 left)"`, 20*time.Second)
		if strings.Contains(m.stderr.String(), "worker lost") {
			t.Errorf("a worker that left is said lost:\n%s", m.stderr)
		}
	})
}
