package target

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newTestServer builds a Server from cfg and serves its main API on a
// loopback socket for the duration of the test.
func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

// call sends one request and returns the status code and body. token "" sends
// no Authorization header; a contentType of "" with a body means JSON.
func call(t *testing.T, c *http.Client, method, url, token, contentType, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
		if contentType == "" {
			contentType = "application/json"
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, url, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

// login returns a live /api/login token.
func login(t *testing.T, ts *httptest.Server) string {
	t.Helper()
	code, body := call(t, ts.Client(), "POST", ts.URL+"/api/login", "", "", `{"username":"user_1","password":"test123"}`)
	if code != http.StatusOK {
		t.Fatalf("POST /api/login: got %d %s, want 200", code, body)
	}
	var out struct{ Token string }
	decode(t, body, &out)
	if out.Token == "" {
		t.Fatalf("POST /api/login: got body %s, want a token", body)
	}
	return out.Token
}

// scrape returns the admin listener's /metrics exposition.
func scrape(t *testing.T, s *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: got %d, want 200", rec.Code)
	}
	return rec.Body.String()
}

// metricValue finds the sample of name whose labels include every one of
// labels (each written as in the exposition, `route="other"`).
func metricValue(exposition, name string, labels ...string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(exposition))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := cutLast(line, " ")
		if !ok {
			continue
		}
		metric, labelSet, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(labelSet, l) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		return v, err == nil
	}
	return 0, false
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func TestNew_validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none means valid
	}{
		{name: "zero", cfg: Config{}},
		{name: "all knobs", cfg: Config{LeakBytesPerRequest: 1, LeakBytesPerSecond: 1, Latency: time.Millisecond, LatencyGrowth: time.Millisecond, ErrorRate: 1}},
		{name: "error rate 2", cfg: Config{ErrorRate: 2}, want: []string{"ErrorRate"}},
		{name: "error rate negative", cfg: Config{ErrorRate: -0.1}, want: []string{"ErrorRate"}},
		{name: "negative leak per request", cfg: Config{LeakBytesPerRequest: -1}, want: []string{"LeakBytesPerRequest"}},
		{name: "negative leak per second", cfg: Config{LeakBytesPerSecond: -1}, want: []string{"LeakBytesPerSecond"}},
		{name: "negative latency", cfg: Config{Latency: -time.Second}, want: []string{"Latency"}},
		{name: "negative latency growth", cfg: Config{LatencyGrowth: -time.Second}, want: []string{"LatencyGrowth"}},
		{
			name: "every problem at once",
			cfg:  Config{ErrorRate: 3, Latency: -1, LeakBytesPerSecond: -1},
			want: []string{"ErrorRate", "Latency", "LeakBytesPerSecond"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.cfg)
			if len(tt.want) == 0 {
				if err != nil || s == nil {
					t.Fatalf("New(%+v): got error %v, want a server", tt.cfg, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New(%+v): got no error, want one naming %v", tt.cfg, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New(%+v): got error %q, want it to name %s", tt.cfg, err, w)
				}
			}
		})
	}
}

func TestNew_defaults(t *testing.T) {
	t.Parallel()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.cfg.Addr, DefaultAddr; got != want {
		t.Errorf("Addr: got %q, want %q", got, want)
	}
	if s.cfg.adminEnabled() {
		t.Errorf("admin listener: got enabled for AdminAddr %q, want disabled", s.cfg.AdminAddr)
	}
}

func TestServer_Run(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type addrs struct{ main, admin string }
	readyc := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Run(ctx, func(addr, adminAddr string) { readyc <- addrs{addr, adminAddr} })
	}()

	var a addrs
	select {
	case a = <-readyc:
	case err := <-done:
		t.Fatalf("Run returned %v before ready", err)
	case <-time.After(10 * time.Second):
		t.Fatal("ready not called within 10s")
	}
	for _, addr := range []string{a.main, a.admin} {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
			t.Fatalf("ready: got address %q, want host:port with a real port", addr)
		}
	}

	c := &http.Client{Timeout: 10 * time.Second}
	tests := []struct {
		url  string
		want int
	}{
		{"http://" + a.main + "/", http.StatusOK},
		{"http://" + a.main + "/delay/0", http.StatusOK},
		{"http://" + a.main + "/metrics", http.StatusMethodNotAllowed}, // not Prometheus on the main listener
		{"http://" + a.admin + "/healthz", http.StatusOK},
		{"http://" + a.admin + "/metrics", http.StatusOK},
	}
	for _, tt := range tests {
		if got, body := call(t, c, "GET", tt.url, "", "", ""); got != tt.want {
			t.Errorf("GET %s: got %d %s, want %d", tt.url, got, body, tt.want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: got %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15s of cancel")
	}
	if _, err := c.Get("http://" + a.main + "/"); err == nil {
		t.Errorf("GET after shutdown: got no error, want connection refused")
	}
}

func TestServer_Run_adminOff(t *testing.T) {
	t.Parallel()
	for _, adminAddr := range []string{"", AdminOff} {
		t.Run("AdminAddr="+adminAddr, func(t *testing.T) {
			t.Parallel()
			s, err := New(Config{Addr: "127.0.0.1:0", AdminAddr: adminAddr})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			var gotAdmin string
			err = s.Run(ctx, func(addr, admin string) {
				gotAdmin = admin
				cancel()
			})
			if err != nil {
				t.Fatalf("Run: got %v, want nil", err)
			}
			if gotAdmin != "" {
				t.Errorf("ready adminAddr: got %q, want \"\" (disabled)", gotAdmin)
			}
		})
	}
}

func TestServer_Run_listenError(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // after the parallel subtests, unlike defer
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		// An address in use names the flag that moves it.
		{"main", Config{Addr: busy.Addr().String()}, "main listener: listen tcp " + busy.Addr().String() + ": bind: address already in use (another process listens there: --addr HOST:PORT"},
		{"admin", Config{Addr: "127.0.0.1:0", AdminAddr: busy.Addr().String()}, "admin listener: listen tcp " + busy.Addr().String() + ": bind: address already in use (another process listens there: --admin-addr HOST:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Bounded, should Run serve after all.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err = s.Run(ctx, func(string, string) { t.Error("ready called, want a listen error") })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run: got %v, want an error about the %s", err, tt.want)
			}
			var opErr *net.OpError
			if !errors.As(err, &opErr) {
				t.Errorf("Run: got %v, want it to wrap a *net.OpError", err)
			}
		})
	}
}

func BenchmarkDelay0(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	req := httptest.NewRequest("GET", "/delay/0", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /delay/0: got %d, want 200", rec.Code)
		}
	}
}

// BenchmarkDelay0_ownAllocs reuses one response writer, so that what it
// reports is what the mux and this package allocate, without httptest's
// recorder: ServeMux's wildcard match accounts for the one allocation.
func BenchmarkDelay0_ownAllocs(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	req := httptest.NewRequest("GET", "/delay/0", nil)
	w := &discardWriter{header: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if w.code != http.StatusOK {
		b.Fatalf("GET /delay/0: got %d, want 200", w.code)
	}
}

// discardWriter is a reusable http.ResponseWriter that keeps only the code.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) { w.code = http.StatusOK; return len(b), nil }
