// Package target is the sample system under test served by `horde target`.
//
// It answers the REST API of the Locust soak-test example (login, data,
// items, logout), the IoT device API of the GCP distributed-load-testing
// sample (POST /login, POST /metrics) and GET /delay/{ms} for benchmarks.
// Fault knobs (a real memory leak, latency that grows with uptime, an error
// rate and on-demand pauses) give horde's soak analysis something to find.
//
// The package shares no code with the load side of horde, so it is an honest
// target: it uses only the standard library and client_golang. Its own
// Prometheus metrics are served on a separate admin listener from a registry
// of its own, never the global one.
package target

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for Config.
const (
	// DefaultAddr is the main API listener's address when Config.Addr is "".
	DefaultAddr = "127.0.0.1:8080"
	// DefaultAdminAddr is the admin listener's usual address. Config's zero
	// value does not use it: an empty AdminAddr disables the admin listener,
	// so the CLI passes DefaultAdminAddr as its flag default.
	DefaultAdminAddr = "127.0.0.1:9091"
	// AdminOff, as Config.AdminAddr, disables the admin listener.
	AdminOff = "off"
)

// shutdownTimeout bounds the graceful shutdown in Run. Requests still running
// after it (a long /delay, a pause) are cut off by closing their connections.
const shutdownTimeout = 10 * time.Second

// Config is what `horde target` takes from its flags, one field per flag.
// The zero value is a well-behaved server on DefaultAddr without an admin
// listener and without faults.
type Config struct {
	// Addr is the main API's listen address (--addr). "" means DefaultAddr;
	// port 0 picks a free port, reported to Run's ready callback.
	Addr string
	// AdminAddr is the listen address of /metrics, /healthz and
	// /admin/pause (--admin-addr). "" or AdminOff disables it.
	AdminAddr string

	// LeakBytesPerRequest is retained, for the life of the process, by every
	// request to the main listener (--leak-bytes-per-request). The memory
	// is written to, so it counts in the resident set size.
	LeakBytesPerRequest int64
	// LeakBytesPerSecond is retained every second by a goroutine that runs
	// while Run runs (--leak-bytes-per-second).
	LeakBytesPerSecond int64
	// Latency is added to every main-listener response (--latency).
	Latency time.Duration
	// LatencyGrowth is added to Latency per minute of uptime, pro rata
	// (--latency-growth): with 10ms, a request 90s after New waits 15ms more.
	LatencyGrowth time.Duration
	// ErrorRate is the fraction, 0 to 1, of main-listener requests answered
	// 500 {"error":"injected failure"} at random (--error-rate).
	ErrorRate float64
	// Resources are the knobs that leak something other than memory
	// (file descriptors, goroutines, pool slots), fill a disk, or spend
	// more CPU per request over time (resources.go).
	Resources ResourceKnobs

	// Logger receives lifecycle messages; nil discards them.
	Logger *slog.Logger
}

// validate reports every invalid field at once, each error naming its field.
func (c Config) validate() error {
	var errs []error
	if c.LeakBytesPerRequest < 0 {
		errs = append(errs, fmt.Errorf("LeakBytesPerRequest %d is negative", c.LeakBytesPerRequest))
	}
	if c.LeakBytesPerSecond < 0 {
		errs = append(errs, fmt.Errorf("LeakBytesPerSecond %d is negative", c.LeakBytesPerSecond))
	}
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("Latency %v is negative", c.Latency))
	}
	if c.LatencyGrowth < 0 {
		errs = append(errs, fmt.Errorf("LatencyGrowth %v is negative", c.LatencyGrowth))
	}
	if math.IsNaN(c.ErrorRate) || c.ErrorRate < 0 || c.ErrorRate > 1 {
		errs = append(errs, fmt.Errorf("ErrorRate %v is outside [0, 1]", c.ErrorRate))
	}
	errs = append(errs, c.Resources.validate()...)
	if len(errs) > 0 {
		return fmt.Errorf("target config: %w", errors.Join(errs...))
	}
	return nil
}

// latencyAt is the latency added to a request that arrives elapsed after
// the server started.
func (c Config) latencyAt(elapsed time.Duration) time.Duration {
	d := c.Latency
	if c.LatencyGrowth > 0 && elapsed > 0 {
		d += time.Duration(float64(c.LatencyGrowth) * elapsed.Minutes())
	}
	return d
}

func (c Config) adminEnabled() bool {
	return c.AdminAddr != "" && c.AdminAddr != AdminOff
}

// Server is the target. Its handlers are safe for concurrent use. Its state
// (sessions, items, leaked memory) lives as long as the Server.
type Server struct {
	cfg   Config
	log   *slog.Logger
	start time.Time // monotonic origin for latency growth and pauses

	mux     *http.ServeMux // main API routes
	handler http.Handler   // mux behind faults and instrumentation
	admin   http.Handler

	reg      *prometheus.Registry
	metrics  *metrics
	sessions sessions
	items    *itemStore
	leak     leak
	res      *resources

	// pauseUntil is when the current pause ends, as time since start;
	// 0 when no pause was ever requested.
	pauseUntil atomic.Int64
	// shutdown is closed when the main server shuts down, ending the
	// streams (stream.go) that Shutdown does not wait for.
	shutdown chan struct{}
}

