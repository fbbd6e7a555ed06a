// Package cluster is the contract between a master and its workers: the
// messages of a session (Join, Welcome, Assignment, Report{Seq}, Ack,
// Heartbeat), the connections they travel over, the exact split of users
// over workers, and the scenario bundle a master ships. It knows nothing of
// gRPC: internal/cluster/rpc carries these messages over the network, and
// Pipe carries them within one process (standalone runs).
package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/stats"
)

// Protocol is the version of this protocol. A master refuses workers of
// another protocol, or of another horde version.
const Protocol = 1

// Defaults of the session's timing.
const (
	DefaultReportInterval    = 2 * time.Second
	DefaultHeartbeatInterval = time.Second
	DefaultHeartbeatTimeout  = 5 * time.Second
	DefaultMasterLostTimeout = 30 * time.Second
	DefaultPort              = 5557
)

// Join opens a session (worker to master).
type Join struct {
	WorkerID string // stable for the worker process's life
	Hostname string
	Version  string
	Protocol int
	Token    string
}

// Welcome admits a worker (master to worker).
type Welcome struct {
	Index             int
	MasterID          string
	MasterVersion     string
	Scenario          *Scenario // nil: the worker uses its built-in classes
	Classes           []string  // class names, in the order of Assignment.ClassUsers
	ReportInterval    time.Duration
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
}

// Refusal turns a worker away (master to worker); the master then ends the
// session.
type Refusal struct {
	Reason         string
	MasterVersion  string
	MasterProtocol int
}

// Assignment is a worker's whole share of a run: absolute per-class user
// counts, so a repeated assignment does no harm.
type Assignment struct {
	RunID          string // "": no run
	Generation     uint64 // grows with every dispatch
	Running        bool   // false: stop the run's users
	ClassUsers     []int
	SpawnRate      float64 // this worker's share; <= 0: at once
	Host           string
	StopTimeout    time.Duration
	RequestTimeout time.Duration
	// OpenShape, when Open, selects the open model: the worker runs this
	// rate shape (already scaled to its share) with all classes in one
	// engine and a pool of PreAllocatedVUs growing to MaxVUs users.
	OpenShape       shape.Shape
	PreAllocatedVUs int
	MaxVUs          int
	// OpenElapsed is how far into OpenShape the run was when the master
	// sent the assignment: a worker that starts (or is re-split) mid-run
	// takes the shape up at that point.
	OpenElapsed time.Duration
	// Iterations, when > 0, ends each user after that many task iterations.
	Iterations int
	// Vars are what the run's setup: captured, for every user.
	Vars map[string]string
}

// Users returns the assignment's total user count.
func (a *Assignment) Users() int {
	n := 0
	for _, u := range a.ClassUsers {
		n += u
	}
	return n
}

// State is the phase of a run as a master, a worker or an engine is in it,
// with Locust's names (as its /stats/requests reports them).
type State string

// States.
const (
	StateReady    State = "ready"
	StateSpawning State = "spawning"
	StateRunning  State = "running"
	StateStopping State = "stopping"
	StateStopped  State = "stopped"
)

// Status is a worker's condition, sent with every heartbeat and report.
type Status struct {
	State       State
	RunID       string
	Generation  uint64 // of the last assignment applied
	RampDone    bool   // every class has reached its assigned count
	ClassUsers  []int
	CPUPercent  float64 // of the cores the process may use (GOMAXPROCS)
	MemoryBytes uint64  // resident set size
	Open        OpenStats
	UsersDone   int // users of the run that ran their iterations and ended
	// SchedDelay is the worker's own scheduling delay during a run: the
	// worst oversleep of a short timer over its last second. A worker
	// starved of CPU stamps responses late, so its latencies are its own
	// as much as the service's (0 outside a run and from Locust workers).
	SchedDelay time.Duration
}

// OpenStats are the open model's counters of a run (cumulative): a
// worker's, or the master's sum over its workers.
type OpenStats struct {
	Iterations int64         // iterations started
	Dropped    int64         // iterations that no free user could start on time
	LagMean    time.Duration // mean delay of iterations behind their schedule
	LagMax     time.Duration
}

// OnStopGrace is the least time a stopping user's on_stop gets, even with
// a stop timeout of zero: a master waits that long (and the stop timeout)
// for its workers' final reports.
const OnStopGrace = 5 * time.Second

// Users returns the status's total user count.
func (s *Status) Users() int {
	n := 0
	for _, u := range s.ClassUsers {
		n += u
	}
	return n
}

// Report is what a worker recorded since its previous report (a delta).
// Seq numbers a worker process's reports from 1; a report is resent with
// the same Seq until it is acknowledged, and a master counts each Seq once.
type Report struct {
	Seq      uint64
	RunID    string
	Interval *stats.Interval // its Start and End are the worker's; the master ignores them
	// Encoded, when set instead of Interval, holds the interval as it came
	// over the wire; merging decodes it (cheaper than a dense Interval).
	Encoded    Mergeable
	Exceptions []stats.Exception
	Final      bool // the last report of the run on this worker
	Status     Status
	// Used is the rows of unique feeders taken since the previous report.
	Used []FeederUse
}

// Mergeable is statistics that can be added to an interval.
type Mergeable interface {
	MergeInto(dst *stats.Interval) error
	Requests() int64
}

