//go:build e2e

// Package e2e tests horde through the doors a user uses: the binary as a
// subprocess, against the sample target on loopback.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	hordeBin  string // built once by TestMain
	repoRoot  string
	buildDir  string
	requireOK = os.Getenv("HORDE_REQUIRE_ALL") == "1"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	buildDir, err = os.MkdirTemp("", "horde-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(buildDir)
	// Every run records a file under --runs-dir (default ./runs): keep the
	// tests' runs out of the repository, in a directory of this test binary's
	// own (a shared one was emptied by a second `go test` on the machine).
	os.Setenv("HORDE_RUNS_DIR", filepath.Join(buildDir, "runs"))
	repoRoot, err = filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hordeBin = filepath.Join(buildDir, "horde")
	cmd := exec.Command("go", "build", "-o", hordeBin, "./cmd/horde")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build horde: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// skipOrFail skips a test that needs a missing component, or fails it in CI.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if requireOK {
		t.Fatalf("required component missing (HORDE_REQUIRE_ALL=1): "+format, args...)
	}
	t.Skipf(format, args...)
}

// proc is a started subprocess, killed by PID when the test ends.
type proc struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

func start(t *testing.T, dir string, env []string, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, stdout: &syncBuffer{mu: make(chan struct{}, 1)}, stderr: &syncBuffer{mu: make(chan struct{}, 1)}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// wait waits for the process to end and returns its exit code.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		t.Fatalf("%s did not end within %v\nstdout:\n%s\nstderr:\n%s", p.cmd.Args, limit, p.stdout, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers;
// mu must be made with a capacity of one.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func (b *syncBuffer) lock() { b.mu <- struct{}{} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.lock()
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.lock()
	defer func() { <-b.mu }()
	return b.buf.String()
}

var listenRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// startTarget runs `horde target` on a free loopback port and returns its URL.
func startTarget(t *testing.T, args ...string) string {
	t.Helper()
	p := start(t, repoRoot, nil, hordeBin, append([]string{"target", "--addr", "127.0.0.1:0", "--admin-addr", "off"}, args...)...)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(p.stdout.String()); m != nil {
			return m[1]
		}
		select {
		case <-p.done:
			t.Fatalf("target exited: %v\n%s", p.err, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("target did not start:\n%s\n%s", p.stdout, p.stderr)
	return ""
}

// readCSV reads a CSV file into rows.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// firstLine returns the first line of a file.
func firstLine(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return strings.TrimRight(line, "\r\n")
}

// statsRows maps "METHOD name" to the _stats.csv row.
func statsRows(t *testing.T, path string) map[string][]string {
	t.Helper()
	rows := readCSV(t, path)
	out := make(map[string][]string)
	for _, r := range rows[1:] {
		out[r[0]+" "+r[1]] = r
	}
	return out
}

func count(t *testing.T, row []string, col int) int {
	t.Helper()
	if row == nil {
		return 0
	}
	n, err := strconv.Atoi(row[col])
	if err != nil {
		t.Fatalf("column %d of %v: %v", col, row, err)
	}
	return n
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// goRun runs f as the subtest name on its own goroutine, counted in wg:
// for runs that mostly wait, all at once (go test runs only GOMAXPROCS
// parallel tests at a time). wg is done whether or not -run selects the
// subtest.
func goRun(t *testing.T, wg *sync.WaitGroup, name string, f func(t *testing.T)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.Run(name, f)
	}()
}
