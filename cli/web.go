package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/stats"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/web"
)

// webOptions are the flags of the web UI and HTTP API (Locust's names).
type webOptions struct {
	host      string
	port      int
	auth      string // user:pass, HTTP Basic
	token     string // Bearer token
	tlsCert   string
	tlsKey    string
	autostart bool
	autoquit  int
}

func addWebFlags(f *pflag.FlagSet, w *webOptions) {
	f.StringVar(&w.host, "web-host", "127.0.0.1", "address the web UI and HTTP API listen on")
	f.IntVarP(&w.port, "web-port", "P", 8089, "port of the web UI and HTTP API")
	f.StringVar(&w.auth, "web-auth", "", "protect the web UI and API with HTTP Basic auth, user:pass")
	f.StringVar(&w.token, "web-token", "", "protect the web UI and API with a Bearer token")
	f.StringVar(&w.tlsCert, "tls-cert", "", "serve the web UI over HTTPS with this certificate")
	f.StringVar(&w.tlsKey, "tls-key", "", "private key of --tls-cert")
	f.BoolVar(&w.autostart, "autostart", false, "with the web UI, start the test at once")
	f.IntVar(&w.autoquit, "autoquit", -1, "with --autostart, quit this many seconds after the run ends (-1: never)")
}

// webControl adapts a master to what the web server drives.
type webControl struct{ *master.Master }

var (
	_ web.RunControl   = webControl{}
	_ web.WorkerLister = webControl{}
)

func (c webControl) State() string { return string(c.Master.State()) }

func (c webControl) Exceptions() []stats.Exception { return c.Master.Exceptions() }

// WorkerStates counts the remote workers by state, for /metrics.
func (c webControl) WorkerStates() map[string]int {
	ws, distributed := c.Workers()
	if !distributed {
		return nil
	}
	out := map[string]int{}
	for _, w := range ws {
		out[string(w.State)]++
	}
	return out
}

// RunInfo labels horde_run_info.
func (c webControl) RunInfo() map[string]string {
	return map[string]string{"host": c.Master.Spec().Host, "version": Version}
}

// Workers lists the remote workers. A standalone master runs its users in
// an in-process worker of its own: such a run is not distributed and lists
// none, as Locust's local runner.
func (c webControl) Workers() ([]cluster.WorkerInfo, bool) {
	all := c.Master.Workers()
	out := make([]cluster.WorkerInfo, 0, len(all))
	for _, w := range all {
		if w.Local {
			return nil, false
		}
		out = append(out, w)
	}
	return out, true
}

// webRun describes the scenario behind a web-driven run, for /tasks and
// /stats/report.
type webRun struct {
	plan *scenario.Plan // nil for Go users
	file string
	// handover, when ctx ends, reports whether the run is handed over to
	// the next master (`horde master --sigterm handover`) rather than stopped.
	handover func() bool
	// reportExtras completes /stats/report's report (see reportExtras).
	reportExtras func(*report.Info)
}

// runWeb serves the web UI and HTTP API over m until ctx is done, then
// stops any run and calls finish for the final summary and files.
func runWeb(ctx context.Context, m *master.Master, o *runOptions, spec cluster.RunSpec, finish func() error, log *slog.Logger, stdout io.Writer) error {
	return serveWeb(ctx, m, o, spec, webRun{}, finish, log, stdout)
}

