package engine

import (
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// Requests ask for gzip and deflate unless the step turns compression off
// or sets its own Accept-Encoding; the statistics count the body decoded,
// and as received apart.
func TestPlan_Compression(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	body := strings.Repeat("horde ", 200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("Accept-Encoding")
		mu.Unlock()
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write([]byte(body))
			zw.Close()
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	src := `host: ` + srv.URL + `
users:
  - name: u
    wait: {constant: 10ms}
    sequential: true
    tasks:
      - get: /default
        check: {body_contains: "horde horde"}
      - get: /off
        compression: false
      - get: /own
        headers: {accept-encoding: br}
`
	plan, err := scenario.Parse("t.yaml", ".", []byte(src), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := stats.NewRecorder(0)
	e, err := New(Config{Classes: PlanClasses(plan, plan.Host), Users: 1, SpawnRate: 100, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, e, 300*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{"/default": "gzip, deflate", "/off": "", "/own": "br"}
	for path, w := range want {
		if got, ok := seen[path]; !ok || got != w {
			t.Errorf("%s: Accept-Encoding %q (sent: %v), want %q", path, got, ok, w)
		}
	}
	iv := rec.Flush(time.Now(), time.Now())
	d := iv.Entries[stats.Key{Method: "GET", Name: "/default"}]
	if d == nil || d.Failures != 0 || d.Bytes != int64(len(body))*d.Count || d.WireBytes >= d.Bytes/4 {
		t.Errorf("/default: %+v; want no failure, the decoded size in Bytes and the gzip size in WireBytes", d)
	}
}

// BenchmarkPlanUser_TaskNoCompression is BenchmarkPlanUser_Task with
// compression: false: the per-request path without the Accept-Encoding
// header, to compare with the path before compression existed.
func BenchmarkPlanUser_TaskNoCompression(b *testing.B) {
	host := cannedServer(b)
	plan, err := scenario.Parse("b.yaml", ".", []byte(`host: `+host+`
defaults:
  compression: false
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
