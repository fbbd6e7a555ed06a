// Package worker runs a worker's share of a distributed run: it joins a
// master through a cluster.Dialer, compiles the scenario the master ships,
// runs the users it is assigned (exactly, per class), reports what they
// recorded every report interval with sequence numbers, keeps the reports
// the master has not acknowledged and resends them after a reconnect, and
// stops its users when it has heard nothing from a master for the master
// lost timeout: a worker never loads a target unattended.
//
// It does not know about gRPC: internal/cluster/rpc provides the network
// Dialer, and a master in the same process (standalone runs) is dialled
// through cluster.LocalDialer.
package worker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/engine"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/script"
	"github.com/horde-load/horde/internal/stats"
)

// finalAckWait bounds how long a stopping worker that is connected waits
// for its last reports to be acknowledged.
const finalAckWait = 10 * time.Second

// DefaultMaxInFlight bounds the reports sent but not yet acknowledged.
// Past it, new reports are merged into the last unsent one, so memory stays
// bounded however long the master is away (and nothing is lost: the
// master times reports by its own clock anyway).
const DefaultMaxInFlight = 32

// Backoff of reconnection attempts.
const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// joinTimeout bounds the wait for the master's answer to Join.
const joinTimeout = 15 * time.Second

// Config configures a worker.
type Config struct {
	ID       string // stable for the process's life; default hostname_random
	Hostname string // default os.Hostname
	Version  string // horde's version, checked by the master
	Token    string // --worker-token
	// Classes are the user classes built into this binary, used when the
	// master ships no scenario (standalone runs and Go-user binaries).
	Classes []horde.Class
	// HTTP is the users' HTTP options; an assignment's request timeout,
	// when set, overrides HTTP.Timeout.
	HTTP              httpload.Options
	MasterLostTimeout time.Duration // default cluster.DefaultMasterLostTimeout
	// ScenarioDir is where shipped data files are written; default a new
	// temporary directory, removed when Run returns.
	ScenarioDir string
	MaxInFlight int // default DefaultMaxInFlight
	Logger      *slog.Logger
	// RequestLog, when enabled at debug level, logs every request: method,
	// URL, name, status, time and failure (-L debug). Nil: Logger.
	RequestLog *slog.Logger
	// Local says the master is in this process (a standalone run): feeder
	// rows, {{ seq }} and user numbers are this process's own, with no
	// lease from the master.
	Local bool
}

// Worker runs users for a master.
type Worker struct {
	cfg    Config
	log    *slog.Logger
	engLog *slog.Logger // the engine's: its info lines would repeat the worker's
	rec    *stats.Recorder
	use    usage

	assignKick   chan struct{} // the desired assignment changed
	sendKick     chan struct{} // a report or a status is waiting to be sent
	byeKick      chan struct{} // Run shuts down cleanly: the sender says goodbye
	byeSent      chan struct{} // the sender said it (or had no session to say it on)
	sessionGone  chan struct{} // a session ended
	leaving      atomic.Bool   // Run is shutting down: no new session
	settleKick   chan struct{} // a report was acknowledged, or the session went down
	statusKick   chan struct{} // send a heartbeat now (a ramp finished)
	intervalKick chan struct{} // the report interval changed

	reportMu  sync.Mutex // serialises flushes
	lastFlush time.Time

	mu             sync.Mutex
	desired        *cluster.Assignment
	run            *run
	plan           *scenario.Plan
	planHash       string
	flagsTLS       *tls.Config // the master's --target-* flags, for requests outside the plan's steps
	classNames     []string    // the master's
	reportInterval time.Duration
	hbInterval     time.Duration
	hbTimeout      time.Duration
	lastContact    time.Time
	connected      bool
	out            outbox
	ackedReports   int64
	ackedRequests  int64
	madeRequests   int64
	scenarioRoot   string
	ctrl           []*cluster.WorkerMessage // lease requests and returns to send (lease.go)
	leaseSeq       uint64
}

// run is one run's users on this worker: one engine, given the exact
// per-class counts the master assigned (engine.SetClassTargets), so VU ids
// are unique over the classes and the classes interleave during a ramp.
type run struct {
	id       string
	gen      uint64 // guarded by Worker.mu
	eng      *engine.Engine
	stopping bool // guarded by Worker.mu
	open     bool // open model: the engine runs a rate shape
	cancel   context.CancelFunc
	done     chan struct{}
	excSent  map[string]int64 // guarded by Worker.reportMu
	shared   *shared          // the run's leases; nil in a standalone run
	sched    schedProbe       // the worker's own scheduling delay while the run runs
}

