package web

import (
	"bytes"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/stats"
)

// horde's own JSON API, versioned under /api/v1/ and documented in
// docs/api.md. Times are RFC 3339 in UTC, response times in milliseconds,
// durations in seconds. Errors are {"errors": [{"field", "detail"}]}.
// Fields may be added within v1, never renamed or removed.
func (s *Server) apiRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/run", s.apiRun)
	m.HandleFunc("POST /api/v1/run", s.sameOrigin(s.apiStart))
	m.HandleFunc("POST /api/v1/run/stop", s.sameOrigin(s.apiStop))
	m.HandleFunc("POST /api/v1/stats/reset", s.sameOrigin(s.apiReset))
	m.HandleFunc("GET /api/v1/stats", s.apiStats)
	m.HandleFunc("GET /api/v1/history", s.apiHistory)
	m.HandleFunc("GET /api/v1/errors", s.apiErrors)
	m.HandleFunc("GET /api/v1/workers", s.apiWorkers)
	m.HandleFunc("GET /api/v1/soak", s.apiSoak)
}

type apiErrorsDoc struct {
	Errors []*FieldError `json:"errors"`
}

func writeFieldErrors(w http.ResponseWriter, status int, errs ...*FieldError) {
	writeJSON(w, status, apiErrorsDoc{Errors: errs})
}

// apiSpec is a cluster.RunSpec in JSON.
type apiSpec struct {
	Users     int     `json:"users"`
	SpawnRate float64 `json:"spawn_rate"`
	Host      string  `json:"host"`
	RunTime   float64 `json:"run_time"` // seconds; 0: until stopped
	// Iterations per user (-i; 0: no limit) and the classes the run is
	// limited to (none: all).
	Iterations  int      `json:"iterations,omitempty"`
	UserClasses []string `json:"user_classes,omitempty"`
}

// apiRunDoc is the state of the run.
type apiRunDoc struct {
	State string  `json:"state"`
	Users int     `json:"users"` // running now
	Spec  apiSpec `json:"spec"`  // what the current (or last) run asked for
	Start *string `json:"start"`
	End   *string `json:"end"`
}

func (s *Server) runDoc() apiRunDoc {
	spec := s.rc.Spec()
	start, end := s.rc.Times()
	return apiRunDoc{
		State: s.rc.State(),
		Users: s.rc.Users(),
		Spec: apiSpec{Users: spec.Users, SpawnRate: spec.SpawnRate, Host: spec.Host, RunTime: spec.RunTime.Seconds(),
			Iterations: spec.Iterations, UserClasses: spec.Classes},
		Start: optTime(start),
		End:   optTime(end),
	}
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.runDoc())
}

// apiStart starts a run or edits the running one.
func (s *Server) apiStart(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeFieldErrors(w, http.StatusUnsupportedMediaType, &FieldError{Field: "body", Detail: "want Content-Type: application/json"})
			return
		}
	}
	spec, errs := decodeRun(http.MaxBytesReader(w, r.Body, maxBody))
	if errs == nil {
		if ferr := s.checkClasses("user_classes", spec.Classes); ferr != nil {
			errs = []*FieldError{ferr}
		}
	}
	if errs != nil {
		writeFieldErrors(w, http.StatusBadRequest, errs...)
		return
	}
	if err := s.rc.Start(spec); err != nil {
		writeFieldErrors(w, http.StatusConflict, &FieldError{Field: "state", Detail: err.Error()})
		return
	}
	s.log.Info("run started from the API", "users", spec.Users, "spawn_rate", spec.SpawnRate)
	writeJSON(w, http.StatusOK, s.runDoc())
}

// apiStop stops the run and answers once it has stopped (or the client
// gave up waiting).
func (s *Server) apiStop(w http.ResponseWriter, r *http.Request) {
	s.stopAndWait(r)
	writeJSON(w, http.StatusOK, s.runDoc())
}

