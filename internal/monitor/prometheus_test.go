package monitor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
