// Package locust lets unmodified Locust workers (locust --worker) join a
// horde master. It serves Locust's worker protocol (ZeroMQ ROUTER, msgpack
// messages [type, data, node_id]) and presents each Locust worker to the
// master as a horde worker, through the same cluster.Acceptor a horde
// worker's session goes through: the master sees Join, Heartbeat and
// Report and sends Welcome, Assignment and Quit, which this package turns
// into ack, spawn, stop and quit. The master's internals are not touched.
//
// See docs/locust.md for the messages of each Locust version and what
// horde does with them.
package locust

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/stats"
)

// Locust's timing (runners.py).
const (
	// ReportInterval is WORKER_REPORT_INTERVAL: a worker sends its stats
	// every 3 s.
	ReportInterval = 3 * time.Second
	// finalWait: after client_stopped, the stats report that follows within
	// a report interval is the worker's last of the run; without one by
	// then, the run's end is reported without it.
	finalWait = ReportInterval + 3*time.Second
	// minStep bounds how often a ramp sends spawn messages.
	minStep = 250 * time.Millisecond
)

// firstMessageTimeout: a connection that has not said who it is by then
// is closed (a worker sends client_ready at once, or a heartbeat within a
// second of a reconnect). A variable for tests.
var firstMessageTimeout = 30 * time.Second

// File is a locustfile served to workers that ask for it (locust --worker
// -f -, Locust 2.23 and later).
type File struct {
	Name     string
	Contents []byte
}

// Config configures a Server.
type Config struct {
	// Version is horde's version: the bridge joins each Locust worker to
	// the master as a worker of the master's own version and protocol (the
	// Locust version is checked here instead).
	Version string
	Logger  *slog.Logger
	// Tags and ExcludeTags go to the workers in each spawn's
	// parsed_options (Locust's -T/-E, applied by the workers).
	Tags, ExcludeTags []string
	// Locustfiles are sent to a worker that asks for its locustfile.
	Locustfiles []File
	// UserSettings (--config-users) go to each Locust worker of 2.25 or
	// later in update_user_class messages when it joins, before its first
	// spawn; the master has applied their weight and fixed_count already.
	UserSettings []UserSettings
}

// Server serves Locust workers to a master.
type Server struct {
	acc cluster.Acceptor
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	versions map[string]string // identity -> version its client_ready gave
	live     map[string]*session
	conns    map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
	// completeKey is the run, dispatch and user count of the last
	// spawning_complete sent to the workers.
	completeKey string
}

// NewServer returns a server that joins Locust workers to acc.
func NewServer(acc cluster.Acceptor, cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{acc: acc, cfg: cfg, log: log, versions: map[string]string{}, live: map[string]*session{}, conns: map[net.Conn]struct{}{}}
}

// Serve accepts connections on l until it fails or ctx is done, each
// served on its own goroutine.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.ServeConn(ctx, c, bufio.NewReader(c))
		}()
	}
}

// Close closes every connection and waits for their sessions to end.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// ServeConn serves one connection (whose first bytes may be buffered in r)
// until it ends. It never panics on what a peer sends.
func (s *Server) ServeConn(ctx context.Context, c net.Conn, r *bufio.Reader) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	peer := c.RemoteAddr().String()
	z, err := handshake(c, r)
	if err != nil {
		s.log.Warn("Locust worker connection refused", "addr", peer, "err", err)
		return
	}
	// The first message says who the peer is.
	c.SetReadDeadline(time.Now().Add(firstMessageTimeout))
	var first *Message
	for first == nil {
		frames, err := z.Recv()
		if err != nil {
			if errors.Is(err, errOversize) {
				s.log.Warn("Locust worker connection closed", "worker", z.identity, "addr", peer, "err", err)
			} else if !errors.Is(err, io.EOF) {
				s.log.Warn("Locust worker connection closed before it said who it is", "worker", z.identity, "addr", peer, "err", err)
			}
			return
		}
		m, err := Decode(frames[0])
		if err != nil {
			s.log.Warn("bad message from Locust worker; closing its connection", "worker", z.identity, "addr", peer, "err", err)
			return
		}
		switch m.Type {
		case "locustfile":
			s.sendLocustfile(z, m)
		case "client_ready":
			if !s.checkVersion(z, m, peer) {
				return
			}
			first = m
		case "quit", "client_stopped", "logs":
			// A worker on its way out, or noise: nothing to join.
		default:
			first = m // a worker that reconnected without a client_ready (a new master, or a reset socket)
		}
	}
	c.SetReadDeadline(time.Time{})
	s.session(ctx, z, peer, first)
}

