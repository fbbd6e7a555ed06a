//go:build e2e

package e2e

// Locust's run options through the CLI: -i/--iterations (standalone and
// distributed), --tags/--exclude-tags, class names as arguments, the class
// picker of /swarm, and config files (--config, ./locust.conf, ./horde.conf)
// with the precedence flags > environment > file.

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// taggedScenario has two classes: api (a read task and a write task,
// tagged) and admin (tagged as a class), each request named by its task.
func taggedScenario(host string) string {
	return `host: ` + host + `
users:
  - name: api
    wait: {constant: 0s}
    on_start:
      - post: /api/login
        name: login
        json: {username: u, password: test123}
        capture: {token: {json: token}}
    tasks:
      - get: /api/data/1
        name: read
        tags: [read]
        headers: {Authorization: "Bearer {{ .token }}"}
      - post: /api/items
        name: write
        tags: [write, slow]
        headers: {Authorization: "Bearer {{ .token }}"}
        json: {title: t}
  - name: admin
    tags: [admin]
    wait: {constant: 0s}
    on_start:
      - post: /api/login
        name: login
        json: {username: a, password: test123}
        capture: {token: {json: token}}
    tasks:
      - get: /api/items
        name: list
        headers: {Authorization: "Bearer {{ .token }}"}
`
}