// New returns a worker.
func New(cfg Config) (*Worker, error) {
	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "unknown"
		}
		cfg.Hostname = h
	}
	if cfg.ID == "" {
		var b [4]byte
		rand.Read(b[:])
		cfg.ID = fmt.Sprintf("%s_%d_%s", cfg.Hostname, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if cfg.MasterLostTimeout <= 0 {
		cfg.MasterLostTimeout = cluster.DefaultMasterLostTimeout
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{
		cfg:            cfg,
		log:            log.With("worker", cfg.ID),
		engLog:         slog.New(warnOnly{log.Handler()}).With("worker", cfg.ID),
		rec:            stats.NewRecorder(0),
		assignKick:     make(chan struct{}, 1),
		sendKick:       make(chan struct{}, 1),
		byeKick:        make(chan struct{}, 1),
		byeSent:        make(chan struct{}, 1),
		sessionGone:    make(chan struct{}, 1),
		settleKick:     make(chan struct{}, 1),
		statusKick:     make(chan struct{}, 1),
		intervalKick:   make(chan struct{}, 1),
		reportInterval: cluster.DefaultReportInterval,
		hbInterval:     cluster.DefaultHeartbeatInterval,
		hbTimeout:      cluster.DefaultHeartbeatTimeout,
		lastFlush:      time.Now(),
	}, nil
}

// ID returns the worker's id.
func (w *Worker) ID() string { return w.cfg.ID }

// Acknowledged returns how many reports, and requests in them, the master
// has acknowledged.
func (w *Worker) Acknowledged() (reports, requests int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ackedReports, w.ackedRequests
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// errQuit ends the session loop when the master says quit.
var errQuit = errors.New("master said quit")

// Run joins the master through d, reconnecting with backoff whenever the
// session breaks, and runs what it is assigned until ctx is done or the
// master says quit; then it stops its users (gracefully: on_stop runs) and
// returns nil. A refusal by the master (*cluster.RefusedError) or a scenario
// this worker cannot compile ends it with that error.
func (w *Worker) Run(ctx context.Context, d cluster.Dialer) error {
	if w.cfg.ScenarioDir == "" {
		dir, err := os.MkdirTemp("", "horde-worker-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		w.scenarioRoot = dir
	} else {
		w.scenarioRoot = w.cfg.ScenarioDir
	}
	w.mu.Lock()
	w.lastContact = time.Now()
	w.mu.Unlock()

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	var wg sync.WaitGroup
	ctrlDone := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); defer close(ctrlDone); w.control(runCtx) }()
	go func() { defer wg.Done(); w.reportLoop(runCtx) }()

	sessCtx, cancelSessions := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSessions()
	sessDone := make(chan error, 1)
	go func() { sessDone <- w.sessions(runCtx, sessCtx, d) }()

	var err error
	sessionsEnded := false
	select {
	case err = <-sessDone:
		sessionsEnded = true
		cancelRun()
	case <-runCtx.Done():
	}
	// The controller stops the users and queues the final report; the
	// session (if still up) gets a moment to deliver it and have it
	// acknowledged (a recording master acknowledges once the checkpoint
	// holding it is written: within its --runs-interval, 2 s by default).
	<-ctrlDone
	w.awaitAcks(finalAckWait)
	// Goodbye goes out on the live session before the session's context
	// ends: sent from the sender's goroutine after cancelling, it raced the
	// stream's cancellation and the master saw a lost worker. And the
	// session ends from the master's side before it is cancelled: a message
	// sent is only queued in the transport, and cancelling the stream drops
	// what is queued (the master saw "worker lost" in about one shutdown in
	// three on a loaded machine). The sender half-closes after the goodbye;
	// the master, reading it and then the end of the stream, ends the
	// session.
	w.leaving.Store(true)
	select {
	case <-w.sessionGone: // an earlier session's end
	default:
	}
	kick(w.byeKick)
	select {
	case <-w.byeSent:
		if !sessionsEnded {
			select {
			case <-w.sessionGone:
			case e := <-sessDone:
				sessionsEnded = true
				if err == nil {
					err = e
				}
			case <-time.After(2 * time.Second): // a master that keeps it open
			}
		}
	case <-time.After(time.Second): // no session up: nothing to say it on
	}
	cancelSessions()
	if !sessionsEnded {
		select {
		case e := <-sessDone:
			if err == nil {
				err = e
			}
		case <-time.After(5 * time.Second):
		}
	}
	wg.Wait()
	reports, requests := w.Acknowledged()
	w.mu.Lock()
	unacked := len(w.out.items)
	w.mu.Unlock()
	w.log.Info("worker stopped", "reports_acknowledged", reports, "requests_acknowledged", requests, "reports_unacknowledged", unacked)
	if errors.Is(err, errQuit) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// awaitAcks waits, at most limit, until every queued report is
// acknowledged or the session is down: woken by each acknowledgement and
// by the session's end, not by polling.
func (w *Worker) awaitAcks(limit time.Duration) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for w.pending() > 0 && w.connectedNow() {
		select {
		case <-w.settleKick:
		case <-timer.C:
			return
		}
	}
}

func (w *Worker) connectedNow() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.connected
}

func (w *Worker) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.out.items)
}