func (s *Server) apiReset(w http.ResponseWriter, r *http.Request) {
	s.rc.ResetStats()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// apiEntry is one statistics row with every figure the snapshot has.
type apiEntry struct {
	report.Row
	TotalRPS           float64         `json:"total_rps"`
	TotalFailPerSec    float64         `json:"total_fail_per_sec"`
	CurrentRPS         float64         `json:"current_rps"`
	CurrentFailPerSec  float64         `json:"current_fail_per_sec"`
	Percentiles        percentiles     `json:"percentiles"`
	CurrentPercentiles percentiles     `json:"current_percentiles"`
	OutOfRange         int64           `json:"out_of_range"`
	FirstRequest       *string         `json:"first_request"`
	LastRequest        *string         `json:"last_request"`
	Uncorrected        *apiUncorrected `json:"uncorrected,omitempty"`
}

// apiUncorrected are open-model latencies timed from the actual send.
type apiUncorrected struct {
	NumRequests     int64       `json:"num_requests"`
	AvgResponseTime float64     `json:"avg_response_time"`
	MinResponseTime float64     `json:"min_response_time"`
	MaxResponseTime float64     `json:"max_response_time"`
	Percentiles     percentiles `json:"percentiles"`
}

func newAPIEntry(e *stats.Entry) apiEntry {
	a := apiEntry{
		Row:      report.NewRow(e),
		TotalRPS: e.TotalRPS, TotalFailPerSec: e.TotalFailPerSec,
		CurrentRPS: e.CurrentRPS, CurrentFailPerSec: e.CurrentFailPerSec,
		Percentiles:        percentiles{e.Percentiles, e.Requests > 0},
		CurrentPercentiles: percentiles{e.CurrentPercentiles, e.CurrentPercentiles != nil},
		OutOfRange:         e.OutOfRange,
		FirstRequest:       optTime(e.FirstRequest),
		LastRequest:        optTime(e.LastRequest),
	}
	if u := e.Uncorrected; u != nil {
		a.Uncorrected = &apiUncorrected{
			NumRequests: u.Requests, AvgResponseTime: u.AvgMs, MinResponseTime: u.MinMs, MaxResponseTime: u.MaxMs,
			Percentiles: percentiles{u.Percentiles, u.Requests > 0},
		}
	}
	return a
}

type apiError struct {
	Method      string `json:"method"`
	Name        string `json:"name"`
	Error       string `json:"error"`
	Occurrences int64  `json:"occurrences"`
}

func apiErrorList(snap *stats.Snapshot) []apiError {
	out := make([]apiError, 0, len(snap.Errors))
	for _, e := range snap.Errors {
		out = append(out, apiError{Method: e.Method, Name: e.Name, Error: e.Message, Occurrences: e.Occurrences})
	}
	return out
}

// apiStatsDoc is the full snapshot.
type apiStatsDoc struct {
	State         string     `json:"state"`
	Users         int        `json:"users"`
	Time          string     `json:"time"`
	Start         string     `json:"start"`
	Stats         []apiEntry `json:"stats"`
	Total         apiEntry   `json:"total"`
	Errors        []apiError `json:"errors"`
	ErrorsDropped int64      `json:"errors_dropped"`
}

func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	state := s.rc.State()
	snap := s.rc.Snapshot()
	doc := apiStatsDoc{
		State:         state,
		Users:         s.rc.Users(),
		Time:          rfc3339(snap.Time),
		Start:         rfc3339(snap.Start),
		Stats:         make([]apiEntry, 0, len(snap.Entries)),
		Total:         newAPIEntry(&snap.Total),
		Errors:        apiErrorList(snap),
		ErrorsDropped: snap.ErrorsDropped,
	}
	for i := range snap.Entries {
		doc.Stats = append(doc.Stats, newAPIEntry(&snap.Entries[i]))
	}
	writeJSON(w, http.StatusOK, doc)
}

// apiPoint is one history point; a percentile is null when its window held
// no request.
type apiPoint struct {
	Time       string   `json:"time"`
	Users      int      `json:"users"`
	RPS        float64  `json:"rps"`
	FailPerSec float64  `json:"fail_per_sec"`
	P50        *float64 `json:"p50"`
	P95        *float64 `json:"p95"`
	P99        *float64 `json:"p99"`
	Requests   int64    `json:"requests"`
	Failures   int64    `json:"failures"`
	// Target is the load shape's value at Time: users in the closed model,
	// iterations per second when Open.
	Target float64 `json:"target"`
	Open   bool    `json:"open"`
}

