package web

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/stats"
)

// The routes of Locust 2.x's web UI (LOCUST.md §2), with its field names and
// types. JSON objects are structs whose fields are in sorted order, as
// Flask's jsonify sorts keys. Unlike Locust, answers are never cached (they
// reflect /swarm and /stop at once), a bad field is a 400 naming it instead
// of a 500, and no Access-Control-Allow-Origin header is sent.
func (s *Server) locustRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /swarm", s.sameOrigin(s.swarm))
	m.HandleFunc("GET /stop", s.sameOrigin(s.stop))
	m.HandleFunc("GET /stats/reset", s.sameOrigin(s.reset))
	m.HandleFunc("GET /stats/requests", s.statsRequests)
	m.HandleFunc("GET /stats/requests/csv", s.statsCSV)
	m.HandleFunc("GET /stats/requests_full_history/csv", s.historyCSV)
	m.HandleFunc("GET /stats/failures/csv", s.failuresCSV)
	m.HandleFunc("GET /exceptions", s.exceptions)
	m.HandleFunc("GET /exceptions/csv", s.exceptionsCSV)
	m.HandleFunc("GET /stats/report", s.report)
	m.HandleFunc("GET /tasks", s.tasks)
}

// swarmReply is /swarm's answer.
type swarmReply struct {
	Host    string `json:"host,omitempty"`
	Message string `json:"message"`
	RunTime *int64 `json:"run_time,omitempty"`
	Success bool   `json:"success"`
	// UserClasses are the classes the run uses, with --class-picker (as
	// Locust's reply: sorted names).
	UserClasses []string `json:"user_classes,omitempty"`
}

func (s *Server) swarm(w http.ResponseWriter, r *http.Request) {
	form, ferr := readForm(w, r)
	if ferr == nil {
		var f swarmForm
		if f, ferr = decodeSwarm(form); ferr == nil {
			if !s.opts.ClassPicker {
				f.spec.Classes = nil // as Locust: user_classes needs --class-picker
			}
			if ferr = s.checkClasses("user_classes", f.spec.Classes); ferr == nil {
				s.startSwarm(w, f)
				return
			}
		}
	}
	writeJSON(w, http.StatusBadRequest, swarmReply{Message: ferr.Error(), Success: false})
}

func (s *Server) startSwarm(w http.ResponseWriter, f swarmForm) {
	if err := s.rc.Start(f.spec); err != nil {
		writeJSON(w, http.StatusConflict, swarmReply{Message: err.Error(), Success: false})
		return
	}
	s.log.Info("swarm started from the web", "users", f.spec.Users, "spawn_rate", f.spec.SpawnRate)
	reply := swarmReply{Host: s.rc.Spec().Host, Message: "Swarming started", Success: true}
	if f.runTimeGiven {
		secs := int64(math.Round(f.spec.RunTime.Seconds()))
		reply.RunTime = &secs
	}
	if s.opts.ClassPicker {
		reply.UserClasses = slices.Sorted(slices.Values(s.rc.Spec().Classes))
		if len(reply.UserClasses) == 0 {
			for _, c := range s.opts.Classes {
				reply.UserClasses = append(reply.UserClasses, c.Name)
			}
			slices.Sort(reply.UserClasses)
		}
	}
	writeJSON(w, http.StatusOK, reply)
}

// checkClasses refuses a class name that is none of the run's classes.
func (s *Server) checkClasses(field string, names []string) *FieldError {
	for _, n := range names {
		if !slices.ContainsFunc(s.opts.Classes, func(c report.ClassInfo) bool { return c.Name == n }) {
			known := make([]string, len(s.opts.Classes))
			for i, c := range s.opts.Classes {
				known[i] = c.Name
			}
			return &FieldError{Field: field, Detail: fmt.Sprintf("no user class %q (the run has %s)", n, strings.Join(known, ", "))}
		}
	}
	return nil
}

// stop stops the run and, as Locust's local runner does, answers once the
// users have stopped (or the client gave up), so the next /stats/requests
// says "stopped".
func (s *Server) stop(w http.ResponseWriter, r *http.Request) {
	s.stopAndWait(r)
	writeJSON(w, http.StatusOK, struct {
		Message string `json:"message"`
		Success bool   `json:"success"`
	}{"Test stopped", true})
}

