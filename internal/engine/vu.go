package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/stats"
)

// vuser is one virtual user. Everything in it belongs to the goroutine
// running the user (a closed-model user in a long wait has none: a timer
// resumes it, see Engine.park) except stop, which the engine closes, parked
// and wake, which pass the user between goroutines, and cut, which the
// engine calls to cut the user's task off.
type vuser struct {
	e      *Engine
	id     int
	class  int
	rand   *rand.Rand
	client *httpload.Client

	impl       horde.User
	taskCtx    context.Context    // of on_start and tasks
	cancelTask context.CancelFunc // cancels taskCtx
	stop       chan struct{}
	iter       int         // task iterations started
	wake       *time.Timer // resumes the user after a long wait (park); made at the first
	parked     atomic.Bool // waiting on wake, with no goroutine
	cutMu      sync.Mutex  // guards tasksOver against cut
	tasksOver  bool        // on_stop has begun: cut no longer aborts the client

	// open model: open marks a user of the open-model executor; lag is how
	// late its current iteration started, added to the iteration's first
	// request (later ones follow it immediately, so they carry no lag).
	open bool
	lag  time.Duration

	finished bool // ran its Config.Iterations (set by its own goroutine)

	// scratch reused by every request of this user, borrowed from
	// fasthttp's pools on the first request and given back when the user
	// parks for a long wait (unless pinned: a script holds them)
	req    *fasthttp.Request
	resp   *fasthttp.Response
	pinned bool
	took   time.Duration // how long resp took, for checks
	buf    []byte
	// built is the step whose request req holds, as run built it and the
	// client left it (nil: none, or req was handed out since): a plain
	// step run again sends it as it is (plan.go, step.plain).
	built *step

	failure string // of the last request recorded (RunOnce reads it)
}

var _ horde.VU = (*vuser)(nil)

// newVU returns a user and the context of its on_start and tasks, derived
// from ctx (the engine's) and cancelled by u.cancelTask.
func newVU(ctx context.Context, e *Engine, id, class int) (*vuser, context.Context) {
	taskCtx, cancelTask := context.WithCancel(ctx)
	u := &vuser{
		e:          e,
		id:         id,
		class:      class,
		rand:       seedFor(id),
		client:     httpload.New(e.cfg.HTTP),
		taskCtx:    taskCtx,
		cancelTask: cancelTask,
		stop:       make(chan struct{}),
	}
	return u, taskCtx
}

// scratch returns the user's request and response, borrowing them first
// if the user holds none.
func (u *vuser) scratch() (*fasthttp.Request, *fasthttp.Response) {
	u.built = nil // whoever asks may change req
	if u.req == nil {
		u.req, u.resp = fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	}
	return u.req, u.resp
}

// dropScratch gives the request and response back to their pools (a user
// about to wait long, or ending), unless a script holds them.
func (u *vuser) dropScratch() {
	u.client.Idle()
	if u.req == nil || u.pinned {
		return
	}
	u.built = nil
	fasthttp.ReleaseRequest(u.req)
	fasthttp.ReleaseResponse(u.resp)
	u.req, u.resp = nil, nil
}

// cut cuts the user's task off: its context is cancelled and, unless its
// on_stop has begun, the request in flight fails with ErrStopped at once
// and so do later ones of its tasks. It is the engine's, called once the
// stop timeout expired, from any goroutine.
func (u *vuser) cut() {
	u.cancelTask()
	u.cutMu.Lock()
	if !u.tasksOver {
		u.client.Abort()
	}
	u.cutMu.Unlock()
}

// endTasks marks the user's tasks over: from now on cut does not abort its
// client (on_stop sends on a fresh connection after client.Reset).
func (u *vuser) endTasks() {
	u.cutMu.Lock()
	u.tasksOver = true
	u.cutMu.Unlock()
}

func (u *vuser) stopped() bool {
	select {
	case <-u.stop:
		return true
	default:
		return false
	}
}

func (u *vuser) ID() int          { return u.id }
func (u *vuser) Rand() *rand.Rand { return u.rand }
func (u *vuser) Host() string     { return u.e.cfg.Host }

// Record implements horde.VU.
func (u *vuser) Record(s horde.Sample) {
	u.record(stats.Sample{Method: s.Method, Name: s.Name, Duration: s.Duration, Bytes: s.Bytes, WireBytes: s.Bytes, Failure: s.Failure})
}

