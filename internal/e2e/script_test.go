//go:build e2e

package e2e

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Starlark users (docs/scripting.md) through the binary: the seed's
// locustfile translated (examples/seed-api.star), standalone and over two
// workers, and scripts that raise, loop forever or do not parse.

// summary is the part of --json a test reads.
type summary struct {
	Stats []struct {
		Method      string `json:"method"`
		Name        string `json:"name"`
		NumRequests int    `json:"num_requests"`
		NumFailures int    `json:"num_failures"`
	} `json:"stats"`
	Errors []struct {
		Method string `json:"method"`
		Name   string `json:"name"`
		Error  string `json:"error"`
	} `json:"errors"`
	Exceptions []struct {
		Count     int    `json:"count"`
		Message   string `json:"message"`
		Traceback string `json:"traceback"`
	} `json:"exceptions"`
}

func readSummary(t *testing.T, path string) (summary, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s, string(b)
}

func (s summary) requests() map[string][2]int {
	out := map[string][2]int{}
	for _, e := range s.Stats {
		out[e.Method+" "+e.Name] = [2]int{e.NumRequests, e.NumFailures}
	}
	return out
}

// checkSeed checks a run of the seed script of users users: the six
// request names, no failure (no 401 above all), one login and one logout
// per user, and the tasks in the weights 3/2/1/1.
func checkSeed(t *testing.T, s summary, users int) {
	t.Helper()
	got := s.requests()
	names := []string{"POST /api/login", "GET /api/data/[id]", "GET /api/items", "POST /api/items", "PATCH /api/items/[id]", "POST /api/logout"}
	if len(got) != len(names) {
		t.Errorf("request names %v, want the six of the seed %v", got, names)
	}
	for _, n := range names {
		if got[n][0] == 0 {
			t.Errorf("no %s requests", n)
		}
		if got[n][1] != 0 {
			t.Errorf("%s: %d failures (%v)", n, got[n][1], s.Errors)
		}
	}
	for _, e := range s.Errors {
		if strings.Contains(e.Error, "401") {
			t.Errorf("a 401: %+v", e)
		}
	}
	if got["POST /api/login"][0] != users || got["POST /api/logout"][0] != users {
		t.Errorf("logins %d, logouts %d, want %d each (once per user)", got["POST /api/login"][0], got["POST /api/logout"][0], users)
	}
	// get_data:3 list_items:2 create_item:1 update_item:1; each share within
	// 10 % of its weight's (or, when the run is too short for that to be
	// fair, within 4 binomial standard deviations).
	tasks := []struct {
		name   string
		weight float64
	}{{"GET /api/data/[id]", 3}, {"GET /api/items", 2}, {"POST /api/items", 1}, {"PATCH /api/items/[id]", 1}}
	total := 0
	for _, tk := range tasks {
		total += got[tk.name][0]
	}
	if total < 300 {
		t.Fatalf("only %d tasks ran", total)
	}
	for _, tk := range tasks {
		want := tk.weight / 7
		share := float64(got[tk.name][0]) / float64(total)
		tol := max(0.10*want, 4*math.Sqrt(want*(1-want)/float64(total)))
		if math.Abs(share-want) > tol {
			t.Errorf("%s: share %.3f of %d tasks, want %.3f ± %.3f", tk.name, share, total, want, tol)
		}
	}
	if len(s.Exceptions) != 0 {
		t.Errorf("exceptions: %+v", s.Exceptions)
	}
}

// horde run examples/seed-api.star against horde target.
func TestScript_SeedStandalone(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	p := start(t, repoRoot, nil, hordeBin, "run", "examples/seed-api.star", "--headless", "-u", "50", "-r", "25", "-t", "20s",
		"-H", host, "--json", filepath.Join(dir, "run.json"), "--only-summary")
	if code := p.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	s, _ := readSummary(t, filepath.Join(dir, "run.json"))
	checkSeed(t, s, 50)
}

// The same over a master and two workers: the workers get the script from
// the master (their directories hold no copy) and the totals merge.
func TestScript_SeedDistributed(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(repoRoot, "examples", "seed-api.star"))
	if err != nil {
		t.Fatal(err)
	}
	// The seed as a module loaded by the scenario: load() travels too.
	writeFile(t, dir, "seedlib.star", strings.Replace(string(src), "users = [", "seed_users = [", 1))
	// A feeder's CSV file travels too: a worker without it could not load the script.
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "data"), "names.csv", "name\nann\nbob\n")
	file := writeFile(t, dir, "seed.star", "load(\"seedlib.star\", \"seed_users\")\nnames = feeder(\"data/names.csv\")\n"+
		"if names.len != 2:\n    fail(\"names.csv has %d rows\" % names.len)\nusers = seed_users\n")
	m, port := startMaster(t, dir, 0, file, "--headless", "-H", host, "--expect-workers", "2", "--expect-workers-max-wait", "30s",
		"-u", "50", "-r", "25", "-t", "20s", "--json", filepath.Join(dir, "run.json"), "--only-summary")
	var workers []*proc
	for range 2 {
		workers = append(workers, startWorker(t, t.TempDir(), port))
	}
	if code := m.wait(t, 120*time.Second); code != 0 {
		t.Fatalf("master exit code %d\nstdout:\n%s\nstderr:\n%s", code, m.stdout, m.stderr)
	}
	sum := 0
	for i, w := range workers {
		if code := w.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("worker %d exit code %d\n%s", i, code, w.stderr)
		}
		sum += acknowledged(t, w)
	}
	if got := waitLog(t, m, regexp.MustCompile(`per_worker="\[(\d+ \d+)\]"`), time.Second)[1]; got != "25 25" {
		t.Errorf("50 users over 2 workers: got %s, want 25 25", got)
	}
	s, _ := readSummary(t, filepath.Join(dir, "run.json"))
	checkSeed(t, s, 50)
	total := 0
	for _, r := range s.requests() {
		total += r[0]
	}
	if total != sum {
		t.Errorf("master counted %d requests; the workers' acknowledged reports hold %d", total, sum)
	}
}

