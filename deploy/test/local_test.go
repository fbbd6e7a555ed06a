package deploytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/horde-load/horde/cli"
)

// hordeBin is the binary built by TestMain exactly as the image's (deploy/build.sh).
var hordeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "horde-deploytest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hordeBin = filepath.Join(dir, "horde")
	build := exec.Command("sh", "deploy/build.sh", hordeBin)
	build.Dir, build.Stdout, build.Stderr = repo, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "deploy/build.sh:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hordeArgs is a container's horde command line: its args, plus each HORDE_<FLAG>
// of its environment as --flag=value, the way horde's bindEnv reads them.
func (r *rendering) hordeArgs(c corev1.Container) ([]string, error) {
	if len(c.Command) > 0 {
		return nil, fmt.Errorf("command %q overrides the image's entrypoint (horde)", c.Command)
	}
	args := slices.Clone(c.Args)
	for _, e := range c.Env {
		if !strings.HasPrefix(e.Name, "HORDE_") || e.Name == "HORDE_SCENARIO" {
			continue
		}
		v, err := r.envValue(e)
		if err != nil {
			return nil, err
		}
		flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(e.Name, "HORDE_"), "_", "-"))
		args = append(args, "--"+flag+"="+v)
	}
	return args, nil
}

// envValue resolves an environment variable from the rendering.
func (r *rendering) envValue(e corev1.EnvVar) (string, error) {
	switch {
	case e.ValueFrom == nil:
		return e.Value, nil
	case e.ValueFrom.SecretKeyRef != nil:
		return r.secretValue(e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
	}
	return "", fmt.Errorf("env %s: unsupported valueFrom", e.Name)
}

// checkHordeCommands parses every horde container's command line with horde's own
// CLI: the subcommand must exist and every flag (from args or HORDE_* env) must
// exist and take its value. --help stops cobra after parsing, before running.
func checkHordeCommands(r *rendering) []error {
	var errs []error
	for _, p := range r.pods() {
		for _, c := range p.Spec.Containers {
			if !isHorde(c) {
				continue
			}
			args, err := r.hordeArgs(c)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", p.Owner, err))
				continue
			}
			var stdout, stderr bytes.Buffer
			if code := cli.Main(context.Background(), append(args, "--help"), &stdout, &stderr); code != cli.ExitOK {
				errs = append(errs, fmt.Errorf("%s: horde %q: exit %d: %s", p.Owner, args, code, stderr.String()))
			}
			if len(args) == 0 || !strings.Contains(stdout.String(), "horde "+args[0]) {
				errs = append(errs, fmt.Errorf("%s: horde %q is not a horde subcommand", p.Owner, args))
			}
		}
	}
	return errs
}

// local runs a pod template's container on this machine, as the pod would run it:
// the same args and environment, its volumes as directories (ConfigMaps written out),
// listening on loopback instead of every interface, Service names resolved to loopback.
type local struct {
	r    *rendering
	pod  pod
	c    corev1.Container
	dir  string
	args []string
	env  []string
}

func newLocal(t *testing.T, r *rendering, p pod, c corev1.Container) *local {
	t.Helper()
	l := &local{r: r, pod: p, c: c, dir: t.TempDir()}
	mounts := map[string]string{} // mount path -> local directory
	for _, m := range c.VolumeMounts {
		dir := filepath.Join(l.dir, m.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				cm, ok := r.find("ConfigMap", v.ConfigMap.Name).(*corev1.ConfigMap)
				if !ok {
					t.Fatalf("%s: no ConfigMap %s", p.Owner, v.ConfigMap.Name)
				}
				for k, data := range cm.Data {
					if err := os.WriteFile(filepath.Join(dir, k), []byte(data), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		mounts[m.MountPath] = dir
	}
	// longest mount path first, so /var/lib/horde wins over /var
	paths := sortedKeys(mounts)
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	rewrite := func(s string) string {
		// a path is a whole value, or follows --flag=; only its first mount is rewritten
		prefix, path := "", s
		if i := strings.Index(s, "="); strings.HasPrefix(s, "--") && i > 0 {
			prefix, path = s[:i+1], s[i+1:]
		}
		for _, mp := range paths {
			if path == mp || strings.HasPrefix(path, mp+"/") {
				s = prefix + mounts[mp] + strings.TrimPrefix(path, mp)
				break
			}
		}
		s = strings.ReplaceAll(s, "0.0.0.0", "127.0.0.1")
		for _, o := range r.Objs {
			if o.Kind == "Service" {
				s = strings.ReplaceAll(s, "//"+o.Name+":", "//127.0.0.1:")
			}
		}
		return s
	}
	for _, a := range c.Args {
		l.args = append(l.args, rewrite(a))
	}
	l.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + l.dir, "TMPDIR=" + l.dir}
	if d, ok := mounts["/tmp"]; ok {
		l.env[2] = "TMPDIR=" + d
	}
	for _, e := range c.Env {
		v, err := r.envValue(e)
		if err != nil {
			t.Fatalf("%s: %v", p.Owner, err)
		}
		l.env = append(l.env, e.Name+"="+rewrite(v))
	}
	return l
}

// setEnv replaces (or adds) an environment variable of the local run.
func (l *local) setEnv(name, value string) {
	for i, kv := range l.env {
		if strings.HasPrefix(kv, name+"=") {
			l.env[i] = name + "=" + value
			return
		}
	}
	l.env = append(l.env, name+"="+value)
}

// start starts the process; it is killed (by its pid) at the end of the test.
// The channel is closed when the process has ended.
func (l *local) start(t *testing.T) <-chan struct{} {
	t.Helper()
	cmd := exec.Command(hordeBin, l.args...)
	cmd.Env, cmd.Dir = l.env, l.dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("%s container %s output:\n%s", l.pod.Owner, l.c.Name, out.String())
		}
	})
	return done
}