// RecordPhased records s with the phases and message sizes of the
// exchange it is about (from LastPhases): how a script records a request
// it sent through Exchange.
func (u *vuser) RecordPhased(s horde.Sample, p httpload.Phases) {
	smp := stats.Sample{Method: s.Method, Name: s.Name, Duration: s.Duration, Bytes: s.Bytes, WireBytes: s.Bytes, Failure: s.Failure}
	withPhases(&smp, &p)
	u.record(smp)
}

// RecordCheck counts one evaluation of the check named name (a YAML
// step's check, a script's check()) in the checks summary.
func (u *vuser) RecordCheck(name string, ok bool) {
	u.e.cfg.Recorder.RecordCheck(u.id, name, ok)
}

// LastPhases returns the phases of the user's last exchange.
func (u *vuser) LastPhases() httpload.Phases { return u.client.Phases() }

// withPhases copies what the client measured of a request into its sample.
func withPhases(s *stats.Sample, p *httpload.Phases) {
	s.SentBytes, s.RecvBytes = p.Sent, p.Received
	s.Connecting, s.TLSHandshaking, s.Dialed = p.Connecting, p.TLSHandshaking, p.Dialed
	s.Waiting, s.Receiving, s.Answered = p.Waiting, p.Receiving, p.Answered
}

// record records one request; in the open model it is timed from the
// iteration's intended start as well (the first request carries the lag).
func (u *vuser) record(s stats.Sample) {
	u.failure = s.Failure
	if u.open {
		s.Corrected, s.Lag = true, u.lag
		u.lag = 0
	}
	u.e.cfg.Recorder.Record(u.id, &s)
}

// Exchange sends req over the user's own client (its keep-alive
// connections and cookie jar) into resp without recording it: scripts
// (internal/script) build the request, then Record the sample themselves,
// so that their requests cost what a YAML step costs. timeout 0 means the
// client's default.
func (u *vuser) Exchange(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) (time.Duration, error) {
	r, err := u.client.Do(req, resp, httpload.Call{Timeout: timeout})
	return r.Took, err
}

// Scratch returns the user's request and response buffers, for a script
// (internal/script) to build its requests in and Exchange them with: one
// set per user, whatever drives it.
// The script keeps them, so they stay the user's for its life.
func (u *vuser) Scratch() (*fasthttp.Request, *fasthttp.Response) {
	u.pinned = true
	return u.scratch()
}

// Do implements horde.VU for Go users.
func (u *vuser) Do(ctx context.Context, r *horde.Request) (*horde.Response, error) {
	req, resp := u.scratch()
	req.Reset()
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req.Header.SetMethod(method)
	full := absURL(u.e.cfg.Host, r.URL)
	req.SetRequestURI(full)
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if len(r.Body) > 0 {
		req.SetBodyRaw(r.Body)
	}
	name := r.Name
	if name == "" {
		name = httpload.PathOf(r.URL)
	}
	if ctx.Err() != nil {
		return nil, httpload.ErrStopped
	}
	res, err := u.client.Do(req, resp, httpload.Call{Timeout: r.Timeout})
	took := res.Took
	if err != nil {
		if errors.Is(err, httpload.ErrStopped) {
			return nil, err
		}
		u.RecordPhased(horde.Sample{Method: method, Name: name, Duration: took, Failure: err.Error()}, res.Phases)
		if u.e.cfg.Trace != nil {
			u.trace(&Exchange{Method: method, URL: full, Name: name, Took: took, Err: err.Error(), Failure: err.Error()})
		}
		return nil, err
	}
	out := &horde.Response{
		Status:   resp.StatusCode(),
		Header:   make(http.Header),
		Body:     append([]byte(nil), resp.Body()...),
		Duration: took,
	}
	resp.Header.VisitAll(func(k, v []byte) {
		out.Header.Add(string(k), string(v))
	})
	failure := ""
	if out.Status >= 400 {
		failure = statusFailure(out.Status)
	}
	u.RecordPhased(horde.Sample{Method: method, Name: name, Duration: took, Bytes: int64(len(out.Body)), Failure: failure}, res.Phases)
	if u.e.cfg.Trace != nil {
		u.trace(&Exchange{Method: method, URL: full, Name: name, Took: took, Status: out.Status, Failure: failure})
	}
	return out, nil
}

func statusFailure(code int) string {
	return "HTTP " + strconv.Itoa(code) + " " + http.StatusText(code)
}

// absURL joins a relative URL to host.
func absURL(host, u string) string {
	if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		return u
	}
	host = strings.TrimSuffix(host, "/")
	if !strings.HasPrefix(u, "/") {
		u = "/" + u
	}
	return host + u
}