// sessions dials and serves sessions until sessCtx ends, a permanent error
// occurs, or the master says quit (which cancels runCtx's parent through
// the returned errQuit).
func (w *Worker) sessions(runCtx, sessCtx context.Context, d cluster.Dialer) error {
	backoff := minBackoff
	attempts := 0
	for {
		if sessCtx.Err() != nil {
			return sessCtx.Err()
		}
		if w.leaving.Load() {
			return nil // it said goodbye: no new session
		}
		conn, err := d.Dial(sessCtx)
		if err == nil {
			var welcomed bool
			welcomed, err = w.session(runCtx, sessCtx, conn)
			conn.Close()
			if w.leaving.Load() {
				return nil
			}
			if welcomed {
				backoff, attempts = minBackoff, 0
			}
			var ref *cluster.RefusedError
			var perm *permanentError
			if errors.As(err, &ref) || errors.As(err, &perm) || errors.Is(err, errQuit) {
				return err
			}
		}
		if sessCtx.Err() != nil {
			return sessCtx.Err()
		}
		attempts++
		if attempts == 1 || attempts%10 == 0 {
			w.log.Warn("no session with the master; retrying", "err", err, "attempt", attempts)
		}
		// Full jitter keeps a fleet of workers from reconnecting in step.
		sleep := time.Duration(float64(backoff) * (0.5 + mrand.Float64()/2))
		select {
		case <-sessCtx.Done():
			return sessCtx.Err()
		case <-time.After(sleep):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// permanentError ends Run: retrying cannot help.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// session serves one connection: join, then read the master's messages
// while a sender goroutine sends reports and heartbeats.
func (w *Worker) session(runCtx, sessCtx context.Context, conn cluster.WorkerConn) (welcomed bool, err error) {
	if err := conn.Send(&cluster.WorkerMessage{Join: &cluster.Join{
		WorkerID: w.cfg.ID, Hostname: w.cfg.Hostname, Version: w.cfg.Version, Protocol: cluster.Protocol, Token: w.cfg.Token,
	}}); err != nil {
		return false, fmt.Errorf("send join: %w", err)
	}
	first := make(chan struct{})
	var msg *cluster.MasterMessage
	go func() {
		msg, err = conn.Recv()
		close(first)
	}()
	select {
	case <-first:
	case <-time.After(joinTimeout):
		conn.Close()
		<-first
		return false, fmt.Errorf("no answer to join within %v", joinTimeout)
	case <-sessCtx.Done():
		conn.Close()
		<-first
		return false, sessCtx.Err()
	}
	if err != nil {
		return false, fmt.Errorf("join: %w", err)
	}
	switch {
	case msg.Refusal != nil:
		e := &cluster.RefusedError{Refusal: *msg.Refusal}
		w.log.Error("the master refused this worker", "reason", msg.Refusal.Reason,
			"master_version", msg.Refusal.MasterVersion, "master_protocol", msg.Refusal.MasterProtocol,
			"worker_version", w.cfg.Version, "worker_protocol", cluster.Protocol)
		return false, e
	case msg.Welcome == nil:
		return false, errors.New("join: the master did not answer with a welcome")
	}
	if err := w.welcome(msg.Welcome); err != nil {
		return true, &permanentError{err}
	}
	if sh := w.currentShared(); sh != nil {
		sh.resync()
	}

	ctx, cancel := context.WithCancel(sessCtx)
	defer cancel()
	var senderErr error
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		senderErr = w.send(ctx, conn)
		cancel()
		conn.Close() // unblocks Recv
	}()
	defer func() {
		cancel()
		conn.Close()
		<-senderDone
		w.mu.Lock()
		w.connected = false
		w.mu.Unlock()
		kick(w.settleKick)
		kick(w.sessionGone)
	}()

	for {
		m, rerr := conn.Recv()
		if rerr != nil {
			cancel()
			conn.Close()
			<-senderDone // senderErr is set
			if senderErr != nil {
				return true, senderErr
			}
			if ctx.Err() != nil && sessCtx.Err() == nil {
				return true, errors.New("session ended")
			}
			return true, fmt.Errorf("receive: %w", rerr)
		}
		w.mu.Lock()
		w.lastContact = time.Now()
		w.mu.Unlock()
		switch {
		case m.Assignment != nil:
			w.setDesired(m.Assignment)
		case m.Ack != nil:
			w.ack(m.Ack.Seq)
		case m.Lease != nil:
			if sh := w.sharedOf(m.Lease.RunID); sh != nil {
				sh.onLease(m.Lease)
			} else if len(m.Lease.Rows) > 0 {
				w.queueCtrl(&cluster.WorkerMessage{Return: &cluster.LeaseReturn{RunID: m.Lease.RunID, Feeder: m.Lease.Feeder, Rows: m.Lease.Rows}})
			}
		case m.Recall != nil:
			if sh := w.sharedOf(m.Recall.RunID); sh != nil {
				sh.onRecall(m.Recall.Feeder)
			} else {
				w.queueCtrl(&cluster.WorkerMessage{Return: &cluster.LeaseReturn{RunID: m.Recall.RunID, Feeder: m.Recall.Feeder}})
			}
		case m.Quit != nil:
			w.log.Info("the master says quit", "reason", m.Quit.Reason)
			return true, errQuit
		}
	}
}

// welcome applies a master's Welcome: timing, and the scenario.
func (w *Worker) welcome(wel *cluster.Welcome) error {
	var plan *scenario.Plan
	w.mu.Lock()
	samePlan := wel.Scenario != nil && wel.Scenario.Hash == w.planHash && w.plan != nil
	w.mu.Unlock()
	if wel.Scenario != nil && !samePlan {
		s := wel.Scenario
		if got := s.ComputeHash(); got != s.Hash {
			return fmt.Errorf("scenario %s: hash %s does not match the master's %s", s.Name, got, s.Hash)
		}
		dir, err := s.Materialize(filepath.Join(w.scenarioRoot, s.Hash[:min(16, len(s.Hash))]))
		if err != nil {
			return fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		plan, err = script.Parse(s.Name, dir, s.Source, scenario.Options{Host: s.Host, Tags: s.Tags, ExcludeTags: s.ExcludeTags, TLS: s.TLS})
		if err != nil {
			return fmt.Errorf("the master's scenario does not compile here: %w", err)
		}
		w.log.Info("scenario received", "file", s.Name, "hash", s.Hash[:min(12, len(s.Hash))], "data_files", len(s.Files))
	}
	// The classes this worker would run must be the master's.
	var names []string
	switch {
	case plan != nil:
		for _, c := range plan.Classes {
			names = append(names, c.Name)
		}
	case samePlan:
		w.mu.Lock()
		for _, c := range w.plan.Classes {
			names = append(names, c.Name)
		}
		w.mu.Unlock()
	default:
		for _, c := range w.cfg.Classes {
			names = append(names, c.Name)
		}
	}
	if !slices.Equal(names, wel.Classes) {
		return fmt.Errorf("user classes differ: the master has %q, this worker %q (no scenario shipped: build both from the same source)", wel.Classes, names)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if plan != nil {
		w.plan, w.planHash = plan, wel.Scenario.Hash
		w.flagsTLS = scenario.FlagsTLS(wel.Scenario.TLS)
	} else if wel.Scenario == nil {
		w.plan, w.planHash, w.flagsTLS = nil, "", nil
	}
	w.classNames = wel.Classes
	if wel.ReportInterval > 0 && wel.ReportInterval != w.reportInterval {
		w.reportInterval = wel.ReportInterval
		kick(w.intervalKick)
	}
	if wel.HeartbeatInterval > 0 {
		w.hbInterval = wel.HeartbeatInterval
	}
	if wel.HeartbeatTimeout > 0 {
		w.hbTimeout = wel.HeartbeatTimeout
	}
	w.lastContact = time.Now()
	w.connected = true
	w.out.resend()
	w.ctrl = nil // a new session: the run's leases resync (shared.resync)
	w.log.Info("joined the master", "master", wel.MasterID, "index", wel.Index, "master_version", wel.MasterVersion)
	return nil
}

func (w *Worker) setDesired(a *cluster.Assignment) {
	w.mu.Lock()
	if w.desired == nil || a.Generation >= w.desired.Generation || a.RunID != w.desired.RunID {
		w.desired = a
	}
	w.mu.Unlock()
	kick(w.assignKick)
}

// send sends reports as they are queued and a heartbeat every heartbeat
// interval; it ends the session when the master has been silent for the
// heartbeat timeout.
func (w *Worker) send(ctx context.Context, conn cluster.WorkerConn) error {
	w.mu.Lock()
	interval, timeout := w.hbInterval, w.hbTimeout
	w.mu.Unlock()
	hb := time.NewTicker(interval)
	defer hb.Stop()
	kick(w.sendKick) // resend what is pending
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.byeKick:
			// Best effort: a master that misses it marks the worker lost.
			err := conn.Send(&cluster.WorkerMessage{Goodbye: &cluster.Goodbye{Reason: "shutting down"}})
			if cs, ok := conn.(interface{ CloseSend() error }); ok && err == nil {
				// Nothing more to say: the master reads the goodbye, then
				// the stream's end, and ends the session (see Run).
				err = cs.CloseSend()
			}
			kick(w.byeSent)
			if err == nil {
				<-ctx.Done() // nothing may be sent after it
				return nil
			}
		case <-w.sendKick:
			if err := w.sendReports(conn); err != nil {
				return err
			}
			if err := w.sendCtrl(conn); err != nil {
				return err
			}
		case <-w.statusKick:
			if err := conn.Send(&cluster.WorkerMessage{Heartbeat: &cluster.Heartbeat{Status: w.status()}}); err != nil {
				return fmt.Errorf("send heartbeat: %w", err)
			}
		case <-hb.C:
			w.mu.Lock()
			silent := time.Since(w.lastContact)
			w.mu.Unlock()
			if silent > timeout {
				w.log.Warn("the master is silent; reconnecting", "silent_for", silent.Round(time.Millisecond))
				return fmt.Errorf("master silent for %v", silent.Round(time.Millisecond))
			}
			if err := conn.Send(&cluster.WorkerMessage{Heartbeat: &cluster.Heartbeat{Status: w.status()}}); err != nil {
				return fmt.Errorf("send heartbeat: %w", err)
			}
		}
	}
}

func (w *Worker) sendReports(conn cluster.WorkerConn) error {
	for {
		w.mu.Lock()
		rep := w.out.next(w.cfg.MaxInFlight)
		w.mu.Unlock()
		if rep == nil {
			return nil
		}
		if err := conn.Send(&cluster.WorkerMessage{Report: rep}); err != nil {
			return fmt.Errorf("send report %d: %w", rep.Seq, err)
		}
	}
}

// sendCtrl sends the queued lease messages.
func (w *Worker) sendCtrl(conn cluster.WorkerConn) error {
	for {
		w.mu.Lock()
		if len(w.ctrl) == 0 {
			w.mu.Unlock()
			return nil
		}
		msg := w.ctrl[0]
		w.ctrl = w.ctrl[1:]
		w.mu.Unlock()
		if err := conn.Send(msg); err != nil {
			return fmt.Errorf("send lease message: %w", err)
		}
	}
}

// queueLeaseRequest queues a lease request made by build with a new
// request id, which it returns.
func (w *Worker) queueLeaseRequest(build func(id uint64) *cluster.LeaseRequest) uint64 {
	w.mu.Lock()
	w.leaseSeq++
	id := w.leaseSeq
	w.ctrl = append(w.ctrl, &cluster.WorkerMessage{Lease: build(id)})
	w.mu.Unlock()
	kick(w.sendKick)
	return id
}

// usedInOutbox returns the feeder rows that the reports of run runID
// still waiting in the outbox report used, by feeder.
func (w *Worker) usedInOutbox(runID string) map[string][]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]int64{}
	for _, it := range w.out.items {
		if it.rep.RunID != runID {
			continue
		}
		for _, u := range it.rep.Used {
			out[u.Feeder] = append(out[u.Feeder], u.Rows...)
		}
	}
	return out
}

