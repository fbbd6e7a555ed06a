//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// --source-addrs, HORDE_SOURCE_ADDRS and defaults: source_addrs: spread the
// users' connections over the given local addresses: a loopback server
// records each connection's remote address, and every address given shows
// up, each as often as the others.
func TestRun_SourceAddrs(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) }))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s != http.StateNew {
			return
		}
		h, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		mu.Lock()
		seen[h]++
		mu.Unlock()
	}
	srv.Start()
	defer srv.Close()

	want := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9"}
	plain := "users:\n  - name: idle\n    wait: {constant: 1h}\n    tasks:\n      - get: /\n"
	for _, tc := range []struct {
		name     string
		scenario string
		env      []string
		args     []string
	}{
		{"flag", plain, nil, []string{"--source-addrs", "127.0.0.2-127.0.0.9"}},
		{"env", plain, []string{"HORDE_SOURCE_ADDRS=127.0.0.2-127.0.0.5,127.0.0.6-127.0.0.9"}, nil},
		{"scenario", "defaults:\n  source_addrs: [127.0.0.2-127.0.0.4, 127.0.0.5-127.0.0.9]\n" + plain, nil, nil},
		// The flag wins over the scenario's defaults.
		{"flag over scenario", "defaults:\n  source_addrs: 127.0.0.20\n" + plain, nil, []string{"--source-addrs", "127.0.0.2-127.0.0.9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			clear(seen)
			mu.Unlock()
			dir := t.TempDir()
			file := writeFile(t, dir, "s.yaml", tc.scenario)
			args := append([]string{"run", file, "--headless", "-u", "16", "-r", "100", "-t", "2s", "-H", srv.URL,
				"--only-summary", "--json", "out.json"}, tc.args...)
			p := start(t, dir, tc.env, hordeBin, args...)
			if code := p.wait(t, 60*time.Second); code != 0 {
				t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
			}
			mu.Lock()
			defer mu.Unlock()
			var got []string
			for a, n := range seen {
				got = append(got, a)
				if n != 2 {
					t.Errorf("%s: %d connections, want 2 (16 users over 8 addresses): %v", a, n, seen)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("connections came from %v, want %v", got, want)
			}
		})
	}
}

// A bad --source-addrs or source_addrs: is refused before the run, naming
// the flag or the file's place.
func TestRun_SourceAddrsBad(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "s.yaml", "host: http://127.0.0.1:1\ndefaults:\n  source_addrs: 127.0.0.9-127.0.0.2\nusers:\n  - name: u\n    tasks:\n      - get: /\n")
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "1", "-t", "1s")
	if code := p.wait(t, 30*time.Second); code == 0 || !strings.Contains(p.stderr.String(), "s.yaml:3:17") ||
		!strings.Contains(p.stderr.String(), "ends before it starts") {
		t.Errorf("scenario: exit %d, stderr:\n%s", code, p.stderr)
	}
	file = writeFile(t, dir, "ok.yaml", "host: http://127.0.0.1:1\nusers:\n  - name: u\n    tasks:\n      - get: /\n")
	p = start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "1", "-t", "1s", "--source-addrs", "localhost")
	if code := p.wait(t, 30*time.Second); code == 0 || !strings.Contains(p.stderr.String(), "--source-addrs") {
		t.Errorf("flag: exit %d, stderr:\n%s", code, p.stderr)
	}
}

// With few ephemeral ports (a private network namespace whose
// ip_local_port_range holds four), connections beyond them fail with a
// message that names the cause and the remedy; with source addresses added,
// the same users all connect.
func TestRun_SourceAddrsPastThePorts(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		skipOrFail(t, "unshare (util-linux) is not installed")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "ip (iproute2) is not installed")
	}
	if out, err := exec.Command("unshare", "-n", "sh", "-c", "echo '40000 40003' > /proc/sys/net/ipv4/ip_local_port_range").CombinedOutput(); err != nil {
		skipOrFail(t, "cannot make a network namespace with a small port range (needs root): %v %s", err, out)
	}
	dir := t.TempDir()
	writeFile(t, dir, "s.yaml", "users:\n  - name: idle\n    wait: {constant: 1h}\n    tasks:\n      - get: /\n")
	// Inside the namespace: loopback up, four local ports, `horde target`,
	// then 12 users; the target is killed by PID at the end.
	script := fmt.Sprintf(`set -e
ip link set lo up
echo '40000 40003' > /proc/sys/net/ipv4/ip_local_port_range
%[1]s target --addr 127.0.0.1:18099 --admin-addr off >target.out 2>&1 &
tp=$!
trap 'kill $tp' EXIT
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/18099) 2>/dev/null && break; sleep 0.1; done
%[1]s run s.yaml --headless -u 12 -r 100 -t 3s -H http://127.0.0.1:18099 --only-summary --json few.json >few.out 2>&1 || true
%[1]s run s.yaml --headless -u 12 -r 100 -t 3s -H http://127.0.0.1:18099 --only-summary --json many.json --source-addrs 127.0.0.2-127.0.0.5 >many.out 2>&1 || true
`, hordeBin)
	cmd := exec.Command("timeout", "-k", "5", "60", "unshare", "-n", "bash", "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	type summary struct {
		Total struct {
			NumRequests int `json:"num_requests"`
			NumFailures int `json:"num_failures"`
		} `json:"total"`
		Errors []struct {
			Error       string `json:"error"`
			Occurrences int    `json:"occurrences"`
		} `json:"errors"`
	}
	read := func(name string) (summary, string) {
		var s summary
		b, err := os.ReadFile(filepath.Join(dir, name+".json"))
		out, _ := os.ReadFile(filepath.Join(dir, name+".out"))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s, string(b) + string(out)
	}
	few, fewText := read("few")
	if few.Total.NumFailures == 0 || !strings.Contains(fewText, "out of local ports to 127.0.0.1:18099: add source addresses (--source-addrs)") {
		t.Errorf("four ports, 12 users: %d failures; want the out-of-ports error in:\n%s", few.Total.NumFailures, fewText)
	}
	many, manyText := read("many")
	if many.Total.NumFailures != 0 || many.Total.NumRequests != 12 {
		t.Errorf("four addresses: %d requests, %d failures; want 12 and 0:\n%s", many.Total.NumRequests, many.Total.NumFailures, manyText)
	}
}

// In a cluster, each worker connects from its own --source-addrs (the
// machine's addresses), else from the shipped scenario's source_addrs:.
func TestCluster_SourceAddrs(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) }))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			h, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			mu.Lock()
			seen[h]++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	dir := t.TempDir()
	file := writeFile(t, dir, "s.yaml", "defaults:\n  source_addrs: 127.0.0.20-127.0.0.21\nusers:\n  - name: idle\n    wait: {constant: 1h}\n    tasks:\n      - get: /\n")
	m, port := startMaster(t, dir, 0, file, "--headless", "--expect-workers", "2", "-u", "8", "-r", "100", "-t", "3s", "-H", srv.URL, "--only-summary")
	own := startWorker(t, dir, port, "--source-addrs", "127.0.0.2-127.0.0.3")
	shipped := startWorker(t, dir, port)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d\nstdout:\n%s\nstderr:\n%s", code, m.stdout, m.stderr)
	}
	for _, w := range []*proc{own, shipped} {
		if code := w.wait(t, 20*time.Second); code != 0 {
			t.Fatalf("worker exit code %d\n%s", code, w.stderr)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"127.0.0.2": 2, "127.0.0.3": 2, "127.0.0.20": 2, "127.0.0.21": 2}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("connections by source address %v, want %v", seen, want)
	}
}
