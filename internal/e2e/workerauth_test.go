//go:build e2e

package e2e

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The worker channel is closed by default (issue #19): without a token or
// mutual TLS the master listens on loopback only, refuses to listen beyond
// it unless --allow-open-workers says so, and then warns.

// listening waits for the master's "listening for workers" line and returns
// the address in it.
func listening(t *testing.T, p *proc) *net.TCPAddr {
	t.Helper()
	re := regexp.MustCompile(`listening for workers on (\S+)`)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.stdout.String()); m != nil {
			a, err := net.ResolveTCPAddr("tcp", m[1])
			if err != nil {
				t.Fatalf("master's address %q: %v", m[1], err)
			}
			return a
		}
		select {
		case <-p.done:
			t.Fatalf("master exited: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("master did not listen:\n%s\n%s", p.stdout, p.stderr)
	return nil
}

func TestWorkerAuth_OpenRefused(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "ping.yaml", "host: http://127.0.0.1:9\nusers:\n  - name: a\n    tasks:\n      - get: /\n")
	for _, tt := range []struct {
		name string
		env  []string
		args []string
	}{
		{"0.0.0.0", nil, []string{"--master-bind-host", "0.0.0.0"}},
		{"every interface", nil, []string{"--master-bind-host", "*"}},
		{"from the environment", []string{"HORDE_MASTER_BIND_HOST=::"}, nil},
		{"server TLS only", nil, []string{"--master-bind-host", "0.0.0.0", "--tls-cert", "c.pem", "--tls-key", "k.pem"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"master", file, "--headless", "-u", "1", "-t", "10s", "--master-bind-port", "0"}, tt.args...)
			m := start(t, dir, tt.env, hordeBin, args...)
			if code := m.wait(t, 20*time.Second); code != 2 {
				t.Fatalf("exit code %d, want 2\nstdout:\n%s\nstderr:\n%s", code, m.stdout, m.stderr)
			}
			for _, want := range []string{"--worker-token", "--tls-cert", "--tls-key", "--tls-ca", "--allow-open-workers", "beyond loopback"} {
				if !strings.Contains(m.stderr.String(), want) {
					t.Errorf("the message does not name %s:\n%s", want, m.stderr)
				}
			}
			if out := m.stdout.String(); strings.Contains(out, "listening for workers") || strings.Contains(out, "run file") {
				t.Errorf("the master listened or opened a run before it refused:\n%s", out)
			}
		})
	}
}

func TestWorkerAuth_AllowOpen(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "ping.yaml", "host: http://127.0.0.1:9\nusers:\n  - name: a\n    tasks:\n      - get: /\n")
	m := start(t, dir, nil, hordeBin, "master", file, "--headless", "-u", "1", "-t", "1m",
		"--master-bind-host", "0.0.0.0", "--master-bind-port", "0", "--allow-open-workers",
		"--expect-workers", "1", "--expect-workers-max-wait", "20s")
	a := listening(t, m)
	if !a.IP.IsUnspecified() {
		t.Errorf("the master listens on %v, want every interface", a)
	}
	waitLog(t, m, regexp.MustCompile(`WARN.*WORKERS CAN JOIN WITHOUT A TOKEN.*--allow-open-workers`), 5*time.Second)
	// A worker without a token joins (through loopback).
	joinAndStop(t, m, dir, a.Port)
}

// joinAndStop starts a worker without a token on port, waits for m to log
// its join, then interrupts m and waits for both to end.
func joinAndStop(t *testing.T, m *proc, dir string, port int) {
	t.Helper()
	w := startWorker(t, dir, port)
	waitLog(t, m, regexp.MustCompile(`worker joined`), 15*time.Second)
	syscall.Kill(m.cmd.Process.Pid, syscall.SIGINT)
	m.wait(t, 30*time.Second)
	w.wait(t, 30*time.Second)
}

func TestWorkerAuth_DefaultLoopback(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "ping.yaml", "host: http://127.0.0.1:9\nusers:\n  - name: a\n    tasks:\n      - get: /\n")
	m := start(t, dir, nil, hordeBin, "master", file, "--headless", "-u", "1", "-t", "1m", "--master-bind-port", "0",
		"--expect-workers", "1", "--expect-workers-max-wait", "20s")
	a := listening(t, m)
	if !a.IP.IsLoopback() {
		t.Errorf("without a token the master listens on %v, want loopback", a)
	}
	if strings.Contains(m.stderr.String(), "WITHOUT A TOKEN") {
		t.Errorf("a loopback master warns of an open channel:\n%s", m.stderr)
	}
	joinAndStop(t, m, dir, a.Port)
}

func TestWorkerAuth_Token(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "ping.yaml", "host: http://127.0.0.1:9\nusers:\n  - name: a\n    tasks:\n      - get: /\n")
	// With a token the default is every interface; the test names loopback.
	m, port := startMaster(t, dir, 0, file, "--headless", "-u", "1", "-t", "1m", "--worker-token", "s3cret",
		"--expect-workers", "1", "--expect-workers-max-wait", "20s")
	if strings.Contains(m.stderr.String(), "WITHOUT A TOKEN") {
		t.Errorf("a master with a token warns of an open channel:\n%s", m.stderr)
	}
	none := startWorker(t, dir, port)
	if code := none.wait(t, 20*time.Second); code != 2 {
		t.Errorf("worker without the token: exit code %d, want 2\n%s", code, none.stderr)
	}
	if !strings.Contains(none.stderr.String(), "has no worker token") {
		t.Errorf("worker does not say why:\n%s", none.stderr)
	}
	waitLog(t, m, regexp.MustCompile(`worker refused.*has no worker token`), 5*time.Second)

	ok := start(t, dir, []string{"HORDE_WORKER_TOKEN=s3cret"}, hordeBin, "worker", "--master-port", strconv.Itoa(port))
	waitLog(t, m, regexp.MustCompile(`worker joined`), 15*time.Second)
	syscall.Kill(m.cmd.Process.Pid, syscall.SIGINT)
	m.wait(t, 30*time.Second)
	if code := ok.wait(t, 30*time.Second); code != 0 {
		t.Errorf("worker with the token: exit code %d, want 0\n%s", code, ok.stderr)
	}
}

// With a token and no --master-bind-host the master listens beyond
// loopback, as the Kubernetes manifests expect (they set only the token).
func TestWorkerAuth_TokenDefaultHost(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "ping.yaml", "host: http://127.0.0.1:9\nusers:\n  - name: a\n    tasks:\n      - get: /\n")
	m := start(t, dir, []string{"HORDE_WORKER_TOKEN=s3cret"}, hordeBin, "master", file, "--headless", "-u", "1", "-t", "10s",
		"--master-bind-port", "0", "--expect-workers", "1", "--expect-workers-max-wait", "20s")
	if a := listening(t, m); !a.IP.IsUnspecified() {
		t.Errorf("with a token the master listens on %v, want every interface", a)
	}
	syscall.Kill(m.cmd.Process.Pid, syscall.SIGINT)
	m.wait(t, 30*time.Second)
}
