package httpload_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/horde-load/horde/internal/httpload"
)

// The phases add up to the request's time: a new connection is timed
// (and its TLS handshake), a kept-alive one is not; the server's think
// time is waiting, its slow body receiving; the bytes are whole messages.
func TestClient_Phases(t *testing.T) {
	body := strings.Repeat("x", 10000)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond) // think
		w.Header().Set("Content-Length", "10000")
		w.WriteHeader(200)
		w.Write([]byte(body[:5000]))
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond) // a slow body
		w.Write([]byte(body[5000:]))
	})
	h2srv := httptest.NewUnstartedServer(h)
	h2srv.EnableHTTP2 = true
	h2srv.StartTLS()
	for _, tc := range []struct {
		name    string
		srv     *httptest.Server
		tls, h2 bool
	}{
		{"http", httptest.NewServer(h), false, false},
		{"https", httptest.NewTLSServer(h), true, false},
		{"h2", h2srv, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.srv.Close()
			c := httpload.New(httpload.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
			defer c.Close()
			for i := range 2 {
				req := fasthttp.AcquireRequest()
				req.SetRequestURI(tc.srv.URL + "/p")
				req.SetBodyString("hello")
				req.Header.SetMethod("POST")
				resp := &fasthttp.Response{}
				res, err := c.Do(req, resp, httpload.Call{})
				fasthttp.ReleaseRequest(req)
				if err != nil {
					t.Fatal(err)
				}
				p := res.Phases
				if got := c.Phases(); got != p {
					t.Errorf("Phases() %+v, the Result's %+v", got, p)
				}
				if p.Dialed != (i == 0) {
					t.Errorf("request %d: Dialed %v", i, p.Dialed)
				}
				if i == 0 && p.Connecting <= 0 {
					t.Errorf("new connection: Connecting %v", p.Connecting)
				}
				if i == 1 && (p.Connecting != 0 || p.TLSHandshaking != 0) {
					t.Errorf("kept-alive connection: Connecting %v, TLSHandshaking %v", p.Connecting, p.TLSHandshaking)
				}
				if i == 0 && tc.tls != (p.TLSHandshaking > 0) {
					t.Errorf("TLSHandshaking %v (TLS %v)", p.TLSHandshaking, tc.tls)
				}
				if !p.Answered || p.Waiting < 25*time.Millisecond || p.Receiving < 15*time.Millisecond {
					t.Errorf("Answered %v, Waiting %v (want >= 25ms: the server thinks 30ms), Receiving %v (want >= 15ms)", p.Answered, p.Waiting, p.Receiving)
				}
				if sum := p.Connecting + p.TLSHandshaking + p.Waiting + p.Receiving; sum > res.Took {
					t.Errorf("phases add up to %v, more than the request's %v", sum, res.Took)
				}
				// The request line, headers and the 5-byte body; the answer's
				// head and 10000-byte body.
				// HTTP/2: frames (the first exchange carries the preface and
				// the settings too).
				maxSent, maxRecv := int64(400), int64(10400)
				if tc.h2 {
					maxSent, maxRecv = 1000, 11000
				}
				if p.Sent < int64(5+len("POST /p HTTP/1.1\r\n")) || p.Sent > maxSent {
					t.Errorf("Sent %d bytes", p.Sent)
				}
				if p.Received < int64(10000+len("HTTP/1.1 200 OK\r\n")) || p.Received > maxRecv {
					t.Errorf("Received %d bytes", p.Received)
				}
				if got := string(resp.Body()); len(got) != 10000 {
					t.Errorf("body of %d bytes", len(got))
				}
			}
		})
	}
}

// A request that fails to connect is not answered.
func TestClient_PhasesRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := httpload.New(httpload.Options{})
	defer c.Close()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(url)
	res, err := c.Do(req, &fasthttp.Response{}, httpload.Call{})
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	if res.Phases.Answered || res.Phases.Received != 0 {
		t.Errorf("phases of a refused connection: %+v", res.Phases)
	}
}
