package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/grpcload"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// userAgent is sent unless a scenario sets its own User-Agent.
const userAgent = "horde"

// PlanClasses turns a compiled scenario into user classes for the engine.
// host is the base URL for relative request URLs (the plan's host or -H).
func PlanClasses(p *scenario.Plan, host string) []horde.Class {
	host = strings.TrimSuffix(host, "/")
	classes := make([]horde.Class, 0, len(p.Classes))
	tr := transports{}
	for _, c := range p.Classes {
		if c.New != nil { // a script's user class (internal/script)
			classes = append(classes, horde.Class{Name: c.Name, Weight: c.Weight, Count: c.Count, Wait: c.Wait, New: c.New})
			continue
		}
		pc := &planClass{plan: p, class: c, host: host}
		pc.onStart = tr.compileSteps(c.OnStart, host)
		pc.onStop = tr.compileSteps(c.OnStop, host)
		for _, t := range c.Tasks {
			pc.tasks = append(pc.tasks, tr.compileSteps(t.Steps, host))
			pc.scripts = append(pc.scripts, t.Script)
			pc.total += t.Weight
			pc.cumulative = append(pc.cumulative, pc.total)
		}
		classes = append(classes, horde.Class{
			Name:   c.Name,
			Weight: c.Weight,
			Count:  c.Count,
			Wait:   c.Wait,
			New:    pc.newUser,
		})
	}
	return classes
}

// planClass holds what every user of a class shares: its steps, prepared once.
type planClass struct {
	plan       *scenario.Plan
	class      *scenario.Class
	host       string
	onStart    []*step
	tasks      [][]*step
	scripts    []*scenario.Script // per task: the script function it runs, or nil
	cumulative []int              // running sum of task weights
	total      int
	onStop     []*step
}

// step is a scenario step with what can be computed once: the full URL and
// the statistics name when they do not depend on the user.
type step struct {
	*scenario.Step
	staticURL  []byte // host + path when the URL is static and has no query params
	staticName string // the name when it does not depend on the rendered URL
	header     []header
	hasUA      bool
	hasCT      bool
	acceptEnc  bool // send Accept-Encoding: httpload.AcceptEncoding
	transport  *httpload.Transport
	// extra is set when the step sends basic auth built from templates or
	// cookies of its own, so that other steps test one flag for both.
	extra bool
	// plain: the step's request is the same every time (static URL
	// without query parameters, static headers, no body, no extras), so
	// a user that runs it again sends the request it built last time, and
	// the client the bytes it wrote (httpload.Call.Static).
	plain bool
	grpc  *grpcStep // a gRPC step's target (grpc.go)
}

// transports maps the scenario's transports to the client's, one for one,
// so that steps alike share connections.
type transports map[*scenario.Transport]*httpload.Transport

func (m transports) get(t *scenario.Transport) *httpload.Transport {
	if t == nil {
		return nil
	}
	if ht, ok := m[t]; ok {
		return ht
	}
	ht := &httpload.Transport{TLS: t.TLS}
	switch t.HTTP2 {
	case "false":
		ht.HTTP2 = httpload.HTTP2Off
	case "true":
		ht.HTTP2 = httpload.HTTP2On
	case "h2c":
		ht.HTTP2 = httpload.HTTP2Cleartext
	}
	switch t.Proxy {
	case scenario.ProxyEnv:
		ht.Proxy = httpload.EnvProxy()
	case scenario.ProxyURL:
		ht.Proxy = httpload.FixedProxy(t.ProxyAddr)
	}
	m[t] = ht
	return ht
}

var acceptEncodingKey, acceptEncoding = []byte("Accept-Encoding"), []byte(httpload.AcceptEncoding)

type header struct {
	name   string
	static []byte // nil when templated
	value  *scenario.Template
}

