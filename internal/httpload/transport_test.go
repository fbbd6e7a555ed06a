package httpload_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/valyala/fasthttp"

	"github.com/horde-load/horde/internal/httpload"
)

func tlsServer(t *testing.T, h http.Handler, h2 bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = h2
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func trusting(srv *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

func TestClient_TLSUnknownAuthority(t *testing.T) {
	srv := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), false)
	c := httpload.New(httpload.Options{Transport: &httpload.Transport{}})
	defer c.Close()
	_, err := get(t, c, srv.URL+"/")
	host := strings.TrimPrefix(srv.URL, "https://")
	want := "TLS: certificate signed by unknown authority (host " + host + ")"
	if err == nil || err.Error() != want {
		t.Fatalf("got error %v, want %q", err, want)
	}
}

func TestClient_TLSOwnCA(t *testing.T) {
	for _, tc := range []struct {
		name      string
		serverH2  bool
		mode      httpload.HTTP2Mode
		wantProto string
		wantErr   string
	}{
		{"auto picks h2", true, httpload.HTTP2Auto, "HTTP/2.0", ""},
		{"auto falls back", false, httpload.HTTP2Auto, "HTTP/1.1", ""},
		{"off", true, httpload.HTTP2Off, "HTTP/1.1", ""},
		{"on", true, httpload.HTTP2On, "HTTP/2.0", ""},
		{"on without h2", false, httpload.HTTP2On, "", "TLS: server sent alert: no application protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.SetCookie(w, &http.Cookie{Name: "s", Value: "v" + r.Proto})
				w.Header().Set("X-Cookie", r.Header.Get("Cookie"))
				io.WriteString(w, r.Proto+" "+r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("User-Agent"))
				b, _ := io.ReadAll(r.Body)
				w.Write(b)
			}))
			srv.EnableHTTP2 = tc.serverH2
			srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.StartTLS()
			defer srv.Close()
			c := httpload.New(httpload.Options{Transport: &httpload.Transport{TLS: trusting(srv), HTTP2: tc.mode}})
			defer c.Close()
			for i := range 3 {
				req := fasthttp.AcquireRequest()
				resp := &fasthttp.Response{}
				req.SetRequestURI(srv.URL + "/p?q=1")
				req.Header.SetMethod("POST")
				req.Header.SetUserAgent("ua")
				req.SetBodyString("body")
				_, err := c.Do(req, resp, httpload.Call{})
				fasthttp.ReleaseRequest(req)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("got error %v, want %q", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got, want := string(resp.Body()), tc.wantProto+" POST /p?q=1 uabody"; got != want {
					t.Errorf("request %d: body %q, want %q", i, got, want)
				}
				if got, want := string(resp.Header.Peek("X-Cookie")), map[bool]string{true: "s=v" + tc.wantProto}[i > 0]; got != want {
					t.Errorf("request %d: cookie sent %q, want %q", i, got, want)
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("%d connections, want 1", n)
			}
		})
	}
}

func TestClient_H2C(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	for mode, want := range map[httpload.HTTP2Mode]string{httpload.HTTP2Cleartext: "HTTP/2.0", httpload.HTTP2Auto: "HTTP/1.1"} {
		c := httpload.New(httpload.Options{Transport: &httpload.Transport{HTTP2: mode}})
		resp, err := get(t, c, srv.URL+"/")
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(resp.Body()); got != want {
			t.Errorf("mode %d: got %s, want %s", mode, got, want)
		}
	}
}

func compressed(t *testing.T, enc, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "deflate":
		w = zlib.NewWriter(&b)
	case "rawdeflate":
		w, _ = flate.NewWriter(&b, 5)
	case "br":
		w = brotli.NewWriter(&b)
	case "zstd":
		w, _ = zstd.NewWriter(&b)
	default:
		t.Fatalf("no encoder %s", enc)
	}
	io.WriteString(w, text)
	w.Close()
	return b.Bytes()
}

func TestClient_Decodes(t *testing.T) {
	text := strings.Repeat(`{"ok":true,"n":12345}`, 100)
	for _, h2 := range []bool{false, true} {
		for _, enc := range []string{"gzip", "deflate", "rawdeflate", "br", "zstd"} {
			body := compressed(t, enc, text)
			header := enc
			if enc == "rawdeflate" {
				header = "deflate"
			}
			srv := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", header)
				w.Write(body)
			}), h2)
			c := httpload.New(httpload.Options{Transport: &httpload.Transport{TLS: trusting(srv)}})
			req, resp := &fasthttp.Request{}, &fasthttp.Response{}
			req.SetRequestURI(srv.URL + "/")
			res, err := c.Do(req, resp, httpload.Call{})
			if err != nil {
				t.Fatalf("%s h2=%v: %v", enc, h2, err)
			}
			if string(resp.Body()) != text {
				t.Errorf("%s h2=%v: body not decoded: %.40q", enc, h2, resp.Body())
			}
			if got := res.WireSize; got != len(body) {
				t.Errorf("%s h2=%v: wire size %d, want %d", enc, h2, got, len(body))
			}
			c.Close()
		}
	}
}