func (s *Server) stopAndWait(r *http.Request) {
	s.rc.Stop()
	select {
	case <-s.rc.RunDone():
	case <-r.Context().Done():
	}
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	s.rc.ResetStats()
	writeText(w, http.StatusOK, "text/html; charset=utf-8", "ok")
}

// locustStats is /stats/requests.
type locustStats struct {
	CurrentP50 *int64          `json:"current_response_time_percentile_50"`
	CurrentP95 *int64          `json:"current_response_time_percentile_95"`
	Errors     []locustError   `json:"errors"`
	FailRatio  pyFloat         `json:"fail_ratio"`
	State      string          `json:"state"`
	Stats      []locustEntry   `json:"stats"`
	TotalRPS   any             `json:"total_rps"`
	UserCount  int             `json:"user_count"`
	Workers    *[]locustWorker `json:"workers,omitempty"` // only on a master
}

type locustEntry struct {
	AvgContentLength  pyFloat `json:"avg_content_length"`
	AvgResponseTime   pyFloat `json:"avg_response_time"`
	CurrentFailPerSec pyFloat `json:"current_fail_per_sec"`
	CurrentRPS        pyFloat `json:"current_rps"`
	MaxResponseTime   pyFloat `json:"max_response_time"`
	Median            int64   `json:"median_response_time"`
	Method            *string `json:"method"`
	MinResponseTime   any     `json:"min_response_time"`
	Name              string  `json:"name"`
	P90               int64   `json:"ninetieth_response_time"`
	P99               int64   `json:"ninety_ninth_response_time"`
	NumFailures       int64   `json:"num_failures"`
	NumRequests       int64   `json:"num_requests"`
	SafeName          string  `json:"safe_name"`
}

type locustError struct {
	Error       string `json:"error"`
	Method      string `json:"method"`
	Name        string `json:"name"`
	Occurrences int64  `json:"occurrences"`
}

type locustWorker struct {
	CPUUsage    pyFloat `json:"cpu_usage"`
	ID          string  `json:"id"`
	MemoryUsage int64   `json:"memory_usage"`
	State       string  `json:"state"`
	UserCount   int     `json:"user_count"`
}

// maxErrors caps /stats/requests' error list, as Locust does (all of them
// are in /stats/failures/csv and /api/v1/errors).
const maxErrors = 500

func (s *Server) statsRequests(w http.ResponseWriter, r *http.Request) {
	state := s.rc.State()
	snap := s.rc.Snapshot()
	doc := locustStats{
		Errors:    make([]locustError, 0, min(len(snap.Errors), maxErrors)),
		State:     state,
		Stats:     make([]locustEntry, 0, len(snap.Entries)+1),
		UserCount: s.rc.Users(),
	}
	// Unlike Locust, every entry is listed (Locust cuts at 500): the page
	// stays responsive with thousands, and memory is bounded by the names.
	for i := range snap.Entries {
		e := &snap.Entries[i]
		doc.Stats = append(doc.Stats, newLocustEntry(e, &e.Method))
	}
	var method *string // null before the first run, as Locust's
	if state != "ready" {
		method = new(string)
	}
	t := &snap.Total
	doc.Stats = append(doc.Stats, newLocustEntry(t, method))
	for i, e := range snap.Errors {
		if i == maxErrors {
			break
		}
		doc.Errors = append(doc.Errors, locustError{
			Error: htmlEscape(e.Message, true), Method: e.Method, Name: e.Name, Occurrences: e.Occurrences,
		})
	}
	if t.Requests > 0 {
		doc.FailRatio = pyFloat(float64(t.Failures) / float64(t.Requests))
	}
	if state == "ready" && t.Requests == 0 {
		doc.TotalRPS = 0
	} else {
		doc.TotalRPS = pyFloat(t.CurrentRPS)
	}
	if t.CurrentPercentiles != nil {
		p50, p95 := roundMs(stats.PercentileAt(t.CurrentPercentiles, 0.50)), roundMs(stats.PercentileAt(t.CurrentPercentiles, 0.95))
		doc.CurrentP50, doc.CurrentP95 = &p50, &p95
	}
	if wl, ok := s.rc.(WorkerLister); ok {
		if workers, distributed := wl.Workers(); distributed {
			ws := make([]locustWorker, 0, len(workers))
			for _, wk := range workers {
				ws = append(ws, locustWorker{CPUUsage: pyFloat(wk.CPUPercent), ID: wk.ID, MemoryUsage: int64(wk.MemoryBytes), State: string(wk.State), UserCount: wk.Users})
			}
			doc.Workers = &ws
		}
	}
	writeJSON(w, http.StatusOK, doc)
}