// checkVersion accepts a client_ready: Locust 2.x workers, and the empty
// version Debian's 2.12.1 package reports. A pre-2.0 worker is told to quit.
func (s *Server) checkVersion(z *zconn, m *Message, peer string) bool {
	v, isString := m.Data.(string)
	switch {
	case m.Data == nil:
		s.log.Error("a Locust worker older than 2.0 tried to join: horde speaks Locust 2's worker protocol; upgrade the worker", "worker", z.identity, "addr", peer)
		s.send(z, "quit", nil)
		return false
	case isString && v == "":
		s.log.Warn("Locust worker reports an empty version (as Debian's python3-locust 2.12.1 does); taken as 2.12", "worker", z.identity, "addr", peer)
	case isString:
		if major, _ := versionOf(v); major < 2 {
			s.log.Error("Locust worker version not supported: horde speaks Locust 2's worker protocol; upgrade the worker", "worker", z.identity, "version", v)
			s.send(z, "quit", nil)
			return false
		}
	}
	s.mu.Lock()
	if isString {
		s.versions[z.identity] = v
	} else {
		s.versions[z.identity] = "unknown"
	}
	s.mu.Unlock()
	return true
}

// versionOf returns a version's major and minor numbers (0, 0 if it has none).
func versionOf(v string) (major, minor int) {
	parts := strings.SplitN(v, ".", 3)
	major, _ = strconv.Atoi(parts[0])
	if len(parts) > 1 {
		minor, _ = strconv.Atoi(strings.TrimLeftFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
		digits := strings.IndexFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
		if digits > 0 {
			minor, _ = strconv.Atoi(parts[1][:digits])
		}
	}
	return major, minor
}

// sendLocustfile answers a worker started with -f -: both the reply of
// Locust 2.23-2.30 (filename, contents) and of 2.31+ (locustfiles).
func (s *Server) sendLocustfile(z *zconn, m *Message) {
	if len(s.cfg.Locustfiles) == 0 {
		s.send(z, "locustfile", map[string]any{"error": "this horde master has no locustfile to send (it was not started with -f FILE.py)"})
		return
	}
	var list []any
	for _, f := range s.cfg.Locustfiles {
		list = append(list, map[string]any{"filename": f.Name, "contents": string(f.Contents)})
	}
	f := s.cfg.Locustfiles[0]
	s.log.Info("sending the locustfile to a Locust worker", "worker", z.identity, "file", f.Name)
	s.send(z, "locustfile", map[string]any{"filename": f.Name, "contents": string(f.Contents), "locustfiles": list})
}

func (s *Server) send(z *zconn, typ string, data any) error {
	b, err := Encode(&Message{Type: typ, Data: data, NodeID: z.identity})
	if err != nil {
		return err
	}
	return z.Send(b)
}

// session joins the worker on z to the master and serves it until either
// side ends it.
func (s *Server) session(ctx context.Context, z *zconn, peer string, first *Message) {
	s.mu.Lock()
	version, known := s.versions[z.identity]
	if old := s.live[z.identity]; old != nil {
		old.z.Close() // the worker's new socket replaces the old one
	}
	s.mu.Unlock()
	ss := newSession(s, z, peer, version, known)
	s.mu.Lock()
	s.live[z.identity] = ss
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.live[z.identity] == ss {
			delete(s.live, z.identity)
		}
		s.mu.Unlock()
	}()
	if first.Type == "client_ready" {
		s.log.Info("Locust worker connected", "worker", z.identity, "addr", peer, "version", version)
	} else {
		s.log.Info("Locust worker reconnected without client_ready; it joins with its id", "worker", z.identity, "addr", peer, "first_message", first.Type)
	}
	ss.in <- &cluster.WorkerMessage{Join: &cluster.Join{
		WorkerID: z.identity, Hostname: hostOf(z.identity), Version: s.cfg.Version, Protocol: cluster.Protocol,
	}}
	if first.Type != "client_ready" {
		// Handled once the master has said which run it is in (its first
		// Assignment): a report of the run goes on counting.
		ss.mu.Lock()
		ss.pendingFirst = first
		ss.mu.Unlock()
	}
	go ss.readLoop()
	err := s.acc.Accept(ctx, ss)
	ss.end()
	if err != nil {
		s.log.Warn("Locust worker session ended", "worker", z.identity, "err", err)
	}
}