func (m transports) compileSteps(steps []*scenario.Step, host string) []*step {
	out := make([]*step, 0, len(steps))
	for _, s := range steps {
		st := &step{Step: s, staticName: s.Name, extra: s.BasicUser != nil || len(s.Cookies) > 0,
			acceptEnc: s.Compression, transport: m.get(s.Transport)}
		if s.GRPC != nil {
			st.grpc = newGRPCStep(s, host)
			out = append(out, st)
			continue
		}
		if u, ok := s.URL.Static(); ok {
			if len(s.Query) == 0 {
				st.staticURL = []byte(absURL(host, u))
			}
			if st.staticName == "" {
				st.staticName = httpload.PathOf(u)
			}
		}
		for _, h := range s.Header {
			hd := header{name: h.Name, value: h.Value}
			if v, ok := h.Value.Static(); ok {
				hd.static = []byte(v)
			}
			st.header = append(st.header, hd)
			switch strings.ToLower(h.Name) {
			case "user-agent":
				st.hasUA = true
			case "content-type":
				st.hasCT = true
			case "accept-encoding":
				st.acceptEnc = false
			}
		}
		st.plain = st.staticURL != nil && !st.extra && s.Body == nil
		for _, h := range st.header {
			st.plain = st.plain && h.static != nil
		}
		out = append(out, st)
	}
	return out
}

func (pc *planClass) newUser() horde.User {
	return &planUser{pc: pc, vars: make(scenario.Vars)}
}

// planUser runs a scenario class for one virtual user.
type planUser struct {
	pc   *planClass
	vars scenario.Vars
	env  scenario.Env
	next int // next task index for sequential classes
	body []byte
	path []byte
	// timer waits in sleep steps (nil until the first); exhausted marks a
	// unique per_iteration feeder that ran out.
	timer     *time.Timer
	exhausted bool
	// proto holds the user's WebSocket connections and event streams' IDs (proto.go).
	proto *protoState
	// mqtt holds the user's MQTT connections by conn: name (mqtt.go).
	mqtt map[string]*mqttConn
	// ctx is the context of the steps running (gRPC calls take it), and
	// grpcConns the user's gRPC connections, closed when it stops.
	ctx       context.Context
	grpcConns grpcload.Conns
	// started marks an on_start that ran to its end (its steps sent,
	// passed or not): only such a user runs its on_stop steps.
	started bool
}

var _ horde.User = (*planUser)(nil)

func (p *planUser) OnStart(ctx context.Context, vu horde.VU) error {
	u := vu.(*vuser)
	sh := u.e.cfg.Shared
	p.env = scenario.Env{Vars: p.vars, Rand: u.rand, UserID: u.id}
	if sh != nil {
		p.env.Seq = sh.Seq
	}
	for k, v := range u.e.cfg.Vars {
		p.vars[k] = v
	}
	if _, err := p.feed(ctx, u, p.pc.class.Feeds); err != nil {
		return err
	}
	err := p.runSteps(ctx, u, p.pc.onStart)
	p.started = !errors.Is(err, httpload.ErrStopped) && !errors.Is(err, context.Canceled)
	return err
}

// nextRow takes f's next row for u: leased from the master in a
// distributed run (unique and sequential feeders), else the process's own.
func nextRow(ctx context.Context, u *vuser, f *scenario.Feeder) (map[string]string, bool, error) {
	sh := u.e.cfg.Shared
	if sh == nil || f.Mode() == scenario.FeedRandom {
		row, ok := f.Next(u.rand)
		return row, ok, nil
	}
	i, ok, err := sh.Row(ctx, f.Name)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, httpload.ErrStopped
		}
		return nil, false, fmt.Errorf("feeder %q: %w", f.Name, err)
	}
	if !ok {
		return nil, false, nil
	}
	return f.Row(i), true, nil
}

// feedIteration stores the next row of each per_iteration feeder. A user
// whose unique feeder has run out reports it once, then idles until it is
// stopped rather than spinning through failing tasks.
func (p *planUser) feedIteration(ctx context.Context, u *vuser) error {
	if p.exhausted {
		<-ctx.Done()
		return httpload.ErrStopped
	}
	exhausted, err := p.feed(ctx, u, p.pc.class.IterationFeeds)
	p.exhausted = exhausted
	return err
}

