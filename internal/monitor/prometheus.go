package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// QueryRange runs a PromQL range query against a Prometheus server's HTTP
// API (/api/v1/query_range) and returns one series per result, named by
// its labels. Memory is set for series whose metric name ends in
// "memory_bytes" or "memory_usage_bytes" or whose query mentions memory.
func QueryRange(ctx context.Context, client *http.Client, base, query string, start, end time.Time, step time.Duration) ([]Series, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if step <= 0 {
		return nil, fmt.Errorf("step: must be > 0")
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/") + "/api/v1/query_range")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("prometheus URL %q: want http(s)://host:port", base)
	}
	q := url.Values{}
	q.Set("query", query)
	q.Set("start", strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64))
	q.Set("end", strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64))
	q.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("prometheus answered HTTP %d, not JSON: %.200s", resp.StatusCode, body)
	}
	if doc.Status != "success" {
		return nil, fmt.Errorf("prometheus: %s: %s", doc.ErrorType, doc.Error)
	}
	if doc.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("prometheus: result type %q, want a range vector (matrix)", doc.Data.ResultType)
	}
	memoryQuery := strings.Contains(strings.ToLower(query), "memory")
	out := make([]Series, 0, len(doc.Data.Result))
	for _, r := range doc.Data.Result {
		s := Series{Name: labelsName(r.Metric, query), Metric: r.Metric["__name__"]}
		s.Memory = memoryQuery || strings.HasSuffix(s.Metric, "memory_bytes") || strings.HasSuffix(s.Metric, "memory_usage_bytes")
		for _, v := range r.Values {
			ts, ok := v[0].(float64)
			str, ok2 := v[1].(string)
			if !ok || !ok2 {
				return nil, fmt.Errorf("prometheus: bad sample %v", v)
			}
			val, err := strconv.ParseFloat(str, 64)
			if err != nil {
				return nil, fmt.Errorf("prometheus: bad value %q", str)
			}
			s.Points = append(s.Points, Point{T: time.UnixMilli(int64(ts * 1000)), V: val})
		}
		out = append(out, s)
	}
	return out, nil
}

// labelsName names a series by its labels, e.g. `process_resident_memory_bytes{job="app"}`,
// or by the query when it has none.
func labelsName(m map[string]string, query string) string {
	name := m["__name__"]
	var keys []string
	for k := range m {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	if name == "" && len(keys) == 0 {
		return query
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strconv.Quote(m[k]))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}