func (w *Worker) queueCtrl(msg *cluster.WorkerMessage) {
	w.mu.Lock()
	w.ctrl = append(w.ctrl, msg)
	w.mu.Unlock()
	kick(w.sendKick)
}

// currentShared returns the running run's leases (nil: none).
func (w *Worker) currentShared() *shared {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.run == nil {
		return nil
	}
	return w.run.shared
}

// sharedOf returns the leases of run id, if it runs here.
func (w *Worker) sharedOf(id string) *shared {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.run == nil || w.run.id != id {
		return nil
	}
	return w.run.shared
}

func (w *Worker) ack(seq uint64) {
	w.mu.Lock()
	reports, requests := w.out.ack(seq)
	w.ackedReports += reports
	w.ackedRequests += requests
	more := w.out.hasUnsent()
	w.mu.Unlock()
	kick(w.settleKick)
	if more {
		kick(w.sendKick)
	}
}

// reportLoop flushes a report every report interval.
func (w *Worker) reportLoop(ctx context.Context) {
	w.mu.Lock()
	interval := w.reportInterval
	w.mu.Unlock()
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.intervalKick:
			// a master set the interval: restart the timer with it
			w.mu.Lock()
			interval = w.reportInterval
			w.mu.Unlock()
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
			t.Reset(interval)
			continue
		case <-t.C:
		}
		w.flush(nil, false)
		w.mu.Lock()
		interval = w.reportInterval
		w.mu.Unlock()
		t.Reset(interval)
	}
}

