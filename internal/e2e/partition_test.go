//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsPair is a network namespace joined to the root one by a veth pair:
// HostIP on the root side, NSIP inside.
type netnsPair struct {
	NS, HostDev, NSDev string
	HostIP, NSIP       string
}

// ipCmd runs ip(8) with args.
func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// makeNetns creates the namespace and its veth link, removed at cleanup
// (always, whatever the test did). It skips (or fails in CI) where the
// machine does not allow it.
func makeNetns(t *testing.T) *netnsPair {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "the partition test needs root to create network namespaces (ip netns)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "the partition test needs ip(8) (iproute2): %v", err)
	}
	id := os.Getpid() % 100000
	net3 := 20 + os.Getpid()%200
	p := &netnsPair{
		NS:      fmt.Sprintf("horde-part-%d", id),
		HostDev: fmt.Sprintf("hph%d", id),
		NSDev:   fmt.Sprintf("hpn%d", id),
		HostIP:  fmt.Sprintf("10.200.%d.1", net3),
		NSIP:    fmt.Sprintf("10.200.%d.2", net3),
	}
	if err := ipCmd("netns", "add", p.NS); err != nil {
		skipOrFail(t, "cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() {
		ipCmd("netns", "del", p.NS)
		ipCmd("link", "del", p.HostDev) // normally gone with the namespace
	})
	steps := [][]string{
		{"link", "add", p.HostDev, "type", "veth", "peer", "name", p.NSDev},
		{"link", "set", p.NSDev, "netns", p.NS},
		{"addr", "add", p.HostIP + "/24", "dev", p.HostDev},
		{"link", "set", p.HostDev, "up"},
		{"-n", p.NS, "addr", "add", p.NSIP + "/24", "dev", p.NSDev},
		{"-n", p.NS, "link", "set", p.NSDev, "up"},
		{"-n", p.NS, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			skipOrFail(t, "cannot set up the namespace's veth link: %v", err)
		}
	}
	return p
}

