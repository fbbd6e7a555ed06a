package scenario

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
)

func grpcScenario(task string) string {
	return "host: http://127.0.0.1:1\nusers:\n  - name: d\n    tasks:\n" + task
}

func TestGRPCStep(t *testing.T) {
	src := grpcScenario(`      - grpc: demo.v1.Devices/Upload
        proto: grpc/devices.proto
        weight: 2
        metadata: {Authorization: "Bearer x", x-trace: [a, b]}
        messages:
          - {device_id: d1, value: 1.5}
          - '{"deviceId": "d2", "seq": "{{ vu }}"}'
        timeout: 2s
        send_interval: 10ms
        check: {status: [OK, 5], messages: 1, json: {count: 2}}
      - grpc: /demo.v1.Devices/Watch
        target: grpcs://127.0.0.1:9443
        reflection: true
`)
	p, err := Parse("s.yaml", "testdata", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"grpc/devices.proto"}, p.Files); diff != "" {
		t.Errorf("files shipped to workers (-want +got):\n%s", diff)
	}
	up := p.Classes[0].Tasks[0]
	s := up.Steps[0]
	g := s.GRPC
	if up.Name != "/demo.v1.Devices/Upload" || up.Weight != 2 || s.Method != "GRPC" || s.Name != up.Name {
		t.Errorf("task %q weight %d, step %s %q", up.Name, up.Weight, s.Method, s.Name)
	}
	if g.Desc == nil || g.Desc.FullName() != "demo.v1.Devices.Upload" || !g.Desc.IsStreamingClient() {
		t.Errorf("method %v", g.Desc)
	}
	if len(g.Messages) != 2 || s.Timeout.String() != "2s" || g.Interval.String() != "10ms" || g.MessageCount != 1 {
		t.Errorf("messages %d timeout %v interval %v count %d", len(g.Messages), s.Timeout, g.Interval, g.MessageCount)
	}
	if diff := cmp.Diff([]codes.Code{codes.OK, codes.NotFound}, g.Codes); diff != "" {
		t.Errorf("codes: %s", diff)
	}
	var md []string
	for _, m := range g.Metadata {
		v, _ := m.Value.Static()
		md = append(md, m.Name+"="+v)
	}
	if diff := cmp.Diff([]string{"authorization=Bearer x", "x-trace=a", "x-trace=b"}, md); diff != "" {
		t.Errorf("metadata: %s", diff)
	}
	if len(s.Checks) != 1 {
		t.Errorf("checks: %d, want the json one", len(s.Checks))
	}
	w := p.Classes[0].Tasks[1].Steps[0].GRPC
	if w.Desc != nil || w.Target != "127.0.0.1:9443" || w.TLS == nil || len(w.Codes) != 1 || w.MessageCount != -1 {
		t.Errorf("reflection step: %+v", w)
	}
}

