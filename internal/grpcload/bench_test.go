package grpcload

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// healthServer serves grpc.health.v1 on loopback; it returns the Check
// method's descriptor and a user's connection to it.
func healthServer(tb testing.TB) (protoreflect.MethodDescriptor, *Conns, string) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(l)
	tb.Cleanup(srv.Stop)
	md, err := findMethod(protoregistry.GlobalFiles, "/grpc.health.v1.Health/Check")
	if err != nil {
		tb.Fatal(err)
	}
	conns := &Conns{}
	tb.Cleanup(conns.Close)
	return md, conns, l.Addr().String()
}

func TestInvokeUnary(t *testing.T) {
	md, conns, addr := healthServer(t)
	cc, err := conns.Get(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := Invoke(context.Background(), cc, &Call{Method: md, Messages: [][]byte{[]byte(`{}`)}})
	if res.Err != nil || res.Code != codes.OK || len(res.Responses) != 1 || string(res.Responses[0]) != `{"status":"SERVING"}` {
		t.Fatalf("got %+v %q", res, res.Responses)
	}
	res = Invoke(context.Background(), cc, &Call{Method: md, Messages: [][]byte{[]byte(`{"service": "nope"}`)}})
	if res.Code != codes.NotFound {
		t.Errorf("unknown service: code %v, want NotFound", res.Code)
	}
	res = Invoke(context.Background(), cc, &Call{Method: md, Messages: [][]byte{[]byte(`{"services": 1}`)}})
	if res.Err == nil || res.Code != codes.InvalidArgument {
		t.Errorf("bad message: %+v", res)
	}
	res = Invoke(context.Background(), cc, &Call{Method: md, Messages: [][]byte{[]byte(`{}`), []byte(`{}`)}})
	if res.Err == nil {
		t.Errorf("two messages to a unary call: %+v", res)
	}
}

// BenchmarkInvokeUnary is the client's cost of one unary call with a
// dynamic message (JSON in and out), server on the same machine.
func BenchmarkInvokeUnary(b *testing.B) {
	md, conns, addr := healthServer(b)
	cc, err := conns.Get(addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := &Call{Method: md, Messages: [][]byte{[]byte(`{"service": ""}`)}}
	b.ReportAllocs()
	for b.Loop() {
		if res := Invoke(context.Background(), cc, c); res.Code != codes.OK {
			b.Fatal(res.Code, res.Err)
		}
	}
}
