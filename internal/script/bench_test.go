package script

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
)

// benchVU records nothing and answers requests from exchange.
type benchVU struct {
	rnd      *rand.Rand
	host     string
	exchange func(req *fasthttp.Request, resp *fasthttp.Response) error
	n        int
}

func (v *benchVU) ID() int                                                     { return 1 }
func (v *benchVU) Rand() *rand.Rand                                            { return v.rnd }
func (v *benchVU) Host() string                                                { return v.host }
func (v *benchVU) Do(context.Context, *horde.Request) (*horde.Response, error) { return nil, nil }
func (v *benchVU) Record(horde.Sample)                                         { v.n++ }
func (v *benchVU) Exchange(req *fasthttp.Request, resp *fasthttp.Response, _ time.Duration) (time.Duration, error) {
	return time.Microsecond, v.exchange(req, resp)
}

// seedAPI answers the seed's requests as horde target does, in short.
func seedAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/api/login":
		w.Write([]byte(`{"token":"abcdef0123456789"}`))
	case strings.HasPrefix(r.URL.Path, "/api/data/"):
		w.Write([]byte(`{"id":1,"value":"x","ts":1700000000}`))
	default:
		w.Write([]byte(`{"ok":true}`))
	}
}

// BenchmarkSeedTask runs the seed script's tasks (examples/seed-api.star),
// one request each: "canned" answers without a network, so the figure is
// the script's own cost per request (interpreting the task, building the
// request, reading the response); "loopback" goes through the engine's
// HTTP client to a server on 127.0.0.1.
func BenchmarkSeedTask(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "seed-api.star"))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := Parse("seed-api.star", b.TempDir(), src, scenario.Options{})
	if err != nil {
		b.Fatal(err)
	}
	canned := func(req *fasthttp.Request, resp *fasthttp.Response) error {
		resp.Reset()
		resp.Header.SetContentType("application/json")
		if strings.HasSuffix(string(req.URI().Path()), "/login") {
			resp.SetBodyString(`{"token":"abcdef0123456789"}`)
		} else {
			resp.SetBodyString(`{"id":1,"value":"x","ts":1700000000}`)
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(seedAPI))
	defer srv.Close()
	client := httpload.New(httpload.Options{})
	defer client.Close()
	loopback := func(req *fasthttp.Request, resp *fasthttp.Response) error {
		_, err := client.Do(req, resp, httpload.Call{})
		return err
	}
	for _, bc := range []struct {
		name string
		ex   func(*fasthttp.Request, *fasthttp.Response) error
	}{{"canned", canned}, {"loopback", loopback}} {
		b.Run(bc.name, func(b *testing.B) {
			vu := &benchVU{rnd: rand.New(rand.NewPCG(1, 2)), host: srv.URL, exchange: bc.ex}
			u := plan.Classes[0].New()
			ctx := context.Background()
			if err := u.OnStart(ctx, vu); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := u.Task(ctx, vu); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if vu.n < b.N {
				b.Fatalf("%d requests for %d tasks", vu.n, b.N)
			}
		})
	}
}

// BenchmarkParseSeed is the one-off cost of loading the seed script.
func BenchmarkParseSeed(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "seed-api.star"))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.ReportAllocs()
	for range b.N {
		if _, err := Parse("seed-api.star", dir, src, scenario.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