// requestsByName reads a run's --json summary: requests and failures by
// request name.
func requestsByName(t *testing.T, path string) (reqs, fails map[string]int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Stats []struct {
			Name     string `json:"name"`
			Requests int    `json:"num_requests"`
			Failures int    `json:"num_failures"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	reqs, fails = map[string]int{}, map[string]int{}
	for _, r := range doc.Stats {
		reqs[r.Name] += r.Requests
		fails[r.Name] += r.Failures
	}
	return reqs, fails
}

// -i 3 with 10 users: every user logs in once, runs exactly 3 task
// iterations and logs out; the run ends by itself, without a run time.
func TestOptions_Iterations(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "seed.yaml", seedNoWait(t))
	sum := filepath.Join(dir, "summary.json")
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-H", host, "-u", "10", "-r", "50", "-i", "3",
		"--only-summary", "--json", sum, "--runs-dir", dir)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.stderr)
	}
	reqs, fails := requestsByName(t, sum)
	tasks := reqs["/api/data/[id]"] + reqs["/api/items"] + reqs["/api/items/[id]"]
	if tasks != 30 || reqs["/api/login"] != 10 || reqs["/api/logout"] != 10 {
		t.Errorf("requests %v: want 30 task requests (10 users x 3 iterations), 10 logins, 10 logouts", reqs)
	}
	for n, f := range fails {
		if f > 0 {
			t.Errorf("%s: %d failures", n, f)
		}
	}
	if !strings.Contains(p.stderr.String(), "every user ran its iterations") {
		t.Errorf("the log does not say why the run ended:\n%s", p.stderr)
	}
}

// The same over a master and two workers: the iterations are counted per
// user on each worker, and the master ends the run when both are done.
func TestOptions_IterationsDistributed(t *testing.T) {
	m, workers, dir := seedCluster(t, 2, "-u", "10", "-r", "50", "-i", "3", "--only-summary", "--json", "summary.json", "--runs-dir", ".")
	if code := m.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("master exit %d\n%s", code, m.stderr)
	}
	for _, w := range workers {
		w.wait(t, 30*time.Second)
	}
	reqs, _ := requestsByName(t, filepath.Join(dir, "summary.json"))
	tasks := reqs["/api/data/[id]"] + reqs["/api/items"] + reqs["/api/items/[id]"]
	if tasks != 30 || reqs["/api/login"] != 10 || reqs["/api/logout"] != 10 {
		t.Errorf("requests %v: want 30 task requests over two workers, 10 logins, 10 logouts", reqs)
	}
}

// --tags, --exclude-tags and class names select what runs; a tag or class
// that does not exist is an error (exit 2) naming it.
func TestOptions_TagsAndClasses(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "tagged.yaml", taggedScenario(host))
	cases := []struct {
		name string
		args []string
		want []string // request names that ran (besides login)
	}{
		{"tags", []string{"-T", "read"}, []string{"read"}},
		{"tags of a class", []string{"--tags", "admin,slow"}, []string{"list", "write"}},
		{"exclude", []string{"-E", "admin", "--exclude-tags", "write"}, []string{"read"}},
		{"class argument", []string{"admin"}, []string{"list"}},
		{"class and tag", []string{"api", "-E", "read"}, []string{"write"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sum := filepath.Join(t.TempDir(), "summary.json")
			args := append([]string{"run", file}, c.args...)
			args = append(args, "--headless", "-u", "4", "-r", "100", "-i", "5", "--only-summary", "--json", sum, "--runs-dir", dir)
			p := start(t, dir, nil, hordeBin, args...)
			if code := p.wait(t, 60*time.Second); code != 0 {
				t.Fatalf("exit %d\n%s", code, p.stderr)
			}
			reqs, fails := requestsByName(t, sum)
			var got []string
			for n, k := range reqs {
				if n != "login" && k > 0 {
					got = append(got, n)
				}
				if fails[n] > 0 {
					t.Errorf("%s: %d failures", n, fails[n])
				}
			}
			if strings.Join(sorted(got), ",") != strings.Join(c.want, ",") {
				t.Errorf("ran %v (%v), want %v", sorted(got), reqs, c.want)
			}
		})
	}
	for _, bad := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-T", "reed"}, `--tags reed: no task or user class of`},
		{[]string{"nobody"}, `user class "nobody": no such class`},
		{[]string{"-i", "-1"}, `--iterations: -1 is negative`},
		{[]string{"-i", "2", "--rate", "5"}, `--iterations counts task iterations per user`},
	} {
		p := start(t, dir, nil, hordeBin, append([]string{"run", file, "--headless", "--runs-dir", dir}, bad.args...)...)
		if code := p.wait(t, 30*time.Second); code != 2 || !strings.Contains(p.stderr.String(), bad.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", bad.args, code, p.stderr, bad.msg)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// With --class-picker, /swarm's user_classes choose the classes (the reply
// names them, sorted, as Locust's); without it they are ignored.
func TestOptions_ClassPickerAPI(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "tagged.yaml", taggedScenario(host))
	p, base := startWeb(t, dir, file, host, "--class-picker", "--runs-dir", dir)
	c := newAPIClient(base)
	page := c.do(t, "GET", "/", nil)
	if !strings.Contains(page.body, `name="user_classes" value="admin"`) || !strings.Contains(page.body, `name="user_classes" value="api"`) {
		t.Fatalf("the start form has no class picker:\n%s", page.body)
	}
	bad := c.do(t, "POST", "/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"10"}, "user_classes": {"nobody"}})
	if bad.status != 400 || !strings.Contains(bad.body, "user_classes") {
		t.Errorf("unknown class: %d %s, want 400 naming user_classes", bad.status, bad.body)
	}
	r := c.do(t, "POST", "/swarm", url.Values{"user_count": {"3"}, "spawn_rate": {"30"}, "user_classes": {"admin"}})
	var reply struct {
		Success     bool     `json:"success"`
		UserClasses []string `json:"user_classes"`
	}
	if err := json.Unmarshal([]byte(r.body), &reply); r.status != 200 || err != nil || !reply.Success || strings.Join(reply.UserClasses, ",") != "admin" {
		t.Fatalf("swarm: %d %s, want success and user_classes [admin]", r.status, r.body)
	}
	doc := c.poll(t, 20*time.Second, "list requests", func(d apiStatsDoc) bool { return d.requests() >= 20 })
	for _, s := range doc.Stats {
		if n, _ := s["name"].(string); n == "read" || n == "write" {
			t.Errorf("class api ran (%s) though only admin was picked", n)
		}
	}
	if code := p.sigint(t); code != 0 {
		t.Errorf("exit %d\n%s", code, p.stderr)
	}
}

var runStartedRE = regexp.MustCompile(`msg="run started" users=(\d+) spawn_rate=\S+ host=\S+ run_time=(\S+)`)

// A locust.conf in the working directory sets the scenario, users and run
// time (Locust's key = value format, with a [section], comments, a list and
// Locust-only keys); horde.conf overrides it; the environment and flags win
// over both; a bad key is an error naming file:line.
func TestOptions_ConfigFile(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "tagged.yaml", taggedScenario(host))
	writeFile(t, dir, "locust.conf", `# the team's Locust config
[locust]
locustfile = tagged.yaml
headless = true
master = true
users = 7
spawn-rate = 70
run-time = 5s
only_summary: true
tags = [read, admin]
json = summary.json
runs-dir = .
`)
	t0 := time.Now()
	p := start(t, dir, []string{"HOME=" + dir}, hordeBin, "run")
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.stderr)
	}
	took := time.Since(t0)
	m := runStartedRE.FindStringSubmatch(p.stderr.String())
	if m == nil || m[1] != "7" || m[2] != "5s" {
		t.Fatalf("run started with %v, want users=7 run_time=5s:\n%s", m, p.stderr)
	}
	if took < 5*time.Second || took > 20*time.Second {
		t.Errorf("the run took %v, want about the 5 s of the file", took)
	}
	reqs, _ := requestsByName(t, filepath.Join(dir, "summary.json"))
	if reqs["read"] == 0 || reqs["list"] == 0 || reqs["write"] != 0 {
		t.Errorf("requests %v: want read and list (tags = [read, admin]), no write", reqs)
	}

	// horde.conf is read after locust.conf; HORDE_USERS beats both; -t beats all.
	writeFile(t, dir, "horde.conf", "users = 5\nrun-time = 2s\n")
	for _, c := range []struct {
		env   []string
		args  []string
		users string
		rt    string
	}{
		{nil, nil, "5", "2s"},
		{[]string{"HORDE_USERS=3"}, nil, "3", "2s"},
		{[]string{"HORDE_USERS=3"}, []string{"-u", "2", "-t", "1s"}, "2", "1s"},
	} {
		p := start(t, dir, append(c.env, "HOME="+dir), hordeBin, append([]string{"run"}, c.args...)...)
		if code := p.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("%v %v: exit %d\n%s", c.env, c.args, code, p.stderr)
		}
		m := runStartedRE.FindStringSubmatch(p.stderr.String())
		if m == nil || m[1] != c.users || m[2] != c.rt {
			t.Errorf("%v %v: run started with %v, want users=%s run_time=%s", c.env, c.args, m, c.users, c.rt)
		}
	}

	// --config FILE is read last of the files; a bad key names its line.
	bad := writeFile(t, dir, "bad.conf", "users = 2\n\nuserz = 3\n")
	p = start(t, dir, []string{"HOME=" + dir}, hordeBin, "run", "--config", bad)
	if code := p.wait(t, 30*time.Second); code != 2 || !strings.Contains(p.stderr.String(), `bad.conf:3: unknown option "userz"`) {
		t.Errorf("bad key: exit %d, stderr %q; want exit 2 naming bad.conf:3", code, p.stderr)
	}
	p = start(t, dir, []string{"HOME=" + dir}, hordeBin, "run", "--config", filepath.Join(dir, "missing.conf"))
	if code := p.wait(t, 30*time.Second); code != 2 || !strings.Contains(p.stderr.String(), "missing.conf") {
		t.Errorf("missing --config file: exit %d, stderr %q; want exit 2 naming it", code, p.stderr)
	}
}

// The start form's class picker in Chromium: unchecking a class leaves it
// out of the run.
func TestWeb_ClassPicker(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "tagged.yaml", taggedScenario(host))
	_, base := startWeb(t, dir, file, host, "--class-picker", "--runs-dir", dir)
	ctx := newBrowser(t)
	browserDo(t, ctx, "open the page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("class-picker")))
	browserDo(t, ctx, "uncheck api", chromedp.Click(`#class-picker input[value="api"]`))
	startFromForm(t, ctx, "3", "30", "")
	browserWait(t, ctx, "3 users", `document.getElementById("status-users").textContent === "3"`, 10*time.Second)
	c := newAPIClient(base)
	var run struct {
		Spec struct {
			UserClasses []string `json:"user_classes"`
		} `json:"spec"`
	}
	c.json(t, "/api/v1/run", &run)
	if strings.Join(run.Spec.UserClasses, ",") != "admin" {
		t.Errorf("run's classes %v, want [admin]", run.Spec.UserClasses)
	}
	doc := c.poll(t, 20*time.Second, "requests", func(d apiStatsDoc) bool { return d.requests() >= 20 })
	for _, s := range doc.Stats {
		if n, _ := s["name"].(string); n == "read" || n == "write" {
			t.Errorf("class api ran (%s) though it was unchecked", n)
		}
	}
}
