package monitor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestMonitor_ScrapeAndProcess(t *testing.T) {
	rss := 1000.0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rss += 500
		io.WriteString(w, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes "+strconv.FormatFloat(rss, 'f', -1, 64)+
			"\n# TYPE go_goroutines gauge\ngo_goroutines 7\n# TYPE other gauge\nother 1\n")
	}))
	defer srv.Close()
	m, err := New(Config{Scrapes: []Scrape{{URL: srv.URL + "/metrics"}}, Processes: []int{os.Getpid()}, MaxPoints: 4})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for i := range 6 {
		m.Sample(context.Background(), t0.Add(time.Duration(i)*time.Second))
	}
	got := map[string]Series{}
	for _, s := range m.Series() {
		got[s.Metric] = s
	}
	mem := got["process_resident_memory_bytes"]
	if !mem.Memory || len(mem.Points) == 0 || len(mem.Points) > 4 {
		t.Fatalf("memory series: %+v", mem)
	}
	if first, last := mem.Points[0], mem.Points[len(mem.Points)-1]; !first.T.Equal(t0) || last.V != 4000 {
		t.Errorf("thinned series must keep the first point and the last: %+v", mem.Points)
	}
	if _, ok := got["other"]; ok {
		t.Error("a metric not asked for was kept")
	}
	if g := got["go_goroutines"]; len(g.Points) == 0 || g.Points[0].V != 7 {
		t.Errorf("go_goroutines: %+v", g)
	}
	if p := got["process_rss_bytes"]; len(p.Points) == 0 || p.Points[0].V < 1e6 || !p.Memory {
		t.Errorf("own RSS: %+v", p)
	}
	if len(m.Errors()) != 0 {
		t.Errorf("errors: %v", m.Errors())
	}
}

func TestMonitor_Errors(t *testing.T) {
	if _, err := New(Config{Scrapes: []Scrape{{URL: "ftp://x"}}}); err == nil {
		t.Error("ftp URL accepted")
	}
	if _, err := New(Config{Processes: []int{-3}}); err == nil {
		t.Error("negative PID accepted")
	}
	m, _ := New(Config{Scrapes: []Scrape{{URL: "http://127.0.0.1:1/metrics"}}})
	m.Sample(context.Background(), time.Now())
	if len(m.Errors()) != 1 {
		t.Errorf("unreachable endpoint: errors %v", m.Errors())
	}
}