// flush turns what was recorded since the last flush into a report of r
// (the current run when nil) and queues it. A final report is queued even
// when empty; it also ends r's reporting.
func (w *Worker) flush(r *run, final bool) {
	w.reportMu.Lock()
	defer w.reportMu.Unlock()
	w.mu.Lock()
	if r == nil {
		r = w.run
	}
	w.mu.Unlock()
	now := time.Now()
	iv := w.rec.Flush(w.lastFlush, now)
	w.lastFlush = now
	if r == nil {
		return // nothing runs; nothing was recorded
	}
	exc := r.exceptionDelta()
	var requests int64
	for _, e := range iv.Entries {
		requests += e.Count
	}
	st := w.status()
	// The rows taken go into the report under the leases' lock, so that a
	// resync (after a reconnect) finds each either in the outbox or still
	// among the taken.
	if r.shared != nil {
		r.shared.mu.Lock()
		defer r.shared.mu.Unlock()
	}
	var used []cluster.FeederUse
	if r.shared != nil {
		used = r.shared.usedLocked()
	}
	if !final && len(iv.Entries) == 0 && len(iv.Errors) == 0 && len(iv.Checks) == 0 && iv.ErrorsDropped == 0 && len(exc) == 0 && len(used) == 0 {
		return
	}
	w.mu.Lock()
	w.out.add(&cluster.Report{RunID: r.id, Interval: iv, Exceptions: exc, Final: final, Status: st, Used: used}, requests)
	w.madeRequests += requests
	if final && w.run == r {
		w.run = nil
	}
	w.mu.Unlock()
	kick(w.sendKick)
}

