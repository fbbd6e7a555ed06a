package run

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/horde-load/horde/internal/soak"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/web"
)

// webControl adapts a master to what the web server drives.
type webControl struct {
	*master.Master
	version string
	// verdicts, when set, are the run's verdicts so far (horde_verdict on
	// /metrics), judged at most every 2 s.
	verdicts func() []soak.Verdict
}

// Verdicts implements monitor.VerdictSource.
func (c webControl) Verdicts() []soak.Verdict {
	if c.verdicts == nil {
		return nil
	}
	return c.verdicts()
}

// cachedVerdicts judges with judge at most every 2 s: a scrape every
// second of a week-long run does not judge it every second.
func cachedVerdicts(judge func() []soak.Verdict) func() []soak.Verdict {
	var (
		mu sync.Mutex
		at time.Time
		vs []soak.Verdict
	)
	return func() []soak.Verdict {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); at.IsZero() || now.Sub(at) >= 2*time.Second {
			vs, at = judge(), now
		}
		return vs
	}
}

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
	return map[string]string{"host": c.Master.Spec().Host, "version": c.version}
}

// Workers lists the remote workers. A standalone master runs its users in
// an in-process worker of its own: such a run is not distributed and lists
// none, as Locust's local runner — also in the moment after the web UI
// starts and before that worker has joined (a request then listed an empty
// "workers", a key Locust's local runner never sends).
func (c webControl) Workers() ([]cluster.WorkerInfo, bool) {
	if c.Master.Standalone() {
		return nil, false
	}
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

// serveWeb serves the web UI and HTTP API over m until ctx is done (or
// --autoquit), then stops any run and finishes it.
func (r *runner) serveWeb(ctx context.Context, m *master.Master, exporter *monitor.Exporter, finish func() (*Outcome, error)) (*Outcome, error) {
	w, c, log := &r.cfg.Web, r.cfg, r.log
	if (w.TLSCert == "") != (w.TLSKey == "") {
		return nil, badInput("--tls-cert and --tls-key go together: give both or neither")
	}
	var tlsConfig *tls.Config
	if w.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(w.TLSCert, w.TLSKey)
		if err != nil {
			return nil, badInput("--tls-cert/--tls-key: %v", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if w.Auth != "" {
		if user, _, ok := strings.Cut(w.Auth, ":"); !ok || user == "" {
			return nil, badInput("--web-auth: want user:pass")
		}
	}
	if w.Autoquit < -1 {
		return nil, badInput("--autoquit: want seconds >= 0, or -1 for never")
	}
	opts := web.Options{
		Auth:         w.Auth,
		Token:        w.Token,
		Classes:      ClassInfo(c.Plan, c.Classes, 0),
		Defaults:     c.Spec,
		ClassPicker:  w.ClassPicker,
		ScenarioFile: c.ScenarioFile,
		Version:      c.Version,
		Logger:       log,
		ReportExtras: func(info *report.Info) {
			r.reportExtras(info, m)
			// The verdicts and outcome so far, by the rule of the end of the run.
			snap := m.Snapshot()
			info.Verdicts = Judge(r.cfg.Thresholds, snap, m.History(), r.targetSeries(), r.cfg.Warmup)
			reg, summary := r.liveRegressions(*info, snap)
			info.Verdicts, info.Baseline = withRegressions(info.Verdicts, reg), summary
			info.ExitCode = r.outcome(snap, info.Verdicts, info.Exceptions).ExitCode()
		},
	}
	if c.Output.CSVFullHistory && c.Output.CSVPrefix != "" {
		opts.HistoryCSV = c.Output.CSVPrefix + "_stats_history.csv"
	}
	ctl := webControl{Master: m, version: c.Version}
	opts.Metrics = exporter.Handler()
	handler, err := web.New(ctl, opts)
	if err != nil {
		return nil, badInput("--web-auth: %v", err)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(w.Host, strconv.Itoa(w.Port)))
	if err != nil {
		return nil, badInput("--web-host/--web-port: %v", err)
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
	if !addr.IP.IsLoopback() && w.Auth == "" && w.Token == "" {
		log.Warn("!!! THE WEB UI AND API ARE OPEN TO THE NETWORK WITHOUT AUTHENTICATION !!! " +
			"anyone who can reach " + addr.String() + " can start load tests from this machine; " +
			"set --web-auth user:pass or --web-token, or listen on 127.0.0.1 (--web-host)")
	}

	// With --autostart the URL is printed once the run has started (after
	// its setup, during which the UI already serves): a script that waits
	// for the URL and then asks the API finds the run spawning, never the
	// "ready" of the moment before.
	quit := make(chan struct{})
	if w.Autostart && r.resumed == nil {
		if err := m.Start(c.Spec); err != nil {
			srv.Close()
			return nil, startError(err)
		}
	}
	fmt.Fprintf(r.stdout, "horde web UI on %s://%s\n", scheme, addr)
	if w.Autostart && w.Autoquit >= 0 {
		go autoquit(ctx, m, time.Duration(w.Autoquit)*time.Second, quit, log)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		if r.handover(ctx, m) {
			srv.Close()
			return &Outcome{HandedOver: true}, nil
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
		if _, err := finish(); err != nil {
			log.Error("finishing the run", "err", err)
		}
		return nil, broken(fmt.Errorf("web server: %w", serveErr))
	}
	return finish()
}

// serveMetrics serves exporter's /metrics on --metrics-addr until stop is
// called: plain HTTP, no authentication (as the web UI's /metrics, which
// Prometheus scrapes the same way), for a headless run above all.
func (r *runner) serveMetrics(exporter *monitor.Exporter) (stop func(), err error) {
	ln, err := net.Listen("tcp", r.cfg.Metrics.Addr)
	if err != nil {
		return nil, badInput("--metrics-addr: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", exporter.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("metrics server", "err", err)
		}
	}()
	fmt.Fprintf(r.stdout, "horde metrics on http://%s/metrics\n", ln.Addr())
	return func() {
		// One last scrape may be under way: give it a moment.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}, nil
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