// hostOf returns the hostname part of a Locust worker id (<hostname>_<hex>).
func hostOf(id string) string {
	if i := strings.LastIndexByte(id, '_'); i > 0 {
		return id[:i]
	}
	return id
}

// session is one Locust worker as the master sees it: a cluster.MasterConn.
type session struct {
	srv       *Server
	z         *zconn
	id, peer  string
	version   string
	heartbeat bool // the worker expects the master's heartbeats (2.19+, or a version unknown)
	settings  bool // the worker applies update_user_class (2.25+, or a version unknown)
	complete  bool // the worker fires its spawning_complete event on the master's message (2.29+, or a version unknown)

	in      chan *cluster.WorkerMessage
	done    chan struct{}
	endOnce sync.Once
	errMu   sync.Mutex
	err     error

	mu           sync.Mutex
	classes      []string
	index        int
	welcomed     bool
	runID        string
	gen          uint64
	running      bool
	host         string
	stopTimeout  time.Duration
	target       []int
	sent         []int // the counts of the last spawn sent
	reported     []int // the counts the worker last reported
	rampDone     bool
	rampStop     chan struct{}
	spawned      bool // a spawn of the current run was sent
	stopSentAt   time.Time
	lastTS       float64
	lstate       string // the worker's own state, from its heartbeats
	cpu          float64
	mem          uint64
	seq          uint64
	finalPending bool
	finalTimer   *time.Timer
	warned       map[string]bool
	pendingFirst *Message // the first message of a worker taken in without client_ready
	exc          map[string]*stats.Exception
}

// maxPendingExceptions bounds the distinct exception messages a worker's
// session holds between two reports (more are dropped).
const maxPendingExceptions = 1000

var _ cluster.MasterConn = (*session)(nil)

func newSession(srv *Server, z *zconn, peer, version string, known bool) *session {
	// A worker taken in without client_ready has no version: it gets what the
	// newest expect (an older one logs "Unknown message type" for each).
	since := func(minor int) bool {
		if !known || version == "unknown" {
			return true
		}
		major, m := versionOf(version)
		return version != "" && (major > 2 || major == 2 && m >= minor)
	}
	return &session{
		srv: srv, z: z, id: z.identity, peer: peer, version: version,
		heartbeat: since(19), settings: since(25), complete: since(29),
		in: make(chan *cluster.WorkerMessage, 64), done: make(chan struct{}), warned: map[string]bool{},
	}
}

// Peer implements cluster.MasterConn.
func (ss *session) Peer() string { return ss.peer + " (Locust)" }

// Recv implements cluster.MasterConn: the worker's messages, translated.
func (ss *session) Recv() (*cluster.WorkerMessage, error) {
	select {
	case m := <-ss.in:
		return m, nil
	default:
	}
	select {
	case m := <-ss.in:
		return m, nil
	case <-ss.done:
		ss.errMu.Lock()
		defer ss.errMu.Unlock()
		return nil, ss.err
	}
}

// end closes the session and its connection.
func (ss *session) end() { ss.fail(errors.New("session ended")) }

func (ss *session) fail(err error) {
	ss.endOnce.Do(func() {
		ss.errMu.Lock()
		ss.err = err
		ss.errMu.Unlock()
		close(ss.done)
		ss.z.Close()
		ss.mu.Lock()
		ss.stopRampLocked()
		if ss.finalTimer != nil {
			ss.finalTimer.Stop()
		}
		ss.mu.Unlock()
	})
}

func (ss *session) readLoop() {
	for {
		frames, err := ss.z.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				ss.fail(fmt.Errorf("Locust worker %s: connection closed", ss.id))
			} else {
				ss.fail(fmt.Errorf("Locust worker %s: %w", ss.id, err))
			}
			return
		}
		m, err := Decode(frames[0])
		if err != nil {
			// As Locust's master does: the worker resets its socket and
			// comes back (without client_ready: it is taken in by its id).
			ss.srv.log.Error("bad message from Locust worker; asking it to reconnect", "worker", ss.id, "err", err)
			ss.srv.send(ss.z, "reconnect", nil)
			ss.fail(fmt.Errorf("Locust worker %s: bad message: %w", ss.id, err))
			return
		}
		if m.Type == "quit" {
			ss.srv.log.Info("Locust worker quit", "worker", ss.id)
			ss.fail(fmt.Errorf("Locust worker %s quit", ss.id))
			return
		}
		ss.handle(m)
	}
}

