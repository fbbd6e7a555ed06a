package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const transportScenario = `host: https://127.0.0.1:8443
defaults:
  tls: {ca: tls/ca.pem}
  http2: auto
users:
  - name: u
    tasks:
      - get: /a
      - get: /b
        compression: false
      - get: /mtls
        tls: {cert: tls/client.pem, key: tls/client-key.pem, server_name: example.test}
        http2: false
      - get: /h2c
        http2: h2c
        proxy: http://127.0.0.1:3128
      - get: /direct
        proxy: false
`

func TestParse_Transport(t *testing.T) {
	plan, err := Parse("t.yaml", "testdata", []byte(transportScenario), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var steps []*Step
	for _, task := range plan.Classes[0].Tasks {
		steps = append(steps, task.Steps...)
	}
	a, b, mtls, h2c, direct := steps[0], steps[1], steps[2], steps[3], steps[4]
	if a.Transport != b.Transport {
		t.Error("steps with the same transport settings do not share one Transport")
	}
	if !a.Compression || b.Compression {
		t.Errorf("compression: /a %v, /b %v; want true, false", a.Compression, b.Compression)
	}
	if a.Transport.TLS == nil || a.Transport.TLS.RootCAs == nil || len(a.Transport.TLS.Certificates) != 0 {
		t.Errorf("/a TLS %+v: want the CA only", a.Transport.TLS)
	}
	if got := a.Transport.HTTP2; got != "auto" {
		t.Errorf("/a http2 %q, want auto", got)
	}
	c := mtls.Transport
	if c.TLS == nil || c.TLS.RootCAs == nil || len(c.TLS.Certificates) != 1 || c.TLS.ServerName != "example.test" || c.HTTP2 != "false" {
		t.Errorf("/mtls transport %+v: want the defaults' CA, a client certificate, server name and http2 false", c)
	}
	if h2c.Transport.HTTP2 != "h2c" || h2c.Transport.Proxy != ProxyURL || h2c.Transport.ProxyAddr.Host != "127.0.0.1:3128" {
		t.Errorf("/h2c transport %+v", h2c.Transport)
	}
	if a.Transport.Proxy != ProxyEnv || direct.Transport.Proxy != ProxyNone {
		t.Errorf("proxies: /a %s, /direct %s; want env, none", a.Transport.Proxy, direct.Transport.Proxy)
	}

	// The command line's settings override the file's everywhere.
	ca, _ := os.ReadFile("testdata/tls/ca.pem")
	plan, err = Parse("t.yaml", "testdata", []byte(transportScenario), Options{TLS: TLSFlags{InsecureSkipVerify: true, CA: File{Name: "ca.pem", Data: ca}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range plan.Classes[0].Tasks {
		if s := task.Steps[0]; s.Transport.TLS == nil || !s.Transport.TLS.InsecureSkipVerify {
			t.Errorf("%s: --insecure-skip-tls-verify not applied", task.Name)
		}
	}

	got := TransportFiles([]byte(transportScenario))
	if want := []string{"tls/ca.pem", "tls/client.pem", "tls/client-key.pem"}; !cmp.Equal(got, want) {
		t.Errorf("TransportFiles = %q, want %q", got, want)
	}
}

func TestParse_TransportDefault(t *testing.T) {
	plan, err := Parse("t.yaml", "testdata", []byte("host: http://x\nusers:\n  - name: u\n    tasks:\n      - get: /\n      - get: /b\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s0, s1 := plan.Classes[0].Tasks[0].Steps[0], plan.Classes[0].Tasks[1].Steps[0]
	if s0.Transport == nil || s0.Transport != s1.Transport || s0.Transport.TLS != nil || s0.Transport.HTTP2 != "auto" || s0.Transport.Proxy != ProxyEnv || !s0.Compression {
		t.Errorf("default transport %+v, compression %v", s0.Transport, s0.Compression)
	}
}

func TestParse_TransportErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"defaults:\n  tls: {ca: nope.pem}\n", `t.yaml:3:13: tls ca "nope.pem": no such file or directory`},
		{"defaults:\n  tls: {ca: tls/client-key.pem}\n", `t.yaml:3:13: tls ca "tls/client-key.pem": no PEM certificate in it`},
		{"defaults:\n  tls: {cert: tls/client.pem, key: tls/other-key.pem}\n", `t.yaml:3:36: tls cert "tls/client.pem", key "tls/other-key.pem": the key does not match the certificate (private key does not match public key)`},
		{"defaults:\n  tls: {cert: tls/client.pem}\n", `t.yaml:3:15: tls cert "tls/client.pem" has no key: add key: with its private key file`},
		{"defaults:\n  tls: {ca: tls/ca.pem, insecure: true}\n", `t.yaml:3:25: unknown key "insecure" in tls`},
		{"defaults:\n  http2: yes-please\n", `t.yaml:3:10: http2 is "yes-please"; want auto, true, false or h2c`},
		{"defaults:\n  proxy: socks5://x:1080\n", `t.yaml:3:10: proxy "socks5://x:1080" is not a proxy URL like http://proxy:3128 (or env, or false)`},
		{"defaults:\n  compression: maybe\n", `t.yaml:3:16: compression`},
	} {
		src := "host: https://x\n" + tc.yaml + "users:\n  - name: u\n    tasks:\n      - get: /\n      - get: /b\n"
		_, err := Parse("t.yaml", "testdata", []byte(src), Options{})
		if err == nil {
			t.Errorf("%q: no error, want %q", tc.yaml, tc.want)
			continue
		}
		list := err.(ErrorList)
		if len(list) != 1 || !strings.HasPrefix(list[0].Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s (once)", tc.yaml, err, tc.want)
		}
	}
}

func TestTLSFlags_Check(t *testing.T) {
	read := func(name string) File {
		b, err := os.ReadFile(filepath.Join("testdata", "tls", name))
		if err != nil {
			t.Fatal(err)
		}
		return File{Name: name, Data: b}
	}
	for _, tc := range []struct {
		flags TLSFlags
		want  string
	}{
		{TLSFlags{CA: read("ca.pem"), Cert: read("client.pem"), Key: read("client-key.pem")}, ""},
		{TLSFlags{CA: read("client-key.pem")}, "--target-ca client-key.pem: no PEM certificate in it"},
		{TLSFlags{Cert: read("client.pem")}, "--target-cert client.pem needs --target-key"},
		{TLSFlags{Key: read("client-key.pem")}, "--target-key client-key.pem needs --target-cert"},
		{TLSFlags{Cert: read("client.pem"), Key: read("other-key.pem")}, "--target-cert client.pem, --target-key other-key.pem: the key does not match the certificate (private key does not match public key)"},
	} {
		err := tc.flags.Check()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// FuzzTransport parses the transport keys: every error has a place, and a
// plan that parses gives every step a transport, shared by steps alike,
// the same on a second parse.
func FuzzTransport(f *testing.F) {
	f.Add([]byte(transportScenario))
	f.Add([]byte("host: http://x\ndefaults:\n  proxy: env\n  http2: true\nusers:\n  - tasks:\n      - get: /\n        tls: {insecure_skip_verify: true}\n"))
	f.Add([]byte("host: http://x\ndefaults:\n  tls: &t {ca: tls/ca.pem}\nusers:\n  - tasks:\n      - get: /\n        tls: *t\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p1, err := Parse("f.yaml", "testdata", src, Options{})
		if err != nil {
			for _, e := range err.(ErrorList) {
				if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" || e.Pos.File != "f.yaml" {
					t.Errorf("bad error %#v", e)
				}
			}
			return
		}
		p2, err := Parse("f.yaml", "testdata", src, Options{})
		if err != nil {
			t.Fatalf("second Parse failed: %v", err)
		}
		byKey := map[string]*Transport{}
		for i, c := range p1.Classes {
			for j, task := range c.Tasks {
				for k, s := range task.Steps {
					tr := s.Transport
					if s.Sleep {
						continue // sends nothing
					}
					if tr == nil {
						t.Fatalf("step without a transport")
					}
					if o, ok := byKey[tr.key]; ok && o != tr {
						t.Errorf("two transports for the same settings %q", tr.key)
					}
					byKey[tr.key] = tr
					if o := p2.Classes[i].Tasks[j].Steps[k].Transport; o.key != tr.key || o.HTTP2 != tr.HTTP2 || o.Proxy != tr.Proxy {
						t.Errorf("second parse differs: %+v vs %+v", o, tr)
					}
				}
			}
		}
		_ = TransportFiles(src)
	})
}
