package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// The --json document. Its schema is documented in docs/results.md; add
// fields, never rename or remove them.
type jsonDoc struct {
	Info          jsonInfo        `json:"info"`
	Stats         []jsonEntry     `json:"stats"`
	Total         jsonEntry       `json:"total"`
	Errors        []jsonError     `json:"errors"`
	ErrorsDropped int64           `json:"errors_dropped"`
	Exceptions    []jsonException `json:"exceptions"`
	History       []jsonPoint     `json:"history"`
	// Data is what the requests and responses took on the wire (k6's
	// data_sent and data_received).
	Data jsonData `json:"data"`
	// Checks are the named checks' outcomes, by name; AllChecks every
	// check together (name "").
	Checks    []jsonCheck `json:"checks"`
	AllChecks jsonCheck   `json:"all_checks"`
}

type jsonInfo struct {
	Title        string         `json:"title"`
	ScenarioFile string         `json:"scenario_file"`
	Host         string         `json:"host"`
	Start        *string        `json:"start"`
	End          *string        `json:"end"`
	DurationS    float64        `json:"duration_s"`
	SnapshotTime *string        `json:"snapshot_time"`
	Users        int            `json:"users"`
	SpawnRate    float64        `json:"spawn_rate"`
	RunTimeS     float64        `json:"run_time_s"`
	ExitCode     int            `json:"exit_code"`
	Passed       bool           `json:"passed"`
	Classes      []jsonClass    `json:"classes"`
	Open         *jsonOpen      `json:"open,omitempty"`
	Verdicts     []soak.Verdict `json:"verdicts"`
	// Baseline is the run against its --baseline runs (absent without).
	Baseline *compare.Summary `json:"baseline,omitempty"`
}

type jsonClass struct {
	Name   string     `json:"name"`
	Weight int        `json:"weight"`
	Users  int        `json:"users"`
	Tasks  []jsonTask `json:"tasks"`
}

type jsonTask struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// Row is the head of a statistics row as the JSON summary and the web
// API's /api/v1/stats give it, with Locust's key names; each adds its own
// figures after it.
type Row struct {
	Method             string  `json:"method"`
	Name               string  `json:"name"`
	NumRequests        int64   `json:"num_requests"`
	NumFailures        int64   `json:"num_failures"`
	AvgResponseTime    float64 `json:"avg_response_time"`
	MinResponseTime    float64 `json:"min_response_time"`
	MaxResponseTime    float64 `json:"max_response_time"`
	MedianResponseTime float64 `json:"median_response_time"`
	AvgContentLength   float64 `json:"avg_content_length"`
}

// NewRow is e's Row.
func NewRow(e *stats.Entry) Row {
	return Row{
		Method:             e.Method,
		Name:               e.Name,
		NumRequests:        e.Requests,
		NumFailures:        e.Failures,
		AvgResponseTime:    e.AvgMs,
		MinResponseTime:    e.MinMs,
		MaxResponseTime:    e.MaxMs,
		MedianResponseTime: e.MedianMs,
		AvgContentLength:   e.AvgContentSize,
	}
}

type jsonEntry struct {
	Row
	AvgWireLength     float64         `json:"avg_wire_length"` // bodies as received: compressed ones count less
	TotalRPS          float64         `json:"total_rps"`
	TotalFailPerSec   float64         `json:"total_fail_per_sec"`
	CurrentRPS        float64         `json:"current_rps"`
	CurrentFailPerSec float64         `json:"current_fail_per_sec"`
	Percentiles       jsonPercentiles `json:"percentiles"`
	// Uncorrected: open model only, the same requests timed from the send.
	Uncorrected *jsonUncorrected `json:"uncorrected,omitempty"`
	// Whole messages' bytes, and the request phases (k6's http_req_*).
	BytesSent     int64      `json:"bytes_sent"`
	BytesReceived int64      `json:"bytes_received"`
	Phases        jsonPhases `json:"phases"`
}

type jsonUncorrected struct {
	NumRequests     int64           `json:"num_requests"`
	AvgResponseTime float64         `json:"avg_response_time"`
	MinResponseTime float64         `json:"min_response_time"`
	MaxResponseTime float64         `json:"max_response_time"`
	Percentiles     jsonPercentiles `json:"percentiles"`
}

type jsonOpen struct {
	Iterations int64   `json:"iterations"`
	Dropped    int64   `json:"dropped_iterations"`
	LagMeanMs  float64 `json:"schedule_lag_mean_ms"`
	LagMaxMs   float64 `json:"schedule_lag_max_ms"`
}

// jsonPercentiles is an object keyed "50" ... "100" in stats.Percentiles
// order (encoding/json would sort map keys as strings), null values when
// there were no requests.
type jsonPercentiles struct {
	values []float64
	ok     bool
}

func (p jsonPercentiles) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range percentileKeys() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k))
		b.WriteByte(':')
		if !p.ok || i >= len(p.values) || math.IsNaN(p.values[i]) || math.IsInf(p.values[i], 0) {
			b.WriteString("null")
			continue
		}
		b.WriteString(strconv.FormatFloat(p.values[i], 'f', -1, 64))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

type jsonError struct {
	Method      string `json:"method"`
	Name        string `json:"name"`
	Error       string `json:"error"`
	Occurrences int64  `json:"occurrences"`
}