// serveWeb is runWeb with the scenario: with it, /tasks lists each class's
// tasks and the report names the file.
func serveWeb(ctx context.Context, m *master.Master, o *runOptions, spec cluster.RunSpec, run webRun, finish func() error, log *slog.Logger, stdout io.Writer) error {
	w := &o.web
	if (w.tlsCert == "") != (w.tlsKey == "") {
		return badInput("--tls-cert and --tls-key go together: give both or neither")
	}
	var tlsConfig *tls.Config
	if w.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(w.tlsCert, w.tlsKey)
		if err != nil {
			return badInput("--tls-cert/--tls-key: %v", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if w.auth != "" {
		if user, _, ok := strings.Cut(w.auth, ":"); !ok || user == "" {
			return badInput("--web-auth: want user:pass")
		}
	}
	if w.autoquit < -1 {
		return badInput("--autoquit: want seconds >= 0, or -1 for never")
	}
	if w.autostart && spec.SpawnRate <= 0 {
		return badInput("--spawn-rate: must be > 0")
	}

	opts := web.Options{
		Auth:            w.auth,
		Token:           w.token,
		Classes:         webClasses(run.plan, m.Classes()),
		Defaults:        cluster.RunSpec{Users: spec.Users, SpawnRate: spec.SpawnRate, Host: spec.Host, RunTime: spec.RunTime},
		ScenarioFile:    run.file,
		ExitCodeOnError: o.exitCodeOnError,
		Version:         Version,
		Logger:          log,
		ReportExtras:    run.reportExtras,
	}
	if o.csvFullHistory && o.csvPrefix != "" {
		opts.HistoryCSV = o.csvPrefix + "_stats_history.csv"
	}
	exporter, err := monitor.NewExporter(webControl{m})
	if err != nil {
		return &exitError{code: ExitBroken, err: err}
	}
	opts.Metrics = exporter.Handler()
	handler, err := web.New(webControl{m}, opts)
	if err != nil {
		return badInput("--web-auth: %v", err)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(w.host, strconv.Itoa(w.port)))
	if err != nil {
		return badInput("--web-host/--web-port: %v", err)
	}
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
		go func() { served <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	addr := ln.Addr().(*net.TCPAddr)
	fmt.Fprintf(stdout, "horde web UI on %s://%s\n", scheme, addr)
	if !addr.IP.IsLoopback() && w.auth == "" && w.token == "" {
		log.Warn("!!! THE WEB UI AND API ARE OPEN TO THE NETWORK WITHOUT AUTHENTICATION !!! " +
			"anyone who can reach " + addr.String() + " can start load tests from this machine; " +
			"set --web-auth user:pass or --web-token, or listen on 127.0.0.1 (--web-host)")
	}

	quit := make(chan struct{})
	if w.autostart {
		if err := m.Start(spec); err != nil {
			srv.Close()
			return badInput("%v", err)
		}
		if w.autoquit >= 0 {
			go autoquit(ctx, m, time.Duration(w.autoquit)*time.Second, quit, log)
		}
	}

	var serveErr error
	select {
	case <-ctx.Done():
		if run.handover != nil && run.handover() {
			srv.Close()
			return nil
		}
		log.Info("interrupted: stopping the users (a second signal ends at once)")
	case <-quit:
	case serveErr = <-served:
	}
	m.Stop()
	<-m.RunDone()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		if err := finish(); err != nil {
			log.Error("finishing the run", "err", err)
		}
		return &exitError{code: ExitBroken, err: fmt.Errorf("web server: %w", serveErr)}
	}
	return finish()
}

// autoquit closes quit after wait has passed with no run going, counted from
// the end of the (autostarted) run, as Locust's --autoquit.
func autoquit(ctx context.Context, m *master.Master, wait time.Duration, quit chan<- struct{}, log *slog.Logger) {
	for {
		select {
		case <-m.RunDone():
		case <-ctx.Done():
			return
		}
		log.Info("run ended: quitting after --autoquit", "wait", wait.String())
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		if s := m.State(); s != cluster.StateSpawning && s != cluster.StateRunning && s != cluster.StateStopping {
			close(quit)
			return
		}
		// A new run was started from the UI meanwhile: wait for its end.
	}
}

// webClasses describes the classes for /tasks and the report: names and
// weights, and each class's tasks when a scenario defines them.
func webClasses(plan *scenario.Plan, classes []horde.Class) []report.ClassInfo {
	return classInfo(plan, classes, 0)
}
