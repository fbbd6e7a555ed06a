package target

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestConfig_latencyAt(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		latency, growth, elapsed time.Duration
		want                     time.Duration
	}{
		{0, 0, time.Hour, 0},
		{10 * ms, 0, time.Hour, 10 * ms},
		{0, 10 * ms, 0, 0},
		{0, 10 * ms, 90 * time.Second, 15 * ms},
		{5 * ms, 2 * ms, 10 * time.Minute, 25 * ms},
		{5 * ms, time.Second, 24 * time.Hour, 5*ms + 1440*time.Second},
	}
	for _, tt := range tests {
		c := Config{Latency: tt.latency, LatencyGrowth: tt.growth}
		if got := c.latencyAt(tt.elapsed); got != tt.want {
			t.Errorf("Config{Latency: %v, LatencyGrowth: %v}.latencyAt(%v): got %v, want %v", tt.latency, tt.growth, tt.elapsed, got, tt.want)
		}
	}
}

func TestServer_errorRateAll(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Config{ErrorRate: 1})
	paths := []struct{ method, path, body string }{
		{"GET", "/", ""},
		{"GET", "/delay/0", ""},
		{"POST", "/api/login", `{"username":"u"}`},
		{"GET", "/api/data/1", ""},
		{"GET", "/api/data/1", ""},
		{"GET", "/nope", ""},
	}
	for _, p := range paths {
		code, body := call(t, ts.Client(), p.method, ts.URL+p.path, "", "", p.body)
		if code != http.StatusInternalServerError || body != "{\"error\":\"injected failure\"}\n" {
			t.Errorf("%s %s with ErrorRate 1: got %d %q, want 500 injected failure", p.method, p.path, code, body)
		}
	}
	// Injected failures count under the route they hit.
	m := scrape(t, s)
	counts := []struct {
		route string
		want  float64
	}{
		{"GET /api/data/{id}", 2},
		{"GET /delay/{ms}", 1},
		{"other", 1},
	}
	for _, c := range counts {
		got, _ := metricValue(m, "horde_target_requests_total", `route="`+c.route+`"`, `code="500"`)
		if got != c.want {
			t.Errorf("horde_target_requests_total{route=%q,code=\"500\"}: got %v, want %v", c.route, got, c.want)
		}
	}
}

func TestServer_errorRateHalf(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{ErrorRate: 0.5})
	const n = 2000
	failed := 0
	for range n {
		code, body := call(t, ts.Client(), "GET", ts.URL+"/delay/0", "", "", "")
		switch code {
		case http.StatusOK:
		case http.StatusInternalServerError:
			failed++
		default:
			t.Fatalf("GET /delay/0: got %d %s, want 200 or 500", code, body)
		}
	}
	// The standard deviation is about 22; this is more than 9 of them.
	if failed < 800 || failed > 1200 {
		t.Errorf("ErrorRate 0.5: got %d failures of %d, want about %d", failed, n, n/2)
	}
}

func TestServer_latency(t *testing.T) {
	t.Parallel()
	for _, latency := range []time.Duration{20 * time.Millisecond, 80 * time.Millisecond} {
		t.Run(latency.String(), func(t *testing.T) {
			t.Parallel()
			_, ts := newTestServer(t, Config{Latency: latency})
			for _, path := range []string{"/delay/0", "/api/data/1", "/nope"} {
				began := time.Now()
				call(t, ts.Client(), "GET", ts.URL+path, "", "", "")
				if got := time.Since(began); got < latency {
					t.Errorf("GET %s with Latency %v: took %v, want at least %v", path, latency, got, latency)
				}
			}
		})
	}
}

// TestServer_clientGone checks that waits for injected latency and pauses
// end when the client goes away.
func TestServer_clientGone(t *testing.T) {
	t.Parallel()
	paused, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	paused.Pause(time.Hour)
	slow, err := New(Config{Latency: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    *Server
		path string
	}{
		{"latency", slow, "/delay/0"},
		{"pause", paused, "/delay/0"},
		{"delay", slow, "/delay/60000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			rec := httptest.NewRecorder()
			began := time.Now()
			tt.s.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", tt.path, nil))
			if took := time.Since(began); took > 10*time.Second {
				t.Errorf("GET %s: took %v after the client left, want it to stop waiting", tt.path, took)
			}
			if rec.Code != statusClientClosedRequest {
				t.Errorf("GET %s: got %d, want %d", tt.path, rec.Code, statusClientClosedRequest)
			}
		})
	}
}

func TestServer_Pause(t *testing.T) {
	t.Parallel()
	const pause = 300 * time.Millisecond
	s, ts := newTestServer(t, Config{})
	admin := httptest.NewServer(s.AdminHandler())
	t.Cleanup(admin.Close)

	tests := []struct {
		name  string
		pause func(t *testing.T)
	}{
		{"Pause", func(t *testing.T) { s.Pause(pause) }},
		{"POST /admin/pause", func(t *testing.T) {
			code, body := call(t, admin.Client(), "POST", admin.URL+"/admin/pause?d="+pause.String(), "", "", "")
			if code != http.StatusOK {
				t.Fatalf("POST /admin/pause: got %d %s, want 200", code, body)
			}
		}},
	}
	for _, tt := range tests { // in sequence: they share one Server
		began := time.Now()
		tt.pause(t)
		code, _ := call(t, ts.Client(), "GET", ts.URL+"/delay/0", "", "", "")
		took := time.Since(began)
		if code != http.StatusOK || took < pause-50*time.Millisecond {
			t.Errorf("%s(%v), then GET /delay/0: got %d after %v, want 200 after about %v", tt.name, pause, code, took, pause)
		}
	}
	// Once the pause is over, requests are fast again.
	began := time.Now()
	call(t, ts.Client(), "GET", ts.URL+"/delay/0", "", "", "")
	if took := time.Since(began); took >= pause {
		t.Errorf("GET /delay/0 after the pause: took %v, want under %v", took, pause)
	}

	for _, d := range []string{"", "x", "-1s", "5"} {
		code, body := call(t, admin.Client(), "POST", admin.URL+"/admin/pause?d="+d, "", "", "")
		if code != http.StatusBadRequest {
			t.Errorf("POST /admin/pause?d=%s: got %d %s, want 400", d, code, body)
		}
	}
}

