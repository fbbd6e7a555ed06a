//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/horde-load/horde/internal/grpcload"
)

// devicesServer serves examples/grpc/devices.proto (all four kinds of
// call) and the reflection service, with dynamic messages, and counts what
// it received.
type devicesServer struct {
	addr     string
	uploaded atomic.Int64 // metrics received by Upload
	reported atomic.Int64 // metrics received by Report
	uploads  atomic.Int64 // Upload calls that ended well
}

func startDevicesServer(t *testing.T, creds credentials.TransportCredentials) *devicesServer {
	t.Helper()
	sc, err := grpcload.Compile(context.Background(), filepath.Join(repoRoot, "examples"), []string{"grpc/devices.proto"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := sc.Files().FindDescriptorByName("demo.v1.Devices")
	if err != nil {
		t.Fatal(err)
	}
	sd := d.(protoreflect.ServiceDescriptor)
	ds := &devicesServer{}
	desc := grpc.ServiceDesc{ServiceName: "demo.v1.Devices", HandlerType: (*any)(nil), Metadata: "grpc/devices.proto"}
	for i := range sd.Methods().Len() {
		md := sd.Methods().Get(i)
		desc.Streams = append(desc.Streams, grpc.StreamDesc{
			StreamName: string(md.Name()), ServerStreams: md.IsStreamingServer(), ClientStreams: md.IsStreamingClient(),
			Handler: func(_ any, st grpc.ServerStream) error { return ds.handle(md, st) },
		})
	}
	var opts []grpc.ServerOption
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&desc, struct{}{})
	rpb.RegisterServerReflectionServer(srv, reflection.NewServerV1(reflection.ServerOptions{Services: srv, DescriptorResolver: sc.Files()}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	ds.addr = l.Addr().String()
	return ds
}

func (ds *devicesServer) handle(md protoreflect.MethodDescriptor, st grpc.ServerStream) error {
	in := func() *dynamicpb.Message { return dynamicpb.NewMessage(md.Input()) }
	out := func() *dynamicpb.Message { return dynamicpb.NewMessage(md.Output()) }
	set := func(m *dynamicpb.Message, field string, v protoreflect.Value) {
		m.Set(m.Descriptor().Fields().ByName(protoreflect.Name(field)), v)
	}
	get := func(m *dynamicpb.Message, field string) protoreflect.Value {
		return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(field)))
	}
	if md.Name() != "Login" {
		m, _ := metadata.FromIncomingContext(st.Context())
		if a := m.Get("authorization"); len(a) != 1 || !strings.HasPrefix(a[0], "Bearer tok-") {
			return status.Error(codes.Unauthenticated, "no token")
		}
	}
	switch md.Name() {
	case "Login":
		req := in()
		if err := st.RecvMsg(req); err != nil {
			return err
		}
		if get(req, "secret").String() != "s3cret" {
			return status.Error(codes.Unauthenticated, "bad secret")
		}
		rep := out()
		set(rep, "token", protoreflect.ValueOfString("tok-"+get(req, "device_id").String()))
		return st.SendMsg(rep)
	case "Watch":
		req := in()
		if err := st.RecvMsg(req); err != nil {
			return err
		}
		n := get(req, "count").Int()
		for i := range n {
			if n > 100 {
				time.Sleep(time.Millisecond) // a long watch: a deadline ends it
			}
			m := out()
			set(m, "name", protoreflect.ValueOfString("interval"))
			set(m, "value", protoreflect.ValueOfString(strconv.Itoa(int(i))))
			set(m, "version", protoreflect.ValueOfInt64(i+1))
			if err := st.SendMsg(m); err != nil {
				return err
			}
		}
		return nil
	case "Upload":
		var n int32
		var sum float64
		for {
			m := in()
			if err := st.RecvMsg(m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
			n++
			sum += get(m, "value").Float()
			ds.uploaded.Add(1)
		}
		rep := out()
		set(rep, "count", protoreflect.ValueOfInt32(n))
		set(rep, "sum", protoreflect.ValueOfFloat64(sum))
		ds.uploads.Add(1)
		return st.SendMsg(rep)
	case "Report":
		for {
			m := in()
			if err := st.RecvMsg(m); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
			ds.reported.Add(1)
			ack := out()
			set(ack, "seq", get(m, "seq"))
			if err := st.SendMsg(ack); err != nil {
				return err
			}
		}
	}
	return status.Error(codes.Unimplemented, string(md.Name()))
}

// copyGRPCExample copies examples/grpc.yaml and its .proto into dir.
func copyGRPCExample(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"grpc.yaml", "grpc/devices.proto"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, "examples", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, f, string(b))
	}
}