// handle translates one message of the worker.
func (ss *session) handle(m *Message) {
	ss.mu.Lock()
	ss.handleLocked(m)
	ss.mu.Unlock()
	if m.Type == "spawning_complete" || m.Type == "stats" {
		ss.srv.checkSpawningComplete()
	}
}

// checkSpawningComplete sends spawning_complete {"user_count": n} to the
// Locust workers of 2.29 and later once every Locust worker in the run has
// reported its share of a dispatch: Locust's master sends it at the end of
// each ramp, and those workers fire their spawning_complete event only on
// it. n is the users of the Locust workers (in a mixed swarm, horde
// workers' users are not in it: docs/locust.md).
func (s *Server) checkSpawningComplete() {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.live))
	for _, ss := range s.live {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	runID, users, gen := "", 0, uint64(0)
	for _, ss := range sessions {
		ss.mu.Lock()
		in := ss.welcomed && ss.running
		done, r, g, n := ss.statusLocked().RampDone, ss.runID, ss.gen, 0
		for _, c := range ss.target {
			n += c
		}
		ss.mu.Unlock()
		if !in {
			continue
		}
		if !done || runID != "" && r != runID {
			return
		}
		runID, users, gen = r, users+n, max(gen, g)
	}
	if runID == "" {
		return
	}
	key := fmt.Sprintf("%s/%d/%d", runID, gen, users)
	s.mu.Lock()
	if s.completeKey == key {
		s.mu.Unlock()
		return
	}
	s.completeKey = key
	s.mu.Unlock()
	for _, ss := range sessions {
		ss.mu.Lock()
		if ss.complete && ss.welcomed && ss.running && ss.runID == runID {
			ss.sendLocked("spawning_complete", map[string]any{"user_count": users})
		}
		ss.mu.Unlock()
	}
}

func (ss *session) handleLocked(m *Message) {
	switch m.Type {
	case "client_ready":
		// Again after a stop (or a duplicate): the worker is ready.
		ss.lstate = "ready"
		ss.reported = nil
		if ss.welcomed {
			ss.sendLocked("ack", map[string]any{"index": ss.index})
		}
		ss.heartbeatLocked()
	case "heartbeat":
		d, _ := asMap(m.Data)
		if st, ok := asString(d["state"]); ok {
			ss.lstate = st
		}
		if f, ok := asFloat(d["current_cpu_usage"]); ok {
			ss.cpu = f
		}
		if n, ok := asInt(d["current_memory_usage"]); ok && n >= 0 {
			ss.mem = uint64(n)
		}
		if !ss.running && ss.welcomed && !ss.spawned && !ss.finalPending && (ss.lstate == "running" || ss.lstate == "spawning") &&
			time.Since(ss.stopSentAt) > 10*time.Second+ss.stopTimeout {
			// Users the master did not ask for (a worker of a master that is
			// gone): stopped, so that nothing loads the target unattended.
			ss.srv.log.Warn("Locust worker runs users outside a run of this master; stopping them", "worker", ss.id)
			ss.sendStopLocked()
		}
		if len(ss.exc) > 0 {
			ss.reportLocked(nil, false)
			return
		}
		ss.heartbeatLocked()
	case "spawning":
		ss.lstate = "spawning"
		ss.heartbeatLocked()
	case "spawning_complete":
		d, _ := asMap(m.Data)
		if uc, ok := asMap(d["user_classes_count"]); ok {
			ss.setReportedLocked(classCounts(uc))
		}
		ss.heartbeatLocked()
	case "client_stopped":
		ss.lstate = "stopped"
		ss.reported = nil
		if ss.spawned {
			ss.spawned = false
			ss.finalPending = true
			ss.finalTimer = time.AfterFunc(finalWait, ss.finalTimeout)
		}
		ss.heartbeatLocked()
	case "stats":
		r, err := ConvertStats(m.Data)
		if err != nil {
			ss.srv.log.Error("Locust worker's stats dropped", "worker", ss.id, "err", err)
			return
		}
		if r.ClassUsers != nil && ss.lstate != "stopped" && ss.lstate != "ready" {
			ss.setReportedLocked(r.ClassUsers)
		}
		if r.NoTime > 0 && !ss.warned["none"] {
			ss.warned["none"] = true
			ss.srv.log.Warn("Locust worker reports requests without a response time: counted, not in the percentiles", "worker", ss.id, "requests", r.NoTime)
		}
		final := ss.finalPending
		if final {
			ss.finalPending = false
			ss.finalTimer.Stop()
		}
		if len(r.Interval.Entries) == 0 && len(r.Interval.Errors) == 0 && len(ss.exc) == 0 && !final {
			ss.heartbeatLocked()
			return
		}
		ss.reportLocked(r.Interval, final)
	case "exception":
		// A worker sends one per exception, as it happens: they are
		// counted by message and go with its next heartbeat or report, so
		// a flood of them is a few messages a second to the master.
		d, _ := asMap(m.Data)
		msg, _ := asString(d["msg"])
		tb, _ := asString(d["traceback"])
		if ss.exc == nil {
			ss.exc = map[string]*stats.Exception{}
		}
		if e := ss.exc[msg]; e != nil {
			e.Count++
		} else if len(ss.exc) < maxPendingExceptions {
			ss.exc[msg] = &stats.Exception{Count: 1, Message: msg, Traceback: tb, Nodes: ss.id}
		}
	case "logs":
		// The web UI's log tab of Locust 2.29+: horde's master logs its own.
	case "locustfile":
		ss.srv.sendLocustfile(ss.z, m)
	default:
		if !ss.warned[m.Type] {
			ss.warned[m.Type] = true
			ss.srv.log.Warn("Locust worker sent a message horde has no handler for (custom messages need Python listeners on a Locust master); ignored",
				"worker", ss.id, "type", m.Type)
		}
	}
}

