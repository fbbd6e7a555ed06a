package deploytest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// promOperator is the prometheus-operator module whose CRD files validate the
// ServiceMonitors (the same version as the API types decoded in the static tier).
const promOperator = "github.com/prometheus-operator/prometheus-operator@v0.81.0"

// cluster is a hack/kube-up.sh cluster and its kubectl.
type cluster struct {
	dir     string // KUBE_DIR
	kubectl string
	config  string
}

// kubeUp starts the cluster (building it the first time) and stops it at the end.
func kubeUp(t *testing.T) *cluster {
	t.Helper()
	dir := os.Getenv("HORDE_KUBE_DIR")
	if dir == "" {
		dir = "/var/tmp/horde-kube" // kept between runs: the build cache
	}
	c := &cluster{dir: dir, kubectl: filepath.Join(dir, "bin", "kubectl"), config: filepath.Join(dir, "run", "kubeconfig")}
	c.script(t, 2*time.Minute, "down") // whatever an earlier run left
	t.Cleanup(func() {
		if t.Failed() {
			for _, args := range [][]string{{"get", "all,pvc,pv,jobs", "-A", "-o", "wide"}, {"get", "events", "-n", Namespace, "--sort-by=.lastTimestamp"}} {
				out, _ := c.try(30*time.Second, nil, args...)
				t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
			}
		}
		c.script(t, 2*time.Minute, "down")
	})
	start := time.Now()
	c.script(t, 25*time.Minute, "up")
	t.Logf("kube-up.sh up: %v", time.Since(start).Round(time.Second))
	// Before the first request: nothing addressed to the cluster may leave the machine.
	route, err := checkContained()
	if err != nil {
		t.Fatalf("the Service range %s is not contained: %v", serviceRange, err)
	}
	t.Logf("the Service range %s is contained: %s; pods are not forwarded off cni0", serviceRange, route)
	countEscapes(t)
	return c
}

// script runs hack/kube-up.sh with a subcommand.
func (c *cluster) script(t *testing.T, limit time.Duration, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repo, "hack", "kube-up.sh"), args...)
	cmd.Env = append(os.Environ(), "KUBE_DIR="+c.dir)
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kube-up.sh %s: %v\n%s", strings.Join(args, " "), err, lastLines(out, 40))
	}
}

// try runs kubectl with stdin and returns its combined output.
func (c *cluster) try(limit time.Duration, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.kubectl, append([]string{"--kubeconfig", c.config}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// run runs kubectl and fails the test on an error.
func (c *cluster) run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.try(3*time.Minute, nil, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// ns runs kubectl in the namespace.
func (c *cluster) ns(t *testing.T, args ...string) string {
	t.Helper()
	return c.run(t, append([]string{"-n", Namespace}, args...)...)
}

// serviceMonitorCRD returns the ServiceMonitor CRD file of the prometheus-operator module.
func serviceMonitorCRD(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", promOperator).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", promOperator, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: no directory in %s", promOperator, out)
	}
	return filepath.Join(mod.Dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_servicemonitors.yaml")
}

// until calls f every second until it returns nil, for at most limit.
func until(t *testing.T, limit time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, limit, err)
		}
		time.Sleep(time.Second)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// needCluster skips unless HORDE_KUBE_E2E=1 or HORDE_REQUIRE_ALL=1 (CI), and fails
// instead of skipping when required but not root. HORDE_KUBE_E2E=0 always skips.
func needCluster(t *testing.T) {
	t.Helper()
	e2e, required := os.Getenv("HORDE_KUBE_E2E"), os.Getenv("HORDE_REQUIRE_ALL") == "1"
	if e2e == "0" || (e2e != "1" && !required) {
		t.Skip("the real-cluster tier runs with HORDE_KUBE_E2E=1 or HORDE_REQUIRE_ALL=1, as root (deploy/test/run.sh)")
	}
	if os.Geteuid() != 0 {
		msg := "the real-cluster tier needs root (hack/kube-up.sh runs containerd, kubelet, iptables)"
		if required {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}
