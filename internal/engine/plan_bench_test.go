package engine

import (
	"bufio"
	"bytes"
	"context"
	"net"
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
