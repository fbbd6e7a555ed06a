package deploytest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The cluster tier sends load and probes only to loopback and to the cluster
// it made, whose addresses hack/kube-up.sh keeps on this machine: the Service
// range is routed to the pod bridge, pods are not forwarded off it. Every
// request goes through testTransport, which dials nothing else.

// serviceRange is the cluster's Service range (kube-apiserver's
// --service-cluster-ip-range in hack/kube-up.sh), and serviceProbe an
// address in it whose route stands for the range's.
const serviceRange, serviceProbe = "10.96.0.0/16", "10.96.255.254"

// checkContained checks, without sending anything, that hack/kube-up.sh
// routed the Service range to the pod bridge (a packet that kube-proxy
// did not rewrite to a pod dies there, "no route to host") and drops what
// pods would forward to any other interface. It returns the route.
func checkContained() (string, error) {
	route, err := bridgeRoute(serviceProbe)
	if err != nil {
		return route, err
	}
	if out, err := execOutput("iptables", "-C", "FORWARD", "-i", "cni0", "!", "-o", "cni0", "-j", "DROP"); err != nil {
		return route, fmt.Errorf("no rule FORWARD -i cni0 ! -o cni0 -j DROP: %v %s", err, out)
	}
	return route, nil
}

// bridgeRoute returns the route to ip (`ip route get`, which sends nothing),
// and an error unless it goes to the pod bridge cni0.
func bridgeRoute(ip string) (string, error) {
	out, err := execOutput("ip", "route", "get", ip)
	if err != nil {
		return "", fmt.Errorf("ip route get %s: %v: %s", ip, err, out)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	f := strings.Fields(first)
	route := strings.Join(f, " ")
	if i := slices.Index(f, "dev"); i < 0 || i+1 == len(f) || f[i+1] != "cni0" {
		return route, fmt.Errorf("ip route get %s: %q, not via cni0", ip, route)
	}
	return route, nil
}

// escapeRule counts, without changing anything, the packets addressed to the
// Service range that leave by an interface other than the pod bridge: after
// kube-proxy's rewriting, a packet still addressed to a ClusterIP is one that
// no rule took to a pod. The route makes their number 0.
var escapeRule = []string{"POSTROUTING", "-d", serviceRange, "!", "-o", "cni0", "-m", "comment", "--comment", "horde-deploytest-escapes"}

// countEscapes adds escapeRule for the test and checks at its end that it
// counted nothing.
func countEscapes(t *testing.T) {
	t.Helper()
	ipt := func(op string) error {
		out, err := execOutput("iptables", append([]string{"-t", "mangle", op}, escapeRule...)...)
		if err != nil {
			return fmt.Errorf("iptables -t mangle %s %s: %v %s", op, strings.Join(escapeRule, " "), err, out)
		}
		return nil
	}
	for ipt("-D") == nil { // one an aborted run left
	}
	if err := ipt("-I"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out, err := execOutput("iptables-save", "-c", "-t", "mangle")
		ipt("-D")
		if err != nil {
			t.Errorf("iptables-save: %v %s", err, out)
			return
		}
		for _, line := range strings.Split(out, "\n") {
			if !strings.Contains(line, "horde-deploytest-escapes") {
				continue
			}
			// [packets:bytes] -A POSTROUTING ...
			packets, _, _ := strings.Cut(strings.TrimPrefix(line, "["), ":")
			if packets != "0" {
				t.Errorf("%s packets to the Service range left by another interface than cni0: %s", packets, line)
			} else {
				t.Logf("no packet to the Service range left by another interface than cni0")
			}
			return
		}
		t.Errorf("iptables-save: no rule %q in:\n%s", strings.Join(escapeRule, " "), out)
	})
}

// clusterIP returns a Service's ClusterIP, after checking that it is in the
// Service range and routed to the pod bridge.
func clusterIP(t *testing.T, k *cluster, namespace, name string) string {
	t.Helper()
	ip := strings.TrimSpace(k.run(t, "-n", namespace, "get", "service", name, "-o", "jsonpath={.spec.clusterIP}"))
	if a, err := netip.ParseAddr(ip); err != nil || !netip.MustParsePrefix(serviceRange).Contains(a) {
		t.Fatalf("service %s/%s: ClusterIP %q is not in the Service range %s", namespace, name, ip, serviceRange)
	}
	if _, err := bridgeRoute(ip); err != nil {
		t.Fatalf("service %s/%s: %v", namespace, name, err)
	}
	return ip
}

// noEndpointsFailLocally polls a ClusterIP with no endpoints (a Service whose
// selector matches no pod) and an address of the Service range that no Service
// has, as the tier's probes poll, and requires every attempt to fail here: a
// dial refused by kube-proxy's rule for a Service without endpoints, or
// "no route to host" (or a dial timeout) on the pod bridge, never an answer.
func noEndpointsFailLocally(t *testing.T, k *cluster) {
	const ns = "horde-no-endpoints"
	k.run(t, "create", "namespace", ns)
	defer k.run(t, "delete", "namespace", ns, "--wait=false")
	k.run(t, "-n", ns, "create", "service", "clusterip", "nobody", "--tcp=8089:8089") // selects app=nobody: no pod
	ip := clusterIP(t, k, ns, "nobody")
	if out := k.run(t, "get", "services", "-A", "-o", "jsonpath={.items[*].spec.clusterIP}"); slices.Contains(strings.Fields(out), serviceProbe) {
		t.Fatalf("a Service has %s, the address meant to have none: %s", serviceProbe, out)
	}
	tr := testTransport()
	defer tr.CloseIdleConnections()
	c := &http.Client{Timeout: 8 * time.Second, Transport: tr}
	for _, addr := range []string{ip, serviceProbe} {
		url := "http://" + addr + ":8089/readyz"
		seen := map[string]int{}
		// long enough to see kube-proxy's rule for the new Service come, and a
		// few ~3 s "no route to host" failures
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			resp, err := c.Get(url)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s: answered %s, by something that is not ours", url, resp.Status)
			}
			kind, ok := localDialError(err)
			if !ok {
				t.Fatalf("GET %s: %v: not a local dial error", url, err)
			}
			seen[kind]++
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("GET %s: no answer, only local dial errors: %v", url, seen)
	}
}

// localDialError says whether err is a dial that failed on this machine, and how.
func localDialError(err error) (string, bool) {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return "", false
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host", true
	case op.Timeout():
		return "dial timeout", true
	}
	return "", false
}

func TestDialOnlyLocal(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8089", true},
		{"[::1]:8089", true},
		{"10.96.0.1:443", true},         // a ClusterIP
		{"10.96.255.254:8089", true},    // the top of the Service range
		{"10.244.0.7:8089", true},       // a pod
		{"10.97.0.1:8089", false},       // next to the Service range
		{"10.244.1.7:8089", false},      // next to the pod range
		{"192.0.2.1:80", false},         // the default gateway's kind
		{"[2001:db8::1]:80", false},     // off the machine
		{"[::ffff:10.96.0.1]:80", true}, // IPv4 in IPv6 form
	} {
		err := dialOnlyLocal("tcp", tc.addr, nil)
		if got := err == nil; got != tc.ok {
			t.Errorf("dialOnlyLocal(%s): %v, want allowed=%v", tc.addr, err, tc.ok)
		}
	}
}