const faultyScript = `host = "http://127.0.0.1:1"

def fetch(u):
    u.get("/api/data/1", name = "/api/data/[id]")

def boom(u):
    u.get("/api/items", name = "/api/items")
    items = {}
    return items["missing"]

def give_up(u):
    fail("gave up on purpose")

def spin(u):
    n = 0
    while True:
        n += 1

def churn(u):
    spin(u)

users = [
    user("good", wait = constant(0.05), tasks = {fetch: 1}),
    user("raiser", wait = constant(0.05), tasks = {boom: 1, give_up: 1}),
    user("looper", wait = constant(0.05), tasks = [spin], task_timeout = 1, max_steps = 1000000000000),
    user("stepper", wait = constant(0.05), tasks = [churn], max_steps = 100000),
]
`

// A task that raises, one that fails, one that loops forever: each lands
// in the exceptions table with its place, its message and a traceback, and
// every user goes on running tasks.
func TestScript_ErrorsAreExceptions(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "faulty.star", faultyScript)
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "4", "-r", "10", "-t", "6s",
		"-H", host, "--json", filepath.Join(dir, "run.json"), "--only-summary")
	if code := p.wait(t, 60*time.Second); code != 0 && code != 1 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	s, raw := readSummary(t, filepath.Join(dir, "run.json"))
	q := regexp.QuoteMeta(file)
	want := []struct {
		msg   *regexp.Regexp
		trace []string
		min   int
	}{
		{regexp.MustCompile(`^` + q + `:9:17: in boom: key "missing" not in dict$`), []string{q + `:9:17: in boom`}, 5},
		{regexp.MustCompile(`^` + q + `:12:9: in give_up: fail: gave up on purpose$`), []string{q + `:12:9: in give_up`}, 5},
		// where the loop is when the timeout lands: the loop's lines
		{regexp.MustCompile(`^` + q + `:1[4-7]:\d+: in spin: spin cut off: it ran longer than its task_timeout of 1s$`), []string{`in spin`}, 3},
		{regexp.MustCompile(`^` + q + `:1[4-7]:\d+: in spin: churn cut off: it ran more than its max_steps of 100000 steps$`), []string{q + `:20:9: in churn`, `in spin`}, 5},
	}
	for _, w := range want {
		n := 0
		for _, e := range s.Exceptions {
			if !w.msg.MatchString(e.Message) {
				continue
			}
			n += e.Count
			for _, tr := range append(w.trace, "Traceback (most recent call last):") {
				if !regexp.MustCompile(tr).MatchString(e.Traceback) && !strings.Contains(e.Traceback, tr) {
					t.Errorf("exception %q: traceback lacks %q:\n%s", e.Message, tr, e.Traceback)
				}
			}
		}
		if n < w.min {
			t.Errorf("exception %s: %d occurrences, want at least %d (the user goes on)\n%s", w.msg, n, w.min, raw)
		}
	}
	got := s.requests()
	if got["GET /api/data/[id]"][0] < 20 {
		t.Errorf("the good user made %d requests: the run did not go on", got["GET /api/data/[id]"][0])
	}
	if got["GET /api/items"][0] < 5 {
		t.Errorf("the raising user made %d requests before its errors: it did not go on", got["GET /api/items"][0])
	}
}

// The same faults on a worker: the master's exceptions table has their
// places and tracebacks.
func TestScript_ErrorsOnAWorker(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "faulty.star", faultyScript)
	m, port := startMaster(t, dir, 0, file, "--headless", "-H", host, "--expect-workers", "1", "--expect-workers-max-wait", "30s",
		"-u", "4", "-r", "10", "-t", "4s", "--json", filepath.Join(dir, "run.json"), "--only-summary")
	w := startWorker(t, t.TempDir(), port)
	if code := m.wait(t, 60*time.Second); code != 0 && code != 1 {
		t.Fatalf("master exit code %d\nstdout:\n%s\nstderr:\n%s", code, m.stdout, m.stderr)
	}
	w.wait(t, 30*time.Second)
	s, raw := readSummary(t, filepath.Join(dir, "run.json"))
	found := false
	for _, e := range s.Exceptions {
		if e.Message == "faulty.star:12:9: in give_up: fail: gave up on purpose" {
			found = true
			if !strings.Contains(e.Traceback, "faulty.star:12:9: in give_up") {
				t.Errorf("traceback from the worker: %q", e.Traceback)
			}
		}
	}
	if !found {
		t.Errorf("no exception of give_up from the worker:\n%s", raw)
	}
}