// checkGRPCRows checks the statistics of a run of examples/grpc.yaml:
// every method called without failure, the streams' messages counted.
func checkGRPCRows(t *testing.T, path string, users int) map[string][]string {
	t.Helper()
	rows := statsRows(t, path)
	if got := count(t, rows[" Aggregated"], 3); got != 0 {
		t.Errorf("failures: got %d, want 0\n%v", got, readCSV(t, strings.TrimSuffix(path, "_stats.csv")+"_failures.csv"))
	}
	if got := count(t, rows["GRPC /demo.v1.Devices/Login"], 2); got != users {
		t.Errorf("logins: got %d, want %d (on_start once per user); rows %v", got, users, keys(rows))
	}
	// tasks are drawn by weight 3:2:1, a user's every 0.5-1 s: callers run
	// 10 users for 5 s (about 60 draws, none a Watch with odds (5/6)^60 =
	// 2e-5); 4 users for 3 s drew about 16, and a CI run had no Watch (5 %)
	for _, m := range []string{"Upload", "Report", "Watch"} {
		if count(t, rows["GRPC /demo.v1.Devices/"+m], 2) == 0 {
			t.Errorf("no %s call; rows %v", m, keys(rows))
		}
	}
	// a stream's first message and the gaps before the others
	watch := count(t, rows["GRPC /demo.v1.Devices/Watch"], 2)
	if got := count(t, rows["GRPC_FIRST /demo.v1.Devices/Watch"], 2); got != watch {
		t.Errorf("Watch first messages: got %d, want one per call (%d)", got, watch)
	}
	if got := count(t, rows["GRPC_MSG /demo.v1.Devices/Watch"], 2); got != 4*watch {
		t.Errorf("Watch later messages: got %d, want 4 per call (%d)", got, 4*watch)
	}
	report := count(t, rows["GRPC /demo.v1.Devices/Report"], 2)
	if got := count(t, rows["GRPC_MSG /demo.v1.Devices/Report"], 2); got != report {
		t.Errorf("Report second acks: got %d, want one per call (%d)", got, report)
	}
	return rows
}