func (ss *session) finalTimeout() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.finalPending {
		ss.finalPending = false
		ss.reportLocked(nil, true)
	}
}

// setReportedLocked records the worker's users per class.
func (ss *session) setReportedLocked(uc map[string]int) {
	out := make([]int, len(ss.classes))
	for name, n := range uc {
		i := ss.classIndex(name)
		if i < 0 {
			if n > 0 && !ss.warned["class "+name] {
				ss.warned["class "+name] = true
				ss.srv.log.Warn("Locust worker runs a user class the master does not know", "worker", ss.id, "class", name)
			}
			continue
		}
		out[i] = n
	}
	ss.reported = out
}

func (ss *session) classIndex(name string) int {
	for i, c := range ss.classes {
		if c == name {
			return i
		}
	}
	return -1
}

// statusLocked is the worker's condition as the master expects it.
func (ss *session) statusLocked() cluster.Status {
	st := cluster.Status{RunID: ss.runID, Generation: ss.gen, CPUPercent: ss.cpu, MemoryBytes: ss.mem}
	st.ClassUsers = append([]int(nil), ss.reported...)
	if len(st.ClassUsers) < len(ss.classes) {
		st.ClassUsers = append(st.ClassUsers, make([]int, len(ss.classes)-len(st.ClassUsers))...)
	}
	switch {
	case ss.running:
		st.RampDone = ss.rampDone && equalCounts(ss.reported, ss.target)
		st.State = cluster.StateSpawning
		if st.RampDone {
			st.State = cluster.StateRunning
		}
	case ss.finalPending || ss.spawned && !ss.stopSentAt.IsZero():
		st.State = cluster.StateStopping
	default:
		st.State = cluster.StateReady
	}
	return st
}

func equalCounts(a, b []int) bool {
	n := max(len(a), len(b))
	for i := range n {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return false
		}
	}
	return true
}

func (ss *session) heartbeatLocked() {
	if !ss.welcomed {
		return
	}
	st := ss.statusLocked()
	ss.toMasterOrdered(&cluster.WorkerMessage{Heartbeat: &cluster.Heartbeat{Status: st}})
}

