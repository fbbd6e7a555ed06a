// Package web serves horde's web UI and HTTP API over a run it drives
// through RunControl:
//
//   - the page (GET /), embedded, with no request off the machine;
//   - Locust 2.x's HTTP API, route by route and field by field (POST /swarm,
//     GET /stop, GET /stats/requests, the CSV downloads, ...), see locust.go;
//   - horde's own versioned JSON API under /api/v1/, see api.go and
//     docs/api.md;
//   - /healthz and /readyz for probes.
//
// Every route but the probes sits behind the optional HTTP Basic and Bearer
// authentication, and the routes that change state refuse requests from
// another origin. The package knows nothing of how runs are executed.
package web

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/stats"
)

// RunControl is the run the server drives. Its methods are called
// concurrently, from every request.
type RunControl interface {
	// Start starts a run, or edits the running one (users and spawn rate
	// change, statistics stay).
	Start(cluster.RunSpec) error
	// Stop asks the running test to stop and returns at once.
	Stop()
	// RunDone returns a channel closed once the current (or last) run has
	// stopped; closed already before the first run.
	RunDone() <-chan struct{}
	// ResetStats clears the statistics, errors and history.
	ResetStats()
	// State is one of ready, spawning, running, stopping, stopped.
	State() string
	// Spec is what the current (or last) run was asked for.
	Spec() cluster.RunSpec
	Snapshot() *stats.Snapshot
	History() []stats.Tick
	// Users is the running user count; ClassUsers the same per class, in
	// Options.Classes order.
	Users() int
	ClassUsers() []int
	Exceptions() []stats.Exception
	// Times returns when the current run started and ended (zero until it has).
	Times() (start, end time.Time)
}

// WorkerLister is implemented by a RunControl that can have workers (a
// master). Workers returns them, and whether the run is distributed: only
// then does /stats/requests carry Locust's "workers" list (a standalone
// run's, like Locust's local runner's, has none).
type WorkerLister interface {
	Workers() (workers []cluster.WorkerInfo, distributed bool)
}

// Options configure a Server.
type Options struct {
	// Auth is "user:pass": HTTP Basic authentication on every route but the
	// probes. Token is a Bearer token, likewise. When both are set either
	// is accepted; when neither is, the routes are open.
	Auth, Token string
	// HistoryCSV is the path of the stats history CSV written with
	// --csv-full-history, served at /stats/requests_full_history/csv; ""
	// when not enabled (the route answers 404, as Locust's).
	HistoryCSV string
	// Classes are the user classes with their weights and tasks, in the
	// order of RunControl.ClassUsers (for /tasks and the report). A class
	// without tasks (a Go user) has an empty task list.
	Classes []report.ClassInfo
	// Defaults prefill the page's start form.
	Defaults cluster.RunSpec
	// ClassPicker shows the classes in the start form to choose from
	// (--class-picker); /swarm honours user_classes only then, as Locust.
	ClassPicker bool
	// ScenarioFile names the run's scenario in /stats/report.
	ScenarioFile string
	// ReportExtras, if set, completes /stats/report's report with what the
	// server does not know: the open model's figures, the target's charts
	// and trends, the events, and the outcome's exit code.
	ReportExtras func(*report.Info)
	Version      string
	Logger       *slog.Logger
	// Metrics, when set, serves horde's own Prometheus metrics at /metrics
	// (behind the same auth as every route but the probes).
	Metrics http.Handler
}

// maxBody caps request bodies (forms and JSON).
const maxBody = 1 << 20

// Server is the web UI and HTTP API, an http.Handler. It is safe for
// concurrent use.
type Server struct {
	rc   RunControl
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux

	basicUser, basicPass [sha256.Size]byte // hashed, for constant-time compares
	token                [sha256.Size]byte
	hasBasic, hasToken   bool

	soak soakCache // GET /api/v1/soak's last judgement
}

// New returns a server driving rc. It fails only when opts.Auth is not of
// the form user:pass.
func New(rc RunControl, opts Options) (*Server, error) {
	s := &Server{rc: rc, opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.Auth != "" {
		user, pass, ok := strings.Cut(opts.Auth, ":")
		if !ok || user == "" {
			return nil, errors.New("web auth: want user:pass")
		}
		s.basicUser, s.basicPass, s.hasBasic = sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass)), true
	}
	if opts.Token != "" {
		s.token, s.hasToken = sha256.Sum256([]byte(opts.Token)), true
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.page)
	m.HandleFunc("GET /static/{file}", s.static)
	s.locustRoutes(m)
	s.apiRoutes(m)
	if s.opts.Metrics != nil {
		m.Handle("GET /metrics", s.opts.Metrics)
	}
}

