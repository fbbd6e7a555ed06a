package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/valyala/fasthttp"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
)

// testVU is a horde.VU with the engine's fast path (Exchange) over a real
// httpload client; it keeps the samples recorded.
type testVU struct {
	host    string
	client  *httpload.Client
	rnd     *rand.Rand
	mu      sync.Mutex
	samples []horde.Sample
}

func newTestVU(host string) *testVU {
	return &testVU{host: host, client: httpload.New(httpload.Options{}), rnd: rand.New(rand.NewPCG(1, 2))}
}

func (v *testVU) ID() int          { return 7 }
func (v *testVU) Rand() *rand.Rand { return v.rnd }
func (v *testVU) Host() string     { return v.host }
func (v *testVU) Do(context.Context, *horde.Request) (*horde.Response, error) {
	panic("scripts use Exchange")
}
func (v *testVU) Record(s horde.Sample) {
	v.mu.Lock()
	s.Duration = 0
	v.samples = append(v.samples, s)
	v.mu.Unlock()
}
func (v *testVU) Exchange(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) (time.Duration, error) {
	r, err := v.client.Do(req, resp, httpload.Call{Timeout: timeout})
	return r.Took, err
}

// echo answers every request with what it received, as JSON.
func echo(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.HasPrefix(r.URL.Path, "/status/") {
			var code int
			_, _ = fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/status/"), &code)
			w.WriteHeader(code)
			return
		}
		if r.URL.Path == "/slow" {
			time.Sleep(200 * time.Millisecond)
		}
		w.Header().Set("X-Echo", "yes")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "body": string(body),
			"ct": r.Header.Get("Content-Type"), "ua": r.Header.Get("User-Agent"), "auth": r.Header.Get("Authorization"),
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func parse(t testing.TB, src string, files map[string]string) *scenario.Plan {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := Parse("t.star", dir, []byte(src), scenario.Options{Host: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return plan
}

// runTask starts a user of the plan's first class and runs its first task once.
func runTask(t *testing.T, plan *scenario.Plan, vu *testVU) error {
	t.Helper()
	u := plan.Classes[0].New()
	if err := u.OnStart(context.Background(), vu); err != nil {
		t.Fatalf("on_start: %v", err)
	}
	return u.Task(context.Background(), vu)
}

func TestUser_Requests(t *testing.T) {
	srv := echo(t)
	plan := parse(t, `
def task(u):
    r = u.get("/a?x=1", params = {"y": "two words"}, headers = {"Authorization": "Bearer t"})
    j = r.json()
    check(j["query"] == "x=1&y=two+words", "query " + j["query"])
    check(j["auth"] == "Bearer t" and j["ua"] == "horde", "headers")
    check(r.status == 200 and r.ok and r.status_code == 200, "status")
    check(r.headers["X-Echo"] == "yes" and r.header("x-echo") == "yes", "headers")
    check(type(r.elapsed) == "float" and r.elapsed >= 0, "elapsed")
    r2 = u.post("/b", json = {"k": [1, 2]}, name = "/b/[x]")
    check(json.decode(r2.json()["body"]) == {"k": [1, 2]}, "json body")
    check(r2.json()["ct"] == "application/json", "json content type")
    check(r.header("X-Echo") == "yes", "headers of an earlier response")
    r3 = u.put("/c", data = {"a": "1 2"})
    check(r3.json()["body"] == "a=1+2" and r3.json()["ct"] == "application/x-www-form-urlencoded", "form")
    r4 = u.request("delete", "/d", body = "raw", headers = {"Content-Type": "text/plain"})
    check(r4.json()["method"] == "DELETE" and r4.json()["body"] == "raw" and r4.json()["ct"] == "text/plain", "raw")
    u.get("/status/404")
    r5 = u.get("/status/404", name = "caught", catch_response = True)
    r5.success()
    r6 = u.get("/x", name = "marked", catch_response = True)
    r6.failure("not what I wanted")
    u.get("/status/500", name = "unmarked", catch_response = True)
    r7 = u.get("/slow", timeout = 0.05, name = "timeout")
    check(not r7.ok and r7.status == 0 and r7.error != None, "transport error")
    check(False, "a check that fails")
    u.vars["n"] = u.vars.get("n", 0) + 1

users = [user("t", tasks = [task])]
`, nil)
	vu := newTestVU(srv.URL)
	if err := runTask(t, plan, vu); err != nil {
		t.Fatalf("task: %v", err)
	}
	var got []string
	for _, s := range vu.samples {
		f := s.Failure
		if strings.HasPrefix(f, "timeout") || strings.Contains(f, "timeout") {
			f = "(timeout)"
		}
		got = append(got, s.Method+" "+s.Name+" "+f)
	}
	want := []string{
		"GET /a ", "POST /b/[x] ", "PUT /c ", "DELETE /d ",
		"GET /status/404 HTTP 404 Not Found",
		"GET caught ",
		"GET marked not what I wanted",
		"GET timeout (timeout)",
		"CHECK a check that fails check failed: a check that fails",
		"GET unmarked HTTP 500 Internal Server Error", // recorded when the task returns
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

func TestUser_StateAndWeights(t *testing.T) {
	srv := echo(t)
	plan := parse(t, `
rows = feeder("users.csv")

def on_start(u):
    u.vars["row"] = rows.next()
    u.vars["count"] = 0

def a(u):
    u.vars["count"] += 1
    u.get("/a/" + u.vars["row"]["name"], name = "a")

def b(u):
    u.get("/b", name = "b")

users = [user("t", wait = between(0.5, 1), weight = 2, tasks = {a: 3, b: 1}, on_start = on_start)]
`, map[string]string{"users.csv": "name\nann\nbob\n"})
	c := plan.Classes[0]
	if c.Weight != 2 || c.Wait != horde.Between(500*time.Millisecond, time.Second) {
		t.Errorf("class %+v", c)
	}
	if diff := cmp.Diff([]string{"users.csv"}, plan.Files); diff != "" {
		t.Errorf("files to ship (-want +got):\n%s", diff)
	}
	vu := newTestVU(srv.URL)
	u := c.New()
	if err := u.OnStart(context.Background(), vu); err != nil {
		t.Fatal(err)
	}
	for range 400 {
		if err := u.Task(context.Background(), vu); err != nil {
			t.Fatal(err)
		}
	}
	n := map[string]int{}
	for _, s := range vu.samples {
		n[s.Name]++
	}
	if n["a"] < 260 || n["a"] > 340 {
		t.Errorf("task a ran %d of 400 times, want about 300 (weight 3 of 4)", n["a"])
	}
	if got := u.(*classUser).r.u.vars.String(); !strings.Contains(got, `"count": `+itoa(n["a"])) || !strings.Contains(got, `"name": "ann"`) {
		t.Errorf("u.vars %s", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestUser_ErrorsAndCutOff(t *testing.T) {
	srv := echo(t)
	plan := parse(t, `
def helper(d):
    return d["missing"]

def raises(u):
    helper({})

def spins(u):
    n = 0
    while True:
        n += 1

def sleeps(u):
    sleep(30)

users = [
    user("r", tasks = [raises]),
    user("s", tasks = [spins], max_steps = 10000),
    user("t", tasks = [sleeps], task_timeout = 0.2),
]
`, nil)
	tests := []struct {
		class int
		msg   string
		trace []string
	}{
		{0, `t\.star:3:13: in helper: key "missing" not in dict`, []string{"t.star:6:11: in raises", "t.star:3:13: in helper"}},
		{1, `t\.star:(8|9|10|11):\d+: in spins: spins cut off: it ran more than its max_steps of 10000 steps`, []string{"in spins"}},
		{2, `t\.star:14:10: in sleeps: sleep interrupted: the task was cut off`, []string{"t.star:14:10: in sleeps"}},
	}
	for _, tt := range tests {
		vu := newTestVU(srv.URL)
		u := plan.Classes[tt.class].New()
		if err := u.OnStart(context.Background(), vu); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		err := u.Task(context.Background(), vu)
		if err == nil {
			t.Errorf("class %d: no error", tt.class)
			continue
		}
		if !regexp.MustCompile("^" + tt.msg + "$").MatchString(err.Error()) {
			t.Errorf("class %d: error %q, want %q", tt.class, err, tt.msg)
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("class %d: cut off after %v", tt.class, d)
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("error %T is not a *script.Error", err)
		}
		for _, w := range tt.trace {
			if !strings.Contains(se.Traceback(), w) {
				t.Errorf("class %d: traceback lacks %q:\n%s", tt.class, w, se.Traceback())
			}
		}
		// The user goes on: the next task runs (and fails the same way).
		if err := u.Task(context.Background(), vu); err == nil || !regexp.MustCompile("^"+tt.msg+"$").MatchString(err.Error()) {
			t.Errorf("class %d: second task: %v", tt.class, err)
		}
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"syntax", "def f(u)\n  pass\n", []string{"t.star:2:1: got newline, want ':'"}},
		{"undefined", "def f(u):\n    x = nope\n    y = nada\n", []string{"t.star:2:9: undefined: nope", "t.star:3:9: undefined: nada"}},
		{"no users", "host = 'http://x'\n", []string{"t.star:1:1: users is missing: set users = [user(\"name\", tasks={...})]"}},
		{"bad users", "users = 3\n", []string{"t.star:1:1: users must be a list of user(...), got int"}},
		{"bad task", "users = [user('a', tasks = {1: 2})]\n", []string{"t.star:1:14: user a: a task must be a function, got int"}},
		{"bad weight", "def f(u):\n    pass\nusers = [user('a', tasks = {f: 0})]\n", []string{"t.star:3:14: user a: task f: weight must be an integer > 0, got 0"}},
		{"bad wait", "def f(u):\n    pass\nusers = [user('a', tasks = [f], wait = between(3, 1))]\n", []string{"t.star:3:47: between: min 3s is greater than max 1s"}},
		{"top-level raise", "x = {}['k']\n", []string{`t.star:1:7: key "k" not in dict`}},
		{"top-level loop", "n = 0\nwhile True:\n    n += 1\n", []string{"t.star:3:7: Starlark computation cancelled: too many steps"}},
		{"missing load", "load('nope.star', 'x')\n", []string{"t.star:1:1: cannot load nope.star: read script: open"}},
		{"bad feeder", "f = feeder('none.csv')\n", []string{"t.star:1:11: feeder \"none.csv\": no such file or directory"}},
		{"task without the user", "def f():\n    pass\nusers = [user('a', tasks = [f])]\n", []string{"t.star:3:14: user a: task f (t.star:1:1) must take one argument, the user: def f(u):"}},
		{"on_start with two", "def f(u):\n    pass\ndef s(u, v):\n    pass\nusers = [user('a', tasks = [f], on_start = s)]\n", []string{"t.star:5:14: user a: on_start: s (t.star:3:1) must take one argument, the user: def s(u):"}},
		{"duplicate", "def f(u):\n    pass\nusers = [user('a', tasks = [f]), user('a', tasks = [f])]\n", []string{"t.star:3:38: duplicate user name \"a\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLoader(t.TempDir())
			l.steps = 1_000_000 // the default's 100,000,000 take seconds under -race
			_, err := parseWith(l, "t.star", []byte(tt.src), scenario.Options{Host: "http://127.0.0.1:1"})
			if err == nil {
				t.Fatal("no error")
			}
			var list scenario.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("%T is not an ErrorList: %v", err, err)
			}
			if len(list) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(list), len(tt.want), err)
			}
			for i, w := range tt.want {
				if i < len(list) && !strings.HasPrefix(list[i].Error(), w) {
					t.Errorf("error %d: %q, want prefix %q", i, list[i].Error(), w)
				}
			}
		})
	}
}

func TestParse_SeedExample(t *testing.T) {
	plan, err := LoadFile(filepath.Join("..", "..", "examples", "seed-api.star"), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Host != "http://127.0.0.1:8080" || len(plan.Classes) != 1 {
		t.Fatalf("plan: host %q, %d classes", plan.Host, len(plan.Classes))
	}
	c := plan.Classes[0]
	var tasks []string
	for _, tk := range c.Tasks {
		tasks = append(tasks, tk.Name+":"+itoa(tk.Weight))
	}
	if diff := cmp.Diff([]string{"get_data:3", "list_items:2", "create_item:1", "update_item:1"}, tasks); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
	if c.Wait != horde.Between(time.Second, 3*time.Second) {
		t.Errorf("wait %+v", c.Wait)
	}
}

func TestParse_YAMLRefs(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"lib.star": "load('more.star', 'helper')\nrows = feeder('rows.csv')\n" +
			"def task(u):\n    helper(u)\n" +
			"def on_start(u):\n    u.vars['row'] = rows.next()\n" +
			"users = [user('scripted', wait = constant(2), tasks = {task: 4}, on_start = on_start)]\n" +
			"not_a_function = 3\n",
		"more.star": "def helper(u):\n    u.get('/h', name = 'helper')\n",
		"rows.csv":  "k\nv\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := "host: http://127.0.0.1:1\nusers:\n" +
		"  - name: mixed\n    tasks:\n      - get: /y\n      - script: {file: lib.star, function: task}\n        weight: 2\n" +
		"  - name: whole\n    weight: 3\n    script: {file: lib.star, user: scripted}\n"
	plan, err := Parse("s.yaml", dir, []byte(good), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"lib.star", "more.star", "rows.csv"}, plan.Files); diff != "" {
		t.Errorf("files to ship (-want +got):\n%s", diff)
	}
	mixed, whole := plan.Classes[0], plan.Classes[1]
	if sc := mixed.Tasks[1].Script; sc == nil || sc.Run == nil || mixed.Tasks[1].Name != "task" || mixed.Tasks[1].Weight != 2 {
		t.Errorf("mixed task %+v", mixed.Tasks[1])
	}
	if whole.New == nil || whole.Weight != 3 || whole.Wait != horde.Constant(2*time.Second) || len(whole.Tasks) != 1 || whole.Tasks[0].Weight != 4 {
		t.Errorf("whole class %+v", whole)
	}

	// The script task shares the YAML user's variables both ways.
	srv := echo(t)
	vu := newTestVU(srv.URL)
	vars := scenario.Vars{"token": "abc"}
	if err := mixed.Tasks[1].Script.Run(context.Background(), vu, vars); err != nil {
		t.Fatal(err)
	}
	if len(vu.samples) != 1 || vu.samples[0].Name != "helper" {
		t.Errorf("samples %+v", vu.samples)
	}

	bad := "host: http://127.0.0.1:1\nusers:\n  - name: a\n    tasks:\n" +
		"      - script: {file: lib.star, function: nope}\n" +
		"      - script: {file: lib.star, function: not_a_function}\n" +
		"      - script: {file: missing.star, function: f}\n" +
		"      - script: {file: lib.yaml, function: f}\n" +
		"  - name: b\n    script: {file: lib.star, user: nobody}\n"
	_, err = Parse("s.yaml", dir, []byte(bad), scenario.Options{})
	want := []string{
		`s.yaml:5:44: script lib.star has no function "nope"`,
		`s.yaml:6:44: not_a_function in lib.star is a int, not a function`,
		`s.yaml:7:48: read script: open`,
		`s.yaml:8:44: script file "lib.yaml" must end in .star`,
		`s.yaml:10:36: script lib.star has no user class "nobody"`,
	}
	var list scenario.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v", err)
	}
	if len(list) != len(want) {
		t.Errorf("errors:\n%v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %q:\n%v", w, err)
		}
	}
}

// Users of one compiled script run at once, each with its own state, and
// a stop cuts their calls off (run with -race).
func TestUser_Concurrent(t *testing.T) {
	srv := echo(t)
	plan := parse(t, `
shared = {"base": "/c"}

def on_start(u):
    u.vars["n"] = 0

def task(u):
    u.vars["n"] += 1
    u.get(shared["base"] + "/%d" % u.id, name = "c")
    if u.vars["n"] % 5 == 0:
        sleep(0.001)

users = [user("c", tasks = [task], on_start = on_start)]
`, nil)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	counts := make([]int, 8)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vu := newTestVU(srv.URL)
			u := plan.Classes[0].New()
			if err := u.OnStart(ctx, vu); err != nil {
				t.Error(err)
				return
			}
			for ctx.Err() == nil && counts[i] < 10000 {
				if err := u.Task(ctx, vu); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
				counts[i]++
			}
			if got := u.(*classUser).r.u.vars.String(); !strings.Contains(got, `"n": `) {
				t.Errorf("vars %s", got)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	for i, n := range counts {
		if n == 0 {
			t.Errorf("user %d ran no task", i)
		}
	}
}

// An error in a module that load() runs is reported at the module's place.
func TestParse_ModuleErrors(t *testing.T) {
	for _, tt := range []struct{ lib, want string }{
		{"def f(u)\n  pass\n", "lib.star:2:1: got newline, want ':'"},
		{"x = {}['k']\n", `lib.star:1:7: key "k" not in dict`},
		{"y = nope\n", "lib.star:1:5: undefined: nope"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "lib.star"), []byte(tt.lib), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Parse("main.star", dir, []byte("load('lib.star', 'f')\nusers = [user('a', tasks = [f])]\n"), scenario.Options{Host: "http://127.0.0.1:1"})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("lib %q: error %v, want %q", tt.lib, err, tt.want)
		}
	}
}