type jsonException struct {
	Count     int64  `json:"count"`
	Message   string `json:"message"`
	Traceback string `json:"traceback"`
	Nodes     string `json:"nodes"`
}

type jsonPoint struct {
	Time       string  `json:"time"`
	Users      int     `json:"users"`
	RPS        float64 `json:"rps"`
	FailPerSec float64 `json:"fail_per_sec"`
	P50        float64 `json:"p50"`
	P95        float64 `json:"p95"`
	P99        float64 `json:"p99"`
	Requests   int64   `json:"requests"`
	Failures   int64   `json:"failures"`
	Target     float64 `json:"target"`
	Open       bool    `json:"open"`
}

// rfc3339 formats t in UTC with RFC 3339 (fractional seconds when present).
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// optTime is rfc3339(t), or nil (JSON null) for the zero time.
func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := rfc3339(t)
	return &s
}

func newJSONEntry(e *stats.Entry) jsonEntry {
	j := jsonEntry{
		Row:               NewRow(e),
		AvgWireLength:     e.AvgWireSize,
		TotalRPS:          e.TotalRPS,
		TotalFailPerSec:   e.TotalFailPerSec,
		CurrentRPS:        e.CurrentRPS,
		CurrentFailPerSec: e.CurrentFailPerSec,
		Percentiles:       jsonPercentiles{values: e.Percentiles, ok: e.Requests > 0},
		BytesSent:         e.SentBytes,
		BytesReceived:     e.RecvBytes,
		Phases:            newJSONPhases(&e.Phases),
	}
	if u := e.Uncorrected; u != nil {
		j.Uncorrected = &jsonUncorrected{
			NumRequests: u.Requests, AvgResponseTime: u.AvgMs, MinResponseTime: u.MinMs, MaxResponseTime: u.MaxMs,
			Percentiles: jsonPercentiles{values: u.Percentiles, ok: u.Requests > 0},
		}
	}
	return j
}

// runDuration is End-Start, or 0 when either is unknown.
func runDuration(info Info) time.Duration {
	if info.Start.IsZero() || info.End.IsZero() || info.End.Before(info.Start) {
		return 0
	}
	return info.End.Sub(info.Start)
}

// WriteJSON writes the --json summary of a run: info, the statistics of s
// (times in ms), its errors, info.Exceptions and the history hist. Lists are
// never null. The document is indented with two spaces.
func WriteJSON(w io.Writer, info Info, s *stats.Snapshot, hist []stats.Tick) error {
	doc := jsonDoc{
		Info: jsonInfo{
			Title:        info.Title,
			ScenarioFile: info.ScenarioFile,
			Host:         info.Host,
			Start:        optTime(info.Start),
			End:          optTime(info.End),
			DurationS:    runDuration(info).Seconds(),
			SnapshotTime: optTime(s.Time),
			Users:        info.Users,
			SpawnRate:    info.SpawnRate,
			RunTimeS:     info.RunTime.Seconds(),
			ExitCode:     info.ExitCode,
			Passed:       info.ExitCode == 0,
			Classes:      make([]jsonClass, 0, len(info.Classes)),
		},
		Stats:         make([]jsonEntry, 0, len(s.Entries)),
		Total:         newJSONEntry(&s.Total),
		Errors:        make([]jsonError, 0, len(s.Errors)),
		ErrorsDropped: s.ErrorsDropped,
		Exceptions:    make([]jsonException, 0, len(info.Exceptions)),
		History:       make([]jsonPoint, 0, len(hist)),
		Data:          jsonData(dataTotals(info, s)),
		Checks:        newJSONChecks(s.Checks),
	}
	all := stats.AllChecks(s.Checks)
	doc.AllChecks = jsonCheck{Passes: all.Passes, Fails: all.Fails, Rate: all.Rate()}
	doc.Info.Verdicts = append([]soak.Verdict{}, info.Verdicts...)
	doc.Info.Baseline = info.Baseline
	if o := info.Open; o != nil {
		doc.Info.Open = &jsonOpen{Iterations: o.Iterations, Dropped: o.Dropped,
			LagMeanMs: float64(o.LagMean) / 1e6, LagMaxMs: float64(o.LagMax) / 1e6}
	}
	for _, c := range info.Classes {
		jc := jsonClass{Name: c.Name, Weight: c.Weight, Users: c.Users, Tasks: make([]jsonTask, 0, len(c.Tasks))}
		for _, t := range c.Tasks {
			jc.Tasks = append(jc.Tasks, jsonTask(t))
		}
		doc.Info.Classes = append(doc.Info.Classes, jc)
	}
	for i := range s.Entries {
		doc.Stats = append(doc.Stats, newJSONEntry(&s.Entries[i]))
	}
	for _, e := range s.Errors {
		doc.Errors = append(doc.Errors, jsonError{Method: e.Method, Name: e.Name, Error: e.Message, Occurrences: e.Occurrences})
	}
	for _, e := range info.Exceptions {
		doc.Exceptions = append(doc.Exceptions, jsonException(e))
	}
	for _, p := range hist {
		doc.History = append(doc.History, jsonPoint{
			Time: rfc3339(p.Time), Users: p.Users, RPS: p.RPS, FailPerSec: p.FailPerSec,
			P50: p.P50Ms, P95: p.P95Ms, P99: p.P99Ms, Requests: p.Requests, Failures: p.Failures,
			Target: p.Target, Open: p.Open,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // thresholds such as "p95 < 300ms" stay readable
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}