// feed stores the next row of each named feeder in the user's variables;
// exhausted reports a feeder that has run out (also an error).
func (p *planUser) feed(ctx context.Context, u *vuser, names []string) (exhausted bool, err error) {
	for _, name := range names {
		f := p.pc.plan.Feeders[name]
		if f == nil {
			return false, fmt.Errorf("feeder %q not defined", name)
		}
		row, ok, err := nextRow(ctx, u, f)
		if err != nil {
			return false, err
		}
		if !ok {
			return true, fmt.Errorf("feeder %q: no rows left", name)
		}
		p.vars[name] = row
	}
	return false, nil
}

func (p *planUser) Task(ctx context.Context, vu horde.VU) error {
	u := vu.(*vuser)
	pc := p.pc
	if len(pc.tasks) == 0 {
		return errors.New("class has no tasks")
	}
	if len(pc.class.IterationFeeds) > 0 {
		if err := p.feedIteration(ctx, u); err != nil {
			return err
		}
	}
	var i int
	if pc.class.Sequential {
		i = p.next
		p.next = (p.next + 1) % len(pc.tasks)
	} else {
		r := u.rand.IntN(pc.total)
		for i = 0; pc.cumulative[i] <= r; i++ {
		}
	}
	if sc := pc.scripts[i]; sc != nil {
		if sc.Run == nil {
			return fmt.Errorf("%s: script %s of %s was not loaded", sc.Pos, sc.Name, sc.File)
		}
		return sc.Run(ctx, u, p.vars)
	}
	return p.runSteps(ctx, u, pc.tasks[i])
}

func (p *planUser) OnStop(ctx context.Context, vu horde.VU) error {
	defer p.grpcConns.Close()
	for _, v := range p.vars {
		if s, ok := v.(interface{ UserStopped() }); ok { // a script task's runner (its gRPC connections)
			defer s.UserStopped()
		}
	}
	// A user stopped in the middle of its on_start (spawned as the run
	// ended) has not logged in, and does not log out: the seed's on_stop
	// guards its logout with `if self.token:`, which a YAML class cannot
	// say. A script's on_stop runs as Locust's does, and guards itself.
	var err error
	if p.started {
		err = p.runSteps(ctx, vu.(*vuser), p.pc.onStop)
	}
	p.closeProto(vu.(*vuser)) // WebSocket connections left open (proto.go)
	p.closeMQTT(vu.(*vuser))  // MQTT connections left open (mqtt.go)
	return err
}

func (p *planUser) runSteps(ctx context.Context, u *vuser, steps []*step) error {
	p.ctx = ctx
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return httpload.ErrStopped
		}
		if s.Sleep {
			if err := p.sleep(ctx, u, s); err != nil {
				return err
			}
			continue
		}
		var failed bool
		var err error
		if s.WS != nil || s.SSE != nil { // WebSocket, SSE (proto.go)
			failed, err = p.runProto(ctx, u, s)
		} else if s.MQTT != nil { // MQTT (mqtt.go)
			failed, err = p.runMQTT(ctx, u, s)
		} else {
			failed, err = p.run(u, s)
		}
		if err != nil {
			return err
		}
		if failed && s.StopOnFailure {
			return nil
		}
	}
	return nil
}

// sleep is a think-time step: a uniform pause in [SleepMin, SleepMax], cut
// short when ctx is done.
func (p *planUser) sleep(ctx context.Context, u *vuser, s *step) error {
	d := s.SleepMin
	if s.SleepMax > s.SleepMin {
		d += time.Duration(u.rand.Int64N(int64(s.SleepMax-s.SleepMin) + 1))
	}
	if d <= 0 {
		return nil
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return nil
	case <-ctx.Done():
		p.timer.Stop()
		return httpload.ErrStopped
	}
}