// exceptionDelta returns the exceptions raised since the last call.
func (r *run) exceptionDelta() []stats.Exception {
	now := map[string]int64{}
	trace := map[string]string{}
	for _, x := range r.eng.Exceptions() {
		now[x.Message] += x.Count
		if x.Traceback != "" {
			trace[x.Message] = x.Traceback
		}
	}
	var out []stats.Exception
	for m, n := range now {
		if d := n - r.excSent[m]; d > 0 {
			out = append(out, stats.Exception{Message: m, Count: d, Traceback: trace[m]})
			r.excSent[m] = n
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Message < out[j].Message })
	return out
}

// status describes the worker now.
func (w *Worker) status() cluster.Status {
	cpu, rss := w.use.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	st := cluster.Status{State: cluster.StateReady, CPUPercent: cpu, MemoryBytes: rss}
	r := w.run
	if r == nil {
		st.ClassUsers = make([]int, len(w.classNames))
		return st
	}
	st.RunID, st.Generation = r.id, r.gen
	st.SchedDelay = r.sched.delay(time.Now())
	e := r.eng
	st.ClassUsers = e.ClassUsers()
	st.UsersDone = e.UsersDone()
	done := e.RampDone() // of the target of r.gen: retarget sets both under w.mu
	if r.open {
		st.Open = e.Open()
	}
	switch {
	case r.stopping:
		st.State = cluster.StateStopping
	case done:
		st.State, st.RampDone = cluster.StateRunning, true
	default:
		st.State = cluster.StateSpawning
	}
	return st
}