// run runs the process to its end, at most limit, and returns its exit code and output.
func (l *local) run(t *testing.T, limit time.Duration) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, hordeBin, l.args...)
	cmd.Env, cmd.Dir = l.env, l.dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after %v:\n%s", l.pod.Owner, limit, out)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// checkProbes starts every container that has probes, as its pod would run, and
// GETs each probe's path on the port it names: it must answer 200.
func checkProbes(t *testing.T, r *rendering) {
	for _, p := range r.pods() {
		for _, c := range p.Spec.Containers {
			var probes []*corev1.Probe
			for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
				if pr != nil && pr.HTTPGet != nil {
					probes = append(probes, pr)
				}
			}
			if len(probes) == 0 {
				continue
			}
			done := newLocal(t, r, p, c).start(t)
			for _, pr := range probes {
				port, _ := containerPort(p.Spec, pr.HTTPGet.Port)
				url := fmt.Sprintf("http://127.0.0.1:%d%s", port, pr.HTTPGet.Path)
				if err := waitStatus(url, http.StatusOK, 15*time.Second, done); err != nil {
					t.Errorf("%s container %s: probe %s: %v", p.Owner, c.Name, url, err)
				}
			}
		}
	}
}

// waitStatus GETs url until it answers want, for at most limit or until done is closed.
func waitStatus(url string, want int, limit time.Duration, done <-chan struct{}) error {
	return waitStatusLog(url, want, limit, done, nil)
}

// waitStatusLog is waitStatus that tells logf each answer that differs from
// the one before (with the connection it came on), for diagnosis. Every
// failure is retried until the limit: a refused connection while a Service
// has no endpoints, "no route to host" (after ~3 s) while kube-proxy has no
// rule for it yet, a connection reset by a pod that is going away, an answer
// other than want while a pod is not ready.
func waitStatusLog(url string, want int, limit time.Duration, done <-chan struct{}, logf func(string, ...any)) error {
	began := time.Now()
	deadline := began.Add(limit)
	tr := testTransport()
	defer tr.CloseIdleConnections()
	// longer than the transport's dial timeout, so that a dial's error shows as such
	client := &http.Client{Timeout: 8 * time.Second, Transport: tr}
	last := ""
	for {
		var conn string
		trace := &httptrace.ClientTrace{GotConn: func(c httptrace.GotConnInfo) {
			conn = fmt.Sprintf("%v->%v reused=%v", c.Conn.LocalAddr(), c.Conn.RemoteAddr(), c.Reused)
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url, nil)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				resp.Header.Del("Date")
				err = fmt.Errorf("status %d, want %d (headers %v, body %q)", resp.StatusCode, want, resp.Header, body)
			}
		}
		if logf != nil {
			what := "ok"
			if err != nil {
				what = err.Error()
			}
			if what != last {
				logf("%s after %v: %s [%s]", url, time.Since(began).Round(time.Millisecond), what, conn)
				last = what
			}
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-done:
			return fmt.Errorf("the process ended: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// testTransport is the transport of every request the tests send. It dials
// loopback and the test cluster's Service and pod ranges only, and refuses
// any other address before a packet is sent; kube-up.sh routes those ranges
// to the pod bridge, and the cluster tier checks that (checkContained) before
// its first request, so no request leaves the machine. It uses no proxy from
// the environment: through one, a request would leave by the proxy.
func testTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: dialOnlyLocal}
	tr.DialContext = d.DialContext
	return tr
}

// clusterRanges are the test cluster's addresses (hack/kube-up.sh): its
// Services, then its pods.
var clusterRanges = []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16"), netip.MustParsePrefix("10.244.0.0/24")}

// dialOnlyLocal is a net.Dialer Control that refuses every address but
// loopback and the test cluster's.
func dialOnlyLocal(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: %v", network, address, err)
	}
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() {
		return nil
	}
	for _, r := range clusterRanges {
		if r.Contains(ip) {
			return nil
		}
	}
	return fmt.Errorf("refusing to dial %s: neither loopback nor the test cluster's (%v)", address, clusterRanges)
}

// syncBuffer is a bytes.Buffer a process and the test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