// run sends one step's request and records it. It returns an error only for
// problems of the scenario itself (a template that cannot render) or a stop;
// request failures are recorded, not returned: failed reports them.
func (p *planUser) run(u *vuser, s *step) (failed bool, err error) {
	if s.grpc != nil {
		return p.runGRPC(u, s)
	}
	again := s.plain && u.built == s && u.req != nil // req is this step's, as it was sent
	req, resp := u.scratch()
	name := s.staticName
	if !again {
		if name, err = p.build(u, s, req, name); err != nil {
			return false, err
		}
	}
	var sent string // the URL as the step sends it, before any redirect (traced only)
	if u.e.cfg.Trace != nil {
		sent = string(req.URI().FullURI())
	}
	res, err := u.client.Do(req, resp, httpload.Call{Transport: s.transport, Timeout: s.Timeout, NoRedirect: s.NoRedirect,
		Static: s.plain, Same: again})
	if s.plain && !res.Changed {
		u.built = s
	}
	took := res.Took
	if err != nil {
		if errors.Is(err, httpload.ErrStopped) {
			return false, err
		}
		smp := stats.Sample{Method: s.Method, Name: name, Duration: took, Failure: err.Error()}
		withPhases(&smp, &res.Phases)
		u.record(smp)
		if u.e.cfg.Trace != nil {
			u.trace(&Exchange{Method: s.Method, URL: sent, Name: name, Took: took, Err: err.Error(), Failure: err.Error(), Pos: s.Pos})
		}
		return true, nil
	}
	u.took = took
	if u.e.cfg.Trace != nil {
		ev := s.TraceChecks(response{u}, p.vars, u.RecordCheck)
		smp := stats.Sample{Method: s.Method, Name: name, Duration: took, Bytes: int64(len(resp.Body())), WireBytes: int64(res.WireSize), Failure: ev.Failure}
		withPhases(&smp, &res.Phases)
		u.record(smp)
		x := &Exchange{Method: s.Method, URL: sent, Name: name, Took: took, Status: resp.StatusCode(), Failure: ev.Failure, Eval: &ev, Pos: s.Pos}
		if final := string(req.URI().FullURI()); final != sent {
			x.FinalURL = final
		}
		u.trace(x)
		return ev.Failure != "", nil
	}
	failure := s.EvaluateChecks(response{u}, p.vars, u.RecordCheck)
	smp := stats.Sample{Method: s.Method, Name: name, Duration: took, Bytes: int64(len(resp.Body())), WireBytes: int64(res.WireSize), Failure: failure}
	withPhases(&smp, &res.Phases)
	u.record(smp)
	return failure != "", nil
}