// control applies assignments and stops the users when the master has
// been lost for the master lost timeout. It owns the run's lifecycle; when
// ctx ends it stops the run and returns.
func (w *Worker) control(ctx context.Context) {
	check := time.NewTicker(250 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			w.mu.Lock()
			r := w.run
			w.mu.Unlock()
			if r != nil {
				w.stopRun(r, "the worker is stopping")
			}
			return
		case <-w.assignKick:
		case <-check.C:
			w.mu.Lock()
			lost := w.run != nil && !w.run.stopping && time.Since(w.lastContact) > w.cfg.MasterLostTimeout
			if lost {
				w.desired = nil
			}
			w.mu.Unlock()
			if lost {
				w.log.Warn("master lost: no word from it for the master lost timeout; stopping the users",
					"master_lost_timeout", w.cfg.MasterLostTimeout)
			}
		}
		w.reconcile(ctx)
	}
}

// reconcile makes the running users match the desired assignment.
func (w *Worker) reconcile(ctx context.Context) {
	for {
		w.mu.Lock()
		a, r := w.desired, w.run
		w.mu.Unlock()
		if r != nil && (a == nil || !a.Running || a.RunID != r.id) {
			why := "the master stopped the run"
			if a == nil {
				why = "master lost"
			}
			w.stopRun(r, why)
			continue // the assignment may have changed meanwhile
		}
		if a == nil || !a.Running || ctx.Err() != nil {
			return
		}
		if r == nil {
			if err := w.startRun(a); err != nil {
				w.log.Error("cannot start the assigned users", "err", err)
				w.mu.Lock()
				if w.desired == a {
					w.desired = nil
				}
				w.mu.Unlock()
			}
			return
		}
		if a.Generation != r.gen {
			w.retarget(r, a)
		}
		return
	}
}

func (w *Worker) classesFor(host string) ([]horde.Class, error) {
	w.mu.Lock()
	plan := w.plan
	w.mu.Unlock()
	if plan != nil {
		if host == "" {
			host = plan.Host
		}
		return engine.PlanClasses(plan, host), nil
	}
	if len(w.cfg.Classes) == 0 {
		return nil, errors.New("no scenario from the master and no classes built in")
	}
	return w.cfg.Classes, nil
}

func (w *Worker) startRun(a *cluster.Assignment) error {
	classes, err := w.classesFor(a.Host)
	if err != nil {
		return err
	}
	if len(classes) != len(a.ClassUsers) {
		return fmt.Errorf("assignment has %d classes, the scenario %d", len(a.ClassUsers), len(classes))
	}
	httpOpts := w.cfg.HTTP
	if a.RequestTimeout > 0 {
		httpOpts.Timeout = a.RequestTimeout
	}
	w.mu.Lock()
	if w.flagsTLS != nil && httpOpts.TLSConfig == nil {
		httpOpts.TLSConfig = w.flagsTLS // what no tls: setting reaches: scripts' requests
	}
	if httpOpts.SourceAddrs == nil && w.plan != nil {
		// The worker's own --source-addrs wins: addresses are the machine's.
		httpOpts.SourceAddrs = w.plan.SourceAddrs
	}
	w.mu.Unlock()
	r := &run{
		id:      a.RunID,
		gen:     a.Generation,
		open:    a.OpenShape.Open,
		done:    make(chan struct{}),
		excSent: map[string]int64{},
	}
	if !w.cfg.Local {
		w.mu.Lock()
		plan := w.plan
		w.mu.Unlock()
		r.shared = newShared(w, a.RunID, plan)
	}
	cfg := engine.Config{
		Classes:     classes,
		Host:        a.Host,
		StopTimeout: a.StopTimeout,
		HTTP:        httpOpts,
		Recorder:    w.rec,
		Logger:      w.engLog,
		OnRampDone:  func(users int) { w.rampDone(r, users) },
		Trace:       requestLogger(w.cfg.RequestLog, w.log),
		Iterations:  a.Iterations,
		OnUserDone:  func() { kick(w.statusKick) },
		Vars:        a.Vars,
	}
	if r.shared != nil {
		cfg.Shared = r.shared
	}
	if r.open {
		// The open model: iterations on a schedule (this worker's share of
		// the rate, taken up where the run is), spread over the classes by
		// the engine's own weighted order.
		cfg.Shape = a.OpenShape
		cfg.ShapeElapsed = a.OpenElapsed
		cfg.PreAllocatedVUs, cfg.MaxVUs = a.PreAllocatedVUs, a.MaxVUs
	} else {
		// Exactly the master's per-class counts: it already applied the
		// weights and fixed counts when it split the users.
		cfg.ClassUsers = slices.Clone(a.ClassUsers)
		cfg.SpawnRate = a.SpawnRate
	}
	eng, err := engine.New(cfg)
	if err != nil {
		return err
	}
	r.eng = eng
	// Whatever was recorded before this run is not the run's.
	w.reportMu.Lock()
	now := time.Now()
	w.rec.Flush(w.lastFlush, now)
	w.lastFlush = now
	w.reportMu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.sched.run(ctx)
	go func() {
		defer close(r.done)
		if err := eng.Run(ctx); err != nil {
			w.log.Error("engine", "err", err)
		}
	}()
	w.mu.Lock()
	w.run = r
	w.mu.Unlock()
	w.log.Info("run started", "run", a.RunID, "users", a.Users(), "class_users", a.ClassUsers, "spawn_rate", round(a.SpawnRate))
	return nil
}

