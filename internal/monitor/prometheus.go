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

	"github.com/horde-load/horde/internal/series"
)

// Prometheus HTTP API client: instant queries (/api/v1/query, the
// monitor's prometheus: source) and range queries (/api/v1/query_range,
// horde analyze --prometheus). Raw HTTP and JSON: the API is four fields.

// maxAnswer bounds what is read of one answer.
const maxAnswer = 64 << 20

// QueryRange runs a PromQL range query against a Prometheus server's HTTP
// API (/api/v1/query_range) and returns one series per result, named by
// its labels. Memory is set by MemoryQuery. The runs of one container in
// a cAdvisor series are one series, with its restart counter beside it
// (ContainerRestartsMetric: stitchRuns).
func QueryRange(ctx context.Context, client *http.Client, base, query string, start, end time.Time, step time.Duration) ([]series.Series, error) {
	if step <= 0 {
		return nil, fmt.Errorf("step: must be > 0")
	}
	q := url.Values{}
	q.Set("query", query)
	q.Set("start", promTime(start))
	q.Set("end", promTime(end))
	q.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
	typ, raw, err := apiGet(ctx, client, base, "query_range", q)
	if err != nil {
		return nil, err
	}
	if typ != "matrix" {
		return nil, fmt.Errorf("prometheus: result type %q, want a range vector (matrix)", typ)
	}
	var result []struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	}
	if err := json.Unmarshal(raw, &result); err != nil {
		return nil, fmt.Errorf("prometheus: bad matrix: %w", err)
	}
	out := make([]labelled, 0, len(result))
	for _, r := range result {
		s := series.Series{Name: labelsName(r.Metric, query), Metric: r.Metric["__name__"]}
		s.Memory = MemoryQuery("", query, nil) || MemoryMetric(s.Metric)
		for _, v := range r.Values {
			p, err := promSample(v)
			if err != nil {
				return nil, err
			}
			s.Points = append(s.Points, p)
		}
		out = append(out, labelled{s, r.Metric})
	}
	// One series a container, not a run: a restart is the change of its id.
	return stitchRuns(out, query), nil
}

// Sample is one element of an instant query's result.
type Sample struct {
	Labels map[string]string // nil for a scalar
	series.Point
}

// QueryInstant evaluates a PromQL query at one time against a Prometheus
// server's HTTP API (/api/v1/query). An instant vector gives a sample per
// label set, a scalar one sample without labels; a range vector or a
// string is an error.
func QueryInstant(ctx context.Context, client *http.Client, base, query string, at time.Time) ([]Sample, error) {
	q := url.Values{}
	q.Set("query", query)
	q.Set("time", promTime(at))
	typ, raw, err := apiGet(ctx, client, base, "query", q)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "vector":
		var result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(raw, &result); err != nil {
			return nil, fmt.Errorf("prometheus: bad vector: %w", err)
		}
		out := make([]Sample, 0, len(result))
		for _, r := range result {
			p, err := promSample(r.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, Sample{Labels: r.Metric, Point: p})
		}
		return out, nil
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("prometheus: bad scalar: %w", err)
		}
		p, err := promSample(v)
		if err != nil {
			return nil, err
		}
		return []Sample{{Point: p}}, nil
	}
	return nil, fmt.Errorf("prometheus: result type %q, want an instant vector or a scalar", typ)
}

// checkBase checks a Prometheus server's base URL.
func checkBase(base string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %q: want http(s)://host:port", base)
	}
	return u, nil
}

// apiGet calls /api/v1/ENDPOINT with q and returns the result's type and
// the result, undecoded. Prometheus's own errors (bad_data for a PromQL
// syntax error, timeout, ...) are returned with its message.
func apiGet(ctx context.Context, client *http.Client, base, endpoint string, q url.Values) (string, json.RawMessage, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	u, err := checkBase(base)
	if err != nil {
		return "", nil, err
	}
	u = u.JoinPath("api", "v1", endpoint)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", nil, err
	}
	var doc struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", nil, fmt.Errorf("prometheus answered HTTP %d, not JSON: %.200s", resp.StatusCode, body)
	}
	if doc.Status != "success" {
		return "", nil, fmt.Errorf("prometheus: %s: %s", doc.ErrorType, doc.Error)
	}
	return doc.Data.ResultType, doc.Data.Result, nil
}

// promTime formats t as the API's unix seconds with milliseconds.
func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// promSample decodes the API's [unix seconds, "value"] pair.
func promSample(v [2]any) (series.Point, error) {
	ts, ok := v[0].(float64)
	str, ok2 := v[1].(string)
	if !ok || !ok2 {
		return series.Point{}, fmt.Errorf("prometheus: bad sample %v", v)
	}
	val, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return series.Point{}, fmt.Errorf("prometheus: bad value %q", str)
	}
	return series.Point{T: time.UnixMilli(int64(ts * 1000)), V: val}, nil
}

// labelsName names a series by its labels, e.g. `process_resident_memory_bytes{job="app"}`,
// or by the query when it has none. Labels are sorted, values quoted: the
// same label set always gives the same name.
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
	if len(keys) == 0 {
		return name
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strconv.Quote(m[k]))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}