func TestClient_DecodeLimit(t *testing.T) {
	body := compressed(t, "gzip", strings.Repeat("a", 1<<20))
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(body)
	}))
	c := httpload.New(httpload.Options{MaxBodySize: 100000})
	defer c.Close()
	if _, err := get(t, c, srv.URL+"/"); err == nil || !strings.Contains(err.Error(), "decoded body above 100000 bytes") {
		t.Fatalf("got %v, want a decoded-size error", err)
	}
}

// connectProxy is a CONNECT and absolute-form HTTP proxy on loopback; it
// records what it was asked for.
type connectProxy struct {
	mu   sync.Mutex
	seen []string
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.seen = append(p.seen, r.Method+" "+r.RequestURI+" "+r.Header.Get("Proxy-Authorization"))
	p.mu.Unlock()
	if r.Method != http.MethodConnect {
		out, err := http.NewRequest(r.Method, r.RequestURI, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		res, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer res.Body.Close()
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
		return
	}
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	down, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n")
	go func() { io.Copy(up, buf); up.Close() }()
	io.Copy(down, up)
	down.Close()
}

func TestClient_Proxy(t *testing.T) {
	proxy := &connectProxy{}
	ps := httptest.NewServer(proxy)
	defer ps.Close()
	pu, _ := url.Parse(ps.URL)
	pu.User = url.UserPassword("u", "p")
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto+" "+r.URL.Path) })
	tsrv := tlsServer(t, echo, true)
	psrv, _ := countingServer(t, echo)
	c := httpload.New(httpload.Options{Transport: &httpload.Transport{TLS: trusting(tsrv), Proxy: httpload.FixedProxy(pu)}})
	defer c.Close()
	for _, tc := range []struct{ url, want string }{{tsrv.URL + "/a", "HTTP/2.0 /a"}, {psrv.URL + "/b", "HTTP/1.1 /b"}, {psrv.URL + "/c", "HTTP/1.1 /c"}} {
		resp, err := get(t, c, tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if got := string(resp.Body()); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.url, got, tc.want)
		}
	}
	auth := "Basic dTpw"
	want := []string{"CONNECT " + strings.TrimPrefix(tsrv.URL, "https://") + " " + auth, "GET " + psrv.URL + "/b " + auth, "GET " + psrv.URL + "/c " + auth}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if strings.Join(proxy.seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("proxy saw\n%s\nwant\n%s", strings.Join(proxy.seen, "\n"), strings.Join(want, "\n"))
	}
}

// The proxy refusing a tunnel is a readable failure.
func TestClient_ProxyRefuses(t *testing.T) {
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer ps.Close()
	pu, _ := url.Parse(ps.URL)
	c := httpload.New(httpload.Options{Transport: &httpload.Transport{Proxy: httpload.FixedProxy(pu)}})
	defer c.Close()
	_, err := get(t, c, "https://127.0.0.1:1/")
	if want := "proxy CONNECT 127.0.0.1:1: 403 Forbidden"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// A server requiring a client certificate refuses one without; TLS 1.3
// tells it after the handshake, and the failure still reads as TLS.
func TestClient_TLSClientCertRequired(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	c := httpload.New(httpload.Options{Transport: &httpload.Transport{TLS: trusting(srv)}})
	defer c.Close()
	_, err := get(t, c, srv.URL+"/")
	host := strings.TrimPrefix(srv.URL, "https://")
	if want := "TLS: server sent alert: certificate required (host " + host + ")"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// BenchmarkClient_DoTLS compares HTTP/1.1 and HTTP/2 over one kept-alive
// TLS connection to a loopback server.
func BenchmarkClient_DoTLS(b *testing.B) {
	for _, tc := range []struct {
		name string
		mode httpload.HTTP2Mode
	}{{"http1.1", httpload.HTTP2Off}, {"http2", httpload.HTTP2On}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok\n")
			}))
			srv.EnableHTTP2 = true
			srv.StartTLS()
			defer srv.Close()
			c := httpload.New(httpload.Options{Transport: &httpload.Transport{TLS: trusting(srv), HTTP2: tc.mode}})
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
		})
	}
}