func round(f float64) float64 { return math.Round(f*1000) / 1000 }

func (w *Worker) retarget(r *run, a *cluster.Assignment) {
	// The generation and the engine's target change together, so a status
	// never reports the new generation with the old target's ramp done.
	w.mu.Lock()
	r.gen = a.Generation
	if r.open {
		r.eng.SetShape(a.OpenShape, a.OpenElapsed, a.MaxVUs)
	} else {
		r.eng.SetClassTargets(a.ClassUsers, a.SpawnRate)
	}
	w.mu.Unlock()
	if r.open {
		v, _ := a.OpenShape.At(a.OpenElapsed)
		w.log.Info("rate reassigned", "run", a.RunID, "rate", round(v), "max_vus", a.MaxVUs)
	} else {
		w.log.Info("users reassigned", "run", a.RunID, "users", a.Users(), "class_users", a.ClassUsers, "spawn_rate", round(a.SpawnRate))
	}
	kick(w.statusKick)
}

func (w *Worker) rampDone(r *run, users int) {
	if !r.open && r.eng.RampDone() {
		w.log.Info("all users spawned", "users", users)
	}
	kick(w.statusKick)
}

// stopRun stops r's users (they finish or abandon their tasks within the
// stop timeout and run on_stop), then queues the run's final report.
func (w *Worker) stopRun(r *run, why string) {
	w.mu.Lock()
	r.stopping = true
	w.mu.Unlock()
	w.log.Info("stopping the users", "run", r.id, "why", why)
	kick(w.statusKick)
	r.cancel()
	<-r.done
	if r.shared != nil {
		r.shared.close()
	}
	w.flush(r, true)
	w.log.Info("users stopped", "run", r.id)
	kick(w.statusKick)
}

// WarnOnly returns a handler that passes on h's warnings and errors only.
func WarnOnly(h slog.Handler) slog.Handler { return warnOnly{h} }

// requestLogger returns the engine's Trace that logs each request at
// debug level, or nil when neither rl nor (when rl is nil) log is enabled
// at debug: a run without -L debug pays nothing per request.
func requestLogger(rl, log *slog.Logger) func(*engine.Exchange) {
	if rl == nil {
		rl = log
	}
	if rl == nil || !rl.Enabled(context.Background(), slog.LevelDebug) {
		return nil
	}
	return func(x *engine.Exchange) {
		attrs := []any{"method", x.Method, "url", x.URL, "name", x.Name, "ms", float64(x.Took.Microseconds()) / 1000}
		if x.Err == "" {
			attrs = append(attrs, "status", x.Status)
		}
		if x.Failure != "" {
			attrs = append(attrs, "failure", x.Failure)
		}
		if x.Pos.File != "" {
			attrs = append(attrs, "at", fmt.Sprintf("%s:%d", x.Pos.File, x.Pos.Line))
		}
		rl.Debug("request", attrs...)
	}
}

type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(as)} }
func (h warnOnly) WithGroup(g string) slog.Handler       { return warnOnly{h.Handler.WithGroup(g)} }
