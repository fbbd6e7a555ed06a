package monitor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/series"
)

func TestQueryRange(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query_range" {
			http.NotFound(w, r)
			return
		}
		if strings.Contains(r.URL.Query().Get("query"), "(") && !strings.Contains(r.URL.Query().Get("query"), ")") {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":"error","errorType":"bad_data","error":"parse error: unclosed left parenthesis"}`)
			return
		}
		io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"__name__":"container_memory_usage_bytes","pod":"my-app-1"},"values":[[1700000000,"100"],[1700000060,"110.5"]]},
			{"metric":{"pod":"my-app-2"},"values":[[1700000000,"7"]]}]}}`)
	}))
	defer srv.Close()
	ctx := context.Background()
	start := time.Unix(1700000000, 0)
	got, err := QueryRange(ctx, nil, srv.URL, `container_memory_usage_bytes{pod=~"my-app-.*"}`, start, start.Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != `container_memory_usage_bytes{pod="my-app-1"}` || !got[0].Memory ||
		len(got[0].Points) != 2 || got[0].Points[1].V != 110.5 || !got[0].Points[1].T.Equal(time.Unix(1700000060, 0)) {
		t.Errorf("series: %+v", got)
	}
	if got[1].Name != `{pod="my-app-2"}` {
		t.Errorf("unnamed series: %q", got[1].Name)
	}
	if _, err := QueryRange(ctx, nil, srv.URL, "rate(", start, start.Add(time.Hour), time.Minute); err == nil || !strings.Contains(err.Error(), "unclosed left parenthesis") {
		t.Errorf("bad query: %v", err)
	}
	if _, err := QueryRange(ctx, nil, "ftp://x", "up", start, start.Add(time.Hour), time.Minute); err == nil {
		t.Error("ftp URL accepted")
	}
}

// fakePrometheus answers /api/v1/query: the query text picks the answer.
func fakePrometheus(t *testing.T, times chan<- string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if times != nil {
			select {
			case times <- q.Get("time"):
			default:
			}
		}
		switch q.Get("query") {
		case `process_resident_memory_bytes{job="target"}`:
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[
				{"metric":{"__name__":"process_resident_memory_bytes","job":"target","instance":"127.0.0.1:9091"},"value":[1700000000.5,"5e7"]}]}}`)
		case `process_start_time_seconds{job="target"}`:
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[
				{"metric":{"__name__":"process_start_time_seconds","job":"target","instance":"127.0.0.1:9091"},"value":[1700000000.5,"1699990000"]},
				{"metric":{"__name__":"process_start_time_seconds","job":"target","instance":"127.0.0.1:9999"},"value":[1700000000.5,"1699990001"]}]}}`)
		case `sum by (pod) (rate(container_cpu_usage_seconds_total[1m]))`:
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[
				{"metric":{"pod":"my-app-2"},"value":[1700000000,"0.25"]},
				{"metric":{"pod":"my-app-1"},"value":[1700000000,"0.5"]}]}}`)
		case `sum(container_memory_usage_bytes)`:
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"123"]}]}}`)
		case `scalar(1)`:
			io.WriteString(w, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}`)
		case `up[1m]`:
			io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
		case `many`:
			var b strings.Builder
			b.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
			for i := range MaxQuerySeries + 5 {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"metric":{"pod":"p%03d"},"value":[1700000000,"%d"]}`, MaxQuerySeries+5-i, i)
			}
			b.WriteString(`]}}`)
			io.WriteString(w, b.String())
		default:
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":"error","errorType":"bad_data","error":"1:6: parse error: unclosed left parenthesis"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestQueryInstant(t *testing.T) {
	srv := fakePrometheus(t, nil)
	ctx := context.Background()
	at := time.Unix(1700000000, 0)
	tests := []struct {
		query   string
		want    []Sample
		wantErr string
	}{
		{`process_resident_memory_bytes{job="target"}`, []Sample{{
			Labels: map[string]string{"__name__": "process_resident_memory_bytes", "job": "target", "instance": "127.0.0.1:9091"},
			Point:  series.Point{T: time.UnixMilli(1700000000500), V: 5e7},
		}}, ""},
		{`scalar(1)`, []Sample{{Point: series.Point{T: at, V: 1}}}, ""},
		{`sum(container_memory_usage_bytes)`, []Sample{{Labels: map[string]string{}, Point: series.Point{T: at, V: 123}}}, ""},
		{`up[1m]`, nil, `result type "matrix", want an instant vector or a scalar`},
		{`rate(`, nil, "bad_data: 1:6: parse error: unclosed left parenthesis"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, err := QueryInstant(ctx, nil, srv.URL+"/", tt.query, at)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("samples (-want +got):\n%s", diff)
			}
		})
	}
	for _, base := range []string{"ftp://x", "http://", "127.0.0.1:9090"} {
		if _, err := QueryInstant(ctx, nil, base, "up", at); err == nil || !strings.Contains(err.Error(), "want http(s)://host:port") {
			t.Errorf("base %q: got %v, want a URL error", base, err)
		}
	}
}

func TestQueryName(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{nil, "memory"},
		{map[string]string{}, "memory"},
		{map[string]string{"pod": "my-app-1"}, `memory{pod="my-app-1"}`},
		{map[string]string{"pod": "a", "container": `we"ird`}, `memory{container="we\"ird",pod="a"}`},
		{map[string]string{"__name__": "process_resident_memory_bytes", "job": "target", "instance": "x:1"},
			`memory process_resident_memory_bytes{instance="x:1",job="target"}`},
		{map[string]string{"__name__": "up"}, "memory up"},
	}
	for _, tt := range tests {
		for range 3 { // map order must not matter
			if got := QueryName("memory", tt.labels); got != tt.want {
				t.Errorf("QueryName(memory, %v) = %q, want %q", tt.labels, got, tt.want)
			}
		}
	}
}

func TestMemoryQuery(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name, query string
		memory      *bool
		want        bool
	}{
		{"memory", "sum(foo)", nil, true},
		{"heap_Memory", "x", nil, true},
		{"rss", `sum(container_memory_working_set_bytes{pod=~"my-app-.*"})`, nil, true},
		{"target", `process_resident_memory_bytes{job="target"}`, nil, true},
		{"cpu", `sum(rate(container_cpu_usage_seconds_total[1m]))`, nil, false},
		{"cpu", `sum(rate(container_cpu_usage_seconds_total[1m]))`, &yes, true},
		{"oom", `rate(container_memory_failures_total[5m])`, &no, false},
	}
	for _, tt := range tests {
		if got := MemoryQuery(tt.name, tt.query, tt.memory); got != tt.want {
			t.Errorf("MemoryQuery(%q, %q, %v) = %v, want %v", tt.name, tt.query, tt.memory, got, tt.want)
		}
	}
}