// reportLocked sends a report of iv (nil: none) with the exceptions
// counted since the last one.
func (ss *session) reportLocked(iv *stats.Interval, final bool) {
	var exc []stats.Exception
	for _, e := range ss.exc {
		exc = append(exc, *e)
	}
	ss.exc = nil
	// The master counts a worker's report only if its number is above the
	// last it counted from that worker id, also across sessions and master
	// restarts (the number is in its checkpoint). Locust never resends a
	// report, so the wall clock in nanoseconds numbers them.
	ss.seq = max(ss.seq+1, uint64(time.Now().UnixNano()))
	r := &cluster.Report{Seq: ss.seq, RunID: ss.runID, Interval: iv, Exceptions: exc, Final: final, Status: ss.statusLocked()}
	if iv != nil {
		now := time.Now()
		iv.Start, iv.End = now.Add(-ReportInterval), now
	}
	ss.toMasterOrdered(&cluster.WorkerMessage{Report: r})
}

// toMasterOrdered queues m in order with the session's other messages; it
// is called with ss.mu held, so it must not wait for the master: the
// queue's capacity is the bound, and a master that does not drain it ends
// the session.
func (ss *session) toMasterOrdered(m *cluster.WorkerMessage) {
	select {
	case ss.in <- m:
	case <-ss.done:
	default:
		ss.srv.log.Error("master not taking a Locust worker's messages; ending its session", "worker", ss.id)
		go ss.fail(errors.New("master not keeping up"))
	}
}

// sendLocked sends a message to the worker (best effort: a failed send
// ends the session).
func (ss *session) sendLocked(typ string, data any) {
	if err := ss.srv.send(ss.z, typ, data); err != nil {
		go ss.fail(fmt.Errorf("Locust worker %s: send %s: %w", ss.id, typ, err))
	}
}

// Send implements cluster.MasterConn: the master's messages, translated.
func (ss *session) Send(m *cluster.MasterMessage) error {
	select {
	case <-ss.done:
		return cluster.ErrClosed
	default:
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case m.Welcome != nil:
		ss.classes = append([]string(nil), m.Welcome.Classes...)
		ss.index = m.Welcome.Index
		ss.welcomed = true
		ss.sendLocked("ack", map[string]any{"index": ss.index})
		ss.sendSettingsLocked()
	case m.Refusal != nil:
		ss.srv.log.Error("master refused a Locust worker", "worker", ss.id, "reason", m.Refusal.Reason)
		ss.sendLocked("quit", nil)
	case m.Assignment != nil:
		ss.assignLocked(m.Assignment)
		if f := ss.pendingFirst; f != nil {
			ss.pendingFirst = nil
			ss.handleLocked(f)
		}
	case m.Heartbeat != nil:
		if ss.heartbeat {
			ss.sendLocked("heartbeat", nil)
		}
	case m.Quit != nil:
		ss.sendLocked("quit", nil)
	}
	// Ack: Locust's reports are not resent, nothing to release. Lease and
	// Recall: a locustfile has no horde feeders.
	return nil
}

// sendSettingsLocked sends --config-users to a worker that applies them
// (update_user_class, Locust 2.25+), or says what an older one leaves out:
// weight and fixed_count hold anyway (the master splits the users).
func (ss *session) sendSettingsLocked() {
	for _, us := range ss.srv.cfg.UserSettings {
		if ss.settings {
			ss.sendLocked("update_user_class", us.Data)
			continue
		}
		if keys := us.workerOnly(); len(keys) > 0 && !ss.warned["settings "+us.Class] {
			ss.warned["settings "+us.Class] = true
			ss.srv.log.Warn("Locust worker predates update_user_class (2.25): --config-users' other attributes do not reach it (weight and fixed_count hold: the master splits the users)",
				"worker", ss.id, "version", ss.version, "class", us.Class, "not_applied", strings.Join(keys, ","))
		}
	}
}

