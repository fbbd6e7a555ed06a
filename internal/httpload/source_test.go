package httpload

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestParseSourceAddrs(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", ""},
		{"127.0.0.2", "127.0.0.2"},
		{"127.0.0.2-127.0.0.5", "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5"},
		{" 10.0.0.255-10.0.1.1 , 192.0.2.7", "10.0.0.255,10.0.1.0,10.0.1.1,192.0.2.7"},
		{"::1", "::1"},
		{"fd00::1-fd00::3", "fd00::1,fd00::2,fd00::3"},
		{"::ffff:127.0.0.2", "127.0.0.2"},
	} {
		s, err := ParseSourceAddrs(tc.in)
		if err != nil {
			t.Errorf("ParseSourceAddrs(%q): %v", tc.in, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("ParseSourceAddrs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"localhost", `"localhost": not an IP address`},
		{"127.0.0.9-127.0.0.2", "ends before it starts"},
		{"127.0.0.1-::1", "mixes IPv4 and IPv6"},
		{"127.0.0.1,,127.0.0.2", "empty address"},
		{"127.0.0.1-x", `"x": not an IP address`},
		{"10.0.0.0-10.255.255.255", "more than 65536 addresses"},
		{"fe80::1%eth0", "zoned"},
	} {
		_, err := ParseSourceAddrs(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseSourceAddrs(%q): error %v, want one containing %q", tc.in, err, tc.msg)
		}
	}
}

func TestSourceAddrsPickRoundRobin(t *testing.T) {
	s, err := ParseSourceAddrs("127.0.0.2-127.0.0.4,::1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 6 {
		got = append(got, s.pick(true).IP.String())
	}
	if want := "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.2 127.0.0.3 127.0.0.4"; strings.Join(got, " ") != want {
		// ::1 is skipped for IPv4 targets, so one of the turns lands on the next IPv4 address.
		if len(strings.Fields(strings.Join(got, " "))) != 6 {
			t.Fatalf("picks %q", got)
		}
		seen := map[string]bool{}
		for _, g := range got {
			seen[g] = true
		}
		if len(seen) != 3 || seen["::1"] {
			t.Fatalf("picks %q: want each of 127.0.0.2-4 and never ::1", got)
		}
	}
	if a := s.pick(false); a == nil || a.IP.String() != "::1" {
		t.Fatalf("IPv6 pick = %v, want ::1", a)
	}
	var none *SourceAddrs
	if none.pick(true) != nil || none.Len() != 0 {
		t.Fatal("nil SourceAddrs picks an address")
	}
}

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
	src, err := ParseSourceAddrs("127.0.0.2-127.0.0.5")
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
	src, _ := ParseSourceAddrs("192.0.2.1") // TEST-NET-1: on no machine
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

func FuzzParseSourceAddrs(f *testing.F) {
	for _, s := range []string{"127.0.0.2-127.0.0.9", "10.0.0.5,10.0.0.6", "::1-::9", "", "1.2.3.4-", "-", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src, err := ParseSourceAddrs(s)
		if err != nil {
			return
		}
		if src.Len() > maxSourceAddrs {
			t.Fatalf("%q: %d addresses", s, src.Len())
		}
		if src.Len() > 0 {
			again, err := ParseSourceAddrs(src.String())
			if err != nil || again.String() != src.String() {
				t.Fatalf("%q: String %q does not parse back (%v)", s, src.String(), err)
			}
		}
	})
}