// apiHistory returns the run's points, oldest first; ?since=TIME (RFC 3339)
// only those after TIME, for polling.
func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeFieldErrors(w, http.StatusBadRequest, &FieldError{Field: "since", Detail: "want an RFC 3339 time, as a point's time"})
			return
		}
		since = t
	}
	hist := s.rc.History()
	points := make([]apiPoint, 0, len(hist))
	for _, p := range hist {
		// Compared at the millisecond precision the times are given in.
		if !since.IsZero() && p.Time.UnixMilli() <= since.UnixMilli() {
			continue
		}
		points = append(points, newAPIPoint(p))
	}
	writeJSON(w, http.StatusOK, struct {
		Points []apiPoint `json:"points"`
	}{points})
}

func newAPIPoint(p stats.Tick) apiPoint {
	return apiPoint{
		Time: rfc3339(p.Time), Users: p.Users, RPS: p.RPS, FailPerSec: p.FailPerSec,
		P50: gap(p.P50Ms), P95: gap(p.P95Ms), P99: gap(p.P99Ms),
		Requests: p.Requests, Failures: p.Failures, Target: p.Target, Open: p.Open,
	}
}

type apiException struct {
	Count     int64  `json:"count"`
	Message   string `json:"message"`
	Traceback string `json:"traceback"`
	Nodes     string `json:"nodes"`
}

// apiErrors lists every request failure (grouped by method, name and
// message) and every exception raised by user code.
func (s *Server) apiErrors(w http.ResponseWriter, r *http.Request) {
	snap := s.rc.Snapshot()
	ex := s.rc.Exceptions()
	doc := struct {
		Errors        []apiError     `json:"errors"`
		ErrorsDropped int64          `json:"errors_dropped"`
		Exceptions    []apiException `json:"exceptions"`
	}{apiErrorList(snap), snap.ErrorsDropped, make([]apiException, 0, len(ex))}
	for _, e := range ex {
		doc.Exceptions = append(doc.Exceptions, apiException(e))
	}
	writeJSON(w, http.StatusOK, doc)
}

type apiWorker struct {
	ID            string  `json:"id"`
	Host          string  `json:"host"`
	State         string  `json:"state"`
	Users         int     `json:"users"`
	CPU           float64 `json:"cpu"`    // percent of one core
	Memory        int64   `json:"memory"` // resident bytes
	LastHeartbeat *string `json:"last_heartbeat"`
}

// apiWorkers lists the workers (a standalone run has none).
func (s *Server) apiWorkers(w http.ResponseWriter, r *http.Request) {
	out := make([]apiWorker, 0)
	if wl, ok := s.rc.(WorkerLister); ok {
		workers, _ := wl.Workers()
		for _, wk := range workers {
			out = append(out, apiWorker{ID: wk.ID, Host: wk.Host, State: string(wk.State), Users: wk.Users,
				CPU: wk.CPUPercent, Memory: int64(wk.MemoryBytes), LastHeartbeat: optTime(wk.LastHeartbeat)})
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Workers []apiWorker `json:"workers"`
	}{out})
}

// percentiles is an object keyed "50" ... "100" in stats.Percentiles order
// (encoding/json would sort map keys as strings); null when !ok.
type percentiles struct {
	values []float64
	ok     bool
}

func (p percentiles) MarshalJSON() ([]byte, error) {
	if !p.ok {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, l := range stats.PercentileLabels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(l[:len(l)-1]))
		b.WriteByte(':')
		if i >= len(p.values) || math.IsNaN(p.values[i]) || math.IsInf(p.values[i], 0) {
			b.WriteString("null")
			continue
		}
		b.Write(strconv.AppendFloat(nil, p.values[i], 'f', -1, 64))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// rfc3339 formats t in UTC with millisecond precision.
func rfc3339(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// optTime is rfc3339(t), or nil (null) for the zero time.
func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := rfc3339(t)
	return &s
}

// gap is &v, or nil (a gap in a chart) when v is 0.
func gap(v float64) *float64 {
	if v == 0 {
		return nil
	}
	return &v
}