func TestGRPCStepErrors(t *testing.T) {
	for _, c := range []struct{ task, want string }{
		{"      - grpc: Login\n        proto: grpc/devices.proto\n", "s.yaml:5:15: method \"Login\": want /package.Service/Method"},
		{"      - grpc: /demo.v1.Devices/Logn\n        proto: grpc/devices.proto\n", "s.yaml:5:15: service demo.v1.Devices has no method Logn (it has Login, Watch, Upload, Report)"},
		{"      - grpc: /demo.v1.Nope/Login\n        proto: grpc/devices.proto\n", "s.yaml:5:15: no service demo.v1.Nope"},
		{"      - grpc: /a.B/C\n", "s.yaml:5:9: grpc step needs the method's definition: add proto: [file.proto] or reflection: true"},
		{"      - grpc: /a.B/C\n        proto: nope.proto\n", "s.yaml:6:16: proto: nope.proto: no such file or directory"},
		{"      - grpc: /a.B/C\n        proto: grpc/bad.proto\n", "s.yaml:6:16: proto: grpc/bad.proto:3:9: syntax error"},
		{"      - grpc: /a.B/C\n        proto: users.csv\n", "s.yaml:6:16: proto file \"users.csv\": want a .proto file"},
		{"      - grpc: /demo.v1.Devices/Login\n        proto: grpc/devices.proto\n        message: {device: x}\n", "s.yaml:7:18: message is not a demo.v1.LoginRequest: (line 1:2): unknown field \"device\""},
		{"      - grpc: /demo.v1.Devices/Login\n        proto: grpc/devices.proto\n        messages: [{}, {}]\n", "s.yaml:7:19: /demo.v1.Devices/Login is unary: it takes one message, got 2"},
		{"      - grpc: /a.B/C\n        reflection: true\n        check: {status: NOT_FOUD}\n", "s.yaml:7:25: unknown gRPC status \"NOT_FOUD\"; did you mean \"NOT_FOUND\"?"},
		{"      - grpc: /a.B/C\n        reflection: true\n        check: {status: 17}\n", "s.yaml:7:25: status 17: a gRPC status code is 0 to 16"},
		{"      - grpc: /a.B/C\n        reflection: true\n        check: {statuss: OK}\n", "s.yaml:7:17: unknown key \"statuss\" in grpc check; did you mean \"status\"?"},
		{"      - grpc: /a.B/C\n        reflection: true\n        target: http://x:1\n", "s.yaml:7:17: target \"http://x:1\": want host:port, grpc://host:port or grpcs://host:port"},
		{"      - grpc: /a.B/C\n        reflection: true\n        metadata: {grpc-timeout: 1}\n", "s.yaml:7:19: bad metadata key \"grpc-timeout\""},
		{"      - grpc: /a.B/C\n        reflection: true\n        get: /\n", "s.yaml:7:9: unknown key \"get\" in grpc task"},
		{"      - grpc: /a.B/C\n        reflection: true\n        capture: {c: {cookie: x}}\n", "s.yaml:7:19: capture c: a gRPC answer has no cookies"},
	} {
		_, err := Parse("s.yaml", "testdata", []byte(grpcScenario(c.task)), Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\ngot  %v\nwant %s", c.task, err, c.want)
		}
	}
}

func TestGRPCStepInSetupAndSteps(t *testing.T) {
	src := "host: http://127.0.0.1:1\nsetup:\n  - grpc: /a.B/C\n    reflection: true\n    capture: {tok: {json: token}}\n" +
		"users:\n  - name: d\n    tasks:\n      - name: flow\n        steps:\n          - grpc: /a.B/D\n            reflection: true\n            metadata: {authorization: \"{{ .tok }}\"}\n          - get: /\n"
	p, err := Parse("s.yaml", "testdata", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Setup[0].GRPC == nil || p.Classes[0].Tasks[0].Steps[0].GRPC == nil || p.Classes[0].Tasks[0].Steps[1].GRPC != nil {
		t.Errorf("steps: setup %+v, task %+v", p.Setup[0], p.Classes[0].Tasks[0].Steps)
	}
}

// FuzzGRPCMessage parses gRPC steps whose message is the input, written
// as YAML under message:: no panic, errors placed, and a message without
// templates that parses is one of the method's input type.
func FuzzGRPCMessage(f *testing.F) {
	for _, s := range []string{
		"{device_id: d1, secret: s3cret}", `'{"deviceId": "x"}'`, "device_id: \"{{ vu }}\"\nsecret: [1, 2]",
		"{}", "[1]", "{device_id: 1}", "{count: 1e99}", "{secret: !!binary aGk=}", "{device_id: &a x, secret: *a}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		var b strings.Builder
		b.WriteString(grpcScenario("      - grpc: /demo.v1.Devices/Login\n        proto: grpc/devices.proto\n        message:\n"))
		for _, l := range strings.Split(msg, "\n") {
			b.WriteString("          " + l + "\n")
		}
		p, err := Parse("f.yaml", "testdata", []byte(b.String()), Options{})
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("error %T %v, want a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" {
					t.Errorf("bad error %#v", e)
				}
			}
			return
		}
		g := p.Classes[0].Tasks[0].Steps[0].GRPC
		if len(g.Messages) != 1 {
			t.Fatalf("%d messages, want 1", len(g.Messages))
		}
		if s, ok := g.Messages[0].Static(); ok {
			if err := CheckMessage(g.Desc.Input(), []byte(s)); err != nil {
				t.Errorf("message %q passed validation but is not a LoginRequest: %v", s, err)
			}
		}
	})
}