// MergeInto adds the report's statistics to dst.
func (r *Report) MergeInto(dst *stats.Interval) error {
	if r.Encoded != nil {
		return r.Encoded.MergeInto(dst)
	}
	dst.Merge(r.Interval)
	return nil
}

// Ack acknowledges every report up to and including Seq.
type Ack struct{ Seq uint64 }

// Heartbeat is sent both ways every HeartbeatInterval; Status is the
// worker's (zero from the master).
type Heartbeat struct{ Status Status }

// Goodbye is a worker's last message when it shuts down cleanly: the
// master says "worker left" (rather than "worker lost", for one that
// vanished) and gives its users to the other workers at once.
type Goodbye struct{ Reason string }

// Quit tells a worker to stop its users and exit (the master is shutting down).
type Quit struct{ Reason string }

// WorkerMessage is one message from a worker: exactly one field is set.
type WorkerMessage struct {
	Join      *Join
	Report    *Report
	Heartbeat *Heartbeat
	Lease     *LeaseRequest
	Return    *LeaseReturn
	Goodbye   *Goodbye
}

// MasterMessage is one message from a master: exactly one field is set.
type MasterMessage struct {
	Welcome    *Welcome
	Refusal    *Refusal
	Assignment *Assignment
	Ack        *Ack
	Heartbeat  *Heartbeat
	Quit       *Quit
	Lease      *Lease
	Recall     *Recall
}

// WorkerConn is a worker's end of a session. Send and Recv may be called
// from different goroutines, but Send from one goroutine at a time.
type WorkerConn interface {
	Send(*WorkerMessage) error
	Recv() (*MasterMessage, error)
	Close() error
}

// MasterConn is a master's end of a session. The session ends when the
// Acceptor's Accept returns.
type MasterConn interface {
	Send(*MasterMessage) error
	Recv() (*WorkerMessage, error)
	Peer() string // the worker's address, for logs
}

// Dialer opens sessions to a master.
type Dialer interface {
	Dial(ctx context.Context) (WorkerConn, error)
}

// Acceptor serves one worker session until it ends. *master.Master is one.
type Acceptor interface {
	Accept(ctx context.Context, conn MasterConn) error
}

// RefusedError is a master's refusal of a worker; retrying cannot help.
type RefusedError struct{ Refusal Refusal }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused by master (horde %s, protocol %d): %s", e.Refusal.MasterVersion, e.Refusal.MasterProtocol, e.Refusal.Reason)
}

// ErrClosed is returned by a Pipe's ends once either is closed.
var ErrClosed = errors.New("cluster: connection closed")

// CheckJoin returns why a master of version and protocol must refuse j, or
// "" to admit it. The token is checked before, by CheckToken.
func CheckJoin(j *Join, version string, protocol int) string {
	if j.Protocol != protocol || j.Version != version {
		return fmt.Sprintf("version mismatch: worker %s is horde %s (protocol %d), master is horde %s (protocol %d); run the same horde version on both",
			j.WorkerID, j.Version, j.Protocol, version, protocol)
	}
	return ""
}

// CheckToken returns why a master expecting token must refuse j, or "" to
// admit it (always, when token is ""). The comparison takes the same time
// wherever the tokens differ, and whatever their lengths: it compares
// SHA-256 digests with subtle.ConstantTimeCompare.
func CheckToken(j *Join, token string) string {
	if token == "" {
		return ""
	}
	got, want := sha256.Sum256([]byte(j.Token)), sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
		return ""
	}
	if j.Token == "" {
		return fmt.Sprintf("worker %s has no worker token; the master requires one (--worker-token or HORDE_WORKER_TOKEN)", j.WorkerID)
	}
	return fmt.Sprintf("worker %s gave a wrong worker token (--worker-token or HORDE_WORKER_TOKEN)", j.WorkerID)
}

// RunSpec is what a start (or an edit of a running test) asks of a master.
type RunSpec struct {
	Users     int
	SpawnRate float64
	Host      string        // "" keeps the configured host
	RunTime   time.Duration // 0: until stopped
	// Iterations, when > 0, ends each user after that many task iterations
	// (-i); the run ends when every user has.
	Iterations int
	// Classes, when set, limits the run to the user classes so named
	// (Locust's positional class names and --class-picker); an edit that
	// names none keeps them.
	Classes []string
}

// WorkerInfo is a worker as the master sees it, for the web UI, the API and logs.
type WorkerInfo struct {
	ID            string
	Host          string // the worker's hostname
	Addr          string // where it connects from
	Index         int    // in join order
	State         State  // ready, spawning, running, stopping, disconnected, missing
	Users         int
	ClassUsers    []int
	CPUPercent    float64
	MemoryBytes   uint64
	LastHeartbeat time.Time
	Local         bool // the standalone master's in-process worker
}

// Worker states the master adds to the ones workers report.
const (
	WorkerDisconnected State = "disconnected"
	WorkerMissing      State = "missing"
	// WorkerLeft is a worker that said goodbye: it shut down cleanly.
	WorkerLeft State = "left"
)

// Gone reports whether a worker in state s is out of the run: lost
// (missing) or left.
func (s State) Gone() bool { return s == WorkerMissing || s == WorkerLeft }