// ServeHTTP answers the probes, checks credentials, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	switch r.URL.Path {
	case "/healthz", "/readyz":
		// Probes are open: a Kubernetes probe carries no credentials.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeText(w, http.StatusMethodNotAllowed, "text/plain; charset=utf-8", "method not allowed\n")
			return
		}
		writeText(w, http.StatusOK, "text/plain; charset=utf-8", "ok\n")
		return
	}
	if !s.authorized(r) {
		if s.hasBasic {
			h.Add("WWW-Authenticate", `Basic realm="horde"`)
		}
		if s.hasToken {
			h.Add("WWW-Authenticate", `Bearer realm="horde"`)
		}
		writeText(w, http.StatusUnauthorized, "text/html; charset=utf-8", "")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// authorized reports whether r carries valid credentials (or none are needed).
func (s *Server) authorized(r *http.Request) bool {
	if !s.hasBasic && !s.hasToken {
		return true
	}
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case s.hasBasic && strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return false
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return false
		}
		u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
		// Both compares always run, so timing does not tell which failed.
		return subtle.ConstantTimeCompare(u[:], s.basicUser[:])&subtle.ConstantTimeCompare(p[:], s.basicPass[:]) == 1
	case s.hasToken && strings.EqualFold(scheme, "Bearer"):
		t := sha256.Sum256([]byte(cred))
		return subtle.ConstantTimeCompare(t[:], s.token[:]) == 1
	}
	return false
}

// sameOrigin wraps a state-changing handler: a request a browser sent from
// another origin (another site, or another port of this host) is refused
// with 403. Requests without Origin and Sec-Fetch-Site (curl, scripts) pass.
//
// Unlike Locust, no Access-Control-Allow-Origin header is sent anywhere, so
// other origins cannot read answers either.
func (s *Server) sameOrigin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := checkOrigin(r); err != nil {
			s.log.Warn("refused a cross-origin request", "method", r.Method, "path", r.URL.Path, "reason", err)
			writeText(w, http.StatusForbidden, "text/plain; charset=utf-8", "forbidden: "+err.Error()+"\n")
			return
		}
		h(w, r)
	}
}

// checkOrigin returns why r comes from another origin, or nil.
func checkOrigin(r *http.Request) error {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none": // none: typed in the address bar, a bookmark
	default:
		return fmt.Errorf("Sec-Fetch-Site is %s", site)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("origin %q", origin)
	}
	host := r.Host
	if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
		// Behind a reverse proxy. A browser cannot set this header on a
		// cross-origin request without a preflight, which is never granted.
		host = fh
	}
	if !strings.EqualFold(u.Host, host) {
		return fmt.Errorf("origin %s is not %s", origin, host)
	}
	return nil
}

// writeText writes a complete response with Content-Length.
func writeText(w http.ResponseWriter, status int, contentType, body string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// writeJSON writes v as JSON indented with two spaces (as Locust's debug
// Flask app does; object keys come out in struct field order, which the
// Locust-compatible types keep sorted), uncached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		// Only a bug can get here (every value is of our own types).
		writeText(w, http.StatusInternalServerError, "text/plain; charset=utf-8", "Internal Server Error")
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	writeText(w, status, "application/json", buf.String())
}

// pageData fills the page template.
type pageData struct {
	Version, UPlotVersion string
	Users                 int
	SpawnRate, Host       string
	RunTime               string
	FullHistory           bool
	ClassPicker           bool
	Classes               []pickedClass
}

// pickedClass is a class in the start form's picker.
type pickedClass struct {
	Name    string
	Checked bool
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	d := s.opts.Defaults
	data := pageData{
		Version:      s.opts.Version,
		UPlotVersion: report.UPlotVersion,
		Users:        d.Users,
		SpawnRate:    strconv.FormatFloat(d.SpawnRate, 'f', -1, 64),
		Host:         d.Host,
		FullHistory:  s.opts.HistoryCSV != "",
		ClassPicker:  s.opts.ClassPicker,
	}
	for _, c := range s.opts.Classes {
		data.Classes = append(data.Classes, pickedClass{Name: c.Name, Checked: len(d.Classes) == 0 || slices.Contains(d.Classes, c.Name)})
	}
	if d.RunTime > 0 {
		data.RunTime = d.RunTime.String()
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		s.log.Error("page template", "err", err)
		writeText(w, http.StatusInternalServerError, "text/plain; charset=utf-8", "Internal Server Error")
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	writeText(w, http.StatusOK, "text/html; charset=utf-8", buf.String())
}

// pageTemplate is parsed once at start-up.
var pageTemplate = template.Must(template.ParseFS(uiFS, "ui/index.html"))
