package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
)

// A gRPC server with the health service and reflection, on loopback.
func healthAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// gRPC steps run as HTTP ones do: captures feed later steps, checks and
// statuses decide failures, each call is recorded under GRPC.
func TestRunOnce_GRPC(t *testing.T) {
	addr := healthAddr(t)
	src := fmt.Sprintf(`host: http://%s
setup:
  - grpc: /grpc.health.v1.Health/Check
    reflection: true
    capture: {st: {json: status}}
  - grpc: /grpc.health.v1.Health/Check
    name: unknown service
    reflection: true
    metadata: {x-status: "{{ .st }}"}
    message: {service: nope}
    check: {status: NOT_FOUND}
  - grpc: /grpc.health.v1.Health/Check
    target: grpc://%s
    reflection: true
    name: wrong answer
    check: {json: {status: NOT_SERVING}}
  - grpc: /grpc.health.v1.Health/Check
    name: never
    reflection: true
users:
  - name: a
    tasks:
      - get: /
`, addr, addr)
	plan, err := scenario.Parse("t.yaml", ".", []byte(src), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vars, iv, err := RunOnce(context.Background(), plan, plan.Setup, "", nil, httpload.Options{})
	var failed *FailedStepError
	if !errors.As(err, &failed) || !strings.Contains(err.Error(), "t.yaml:12: GRPC wrong answer: check json \"status\": got \"SERVING\"") {
		t.Fatalf("err %v, want the failed check at t.yaml:12", err)
	}
	if vars["st"] != "SERVING" {
		t.Errorf("vars %v", vars)
	}
	got := map[string]int64{}
	for k, e := range iv.Entries {
		got[k.Method+" "+k.Name] = e.Count
	}
	want := map[string]int64{"GRPC /grpc.health.v1.Health/Check": 1, "GRPC unknown service": 1, "GRPC wrong answer": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("recorded %v, want %v", got, want)
	}
}