// listenIn listens on addr inside the namespace ns: a locked thread enters
// it, makes the socket and ends with its goroutine (a socket stays in the
// namespace it was made in).
func listenIn(ns, addr string) (net.Listener, error) {
	type res struct {
		l   net.Listener
		err error
	}
	c := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f, err := os.Open(filepath.Join("/var/run/netns", ns))
		if err != nil {
			c <- res{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			c <- res{nil, fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		l, err := net.Listen("tcp", addr)
		c <- res{l, err}
	}()
	r := <-c
	return r.l, r.err
}

// serveLog serves a request log on l until the test ends.
func serveLog(t *testing.T, l net.Listener) *requestLog {
	log := &requestLog{}
	srv := &http.Server{Handler: log}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return log
}

// A partition in network namespaces: one worker in a namespace joined to
// the master's by a veth link, one beside the master. Cutting the link for
// longer than the timeouts: the master marks the far worker missing and
// gives its users to the near one within 5 s; the far worker stops its load
// after --master-lost-timeout (seen from its target's own request log);
// after the link heals it rejoins, and the master's totals are exactly what
// the workers' acknowledged reports hold.
//
// Load goes only to loopback: each namespace has its own 127.0.0.1, and a
// target (a request log in this process) listens on the same port in both.
func TestPartition_Netns(t *testing.T) {
	p := makeNetns(t)

	nearL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := nearL.Addr().(*net.TCPAddr).Port
	farL, err := listenIn(p.NS, fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		nearL.Close()
		skipOrFail(t, "cannot listen inside the namespace: %v", err)
	}
	nearLog, farLog := serveLog(t, nearL), serveLog(t, farL)

	dir := t.TempDir()
	file := writeFile(t, dir, "ping.yaml", fmt.Sprintf(`host: http://127.0.0.1:%d
users:
  - name: pinger
    wait: {constant: 20ms}
    tasks:
      - get: /ping
`, port))
	const (
		hbTimeout  = 2 * time.Second
		lostTimout = 4 * time.Second
	)
	// The veth address is beyond loopback: the channel needs a token.
	env := []string{"HORDE_WORKER_TOKEN=partition"}
	m := start(t, dir, env, hordeBin, "master", file, "--master-bind-host", p.HostIP, "--master-bind-port", "0",
		"--headless", "-u", "10", "-r", "100", "-t", "2m", "--heartbeat-timeout", hbTimeout.String(),
		"--report-interval", "1s", "--expect-workers", "2", "--expect-workers-max-wait", "30s",
		"--csv", "part", "--only-summary")
	mport := ""
	deadline := time.Now().Add(15 * time.Second)
	for mport == "" {
		if mm := masterAddrRE.FindStringSubmatch(m.stdout.String()); mm != nil {
			_, mport, _ = net.SplitHostPort(mm[1])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("master did not listen:\n%s\n%s", m.stdout, m.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	args := []string{"worker", "--master-host", p.HostIP, "--master-port", mport, "--master-lost-timeout", lostTimout.String()}
	near := start(t, t.TempDir(), env, hordeBin, args...)
	// ip netns exec execs the command: the PID is the worker's.
	far := start(t, t.TempDir(), env, "ip", append([]string{"netns", "exec", p.NS, hordeBin}, args...)...)

	waitLog(t, m, regexp.MustCompile(`all users spawned" users=10`), 20*time.Second)
	time.Sleep(1500 * time.Millisecond)
	if nearLog.since(time.Now().Add(-time.Second)) == 0 || farLog.since(time.Now().Add(-time.Second)) == 0 {
		t.Fatalf("no load on both sides before the partition: near %d, far %d", nearLog.since(time.Time{}), farLog.since(time.Time{}))
	}

	// Cut the link (from inside: the master's address stays local here).
	cut := time.Now()
	if err := ipCmd("-n", p.NS, "link", "set", p.NSDev, "down"); err != nil {
		t.Fatal(err)
	}
	waitLog(t, m, regexp.MustCompile(`worker lost: no heartbeat`), hbTimeout+3*time.Second)
	waitLog(t, m, regexp.MustCompile(`per_worker="?\[10\]"? at_once=true`), 5*time.Second)
	waitLog(t, near, regexp.MustCompile(`users reassigned.*users=10`), 5*time.Second)
	moved := time.Since(cut)
	if moved > 5*time.Second {
		t.Errorf("users moved to the near worker %v after the cut, want within 5 s", moved)
	}
	waitLog(t, far, regexp.MustCompile(`master lost`), lostTimout+3*time.Second)
	// The grace period, plus a check interval and the users' stop.
	quiet := cut.Add(lostTimout + 1500*time.Millisecond)
	time.Sleep(time.Until(quiet) + 1500*time.Millisecond)
	if n := farLog.since(quiet); n != 0 {
		t.Errorf("%d requests from the partitioned worker more than %v after the cut", n, quiet.Sub(cut))
	}
	if farLog.since(cut) == 0 {
		t.Errorf("the partitioned worker's target saw no request after the cut: the test proves nothing")
	}
	t.Logf("cut at 0: users moved at %v; far worker's requests after the cut: %d, none after %v",
		moved.Round(100*time.Millisecond), farLog.since(cut), quiet.Sub(cut))

	// Heal: the far worker rejoins and gets its share again.
	if err := ipCmd("-n", p.NS, "link", "set", p.NSDev, "up"); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	waitLog(t, m, regexp.MustCompile(`worker joined.*rejoined=true`), 15*time.Second)
	waitLog(t, m, regexp.MustCompile(`per_worker="\[5 5\]"`), 5*time.Second)
	waitLog(t, far, regexp.MustCompile(`run started.*users=5`), 5*time.Second)
	t.Logf("rejoined %v after the heal", time.Since(healed).Round(100*time.Millisecond))
	time.Sleep(1500 * time.Millisecond)
	if farLog.since(time.Now().Add(-time.Second)) == 0 {
		t.Error("no load from the far worker after it rejoined")
	}

	syscall.Kill(m.cmd.Process.Pid, syscall.SIGINT)
	if code := m.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	sum := 0
	for name, w := range map[string]*proc{"near": near, "far": far} {
		if code := w.wait(t, 20*time.Second); code != 0 {
			t.Fatalf("%s worker exit code %d\n%s", name, code, w.stderr)
		}
		sum += acknowledged(t, w)
	}
	rows := statsRows(t, filepath.Join(dir, "part_stats.csv"))
	total := count(t, rows[" Aggregated"], 2)
	if total == 0 || total != sum {
		t.Errorf("master counted %d requests; the workers' acknowledged reports hold %d", total, sum)
	}
	t.Logf("requests: master %d, workers acknowledged %d, targets saw %d", total, sum, nearLog.since(time.Time{})+farLog.since(time.Time{}))
}