// A script that does not parse, and one whose names do not resolve: every
// problem with file:line:col from horde validate and horde run, exit 2.
func TestScript_SyntaxErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.star", "host = \"http://127.0.0.1:1\"\n\ndef task(u)\n    u.get(\"/\")\n")
	unresolved := writeFile(t, dir, "names.star", "host = \"http://127.0.0.1:1\"\n\ndef t(u):\n    u.get(nope)\n    undefined_fn()\n\nusers = [user(\"a\", tasks = [t])]\n")
	noUsers := writeFile(t, dir, "nousers.star", "host = \"http://127.0.0.1:1\"\n")
	cases := []struct {
		file string
		want []string
	}{
		{bad, []string{bad + ":4:1: got newline, want ':'"}},
		{unresolved, []string{unresolved + ":4:11: undefined: nope", unresolved + ":5:5: undefined: undefined_fn"}},
		{noUsers, []string{noUsers + ":1:1: users is missing"}},
	}
	for _, c := range cases {
		for _, cmd := range [][]string{{"validate", c.file}, {"run", c.file, "--headless", "-t", "1s"}} {
			p := start(t, dir, nil, hordeBin, cmd...)
			if code := p.wait(t, 30*time.Second); code != 2 {
				t.Errorf("%v: exit code %d, want 2\n%s", cmd, code, p.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(p.stderr.String(), w) {
					t.Errorf("%v: stderr lacks %q:\n%s", cmd, w, p.stderr)
				}
			}
		}
	}
}

// A YAML scenario hands one task to a script function; the YAML on_start's
// capture is the script's u.vars["token"], and the script's state is the
// YAML template's {{ .last_id }}.
func TestScript_YAMLTask(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "lib.star", `
def update_or_create(u):
    auth = {"Authorization": "Bearer " + u.vars["token"]}
    r = u.get("/api/items", params = {"page": 1, "limit": 5}, headers = auth, name = "/api/items")
    check(r.status == 200, "list status", r)
    items = r.json()
    items = items.get("items", []) if type(items) == "dict" else items
    if items:
        u.patch("/api/items/%d" % items[0]["id"], json = {"value": rand_int(1, 9)}, headers = auth, name = "/api/items/[id]")
        u.vars["last_id"] = items[0]["id"]
    else:
        r = u.post("/api/items", json = {"title": "x", "value": 1}, headers = auth, name = "/api/items", catch_response = True)
        if r.status != 201 and r.status != 200:
            r.failure("create: %d" % r.status)
        else:
            r.success()
            u.vars["last_id"] = r.json().get("id", 0)
`)
	file := writeFile(t, dir, "mixed.yaml", `host: `+host+`
users:
  - name: api
    wait: {constant: 50ms}
    sequential: true
    on_start:
      - post: /api/login
        json: {username: mixed, password: test123}
        capture: {token: {json: token}}
    tasks:
      - script: {file: lib.star, function: update_or_create}
      - get: "/api/data/{{ .last_id }}"
        name: /api/data/[last]
        headers: {Authorization: "Bearer {{ .token }}"}
`)
	v := start(t, dir, nil, hordeBin, "validate", file)
	if code := v.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("validate: exit %d\n%s", code, v.stderr)
	}
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "2", "-r", "10", "-t", "3s",
		"-H", host, "--json", filepath.Join(dir, "run.json"), "--only-summary")
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	s, raw := readSummary(t, filepath.Join(dir, "run.json"))
	got := s.requests()
	for _, n := range []string{"GET /api/items", "GET /api/data/[last]"} {
		if got[n][0] < 5 || got[n][1] != 0 {
			t.Errorf("%s: %v (requests, failures), want some and no failure\n%s", n, got[n], raw)
		}
	}
	if got["PATCH /api/items/[id]"][0]+got["POST /api/items"][0] == 0 {
		t.Errorf("the script neither updated nor created:\n%s", raw)
	}
	if len(s.Exceptions) != 0 {
		t.Errorf("exceptions: %+v", s.Exceptions)
	}

	// A script: that names a missing function is reported at its place.
	broken := writeFile(t, dir, "broken.yaml", "host: "+strconv.Quote(host)+"\nusers:\n  - name: api\n    tasks:\n      - script: {file: lib.star, function: nothing}\n")
	b := start(t, dir, nil, hordeBin, "validate", broken)
	if code := b.wait(t, 30*time.Second); code != 2 || !strings.Contains(b.stderr.String(), broken+`:5:44: script lib.star has no function "nothing"`) {
		t.Errorf("validate broken.yaml: exit %d\n%s", code, b.stderr)
	}
}