// TestServer_leakPerRequest is not parallel: it reads the resident set size
// of the whole process and wants no other test allocating meanwhile.
func TestServer_leakPerRequest(t *testing.T) {
	const perRequest, requests = 1 << 20, 20
	s, ts := newTestServer(t, Config{LeakBytesPerRequest: perRequest})

	// Return free heap pages to the OS, so the leak cannot hide in them.
	runtime.GC()
	debug.FreeOSMemory()
	before, haveRSS := metricValue(scrape(t, s), "process_resident_memory_bytes")

	for range requests {
		if code, body := call(t, ts.Client(), "GET", ts.URL+"/delay/0", "", "", ""); code != http.StatusOK {
			t.Fatalf("GET /delay/0: got %d %s, want 200", code, body)
		}
	}
	runtime.GC()
	m := scrape(t, s)
	leaked, _ := metricValue(m, "horde_target_leaked_bytes")
	if want := float64(perRequest * requests); leaked != want {
		t.Errorf("horde_target_leaked_bytes: got %v, want %v", leaked, want)
	}
	if !haveRSS {
		t.Skipf("no process_resident_memory_bytes on %s", runtime.GOOS)
	}
	after, _ := metricValue(m, "process_resident_memory_bytes")
	// Tolerant: part of the leak can land in pages that are still resident
	// from earlier tests (the runtime does not return every free page), and
	// the race detector adds shadow memory. Runs show 40% to 200% of it.
	grew := after - before
	t.Logf("process_resident_memory_bytes grew %.1f MiB for a %d MiB leak", grew/(1<<20), perRequest*requests>>20)
	if grew < perRequest*requests/4 {
		t.Errorf("process_resident_memory_bytes: grew %.1f MiB (%v to %v), want at least a quarter of the %d MiB leaked", grew/(1<<20), before, after, perRequest*requests>>20)
	}
}

func TestServer_leakPerSecond(t *testing.T) {
	t.Parallel()
	const perSecond = 64 << 10
	s, err := New(Config{Addr: "127.0.0.1:0", LeakBytesPerSecond: perSecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, nil) }()

	deadline := time.Now().Add(5 * time.Second)
	for s.leak.bytes() < perSecond && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	m := scrape(t, s)
	if got, _ := metricValue(m, "horde_target_leaked_bytes"); got < perSecond {
		t.Fatalf("horde_target_leaked_bytes after up to 5s: got %v, want at least %v", got, perSecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	// The leaking goroutine stopped with Run.
	stopped := s.leak.bytes()
	time.Sleep(1200 * time.Millisecond)
	if got := s.leak.bytes(); got != stopped {
		t.Errorf("leaked bytes after Run returned: got %d, then %d; want no more leaking", stopped, got)
	}
}

func TestAdmin_metrics(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Config{})
	token := login(t, ts)
	requests := []struct{ method, path, token string }{
		{"GET", "/api/data/7", token},
		{"GET", "/api/data/8", token},
		{"GET", "/api/data/9", ""},
		{"GET", "/delay/0", ""},
		{"GET", "/no/such/route/12345", ""},
	}
	for _, r := range requests {
		call(t, ts.Client(), r.method, ts.URL+r.path, r.token, "", "")
	}

	m := scrape(t, s)
	tests := []struct {
		name   string
		labels []string
		want   float64 // -1: any value, the series only has to exist
	}{
		{"go_goroutines", nil, -1},
		{"horde_target_requests_total", []string{`route="POST /api/login"`, `code="200"`}, 1},
		{"horde_target_requests_total", []string{`route="GET /api/data/{id}"`, `code="200"`}, 2},
		{"horde_target_requests_total", []string{`route="GET /api/data/{id}"`, `code="401"`}, 1},
		{"horde_target_requests_total", []string{`route="GET /delay/{ms}"`, `code="200"`}, 1},
		{"horde_target_requests_total", []string{`route="other"`, `code="404"`}, 1},
		{"horde_target_request_duration_seconds_count", []string{`route="GET /api/data/{id}"`}, 3},
		{"horde_target_leaked_bytes", nil, 0},
		{"horde_target_sessions", nil, 1},
	}
	if runtime.GOOS == "linux" {
		tests = append(tests, struct {
			name   string
			labels []string
			want   float64
		}{"process_resident_memory_bytes", nil, -1})
	}
	for _, tt := range tests {
		got, ok := metricValue(m, tt.name, tt.labels...)
		if !ok {
			t.Errorf("/metrics: no %s%v", tt.name, tt.labels)
			continue
		}
		if tt.want >= 0 && got != tt.want {
			t.Errorf("/metrics %s%v: got %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	// Raw paths never become label values.
	for _, raw := range []string{"/api/data/7", "/no/such/route"} {
		if strings.Contains(m, raw) {
			t.Errorf("/metrics: contains raw path %q, want only route patterns", raw)
		}
	}
}

func TestAdmin_healthz(t *testing.T) {
	t.Parallel()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(s.AdminHandler())
	t.Cleanup(admin.Close)
	if code, body := call(t, admin.Client(), "GET", admin.URL+"/healthz", "", "", ""); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz: got %d %q, want 200 \"ok\\n\"", code, body)
	}
}
