//go:build e2e

package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a loopback server that keeps what it received, by path.
type recorder struct {
	mu   sync.Mutex
	seen map[string][]string // path -> one entry per request, as the handler describes it
	srv  *httptest.Server
}

func (r *recorder) add(path, what string) {
	r.mu.Lock()
	r.seen[path] = append(r.seen[path], what)
	r.mu.Unlock()
}

func (r *recorder) get(path string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen[path]...)
}

// startRecorder serves the endpoints the request e2e tests talk to, and
// records, per path, what each request carried.
func startRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{seen: map[string][]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			rec.add(r.URL.Path, "error: "+err.Error())
			http.Error(w, err.Error(), 400)
			return
		}
		var b strings.Builder
		b.WriteString("title=" + r.FormValue("title"))
		for _, fh := range r.MultipartForm.File["doc"] {
			f, _ := fh.Open()
			data, _ := io.ReadAll(f)
			f.Close()
			b.WriteString(" doc=" + fh.Filename + ":" + fh.Header.Get("Content-Type") + ":" + string(data))
		}
		rec.add(r.URL.Path, b.String())
	})
	mux.HandleFunc("PUT /raw", func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		rec.add(r.URL.Path, r.Header.Get("Content-Type")+":"+string(data))
	})
	mux.HandleFunc("GET /basic", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
			http.Error(w, "who?", 401)
			rec.add(r.URL.Path, "none")
			return
		}
		rec.add(r.URL.Path, u+":"+p)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "cookie-42", Path: "/"})
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token":"tok-7","user":{"role":"admin","level":3}}`)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		lang, _ := r.Cookie("lang")
		var l string
		if lang != nil {
			l = lang.Value
		}
		rec.add(r.URL.Path, r.Header.Get("Authorization")+"|sig="+r.Header.Get("X-Sig")+"|sid="+r.Header.Get("X-Sid")+"|lang="+l)
		w.Header().Set("X-Cache", "HIT")
		w.Header().Set("Location", "/orders/99")
		io.WriteString(w, `{"count":12,"state":"ready"}`)
	})
	mux.HandleFunc("GET /old", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r.URL.Path, "hit")
		http.Redirect(w, r, "/new", http.StatusFound)
	})
	mux.HandleFunc("GET /new", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r.URL.Path, "hit")
	})
	mux.HandleFunc("GET /order/{id}", func(w http.ResponseWriter, r *http.Request) {
		rec.add("/order", r.PathValue("id"))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r.URL.Path, "hit")
		http.Error(w, "no", 500)
	})
	mux.HandleFunc("GET /{name}", func(w http.ResponseWriter, r *http.Request) {
		rec.add("/"+r.PathValue("name"), r.URL.Query().Get("u"))
	})
	rec.srv = httptest.NewServer(mux)
	t.Cleanup(rec.srv.Close)
	return rec
}

// runScenario runs a scenario headless against the recorder and returns
// the exit code and the directory of its CSV files (prefix res).
func runScenario(t *testing.T, rec *recorder, files map[string]string, src string, args ...string) (int, string, *proc) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, dir, name, content)
	}
	file := writeFile(t, dir, "s.yaml", src)
	p := start(t, dir, nil, hordeBin, append([]string{"run", file, "--headless", "-H", rec.srv.URL,
		"--csv", "res", "--only-summary"}, args...)...)
	return p.wait(t, 60*time.Second), dir, p
}

