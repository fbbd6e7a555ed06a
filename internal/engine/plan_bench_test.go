package engine

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// cannedServer answers every GET on loopback with the same small response,
// at a fraction of net/http's cost, so that the benchmark measures the user.
func cannedServer(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"id\":1234}")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadSlice('\n')
					if err != nil {
						return
					}
					if bytes.Equal(line, []byte("\r\n")) {
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// BenchmarkPlanUser_Task is one scenario task (a templated GET with a
// header, a status check and a JSON capture) sent by one user over a
// kept-alive loopback connection: the engine's per-request path.
func BenchmarkPlanUser_Task(b *testing.B) {
	host := cannedServer(b)
	plan, err := scenario.Parse("b.yaml", ".", []byte(`host: `+host+`
users:
  - name: u
    tasks:
      - get: "/api/items/{{ randInt 1 1000 }}"
        name: /api/items/[id]
        headers: {X-Req: "{{ seq }}"}
        check: {status: 200}
        capture: {id: {json: id}}
`), scenario.Options{})
	if err != nil {
		b.Fatal(err)
	}
	e := &Engine{cfg: Config{Recorder: stats.NewRecorder(0)}}
	u, ctx := newVU(context.Background(), e, 1, 0)
	defer u.client.Close()
	impl := PlanClasses(plan, host)[0].New()
	if err := impl.OnStart(ctx, u); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := impl.Task(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanUser_PlainGet50 is the plain GET at saturation in process:
// 50 users, each a goroutine running a one-step task (`- get: /`) over
// its own kept-alive connection, as `bench/run.sh`'s saturation test
// runs them (without the engine's loop around each task). The target is
// HORDE_BENCH_URL when set (nginx, as in docs/performance.md), else a
// canned server in the process. Under valgrind (callgrind) the
// difference between two -benchtime=Nx runs is the user-space
// instructions per request (docs/performance.md, 2026-12-06 16:30).
func BenchmarkPlanUser_PlainGet50(b *testing.B) {
	host := os.Getenv("HORDE_BENCH_URL")
	if host == "" {
		host = cannedServer(b)
	}
	plan, err := scenario.Parse("b.yaml", ".", []byte("host: "+host+"\nusers:\n  - name: u\n    tasks:\n      - get: /\n"), scenario.Options{})
	if err != nil {
		b.Fatal(err)
	}
	e := &Engine{cfg: Config{Recorder: stats.NewRecorder(0)}}
	class := PlanClasses(plan, host)[0]
	var id atomic.Int64
	b.SetParallelism(max(1, 50/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		u, ctx := newVU(context.Background(), e, int(id.Add(1)), 0)
		defer u.client.Close()
		impl := class.New()
		if err := impl.OnStart(ctx, u); err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			if err := impl.Task(ctx, u); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
