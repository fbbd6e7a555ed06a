package httpload_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/horde-load/horde/internal/httpload"
)

// countingServer counts the connections it accepts.
func countingServer(t *testing.T, h http.Handler, configure ...func(*http.Server)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	for _, c := range configure {
		c(srv.Config)
	}
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func get(t *testing.T, c *httpload.Client, url string) (*fasthttp.Response, error) {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	resp := &fasthttp.Response{}
	req.SetRequestURI(url)
	_, err := c.Do(req, resp, httpload.Call{})
	return resp, err
}

func TestClient_KeepAlive(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	}))
	c := httpload.New(httpload.Options{})
	defer c.Close()
	for i := range 50 {
		resp, err := get(t, c, srv.URL+fmt.Sprintf("/x/%d", i))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got, want := string(resp.Body()), fmt.Sprintf("hello /x/%d", i); got != want {
			t.Fatalf("body: got %q, want %q", got, want)
		}
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("connections: got %d, want 1 (one keep-alive connection per user)", got)
	}
}

func TestClient_SeparateUsersSeparateConnections(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for range 3 {
		c := httpload.New(httpload.Options{})
		for range 5 {
			if _, err := get(t, c, srv.URL+"/"); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
	}
	if got := conns.Load(); got != 3 {
		t.Errorf("connections: got %d, want 3", got)
	}
}

func TestClient_Cookies(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc", Path: "/"})
		case "/me":
			ck, err := r.Cookie("session")
			if err != nil {
				http.Error(w, "no session", http.StatusUnauthorized)
				return
			}
			io.WriteString(w, ck.Value)
		}
	}))
	a := httpload.New(httpload.Options{})
	b := httpload.New(httpload.Options{})
	if _, err := get(t, a, srv.URL+"/login"); err != nil {
		t.Fatal(err)
	}
	resp, err := get(t, a, srv.URL+"/me")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(resp.Body()); got != "abc" {
		t.Errorf("user a /me: got %q, want %q", got, "abc")
	}
	resp, err = get(t, b, srv.URL+"/me")
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.StatusCode(); got != http.StatusUnauthorized {
		t.Errorf("user b shares a's cookie jar: status got %d, want 401", got)
	}
}

func TestClient_Redirects(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/new", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/new":
			io.WriteString(w, r.Method+" new")
		}
	}))
	c := httpload.New(httpload.Options{MaxRedirects: 3})
	req := &fasthttp.Request{}
	resp := &fasthttp.Response{}
	req.Header.SetMethod("POST")
	req.SetRequestURI(srv.URL + "/old")
	req.SetBodyString("x=1")
	if _, err := c.Do(req, resp, httpload.Call{}); err != nil {
		t.Fatal(err)
	}
	if got, want := string(resp.Body()), "GET new"; got != want {
		t.Errorf("after 302 of a POST: got %q, want %q", got, want)
	}
	req.SetRequestURI(srv.URL + "/loop")
	if _, err := c.Do(req, resp, httpload.Call{}); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("redirect loop: got %v, want a redirects error", err)
	}
	// NoRedirect: the 3xx answer is the response.
	req.Header.SetMethod("POST")
	req.SetRequestURI(srv.URL + "/old")
	res, err := c.Do(req, resp, httpload.Call{NoRedirect: true})
	if err != nil || resp.StatusCode() != http.StatusFound || res.WireSize != len(resp.Body()) || res.Took <= 0 {
		t.Errorf("NoRedirect: status %d, %+v, %v; want the 302 itself", resp.StatusCode(), res, err)
	}
}

func TestClient_StopAbortsInFlight(t *testing.T) {
	release := make(chan struct{})
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	c := httpload.New(httpload.Options{Timeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	c.StopOn(ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := get(t, c, srv.URL+"/slow")
	if !errors.Is(err, httpload.ErrStopped) {
		t.Fatalf("got %v, want ErrStopped", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stop took %v; the request was not cut off", d)
	}
	if _, err := get(t, c, srv.URL+"/"); !errors.Is(err, httpload.ErrStopped) {
		t.Errorf("after stop: got %v, want ErrStopped", err)
	}
	c.Reset()
	if _, err := get(t, c, srv.URL+"/"); err != nil {
		t.Errorf("after Reset: %v", err)
	}
}

func TestClient_Timeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	c := httpload.New(httpload.Options{Timeout: 200 * time.Millisecond})
	_, err := get(t, c, srv.URL+"/")
	if err == nil || err.Error() != "timeout" {
		t.Errorf("got %v, want timeout", err)
	}
}

// The server closes idle keep-alive connections; the client retries once on a fresh one.
func TestClient_StaleConnectionRetried(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), func(s *http.Server) { s.IdleTimeout = 50 * time.Millisecond })
	c := httpload.New(httpload.Options{})
	for i := range 3 {
		resp, err := get(t, c, srv.URL+"/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(resp.Body()) != "ok" {
			t.Fatalf("request %d: body %q", i, resp.Body())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := conns.Load(); got < 2 {
		t.Errorf("connections: got %d; the server was meant to close idle ones", got)
	}
}

func TestClient_ConnectError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := httpload.New(httpload.Options{Timeout: 2 * time.Second})
	_, err = get(t, c, "http://"+addr+"/")
	if err == nil || !strings.Contains(err.Error(), "connect "+addr) {
		t.Errorf("got %v, want a connect error naming %s", err, addr)
	}
}

func BenchmarkClient_Do(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	}))
	defer srv.Close()
	c := httpload.New(httpload.Options{})
	defer c.Close()
	req := &fasthttp.Request{}
	resp := &fasthttp.Response{}
	req.SetRequestURI(srv.URL + "/")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Do(req, resp, httpload.Call{}); err != nil {
			b.Fatal(err)
		}
	}
}