// Multipart uploads with a file, a raw body from a file, basic and bearer
// auth, an hmac header, per-request cookies, a cookie capture and a
// redirect not followed reach the server as written.
func TestRequest_UploadsAuthAndCookies(t *testing.T) {
	rec := startRecorder(t)
	code, _, p := runScenario(t, rec, map[string]string{
		"report.csv": "a,b\n1,2\n",
		"raw.json":   `{"raw":true}`,
	}, `
users:
  - name: u
    sequential: true
    on_start:
      - post: /login
        capture:
          token: {json: token}
          sid: {cookie: sid}
    tasks:
      - post: /upload
        multipart:
          fields: {title: "report {{ vu }}"}
          files:
            doc: {file: report.csv, content_type: text/csv}
      - put: /raw
        body_file: raw.json
        content_type: application/json
      - get: /basic
        auth: {basic: [alice, "{{ base64decode \"czNjcmV0\" }}"]}
      - get: /me
        auth: {bearer: "{{ .token }}"}
        headers: {X-Sig: "{{ hmac \"sha256\" \"key\" .token }}", X-Sid: "{{ .sid }}"}
        cookies: {lang: "{{ \"en\" }}"}
      - get: /old
        follow_redirects: false
        check: {status: 302, header: {name: Location, equals: /new}}
`, "-u", "2", "-r", "20", "-t", "2s")
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	for _, got := range [][]string{rec.get("/upload"), rec.get("/raw"), rec.get("/basic"), rec.get("/me"), rec.get("/old")} {
		if len(got) == 0 {
			t.Fatalf("a path was never requested: %v", rec.seen)
		}
	}
	for _, v := range rec.get("/upload") {
		if v != "title=report 1 doc=report.csv:text/csv:a,b\n1,2\n" && v != "title=report 2 doc=report.csv:text/csv:a,b\n1,2\n" {
			t.Errorf("upload received %q", v)
		}
	}
	for _, v := range rec.get("/raw") {
		if v != `application/json:{"raw":true}` {
			t.Errorf("raw body received %q", v)
		}
	}
	for _, v := range rec.get("/basic") {
		if v != "alice:s3cret" {
			t.Errorf("basic auth received %q", v)
		}
	}
	m := hmac.New(sha256.New, []byte("key"))
	m.Write([]byte("tok-7"))
	want := "Bearer tok-7|sig=" + hex.EncodeToString(m.Sum(nil)) + "|sid=cookie-42|lang=en"
	for _, v := range rec.get("/me") {
		if v != want {
			t.Errorf("/me received %q, want %q", v, want)
		}
	}
	if n := len(rec.get("/new")); n != 0 {
		t.Errorf("/new requested %d times; follow_redirects: false must not follow", n)
	}
}