// assignLocked applies the worker's share: spawn messages towards its
// per-class counts at its share of the spawn rate (Locust workers start
// what a spawn asks at once; the master paces), or a stop.
func (ss *session) assignLocked(a *cluster.Assignment) {
	newRun := a.RunID != ss.runID
	ss.runID, ss.gen = a.RunID, a.Generation
	ss.stopRampLocked()
	if !a.Running {
		ss.running = false
		ss.target = nil
		if ss.spawned || ss.lstate == "running" || ss.lstate == "spawning" {
			ss.sendStopLocked()
		}
		ss.sent = nil
		if !ss.spawned && a.RunID != "" && !ss.finalPending {
			// Nothing ran here: the run's end is reported at once.
			ss.reportLocked(nil, true)
		}
		return
	}
	if newRun || !ss.running {
		ss.sent = nil
		ss.rampDone = false
	}
	ss.running = true
	ss.host, ss.stopTimeout = a.Host, a.StopTimeout
	ss.target = append([]int(nil), a.ClassUsers...)
	ss.rampDone = false
	from := make([]int, len(ss.target))
	copy(from, ss.sent)
	add := 0
	for i, t := range ss.target {
		if t > from[i] {
			add += t - from[i]
		}
	}
	if a.SpawnRate <= 0 || add <= 1 {
		ss.spawnLocked(ss.target)
		ss.rampDone = true
		ss.heartbeatLocked()
		return
	}
	stop := make(chan struct{})
	ss.rampStop = stop
	go ss.ramp(stop, ss.gen, from, ss.target, a.SpawnRate, add)
}

func (ss *session) stopRampLocked() {
	if ss.rampStop != nil {
		close(ss.rampStop)
		ss.rampStop = nil
	}
}

// ramp sends spawns of the counts between from and to: decreases at once,
// increases at rate users per second (the first at once), spread over the
// classes in proportion.
func (ss *session) ramp(stop <-chan struct{}, gen uint64, from, to []int, rate float64, add int) {
	step := max(time.Duration(float64(time.Second)/rate), minStep)
	t := time.NewTicker(step)
	defer t.Stop()
	start := time.Now()
	for {
		k := min(add, int(rate*time.Since(start).Seconds())+1)
		counts := rampCounts(from, to, k, add)
		ss.mu.Lock()
		if ss.gen != gen || !ss.running {
			ss.mu.Unlock()
			return
		}
		if !equalCounts(counts, ss.sent) {
			ss.spawnLocked(counts)
		}
		if k == add {
			ss.rampDone = true
			ss.rampStop = nil
			ss.heartbeatLocked()
			ss.mu.Unlock()
			return
		}
		ss.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// rampCounts returns the counts once k of the add users to start have
// started: each class below its target gets its share of k in proportion
// to what it lacks (largest remainders first); classes above their
// target are at it already.
func rampCounts(from, to []int, k, add int) []int {
	out := make([]int, len(to))
	type rem struct{ i, r int }
	var rems []rem
	given := 0
	for i, t := range to {
		f := 0
		if i < len(from) {
			f = from[i]
		}
		if t <= f {
			out[i] = t
			continue
		}
		need := t - f
		q := need * k / add
		out[i] = f + q
		given += q
		rems = append(rems, rem{i, need * k % add})
	}
	for left := k - given; left > 0 && len(rems) > 0; left-- {
		best := 0
		for j := range rems {
			if rems[j].r > rems[best].r {
				best = j
			}
		}
		out[rems[best].i]++
		rems[best].r = -1
	}
	return out
}

// spawnLocked sends a spawn of counts (every class, 0 included: a class
// left out keeps its users on the worker).
func (ss *session) spawnLocked(counts []int) {
	uc := make(map[string]any, len(ss.classes))
	for i, name := range ss.classes {
		n := 0
		if i < len(counts) {
			n = counts[i]
		}
		uc[name] = n
	}
	ts := float64(time.Now().UnixNano()) / 1e9
	if ts <= ss.lastTS {
		ts = ss.lastTS + 1e-6 // a worker drops a spawn not newer than the last
	}
	ss.lastTS = ts
	var host, stopTimeout any
	if ss.host != "" {
		host = ss.host
	}
	if ss.stopTimeout > 0 {
		stopTimeout = ss.stopTimeout.Seconds()
	}
	opts := map[string]any{"tags": listOrNil(ss.srv.cfg.Tags), "exclude_tags": listOrNil(ss.srv.cfg.ExcludeTags)}
	ss.sendLocked("spawn", map[string]any{
		"timestamp": ts, "user_classes_count": uc, "host": host, "stop_timeout": stopTimeout, "parsed_options": opts,
	})
	ss.sent = append([]int(nil), counts...)
	ss.spawned = true
	ss.stopSentAt = time.Time{}
}

func (ss *session) sendStopLocked() {
	ss.sendLocked("stop", nil)
	ss.stopSentAt = time.Now()
}

func listOrNil(v []string) any {
	if len(v) == 0 {
		return nil
	}
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}
