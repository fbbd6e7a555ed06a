package monitor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/series"
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
	t0 := time.Now().Truncate(time.Millisecond) // as Sample keeps it
	for i := range 6 {
		m.Sample(context.Background(), t0.Add(time.Duration(i)*time.Second))
	}
	got := map[string]series.Series{}
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

// The prometheus: source: each query's label sets become series named by
// QueryName, stamped with the sample's time (the query is evaluated at it).
func TestMonitor_Queries(t *testing.T) {
	times := make(chan string, 1)
	srv := fakePrometheus(t, times)
	no := false
	m, err := New(Config{Queries: []Query{
		{URL: srv.URL, Name: "target", Query: `process_resident_memory_bytes{job="target"}`},
		{URL: srv.URL, Name: "cpu", Query: `sum by (pod) (rate(container_cpu_usage_seconds_total[1m]))`},
		{URL: srv.URL, Name: "memory", Query: `sum(container_memory_usage_bytes)`, Memory: &no},
		{URL: srv.URL, Name: "broken", Query: `rate(`},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Empty() {
		t.Fatal("a monitor with queries is empty")
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	m.Sample(context.Background(), t0)
	if got, want := <-times, "1767323045.678"; got != want {
		t.Errorf("query time = %s, want %s (the sample's)", got, want)
	}
	m.Sample(context.Background(), t0.Add(time.Second))
	type sum struct {
		Name, Metric string
		Memory       bool
		Points       []series.Point
	}
	var got []sum
	for _, s := range m.Series() {
		got = append(got, sum{s.Name, s.Metric, s.Memory, s.Points})
	}
	pts := func(v float64) []series.Point { return []series.Point{{T: t0, V: v}, {T: t0.Add(time.Second), V: v}} }
	want := []sum{
		{`target process_resident_memory_bytes{instance="127.0.0.1:9091",job="target"}`, "target", true, pts(5e7)},
		{`cpu{pod="my-app-2"}`, "cpu", false, pts(0.25)},
		{`cpu{pod="my-app-1"}`, "cpu", false, pts(0.5)},
		{"memory", "memory", false, pts(123)},
		// Looked up for the memory series of job and instance, and only
		// for its instance: where the target restarted.
		{`process_start_time_seconds process_start_time_seconds{instance="127.0.0.1:9091",job="target"}`, "process_start_time_seconds", false, pts(1699990000)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	errs := m.Errors()
	if len(errs) != 1 || !strings.Contains(errs["prometheus broken"], "unclosed left parenthesis") {
		t.Errorf("errors: %v, want the broken query's", errs)
	}
}

// A start time queried beside the memory is not looked up again.
func TestMonitor_StartTimeQueriedIsNotLookedUp(t *testing.T) {
	srv := fakePrometheus(t, nil)
	m, err := New(Config{Queries: []Query{
		{URL: srv.URL, Name: "target", Query: `process_resident_memory_bytes{job="target"}`},
		{URL: srv.URL, Name: "started", Query: `process_start_time_seconds{job="target"}`},
	}})
	if err != nil {
		t.Fatal(err)
	}
	m.Sample(context.Background(), time.Now())
	var names []string
	for _, s := range m.Series() {
		names = append(names, s.Name)
	}
	if len(names) != 3 || slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "process_start_time_seconds ") }) {
		t.Errorf("series %q, want the memory and the two start times queried, none looked up", names)
	}
}

func TestMonitor_QueryCap(t *testing.T) {
	srv := fakePrometheus(t, nil)
	m, err := New(Config{Queries: []Query{{URL: srv.URL, Name: "pods", Query: "many"}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Sample(context.Background(), time.Now())
	series := m.Series()
	if len(series) != MaxQuerySeries {
		t.Fatalf("%d series, want %d", len(series), MaxQuerySeries)
	}
	if series[0].Name != `pods{pod="p001"}` {
		t.Errorf("first series %q, want the first by name", series[0].Name)
	}
	if e := m.Errors()["prometheus pods"]; !strings.Contains(e, "105 series, kept the first 100") {
		t.Errorf("error %q", e)
	}
}

func TestNew_QueryErrors(t *testing.T) {
	for _, tt := range []struct {
		q    []Query
		want string
	}{
		{[]Query{{URL: "ftp://x", Name: "a", Query: "up"}}, "want http(s)://host:port"},
		{[]Query{{URL: "http://p:9090", Name: "", Query: "up"}}, "needs a name and a query"},
		{[]Query{{URL: "http://p:9090", Name: "a", Query: " "}}, "needs a name and a query"},
		{[]Query{{URL: "http://p:9090", Name: "a", Query: "up"}, {URL: "http://p:9090", Name: "a", Query: "up"}}, `two queries are named "a"`},
	} {
		if _, err := New(Config{Queries: tt.q}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v): got %v, want %q", tt.q, err, tt.want)
		}
	}
}

// Thin rebuilds what a monitor kept of a series from every sample, and a
// monitor restored with a resumed run's samples holds what one monitor
// sampling the whole run would have.
func TestMonitor_ThinAndRestore(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	pts := make([]series.Point, 57)
	for i := range pts {
		pts[i] = series.Point{T: t0.Add(time.Duration(i) * time.Second), V: float64(i)}
	}
	whole, err := New(Config{MaxPoints: 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pts {
		whole.add("s", "m", true, p)
	}
	want := whole.Series()[0].Points
	if got := Thin(pts, 8); !slices.Equal(got, want) {
		t.Errorf("Thin: %v, the monitor kept %v", got, want)
	}
	if len(want) > 8 || want[0] != pts[0] || want[len(want)-1] != pts[len(pts)-1] {
		t.Errorf("kept %v: want at most 8 points, the first and the last", want)
	}
	resumed, err := New(Config{MaxPoints: 8})
	if err != nil {
		t.Fatal(err)
	}
	resumed.Restore([]series.Series{{Name: "s", Metric: "m", Memory: true, Points: pts[:30]}})
	for _, p := range pts[30:] {
		resumed.add("s", "m", true, p)
	}
	if got := resumed.Series()[0]; !slices.Equal(got.Points, want) || !got.Memory {
		t.Errorf("restored then sampled: %+v, want %v", got, want)
	}
	if got := Thin(pts[:5], 8); len(got) != 5 {
		t.Errorf("a short series is kept whole: %v", got)
	}
}