// Checks on headers, response time and JSON comparisons fail with their
// messages; a header captured by regex feeds a later URL; on_failure:
// stop_task skips the rest of the task and only of that task.
func TestRequest_ChecksCapturesAndStopTask(t *testing.T) {
	rec := startRecorder(t)
	code, dir, p := runScenario(t, rec, nil, `
users:
  - name: u
    sequential: true
    on_start:
      - post: /login
        check:
          json: {"user.level": {">=": 3, "<": 4}, "user.role": {in: [admin, owner]}, token: {matches: "^tok-"}, nope: {exists: false}}
    tasks:
      - name: checks
        steps:
          - get: /me
            name: /me ok
            check:
              header: {name: X-Cache, matches: "^HIT$"}
              json: {count: {">": 10}}
              max_duration: 5s
            capture: {order: {header: Location, regex: "/orders/(\\d+)"}}
          - get: "/order/{{ .order }}"
            name: /order/[id]
          - get: /me
            name: /me bad
            check: {json: {count: {"<": 10}, state: {in: [done]}}}
          - get: /slow
            check: {max_duration: 20ms}
      - name: guarded
        on_failure: stop_task
        steps:
          - get: /fail
          - get: /after
      - name: unguarded
        steps:
          - get: /fail
          - get: /after2
`, "-u", "1", "-r", "10", "-t", "2s")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (failures)\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	rows := readCSV(t, filepath.Join(dir, "res_failures.csv"))
	var msgs []string
	for _, r := range rows[1:] {
		msgs = append(msgs, r[0]+" "+r[1]+": "+r[2])
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{
		`GET /me bad: check json "count": got 12, want < 10`,
		"GET /slow: check max_duration: slower than 20ms",
		"GET /fail: HTTP 500 Internal Server Error",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("_failures.csv lacks %q; it has:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "/me ok") || strings.Contains(joined, "POST /login") {
		t.Errorf("checks that hold failed:\n%s", joined)
	}
	stats := statsRows(t, filepath.Join(dir, "res_stats.csv"))
	if n := count(t, stats["GET /me ok"], 2); n == 0 {
		t.Fatalf("GET /me ok never ran: %v", stats)
	}
	for _, id := range rec.get("/order") {
		if id != "99" {
			t.Errorf("/order/{id} got id %q, want 99 (captured from Location)", id)
		}
	}
	if n := len(rec.get("/fail")); n < 2 {
		t.Fatalf("/fail requested %d times, want both tasks to run", n)
	}
	if n := len(rec.get("/after")); n != 0 {
		t.Errorf("/after requested %d times after a failed step with on_failure: stop_task", n)
	}
	if n := len(rec.get("/after2")); n == 0 {
		t.Errorf("/after2 never requested: without on_failure the task goes on")
	}
}

// A sleep step paces a task without a wait; a per_iteration feeder hands
// one user a new row every task.
func TestRequest_SleepAndPerIterationFeed(t *testing.T) {
	rec := startRecorder(t)
	code, _, p := runScenario(t, rec, map[string]string{"users.csv": "name\nann\nbob\ncid\n"}, `
data:
  people: {file: users.csv}
users:
  - name: u
    feed: {people: per_iteration}
    tasks:
      - name: paced
        steps:
          - get: "/a?u={{ .people.name }}"
          - sleep: [150ms, 250ms]
          - get: /b
`, "-u", "1", "-r", "10", "-t", "2s")
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	a, b := rec.get("/a"), rec.get("/b")
	// 2 s at one task per 150-250 ms is at most 14 tasks; without the sleep
	// a loopback server answers thousands.
	if len(a) < 3 || len(a) > 20 {
		t.Errorf("/a requested %d times in 2 s with a 150-250 ms sleep per task", len(a))
	}
	if len(b) < len(a)-1 || len(b) > len(a) {
		t.Errorf("/a %d times, /b %d times: the sleep is between them", len(a), len(b))
	}
	seen := map[string]bool{}
	for _, u := range a {
		seen[u] = true
	}
	for _, name := range []string{"ann", "bob", "cid"} {
		if !seen[name] {
			t.Errorf("one user's tasks saw rows %v; per_iteration must hand it every row in turn", a)
			break
		}
	}
}

// In a distributed run the files a request sends travel with the scenario:
// a worker started in an empty directory uploads the master's file.
func TestRequest_ClusterShipsUploadFiles(t *testing.T) {
	rec := startRecorder(t)
	dir := t.TempDir()
	writeFile(t, dir, "report.csv", "x,y\n3,4\n")
	writeFile(t, dir, "raw.json", `{"from":"master"}`)
	file := writeFile(t, dir, "s.yaml", `
users:
  - name: u
    sequential: true
    tasks:
      - post: /upload
        multipart:
          fields: {title: shipped}
          files: {doc: {file: report.csv, content_type: text/csv}}
      - put: /raw
        body_file: raw.json
`)
	m, port := startMaster(t, dir, 0, file, "--headless", "-H", rec.srv.URL, "--expect-workers", "1",
		"--expect-workers-max-wait", "30s", "-u", "2", "-r", "20", "-t", "2s", "--only-summary")
	w := startWorker(t, t.TempDir(), port)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit %d\nstdout:\n%s\nstderr:\n%s", code, m.stdout, m.stderr)
	}
	if code := w.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("worker exit %d\n%s", code, w.stderr)
	}
	up, raw := rec.get("/upload"), rec.get("/raw")
	if len(up) == 0 || len(raw) == 0 {
		t.Fatalf("uploads %d, raw bodies %d: the worker sent none", len(up), len(raw))
	}
	for _, v := range up {
		if v != "title=shipped doc=report.csv:text/csv:x,y\n3,4\n" {
			t.Errorf("upload received %q", v)
		}
	}
	for _, v := range raw {
		if v != `application/octet-stream:{"from":"master"}` { // fasthttp's default without content_type
			t.Errorf("raw body received %q", v)
		}
	}
}

// Bad request options stop horde run before any load, exit 2, each at its
// file:line:col.
func TestRequest_BadOptionsExit2(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "bad.yaml", `host: http://127.0.0.1:9
users:
  - name: a
    tasks:
      - post: /
        body_file: nope.bin
      - get: /
        auth: {basic: alice}
        on_failure: stop
        check: {json: {n: {"<": ten}}, max_duration: 0s}
`)
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-t", "1s")
	if code := p.wait(t, 30*time.Second); code != 2 {
		t.Fatalf("exit %d, want 2\nstderr:\n%s", code, p.stderr)
	}
	for _, want := range []string{
		`bad.yaml:6:20: body_file "nope.bin": no such file or directory`,
		"bad.yaml:8:23: basic must be [user, password]",
		`bad.yaml:9:21: unknown on_failure "stop"; did you mean "stop_task"?`,
		`bad.yaml:10:33: < wants a number, got a string ("ten")`,
		"bad.yaml:10:54: max_duration must be > 0",
	} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, p.stderr)
		}
	}
}
