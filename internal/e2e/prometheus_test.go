package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// horde analyze --prometheus judges series from a real Prometheus server
// (Debian's), as the seed's analyser does: a target leaking memory fails,
// an idle one passes.
func TestAnalyze_Prometheus(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		skipOrFail(t, "prometheus not installed (Debian package prometheus)")
	}
	_, leaky := startTargetWithAdmin(t, "--leak-bytes-per-second", "3000000")
	_, healthy := startTargetWithAdmin(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	promAddr := l.Addr().String()
	l.Close()
	writeFile(t, dir, "prometheus.yml", fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: leaky
    static_configs: [{targets: ["%s"]}]
  - job_name: healthy
    static_configs: [{targets: ["%s"]}]
`, leaky, healthy))
	start(t, dir, nil, promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	time.Sleep(45 * time.Second) // about 40 scrapes of each target

	url := "http://" + promAddr
	for _, tt := range []struct {
		job      string
		wantCode int
		want     string
	}{
		{"leaky", 1, "FAIL  check      memory leak (process_resident_memory_bytes{"},
		// A young idle process still settles (a few % of RSS): it may warn, never fail.
		{"healthy", 0, "check      memory leak (process_resident_memory_bytes{"},
	} {
		p := start(t, dir, nil, hordeBin, "analyze", "--prometheus", url,
			"--query", `process_resident_memory_bytes{job="`+tt.job+`"}`, "--start", "-45s", "--step", "1s", "--warmup", "25s")
		code := p.wait(t, 30*time.Second)
		out := p.stdout.String()
		t.Logf("%s:\n%s", tt.job, out)
		if code != tt.wantCode {
			t.Errorf("%s: exit code %d, want %d\n%s", tt.job, code, tt.wantCode, p.stderr)
		}
		if !strings.Contains(out, tt.want) {
			t.Errorf("%s: output lacks %q", tt.job, tt.want)
		}
		if tt.wantCode == 0 && strings.Contains(out, "FAIL") {
			t.Errorf("%s: a failed check", tt.job)
		}
	}
	bad := start(t, dir, nil, hordeBin, "analyze", "--prometheus", url, "--query", "rate(")
	if code := bad.wait(t, 30*time.Second); code != 2 || !strings.Contains(bad.stderr.String(), "rate(") {
		t.Errorf("a bad query: exit code %d, want 2\n%s", code, bad.stderr)
	}
}

// Prometheus scrapes horde's own /metrics (monitor out): request counters
// labelled by request name, users, and the generator's health.
func TestMetrics_ScrapedByPrometheus(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		skipOrFail(t, "prometheus not installed (Debian package prometheus)")
	}
	host := startTarget(t)
	dir := t.TempDir()
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	webAddr, promAddr := free(), free()
	_, webPort, _ := net.SplitHostPort(webAddr)
	file := writeFile(t, dir, "m.yaml", "users:\n  - name: a\n    wait: {constant: 50ms}\n    tasks:\n      - get: /delay/0\n        name: /delay/[ms]\n")
	start(t, dir, nil, hordeBin, "run", file, "-H", host, "-u", "2", "-r", "10", "--autostart", "--web-port", webPort)
	writeFile(t, dir, "prometheus.yml", fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: horde\n    static_configs: [{targets: [%q]}]\n", webAddr))
	start(t, dir, nil, promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)

	deadline := time.Now().Add(30 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(`horde_requests_total{name="/delay/[ms]"}`))
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if strings.Contains(body, `"name":"/delay/[ms]"`) {
			break
		}
	}
	if !strings.Contains(body, `"name":"/delay/[ms]"`) || !strings.Contains(body, `"method":"GET"`) {
		t.Fatalf("Prometheus has no horde_requests_total for the request name:\n%s", body)
	}
	for _, q := range []string{"horde_users", "go_goroutines", `horde_request_duration_seconds{quantile="0.99"}`} {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"result":[{`) {
			t.Errorf("%s: no result: %s", q, b)
		}
	}
}