// build builds s's request in req and returns its statistics name
// (name, or the rendered path when name is empty).
func (p *planUser) build(u *vuser, s *step, req *fasthttp.Request, name string) (string, error) {
	var err error
	req.Reset()
	req.Header.SetMethod(s.Method)

	if s.staticURL != nil {
		req.SetRequestURIBytes(s.staticURL)
	} else {
		p.path, err = s.URL.Append(p.path[:0], &p.env)
		if err != nil {
			return name, fmt.Errorf("%s:%d: url: %w", s.Pos.File, s.Pos.Line, err)
		}
		if name == "" {
			name = httpload.PathOf(string(p.path))
		}
		u.buf = u.buf[:0]
		if !hasScheme(p.path) {
			u.buf = append(u.buf, p.pc.host...)
			if len(p.path) == 0 || p.path[0] != '/' {
				u.buf = append(u.buf, '/')
			}
		}
		u.buf = append(u.buf, p.path...)
		sep := byte('?')
		if containsByte(p.path, '?') {
			sep = '&'
		}
		for _, q := range s.Query {
			u.buf = append(u.buf, sep)
			sep = '&'
			u.buf = httpload.AppendQueryEscape(u.buf, q.Name)
			u.buf = append(u.buf, '=')
			p.body, err = q.Value.Append(p.body[:0], &p.env)
			if err != nil {
				return name, fmt.Errorf("%s:%d: query %s: %w", s.Pos.File, s.Pos.Line, q.Name, err)
			}
			u.buf = httpload.AppendQueryEscape(u.buf, string(p.body))
		}
		req.SetRequestURIBytes(u.buf)
	}

	for _, h := range s.header {
		if h.static != nil {
			req.Header.SetBytesV(h.name, h.static)
			continue
		}
		p.body, err = h.value.Append(p.body[:0], &p.env)
		if err != nil {
			return name, fmt.Errorf("%s:%d: header %s: %w", s.Pos.File, s.Pos.Line, h.name, err)
		}
		req.Header.SetBytesV(h.name, p.body)
	}
	if !s.hasUA {
		req.Header.SetUserAgent(userAgent)
	}
	if s.acceptEnc {
		req.Header.SetCanonical(acceptEncodingKey, acceptEncoding)
	}
	if s.extra {
		if err := p.extras(req, s); err != nil {
			return name, err
		}
	}
	if s.Body != nil {
		p.body, err = s.Body.Append(p.body[:0], &p.env)
		if err != nil {
			return name, fmt.Errorf("%s:%d: body: %w", s.Pos.File, s.Pos.Line, err)
		}
		req.SetBodyRaw(p.body)
		if s.ContentType != "" && !s.hasCT {
			req.Header.SetContentType(s.ContentType)
		}
	}

	return name, nil
}

// extras sets what only some steps send: basic auth from templates, and
// the step's own cookies.
func (p *planUser) extras(req *fasthttp.Request, s *step) error {
	var err error
	if s.BasicUser != nil {
		p.body, err = s.BasicUser.Append(p.body[:0], &p.env)
		if err != nil {
			return fmt.Errorf("%s:%d: auth: %w", s.Pos.File, s.Pos.Line, err)
		}
		p.body = append(p.body, ':')
		p.body, err = s.BasicPass.Append(p.body, &p.env)
		if err != nil {
			return fmt.Errorf("%s:%d: auth: %w", s.Pos.File, s.Pos.Line, err)
		}
		n := base64.StdEncoding.EncodedLen(len(p.body))
		p.path = append(p.path[:0], "Basic "...)
		p.path = slices.Grow(p.path, n)[:6+n]
		base64.StdEncoding.Encode(p.path[6:], p.body)
		req.Header.SetBytesV("Authorization", p.path)
	}
	for _, c := range s.Cookies {
		p.body, err = c.Value.Append(p.body[:0], &p.env)
		if err != nil {
			return fmt.Errorf("%s:%d: cookie %s: %w", s.Pos.File, s.Pos.Line, c.Name, err)
		}
		req.Header.SetCookieBytesKV([]byte(c.Name), p.body)
	}
	return nil
}

func hasScheme(b []byte) bool {
	return len(b) > 7 && (string(b[:7]) == "http://" || (len(b) > 8 && string(b[:8]) == "https://"))
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// response shows a user's last response to checks and captures. It holds
// one pointer so that it fits in the Response interface without allocating.
type response struct{ u *vuser }

var _ scenario.Response = response{}

func (r response) Status() int               { return r.u.resp.StatusCode() }
func (r response) Body() []byte              { return r.u.resp.Body() }
func (r response) Header(name string) string { return string(r.u.resp.Header.Peek(name)) }
func (r response) Duration() time.Duration   { return r.u.took }

// Cookie returns the value of the last Set-Cookie of that name.
func (r response) Cookie(name string) (string, bool) {
	var v string
	found := false
	r.u.resp.Header.VisitAllCookie(func(key, value []byte) {
		if string(key) != name {
			return
		}
		c := fasthttp.AcquireCookie()
		if c.ParseBytes(value) == nil {
			v, found = string(c.Value()), true
		}
		fasthttp.ReleaseCookie(c)
	})
	return v, found
}