// examples/grpc.yaml validates and runs against the test's server named
// with -H: every call kind, no failure, the server got every message the
// statistics count.
func TestGRPC_Example(t *testing.T) {
	t.Parallel()
	srv := startDevicesServer(t, nil)
	dir := t.TempDir()
	copyGRPCExample(t, dir)
	v := start(t, dir, nil, hordeBin, "validate", "grpc.yaml")
	if code := v.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("validate: exit code %d\n%s%s", code, v.stdout, v.stderr)
	}
	tr := start(t, dir, nil, hordeBin, "try", "grpc.yaml", "-H", "http://"+srv.addr)
	if code := tr.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("try: exit code %d\n%s%s", code, tr.stdout, tr.stderr)
	}
	for _, want := range []string{"GRPC grpc://" + srv.addr + "/demo.v1.Devices/Login", "< grpc-status OK", `< {"token":"tok-device-`,
		"capture  token = ", "check    messages == 5: ok", "check    grpc status in [OK]: ok", "4 requests, 0 failed"} {
		if !strings.Contains(tr.stdout.String(), want) {
			t.Errorf("try lacks %q:\n%s", want, tr.stdout)
		}
	}
	// what the run alone sent
	upCalls, upMetrics, reported := srv.uploads.Load(), srv.uploaded.Load(), srv.reported.Load()
	r := start(t, dir, nil, hordeBin, "run", "grpc.yaml", "--headless", "-H", "http://"+srv.addr, "-u", "10", "-r", "100",
		"-t", "5s", "--stop-timeout", "5s", "--csv", "res", "--only-summary")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run: exit code %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout, r.stderr)
	}
	rows := checkGRPCRows(t, filepath.Join(dir, "res_stats.csv"), 10)
	// the status and message-count checks the example writes are named
	// checks in the summary, all passed
	for _, re := range []string{
		`(?m)^\s+100\.00%\s+(\d+) / (\d+)\s+grpc status in \[OK\]$`,
		`(?m)^\s+100\.00%\s+(\d+) / (\d+)\s+messages == 5$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout.String()) {
			t.Errorf("the checks summary has no %s:\n%s", re, r.stdout)
		}
	}
	// users finish their task when stopped (--stop-timeout): each call the
	// statistics count reached the server, and no other
	if up, got := count(t, rows["GRPC /demo.v1.Devices/Upload"], 2), srv.uploads.Load()-upCalls; int64(up) != got {
		t.Errorf("Upload calls: statistics %d, server %d", up, got)
	}
	if up, got := count(t, rows["GRPC /demo.v1.Devices/Upload"], 2), srv.uploaded.Load()-upMetrics; int64(3*up) != got {
		t.Errorf("Upload metrics: server got %d, want 3 per call (%d)", got, 3*up)
	}
	if rep, got := count(t, rows["GRPC /demo.v1.Devices/Report"], 2), srv.reported.Load()-reported; int64(2*rep) != got {
		t.Errorf("Report metrics: server got %d, want 2 per call (%d)", got, 2*rep)
	}
}

// A master and a worker run examples/grpc.yaml: the .proto is shipped to
// the worker (its directory has none) as data files are.
func TestGRPC_Cluster(t *testing.T) {
	t.Parallel()
	srv := startDevicesServer(t, nil)
	dir := t.TempDir()
	copyGRPCExample(t, dir)
	m, port := startMaster(t, dir, 0, "grpc.yaml", "--headless", "-H", "http://"+srv.addr, "-u", "10", "-r", "100", "-t", "5s",
		"--stop-timeout", "5s", "--expect-workers", "1", "--expect-workers-max-wait", "30s", "--csv", "dist", "--only-summary")
	w := startWorker(t, t.TempDir(), port)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d\nstdout:\n%s\nstderr:\n%s\nworker:\n%s", code, m.stdout, m.stderr, w.stderr)
	}
	checkGRPCRows(t, filepath.Join(dir, "dist_stats.csv"), 10)
}

// Reflection over TLS: the methods come from the server, a status code is
// a failure unless checked for, metadata and deadlines are sent.
func TestGRPC_ReflectionTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pki := makePKI(t, dir)
	cert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := startDevicesServer(t, credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
	writeFile(t, dir, "r.yaml", `host: https://127.0.0.1:1
users:
  - name: device
    sequential: true
    wait: {constant: 100ms}
    on_start:
      - grpc: /demo.v1.Devices/Login
        reflection: true
        message: {device_id: "d{{ vu }}", secret: s3cret}
        capture: {token: {json: token}}
    tasks:
      - grpc: demo.v1.Devices.Login
        name: bad secret, checked
        reflection: true
        message: {device_id: x, secret: wrong}
        check: {status: UNAUTHENTICATED}
      - grpc: /demo.v1.Devices/Login
        name: bad secret
        reflection: true
        message: {device_id: x, secret: wrong}
      - grpc: /demo.v1.Devices/Watch
        name: no token
        reflection: true
        message: {count: 1}
      - grpc: /demo.v1.Devices/Watch
        name: long watch
        reflection: true
        timeout: 100ms
        metadata: {authorization: "Bearer {{ .token }}"}
        message: {count: 100000}
      - grpc: /demo.v1.Devices/Watch
        reflection: true
        metadata: {authorization: "Bearer {{ .token }}"}
        message: {count: 3}
        check: {messages: 3, json: {"[2].version": "3"}}
`)
	r := start(t, dir, nil, hordeBin, "run", "r.yaml", "--headless", "-H", "https://"+srv.addr, "--target-ca", pki.ca,
		"-u", "2", "-r", "100", "-t", "2s", "--stop-timeout", "5s", "--csv", "res", "--only-summary", "--exit-code-on-error", "0")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run: exit code %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout, r.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "res_stats.csv"))
	for _, c := range []struct {
		name     string
		failures bool
	}{
		{"GRPC /demo.v1.Devices/Login", false}, {"GRPC bad secret, checked", false}, {"GRPC bad secret", true},
		{"GRPC no token", true}, {"GRPC long watch", true}, {"GRPC /demo.v1.Devices/Watch", false},
	} {
		row := rows[c.name]
		n, f := count(t, row, 2), count(t, row, 3)
		if n == 0 {
			t.Errorf("%s: no call; rows %v", c.name, keys(rows))
			continue
		}
		if c.failures && f != n || !c.failures && f != 0 {
			t.Errorf("%s: %d failures in %d calls", c.name, f, n)
		}
	}
	fails := readCSV(t, filepath.Join(dir, "res_failures.csv"))
	text := ""
	for _, f := range fails {
		text += strings.Join(f, ",") + "\n"
	}
	for _, want := range []string{"grpc status UNAUTHENTICATED: bad secret", "grpc status UNAUTHENTICATED: no token", "grpc status DEADLINE_EXCEEDED"} {
		if !strings.Contains(text, want) {
			t.Errorf("failures lack %q:\n%s", want, text)
		}
	}
}

// A Starlark user makes the four kinds of call with grpc_proto and u.grpc:
// the same statistics as YAML steps, answers read as dicts, statuses
// accepted on request.
func TestGRPC_Starlark(t *testing.T) {
	t.Parallel()
	srv := startDevicesServer(t, nil)
	dir := t.TempDir()
	copyGRPCExample(t, dir)
	writeFile(t, dir, "g.star", `
devices = grpc_proto("grpc/devices.proto")

def on_start(u):
    r = u.grpc("/demo.v1.Devices/Login", proto = devices, message = {"device_id": "d%d" % u.id, "secret": "s3cret"})
    check(r.ok, "login: " + r.failure)
    u.vars["md"] = {"authorization": "Bearer " + r.message["token"]}
    r = u.grpc("demo.v1.Devices.Login", proto = devices, message = {"secret": "no"}, name = "refused",
               statuses = ["UNAUTHENTICATED"])
    check(r.status == "UNAUTHENTICATED" and r.ok, "refused: %s %s" % (r.status, r.failure))

def flow(u):
    r = u.grpc("/demo.v1.Devices/Upload", proto = devices, metadata = u.vars["md"],
               messages = [{"value": 1.5}, {"value": 2.5}])
    check(r.message["count"] == 2 and r.message["sum"] == 4.0, "upload: %s" % r.message)
    r = u.grpc("/demo.v1.Devices/Watch", reflection = True, metadata = u.vars["md"], message = {"count": 3})
    check(len(r.messages) == 3 and r.messages[2]["version"] == "3", "watch: %s" % r.messages)
    r = u.grpc("/demo.v1.Devices/Report", proto = devices, metadata = u.vars["md"],
               messages = ['{"seq": 7}', {"seq": 8}], timeout = "5s")
    check([m["seq"] for m in r.messages] == ["7", "8"], "report: %s" % r.messages)

users = [user("device", tasks = [flow], on_start = on_start, wait = constant(0.05))]
`)
	r := start(t, dir, nil, hordeBin, "run", "g.star", "--headless", "-H", "http://"+srv.addr, "-u", "3", "-r", "100",
		"-t", "2s", "--stop-timeout", "5s", "--csv", "res", "--only-summary")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run: exit code %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout, r.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "res_stats.csv"))
	if got := count(t, rows[" Aggregated"], 3); got != 0 {
		t.Errorf("failures: got %d, want 0\n%v\n%s", got, readCSV(t, filepath.Join(dir, "res_failures.csv")), r.stderr)
	}
	if got := count(t, rows["GRPC refused"], 2); got != 3 {
		t.Errorf("refused logins: got %d, want 3; rows %v", got, keys(rows))
	}
	watch := count(t, rows["GRPC /demo.v1.Devices/Watch"], 2)
	if watch == 0 || count(t, rows["GRPC_MSG /demo.v1.Devices/Watch"], 2) != 2*watch || count(t, rows["GRPC /demo.v1.Devices/Upload"], 2) == 0 {
		t.Errorf("calls: %v", rows)
	}
	if strings.Contains(r.stderr.String(), "Error") || strings.Contains(r.stdout.String(), "check failed") {
		t.Errorf("script errors:\n%s\n%s", r.stdout, r.stderr)
	}
}
