package httpload

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/horde-load/horde/internal/srcaddr"
)

// Connections of clients sharing one SourceAddrs come from each address in turn.
func TestClientSourceAddrs(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		seen[h]++
		mu.Unlock()
	}))
	srv.Config.SetKeepAlivesEnabled(true)
	srv.Start()
	defer srv.Close()
	src, err := srcaddr.Parse("127.0.0.2-127.0.0.5")
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		c := New(Options{SourceAddrs: src})
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI(srv.URL + "/")
		if _, err := c.Do(req, resp, Call{}); err != nil {
			t.Fatal(err)
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
		c.Close()
	}
	for _, a := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"} {
		if seen[a] != 2 {
			t.Errorf("requests from %s: %d, want 2 (all: %v)", a, seen[a], seen)
		}
	}
}

func TestClientSourceAddrNotLocal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	src, _ := srcaddr.Parse("192.0.2.1") // TEST-NET-1: on no machine
	c := New(Options{SourceAddrs: src})
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(srv.URL + "/")
	_, err := c.Do(req, resp, Call{})
	if err == nil || !strings.Contains(err.Error(), "source address 192.0.2.1 (--source-addrs) is not an address of this machine") {
		t.Fatalf("error %v", err)
	}
}
