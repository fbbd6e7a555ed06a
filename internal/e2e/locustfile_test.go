//go:build e2e

package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Locustfiles through the binary (docs/convert.md): the seed's converts,
// validates and runs against horde target; every locustfile of the
// converter's corpus runs, converted in memory by horde run -f, against a
// server on loopback.

func TestLocustfile_Seed(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	seed := filepath.Join(repoRoot, "internal", "locustfile", "testdata", "seed.py")
	star := filepath.Join(dir, "seed.star")
	c := start(t, repoRoot, nil, hordeBin, "convert", seed, "-o", star)
	if code := c.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("convert: exit code %d\n%s", code, c.stderr)
	}
	if !strings.Contains(c.stderr.String(), "1 user classes (APIUser)") || !strings.Contains(c.stderr.String(), "0 things not converted") {
		t.Errorf("convert's summary: %s", c.stderr)
	}
	v := start(t, repoRoot, nil, hordeBin, "validate", star, "-H", host)
	if code := v.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("validate: exit code %d\n%s%s", code, v.stdout, v.stderr)
	}
	// Locust's first command: horde run -f locustfile.py.
	p := start(t, dir, nil, hordeBin, "run", "-f", seed, "--headless", "-u", "50", "-r", "25", "-t", "20s",
		"-H", host, "--json", filepath.Join(dir, "run.json"), "--only-summary")
	if code := p.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "is a locustfile: running it converted to Starlark; the converted file is ") {
		t.Errorf("run -f does not say it converted:\n%s", p.stderr)
	}
	s, _ := readSummary(t, filepath.Join(dir, "run.json"))
	checkSeed(t, s, 50)
}

// The corpus: each file's request names show up, nothing fails, and only
// what the converter reported as not converted raises.
func TestLocustfile_Corpus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"token": "t0k", "id": 1, "items": [{"id": 1}, {"id": 2}], "ok": true}`))
	}))
	t.Cleanup(srv.Close)
	cases := map[string][]string{
		"quickstart.py":     {"POST /login", "GET /hello", "GET /world", "GET /item"},
		"tasksets.py":       {"GET /", "GET /forum/thread", "GET /about/"},
		"sequential.py":     {"GET /api/items", "POST /api/cart", "POST /api/checkout"},
		"catch_response.py": {"GET /status", "POST create"},
		"tags_classes.py":   {"GET /api/[v]/products", "GET /api/[v]/products/[id]", "GET /admin/report"},
		"unsupported.py":    {"GET /ok"},
		"old_style.py":      {"POST /login", "GET /", "GET /profile"},
		"credentials.py":    {}, // its on_start is not converted: every entry into the task set fails
	}
	files, _ := filepath.Glob(filepath.Join(repoRoot, "internal", "locustfile", "testdata", "*.py"))
	for _, f := range files {
		name := filepath.Base(f)
		if name == "seed.py" {
			continue
		}
		want, ok := cases[name]
		if !ok {
			t.Errorf("%s: no expectations in TestLocustfile_Corpus", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			// 40 users: each picks its first task at random by weight (quickstart's
			// 1:3 left all of four users in its 10-second task in a third of runs).
			p := start(t, dir, nil, hordeBin, "run", f, "--headless", "-u", "40", "-r", "40", "-t", "6s",
				"-H", srv.URL, "--json", filepath.Join(dir, "run.json"), "--only-summary")
			code := p.wait(t, 60*time.Second)
			lost := strings.Contains(p.stderr.String(), "not converted: ")
			if code != 0 && !(lost && code == 1) {
				t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
			}
			s, raw := readSummary(t, filepath.Join(dir, "run.json"))
			got := s.requests()
			for _, n := range want {
				if got[n][0] == 0 {
					t.Errorf("no %s requests: %v", n, got)
				}
			}
			for n, c := range got {
				if c[1] != 0 {
					t.Errorf("%s: %d failures\n%s", n, c[1], raw)
				}
			}
			for _, e := range s.Exceptions {
				if !lost || !strings.Contains(e.Message, "not converted: ") {
					t.Errorf("exception %d× %s\n%s", e.Count, e.Message, e.Traceback)
				}
			}
			if lost && len(s.Exceptions) == 0 {
				t.Errorf("%s reports things not converted, but no task failed for them", name)
			}
			if name == "tags_classes.py" {
				for _, msg := range []string{"A new test is starting", "A test is ending"} {
					if strings.Count(p.stderr.String(), msg) != 1 {
						t.Errorf("%q (test_start/test_stop) not printed once:\n%s", msg, p.stderr)
					}
				}
			}
		})
	}
}

// The first command of a Locust user: the flags horde takes, the ones it
// does not. (horde master takes a locustfile for Locust workers: locust_test.go.)
func TestLocustfile_Flags(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(repoRoot, "internal", "locustfile", "testdata", "seed.py")
	conf := writeFile(t, dir, "locust.conf", "locustfile = "+seed+"\nheadless = true\n")
	_ = conf
	for _, tc := range []struct {
		args []string
		code int
		out  string // in stdout or stderr
	}{
		{[]string{"run", "--list"}, 0, "Available Users:\n    APIUser"},
		{[]string{"run", "-f", seed, "--show-task-ratio-json"}, 0, `"ratio": 0.42857142857142855`},
		{[]string{"run", "-f", seed, "--show-task-ratio"}, 0, "Task ratio (per class)"},
		{[]string{"run", "-f", seed, "--processes", "4", "--skip-log-setup", "--list"}, 0, "APIUser"},
		{[]string{"run", "-f", seed, "--master"}, 2, "horde run does not take Locust's --master: horde's master is a command"},
		{[]string{"run", "-f", seed, "--no-such-flag"}, 2, "horde run has no flag --no-such-flag"},
		{[]string{"validate", seed}, 0, "seed.py: ok (1 user class, 4 tasks)"},
		{[]string{"convert", seed, "-o", filepath.Join(dir, "x.yaml")}, 2, "YAML cannot say"},
	} {
		p := start(t, dir, nil, hordeBin, tc.args...)
		code := p.wait(t, 30*time.Second)
		all := p.stdout.String() + p.stderr.String()
		if code != tc.code || !strings.Contains(all, tc.out) {
			t.Errorf("horde %s: exit code %d, want %d with %q; got:\n%s", strings.Join(tc.args, " "), code, tc.code, tc.out, all)
		}
	}
	// --logfile takes horde's log away from standard error.
	host := startTarget(t)
	log := filepath.Join(dir, "horde.log")
	p := start(t, dir, nil, hordeBin, "run", "-f", seed, "--headless", "-u", "2", "-r", "2", "-t", "2s", "-H", host, "--logfile", log, "--only-summary")
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("--logfile run: exit code %d\n%s", code, p.stderr)
	}
	if b, err := os.ReadFile(log); err != nil || len(b) == 0 {
		t.Errorf("--logfile %s: %v, %d bytes", log, err, len(b))
	}
}
