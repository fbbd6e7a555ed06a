package srcaddr

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
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
		s, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("Parse(%q) = %q, want %q", tc.in, got, tc.want)
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
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q): error %v, want one containing %q", tc.in, err, tc.msg)
		}
	}
}
func TestAddrs_PickRoundRobin(t *testing.T) {
	s, err := Parse("127.0.0.2-127.0.0.4,::1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 6 {
		got = append(got, s.Pick(true).IP.String())
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
	if a := s.Pick(false); a == nil || a.IP.String() != "::1" {
		t.Fatalf("IPv6 pick = %v, want ::1", a)
	}
	var none *Addrs
	if none.Pick(true) != nil || none.Len() != 0 {
		t.Fatal("nil Addrs picks an address")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"127.0.0.2-127.0.0.9", "10.0.0.5,10.0.0.6", "::1-::9", "", "1.2.3.4-", "-", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src, err := Parse(s)
		if err != nil {
			return
		}
		if src.Len() > maxAddrs {
			t.Fatalf("%q: %d addresses", s, src.Len())
		}
		if src.Len() > 0 {
			again, err := Parse(src.String())
			if err != nil || again.String() != src.String() {
				t.Fatalf("%q: String %q does not parse back (%v)", s, src.String(), err)
			}
		}
	})
}
