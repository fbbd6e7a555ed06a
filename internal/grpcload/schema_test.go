package grpcload

import (
	"context"
	"strings"
	"testing"
)

func TestSplitMethod(t *testing.T) {
	for _, c := range []struct{ in, svc, m, err string }{
		{"/pkg.Svc/M", "pkg.Svc", "M", ""},
		{"pkg.Svc/M", "pkg.Svc", "M", ""},
		{"pkg.v1.Svc.M", "pkg.v1.Svc", "M", ""},
		{"Svc/M", "Svc", "M", ""},
		{"M", "", "", "want /package.Service/Method"},
		{"/pkg.Svc/", "", "", "want"},
		{"/pkg..Svc/M", "", "", "want"},
		{"/pkg.Svc/M-1", "", "", "want"},
	} {
		svc, m, err := SplitMethod(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || svc != c.svc || m != c.m {
			t.Errorf("%q: got %q %q %v", c.in, svc, m, err)
		}
	}
}

func FuzzSplitMethod(f *testing.F) {
	for _, s := range []string{"/pkg.Svc/M", "pkg.Svc.M", "a/b/c", "/", "..", "x.y/z.w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		svc, m, err := SplitMethod(s)
		if err != nil {
			return
		}
		// a name it accepts is accepted again in its wire form, unchanged
		svc2, m2, err := SplitMethod("/" + svc + "/" + m)
		if err != nil || svc2 != svc || m2 != m {
			t.Errorf("%q -> %q %q -> %q %q %v", s, svc, m, svc2, m2, err)
		}
	})
}

func TestCompile(t *testing.T) {
	s, err := Compile(context.Background(), "../../examples", []string{"grpc/devices.proto"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Read) != 1 || s.Read[0] != "grpc/devices.proto" {
		t.Errorf("read %v", s.Read)
	}
	md, err := s.Method("/demo.v1.Devices/Report")
	if err != nil || Kind(md) != "bidi" || FullMethod(md) != "/demo.v1.Devices/Report" {
		t.Errorf("Report: %v %v", md, err)
	}
	for name, want := range map[string]string{"/demo.v1.Devices/Login": "unary", "/demo.v1.Devices/Watch": "server-streaming", "/demo.v1.Devices/Upload": "client-streaming"} {
		if md, err := s.Method(name); err != nil || Kind(md) != want {
			t.Errorf("%s: %v %v, want %s", name, md, err, want)
		}
	}
	if _, err := s.Method("/demo.v1.Setting/X"); err == nil || !strings.Contains(err.Error(), "not a service") {
		t.Errorf("message as service: %v", err)
	}
	if got := s.Services(); len(got) != 1 || got[0] != "demo.v1.Devices" {
		t.Errorf("services %v", got)
	}
}