// New validates cfg and builds a Server. Nothing listens until Run.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		start: time.Now(),
		reg:   prometheus.NewRegistry(),
		items: newItemStore(),
		res:   newResources(cfg.Resources),

		shutdown: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(s.reg, s.leak.bytes, s.sessions.count)
	if err != nil {
		return nil, err
	}
	for _, c := range s.res.collectors() {
		if err := s.reg.Register(c); err != nil {
			return nil, err
		}
	}
	s.metrics = m
	s.mux = s.routes()
	s.handler = http.HandlerFunc(s.serveMain)
	s.admin = s.adminRoutes()
	return s, nil
}

// Handler returns the main API with fault knobs and instrumentation, the
// handler Run serves on Addr.
func (s *Server) Handler() http.Handler { return s.handler }

// AdminHandler returns the admin API: GET /metrics, GET /healthz and
// POST /admin/pause?d=DURATION, the handler Run serves on AdminAddr.
func (s *Server) AdminHandler() http.Handler { return s.admin }

// Pause makes every main-listener request that arrives during the next d
// wait until the pause ends, as a stalled process would (a GC pause, a
// stop-the-world event). Requests give up early if their client goes away.
// Pauses never shorten each other: the latest end wins.
func (s *Server) Pause(d time.Duration) {
	if d <= 0 {
		return
	}
	until := int64(time.Since(s.start) + d)
	for {
		old := s.pauseUntil.Load()
		if old >= until || s.pauseUntil.CompareAndSwap(old, until) {
			break
		}
	}
	s.log.Info("pausing requests", "duration", d)
}

// pauseLeft is how long a request arriving now must wait.
func (s *Server) pauseLeft() time.Duration {
	until := time.Duration(s.pauseUntil.Load())
	if until == 0 {
		return 0
	}
	return until - time.Since(s.start)
}

// inUseHint is what to add to a listen error: where the address is taken
// (the admin listener's 9091 is also the Pushgateway's), the flag that
// moves it.
func inUseHint(err error, flag string) string {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return ""
	}
	hint := fmt.Sprintf(" (another process listens there: %s HOST:PORT picks another address, port 0 a free one", flag)
	if flag == "--admin-addr" {
		hint += `, "off" none`
	}
	return hint + ")"
}

// Run listens on Addr (and AdminAddr unless disabled), calls ready with the
// addresses actually bound (useful with port 0; adminAddr is "" when the
// admin listener is disabled), and serves until ctx is done. It then shuts
// down gracefully, waiting up to 10s for requests in flight, and returns
// nil. Listen errors, and a server failing on its own, are returned. The
// LeakBytesPerSecond goroutine runs only while Run runs. Call Run once.
func (s *Server) Run(ctx context.Context, ready func(addr, adminAddr string)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("main listener: %w%s", err, inUseHint(err, "--addr"))
	}
	errorLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	servers := []*http.Server{{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errorLog,
	}}
	listeners := []net.Listener{ln}
	var once sync.Once
	servers[0].RegisterOnShutdown(func() { once.Do(func() { close(s.shutdown) }) })
	adminAddr := ""
	if s.cfg.adminEnabled() {
		aln, err := lc.Listen(ctx, "tcp", s.cfg.AdminAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin listener: %w%s", err, inUseHint(err, "--admin-addr"))
		}
		adminAddr = aln.Addr().String()
		listeners = append(listeners, aln)
		servers = append(servers, &http.Server{
			Handler:           s.admin,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          errorLog,
		})
	}

	// Each Serve goroutine sends exactly once, so with one slot per server
	// no send blocks and no goroutine outlives Run.
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	var wg sync.WaitGroup
	leakCtx, stopLeak := context.WithCancel(ctx)
	defer stopLeak()
	if n := s.cfg.LeakBytesPerSecond; n > 0 {
		wg.Go(func() { s.leakEvery(leakCtx, time.Second, n) })
	}
	defer s.res.close()
	if s.cfg.Resources.WriteBytesPerSecond > 0 {
		wg.Go(func() {
			if err := s.res.writeLoop(leakCtx); err != nil {
				s.log.Error("write knob", "err", err)
			}
		})
	}

	addr := ln.Addr().String()
	s.log.Info("target listening", "addr", addr, "admin_addr", adminAddr)
	if ready != nil {
		ready(addr, adminAddr)
	}

	var runErr error
	pending := len(servers)
	select {
	case <-ctx.Done():
	case err := <-errc:
		pending--
		runErr = fmt.Errorf("serve: %w", err)
	}
	stopLeak()

	s.log.Info("target shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			s.log.Warn("graceful shutdown incomplete, closing connections", "err", err)
			srv.Close()
		}
	}
	for range pending {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) && runErr == nil {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	wg.Wait()
	return runErr
}