// newLocustEntry is one row of /stats/requests. Percentiles are whole
// milliseconds, rounded half up (as the CSV's); min and max are rounded
// floats, min the integer 0 without requests, as Locust's.
func newLocustEntry(e *stats.Entry, method *string) locustEntry {
	le := locustEntry{
		AvgContentLength:  pyFloat(e.AvgContentSize),
		AvgResponseTime:   pyFloat(e.AvgMs),
		CurrentFailPerSec: pyFloat(e.CurrentFailPerSec),
		CurrentRPS:        pyFloat(e.CurrentRPS),
		Method:            method,
		MinResponseTime:   0,
		Name:              e.Name,
		NumFailures:       e.Failures,
		NumRequests:       e.Requests,
		SafeName:          htmlEscape(e.Name, false),
	}
	if e.Requests > 0 {
		le.MaxResponseTime = pyFloat(roundMs(e.MaxMs))
		le.MinResponseTime = pyFloat(roundMs(e.MinMs))
		le.Median = roundMs(e.MedianMs)
		le.P90 = roundMs(e.Percentile(0.90))
		le.P99 = roundMs(e.Percentile(0.99))
	}
	return le
}

func (s *Server) statsCSV(w http.ResponseWriter, r *http.Request) {
	s.serveCSV(w, "requests", func(b *bytes.Buffer) error { return report.WriteStatsCSV(b, s.rc.Snapshot()) })
}

func (s *Server) failuresCSV(w http.ResponseWriter, r *http.Request) {
	s.serveCSV(w, "failures", func(b *bytes.Buffer) error { return report.WriteFailuresCSV(b, s.rc.Snapshot()) })
}

func (s *Server) exceptionsCSV(w http.ResponseWriter, r *http.Request) {
	s.serveCSV(w, "exceptions", func(b *bytes.Buffer) error { return report.WriteExceptionsCSV(b, s.rc.Exceptions()) })
}

// serveCSV serves what write makes as a CSV attachment named as Locust
// names it (name_<timestamp>.csv).
func (s *Server) serveCSV(w http.ResponseWriter, name string, write func(*bytes.Buffer) error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		s.serverError(w, err)
		return
	}
	writeCSV(w, "text/csv", "attachment;filename="+name+"_"+pyTimestamp(time.Now())+".csv", buf.String())
}

// historyCSV serves the on-disk --csv-full-history file, as Locust does
// (conditional requests and ranges included).
func (s *Server) historyCSV(w http.ResponseWriter, r *http.Request) {
	if s.opts.HistoryCSV == "" {
		writeText(w, http.StatusNotFound, "text/html; charset=utf-8", "Error: Server was not started with option to generate full history.")
		return
	}
	f, err := os.Open(s.opts.HistoryCSV)
	if err != nil {
		s.log.Warn("history CSV", "err", err)
		writeText(w, http.StatusNotFound, "text/html; charset=utf-8", "Error: the history file is not available yet.")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.serverError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", "attachment; filename=requests_full_history_"+pyTimestamp(time.Now())+".csv")
	h.Set("Cache-Control", "no-cache, max-age=0")
	h.Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.ModTime().UnixNano(), fi.Size()))
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// locustException is one entry of /exceptions.
type locustException struct {
	Count     int64  `json:"count"`
	Msg       string `json:"msg"`
	Nodes     string `json:"nodes"`
	Traceback string `json:"traceback"`
}

func (s *Server) exceptions(w http.ResponseWriter, r *http.Request) {
	ex := s.rc.Exceptions()
	out := make([]locustException, 0, len(ex))
	for _, e := range ex {
		out = append(out, locustException{Count: e.Count, Msg: htmlEscape(e.Message, true), Nodes: e.Nodes, Traceback: htmlEscape(e.Traceback, true)})
	}
	writeJSON(w, http.StatusOK, struct {
		Exceptions []locustException `json:"exceptions"`
	}{out})
}

