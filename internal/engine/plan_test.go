package engine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// seen is a loopback server's log of "path header" lines.
type seen struct {
	mu    sync.Mutex
	lines []string
}

func (s *seen) add(l string) { s.mu.Lock(); s.lines = append(s.lines, l); s.mu.Unlock() }
func (s *seen) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func planServer(t *testing.T) (*httptest.Server, *seen) {
	t.Helper()
	log := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, _ := r.Cookie("lang")
		lang := ""
		if ck != nil {
			lang = ck.Value
		}
		log.add(r.URL.RequestURI() + " auth=" + r.Header.Get("Authorization") + " lang=" + lang)
		switch r.URL.Path {
		case "/fail":
			http.Error(w, "no", 500)
		case "/old":
			http.Redirect(w, r, "/new", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, log
}

// planUserFor compiles src (its files in dir) and returns the first class's
// user, started, with its vuser.
func planUserFor(t *testing.T, dir, src string) (horde.User, *vuser, context.Context, context.CancelFunc) {
	t.Helper()
	plan, err := scenario.Parse("t.yaml", dir, []byte(src), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{cfg: Config{Recorder: stats.NewRecorder(0)}}
	ctx, cancel := context.WithCancel(context.Background())
	u, taskCtx := newVU(ctx, e, 1, 0)
	t.Cleanup(func() { cancel(); u.client.Close() })
	impl := PlanClasses(plan, plan.Host)[0].New()
	if err := impl.OnStart(taskCtx, u); err != nil {
		t.Fatal(err)
	}
	return impl, u, taskCtx, cancel
}

func TestPlanUser_OnFailureStopTask(t *testing.T) {
	srv, log := planServer(t)
	impl, u, ctx, _ := planUserFor(t, ".", "host: "+srv.URL+`
users:
  - name: a
    sequential: true
    tasks:
      - name: guarded
        on_failure: stop_task
        steps: [{get: /fail}, {get: /after}]
      - name: open
        steps: [{get: /fail}, {get: /after2}]
      - name: step-level
        steps: [{get: /fail, on_failure: stop_task}, {get: /after3}]
`)
	for range 3 {
		if err := impl.Task(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(log.all(), "\n")
	if strings.Contains(got, "/after ") || strings.Contains(got, "/after3 ") || !strings.Contains(got, "/after2 ") {
		t.Errorf("requests:\n%s\nwant /after2 only after the failures", got)
	}
}

func TestPlanUser_RequestOptions(t *testing.T) {
	srv, log := planServer(t)
	impl, u, ctx, _ := planUserFor(t, ".", "host: "+srv.URL+`
users:
  - name: a
    sequential: true
    tasks:
      - get: /old
        follow_redirects: false
        auth: {basic: ["{{ vu }}", pw]}
        cookies: {lang: "{{ \"fr\" }}"}
        check: {status: 302}
      - get: /old
`)
	for range 2 {
		if err := impl.Task(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"/old auth=" + scenario.BasicAuth("1", "pw") + " lang=fr", // not followed
		"/old auth= lang=", "/new auth= lang=", // followed, and the cookie was this request's only
	}
	if got := log.all(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A sleep step ends when the task's context does, at once.
func TestPlanUser_SleepCutShort(t *testing.T) {
	srv, log := planServer(t)
	impl, u, ctx, cancel := planUserFor(t, ".", "host: "+srv.URL+`
users:
  - name: a
    tasks:
      - steps: [{get: /a}, {sleep: 1h}, {get: /b}]
`)
	done := make(chan error, 1)
	go func() { done <- impl.Task(ctx, u) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, httpload.ErrStopped) {
			t.Errorf("Task = %v, want ErrStopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a sleep step outlived its context")
	}
	if got := log.all(); len(got) != 1 || !strings.HasPrefix(got[0], "/a ") {
		t.Errorf("requests %v, want /a only", got)
	}
}

// A unique per_iteration feeder hands one row per task; once empty the
// user reports it once, then idles until stopped.
func TestPlanUser_PerIterationUnique(t *testing.T) {
	srv, log := planServer(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "u.csv"), []byte("name\nann\nbob\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	impl, u, ctx, cancel := planUserFor(t, dir, "host: "+srv.URL+`
data:
  p: {file: u.csv, mode: unique}
users:
  - name: a
    feed: {p: per_iteration}
    tasks:
      - get: "/x?n={{ .p.name }}"
`)
	for range 2 {
		if err := impl.Task(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := impl.Task(ctx, u); err == nil || err.Error() != `feeder "p": no rows left` {
		t.Fatalf("third task: %v, want no rows left", err)
	}
	done := make(chan error, 1)
	go func() { done <- impl.Task(ctx, u) }()
	select {
	case err := <-done:
		t.Fatalf("fourth task returned %v before the stop; want it to idle", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, httpload.ErrStopped) {
			t.Errorf("idle task = %v, want ErrStopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an idle user did not stop")
	}
	if got := strings.Join(log.all(), "\n"); got != "/x?n=ann auth= lang=\n/x?n=bob auth= lang=" {
		t.Errorf("requests:\n%s", got)
	}
}

// A plain step (static URL and headers, no body) run again sends its
// request as built the first time, and the client the bytes it wrote:
// the server sees the same request every time, with the headers the step
// sends; a redirect or cookies the server set change what the next run
// sends as they would without the reuse (the original path again, the
// cookie added).
func TestPlanUser_PlainStepSentAgain(t *testing.T) {
	var mu sync.Mutex
	var got []string
	cookies := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, _ := r.Cookie("s")
		c := ""
		if ck != nil {
			c = ck.Value
		}
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI()+" ua="+r.Header.Get("User-Agent")+" x="+r.Header.Get("X-A")+" cookie="+c)
		mu.Unlock()
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/new", http.StatusFound)
		case "/c":
			if cookies++; cookies == 2 { // the second /c: from now on a cookie
				http.SetCookie(w, &http.Cookie{Name: "s", Value: "v"})
			}
		}
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ step, want string }{
		{"get: /a\n            headers: {X-A: \"1\"}", "GET /a ua=horde x=1 cookie=|GET /a ua=horde x=1 cookie=|GET /a ua=horde x=1 cookie="},
		{"get: /old", "GET /old ua=horde x= cookie=|GET /new ua=horde x= cookie=|GET /old ua=horde x= cookie=|GET /new ua=horde x= cookie=|GET /old ua=horde x= cookie=|GET /new ua=horde x= cookie="},
		{"get: /c", "GET /c ua=horde x= cookie=|GET /c ua=horde x= cookie=|GET /c ua=horde x= cookie=v"},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		impl, u, ctx, cancel := planUserFor(t, t.TempDir(), "host: "+srv.URL+"\nusers:\n  - name: u\n    tasks:\n      - steps:\n          - "+tc.step+"\n")
		for range 3 {
			if err := impl.Task(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		if strings.HasPrefix(tc.step, "get: /a") && u.built == nil {
			t.Errorf("%s: not kept to be sent again", tc.step)
		}
		cancel()
		mu.Lock()
		if g := strings.Join(got, "|"); g != tc.want {
			t.Errorf("%s: server saw\n%s\nwant\n%s", tc.step, strings.ReplaceAll(g, "|", "\n"), strings.ReplaceAll(tc.want, "|", "\n"))
		}
		mu.Unlock()
	}
}

// A user stopped in the middle of its on_start (its login cut short as
// the run ends) does not run its on_stop (no logout without a token); one
// whose on_start ran to its end does, even where a step of it failed.
func TestPlanUser_OnStopNeedsOnStart(t *testing.T) {
	release := make(chan struct{})
	log := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r.URL.Path + " auth=" + r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/slow-login":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/fail":
			http.Error(w, "no", 500)
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	for _, tt := range []struct {
		name, login string
		cut         bool
		want        string
	}{
		{"stopped during on_start", "/slow-login", true, "/slow-login auth="},
		{"on_start ran", "/login", false, "/login auth=\n/logout auth=Bearer x"},
		{"on_start failed", "/fail", false, "/fail auth=\n/logout auth=Bearer x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log.mu.Lock()
			log.lines = nil
			log.mu.Unlock()
			plan, err := scenario.Parse("t.yaml", ".", []byte("host: "+srv.URL+`
users:
  - name: a
    on_start:
      - get: `+tt.login+`
    tasks:
      - get: /task
    on_stop:
      - get: /logout
        headers: {Authorization: "Bearer x"}
`), scenario.Options{})
			if err != nil {
				t.Fatal(err)
			}
			e := &Engine{cfg: Config{Recorder: stats.NewRecorder(0)}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u, taskCtx := newVU(ctx, e, 1, 0)
			defer u.client.Close()
			impl := PlanClasses(plan, plan.Host)[0].New()
			done := make(chan error, 1)
			go func() { done <- impl.OnStart(taskCtx, u) }()
			if tt.cut {
				for len(log.all()) == 0 {
					time.Sleep(5 * time.Millisecond)
				}
				u.cut() // as the engine stops a user (stopUser)
			}
			if err := <-done; tt.cut != (err != nil) {
				t.Fatalf("OnStart: %v", err)
			}
			u.endTasks()
			u.client.Reset()
			if err := impl.OnStop(context.Background(), u); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(log.all(), "\n"); got != tt.want {
				t.Errorf("requests:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