// reportInfo describes the current (or last) run for the HTML report.
func (s *Server) reportInfo(snap *stats.Snapshot) report.Info {
	info := report.LiveInfo(s.rc, s.opts.ScenarioFile, s.classes())
	if s.opts.ReportExtras != nil {
		s.opts.ReportExtras(&info)
	}
	return info
}

// classes returns Options.Classes with the running users of each.
func (s *Server) classes() []report.ClassInfo {
	users := s.rc.ClassUsers()
	out := make([]report.ClassInfo, len(s.opts.Classes))
	for i, c := range s.opts.Classes {
		out[i] = c
		out[i].Users = 0
		if i < len(users) {
			out[i].Users = users[i]
		}
	}
	return out
}

// report serves the same HTML report --html writes, for the run so far.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	snap := s.rc.Snapshot()
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, s.reportInfo(snap), snap, s.rc.History()); err != nil {
		s.serverError(w, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if r.URL.Query().Get("download") != "" {
		h.Set("Content-Disposition", "attachment;filename=report_"+pyTimestamp(time.Now())+".html")
	}
	writeText(w, http.StatusOK, "text/html; charset=utf-8", buf.String())
}

type taskRatio struct {
	Ratio pyFloat `json:"ratio"`
}

type classRatio struct {
	Ratio pyFloat              `json:"ratio"`
	Tasks map[string]taskRatio `json:"tasks"`
}

// tasks is Locust's /tasks: a class's ratio is its share of the running
// users (0 before a run); a task's ratio is its share of its class's task
// weights in per_class, times the class ratio in total.
func (s *Server) tasks(w http.ResponseWriter, r *http.Request) {
	classes := s.classes()
	var users int
	for _, c := range classes {
		users += c.Users
	}
	perClass := make(map[string]classRatio, len(classes))
	total := make(map[string]classRatio, len(classes))
	for _, c := range classes {
		var cr float64
		if users > 0 {
			cr = float64(c.Users) / float64(users)
		}
		var weights int
		for _, t := range c.Tasks {
			weights += t.Weight
		}
		pc := classRatio{Ratio: pyFloat(cr), Tasks: map[string]taskRatio{}}
		tc := classRatio{Ratio: pyFloat(cr), Tasks: map[string]taskRatio{}}
		for _, t := range c.Tasks {
			var tr float64
			if weights > 0 {
				tr = float64(t.Weight) / float64(weights)
			}
			// Two tasks of one name (rare) share its entry.
			pc.Tasks[t.Name] = taskRatio{pc.Tasks[t.Name].Ratio + pyFloat(tr)}
			tc.Tasks[t.Name] = taskRatio{tc.Tasks[t.Name].Ratio + pyFloat(tr*cr)}
		}
		perClass[c.Name], total[c.Name] = pc, tc
	}
	writeJSON(w, http.StatusOK, struct {
		PerClass map[string]classRatio `json:"per_class"`
		Total    map[string]classRatio `json:"total"`
	}{perClass, total})
}

func (s *Server) serverError(w http.ResponseWriter, err error) {
	s.log.Error("web", "err", err)
	writeText(w, http.StatusInternalServerError, "text/plain", "Internal Server Error")
}

func writeCSV(w http.ResponseWriter, contentType, disposition, body string) {
	h := w.Header()
	h.Set("Content-Disposition", disposition)
	h.Set("Cache-Control", "no-store")
	writeText(w, http.StatusOK, contentType, body)
}

// pyFloat is a float that encodes as Python's repr does (always with a
// decimal point: 1.0, 0.25), so the JSON matches Locust's types. NaN and
// infinities encode as null.
type pyFloat float64

func (f pyFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	if a := math.Abs(v); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.AppendFloat(nil, v, 'e', -1, 64), nil
	}
	b := strconv.AppendFloat(nil, v, 'f', -1, 64)
	if !bytes.ContainsAny(b, ".e") {
		b = append(b, '.', '0')
	}
	return b, nil
}

// roundMs rounds a time in ms half up to whole ms.
func roundMs(v float64) int64 { return int64(math.Floor(v + 0.5)) }

// htmlEscape escapes as Python's html.escape(s, quote) does.
func htmlEscape(s string, quote bool) string {
	if quote {
		return quoteEscaper.Replace(s)
	}
	return textEscaper.Replace(s)
}

var (
	textEscaper  = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	quoteEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;")
)

// pyTimestamp is Python's str(time.time()), as in Locust's file names.
func pyTimestamp(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', -1, 64)
}
