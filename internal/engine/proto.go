package engine

// This file runs the WebSocket and server-sent events steps of a scenario
// (internal/scenario/parse_ws.go) with internal/wsload and internal/sse,
// recording them through the user's recorder like its HTTP requests
// (docs/protocols.md names the statistics).

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/sse"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/wsload"
)

// protoState is what a user keeps between its WebSocket and SSE steps.
type protoState struct {
	conns  map[string]*openConn // by conn: name
	lastID map[string]string    // an event stream's last event ID, by its name
}

type openConn struct {
	c     *wsload.Conn
	label string // the statistics label of its connect step
}

// msg shows a WebSocket message or an SSE event's data to checks and captures.
type msg struct {
	data []byte
	took time.Duration
}

var _ scenario.Response = msg{}

func (m msg) Status() int                  { return 0 }
func (m msg) Body() []byte                 { return m.data }
func (m msg) Header(string) string         { return "" }
func (m msg) Cookie(string) (string, bool) { return "", false }
func (m msg) Duration() time.Duration      { return m.took }

// timeout is the engine's default for a step without one.
func (u *vuser) timeout() time.Duration {
	if t := u.e.cfg.HTTP.Timeout; t > 0 {
		return t
	}
	return httpload.DefaultTimeout
}

func (p *planUser) protoState() *protoState {
	if p.proto == nil {
		p.proto = &protoState{conns: map[string]*openConn{}, lastID: map[string]string{}}
	}
	return p.proto
}

// runProto runs a WebSocket or SSE step: failed reports a failure that was
// recorded; err a problem of the scenario or a stop.
func (p *planUser) runProto(ctx context.Context, u *vuser, s *step) (failed bool, err error) {
	st := p.protoState()
	if s.SSE != nil {
		return p.runSSE(ctx, u, s, st)
	}
	ws := s.WS
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = u.timeout()
	}
	oc := st.conns[ws.Conn]
	if oc != nil && ws.Action != scenario.WSConnect && ws.Action != scenario.WSClose {
		if oc.c.Closed() { // dropped since the last step
			p.endConn(u, ws.Conn, oc.c.Err())
			oc = nil
		}
	}
	name := func(def string) string {
		if s.Name != "" {
			return s.Name
		}
		return def
	}
	if oc == nil && ws.Action != scenario.WSConnect {
		if ws.Action == scenario.WSClose {
			return false, nil // nothing to close
		}
		f := "websocket " + ws.Conn + " is not connected"
		u.recordProto(stats.Sample{Method: "WS", Name: name(ws.Action), Failure: f})
		return true, nil
	}
	switch ws.Action {
	case scenario.WSConnect:
		if oc != nil {
			if !oc.c.Closed() {
				return false, nil // open: a task may start with its connect
			}
			p.endConn(u, ws.Conn, oc.c.Err())
		}
		return p.wsConnect(ctx, u, s, st, timeout)
	case scenario.WSSend:
		p.body, err = ws.Message.Append(p.body[:0], &p.env)
		if err != nil {
			return false, fmt.Errorf("%s:%d: ws_send: %w", s.Pos.File, s.Pos.Line, err)
		}
		n := name("send")
		start := time.Now()
		if err := oc.c.Send(ctx, ws.Binary, p.body, timeout); err != nil {
			return p.wsFail(ctx, u, ws.Conn, n, time.Since(start), err)
		}
		if !ws.Expect {
			u.recordProto(stats.Sample{Method: "WS", Name: n, Duration: time.Since(start), Bytes: int64(len(p.body)), WireBytes: int64(len(p.body))}, p.body)
			return false, nil
		}
		return p.wsAwait(ctx, u, s, oc, n, start, timeout, p.body)
	case scenario.WSReceive:
		return p.wsAwait(ctx, u, s, oc, name("receive"), time.Now(), timeout, nil)
	case scenario.WSPing:
		took, err := oc.c.Ping(ctx, timeout)
		if err != nil {
			return p.wsFail(ctx, u, ws.Conn, name("ping"), took, err)
		}
		u.recordProto(stats.Sample{Method: "WS", Name: name("ping"), Duration: took})
		return false, nil
	case scenario.WSClose:
		cerr := oc.c.Close(ws.Code, ws.Reason, timeout)
		p.recordSession(u, oc, cerr)
		delete(st.conns, ws.Conn)
		return cerr != nil, nil
	}
	return false, fmt.Errorf("%s:%d: unknown websocket action %q", s.Pos.File, s.Pos.Line, ws.Action)
}

// stepURL renders the URL of a websocket or SSE step (what names it in
// the error) and gives the label of its samples: the step's name, or else
// the URL's path.
func (p *planUser) stepURL(s *step, what string) (raw, label string, err error) {
	b, err := s.URL.Append(p.path[:0], &p.env)
	if err != nil {
		return "", "", fmt.Errorf("%s:%d: %s: %w", s.Pos.File, s.Pos.Line, what, err)
	}
	raw = string(b)
	label = s.Name
	if label == "" {
		label = httpload.PathOf(raw)
	}
	return raw, label, nil
}

func (p *planUser) wsConnect(ctx context.Context, u *vuser, s *step, st *protoState, timeout time.Duration) (bool, error) {
	ws := s.WS
	raw, label, err := p.stepURL(s, "ws_connect url")
	if err != nil {
		return false, err
	}
	target := wsURL(p.pc.host, raw)
	h, err := p.handshakeHeader(u, s, ws.Header, ws.Cookies, target)
	if err != nil {
		return false, err
	}
	tr := s.transport
	o := wsload.Options{Header: h, Subprotocols: ws.Subprotocols, Dial: u.client.DialContext}
	if tr != nil {
		o.TLS, o.Proxy = tr.TLS, httpProxy(tr)
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	c, _, took, err := wsload.Dial(dctx, target, o)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, httpload.ErrStopped
		}
		u.recordProto(stats.Sample{Method: "WS", Name: "connect " + label, Duration: took, Failure: err.Error()})
		return true, nil
	}
	u.recordProto(stats.Sample{Method: "WS", Name: "connect " + label, Duration: took})
	st.conns[ws.Conn] = &openConn{c: c, label: label}
	return false, nil
}

// wsAwait waits for the message the step matches, timed from start (the
// send of a request–reply round trip, or the wait's start).
func (p *planUser) wsAwait(ctx context.Context, u *vuser, s *step, oc *openConn, name string, start time.Time, timeout time.Duration, sent []byte) (bool, error) {
	match := s.WS.Match
	m, skipped, err := oc.c.Wait(ctx, timeout, func(m wsload.Message) bool {
		return match.Matches(msg{data: m.Data, took: m.At.Sub(start)})
	})
	if err != nil {
		if errors.Is(err, wsload.ErrTimeout) {
			f := fmt.Sprintf("no message matched within %s", timeout)
			if skipped > 0 {
				f += fmt.Sprintf(" (%d others)", skipped)
			}
			u.recordProto(stats.Sample{Method: "WS", Name: name, Duration: time.Since(start), Failure: f})
			return true, nil
		}
		return p.wsFail(ctx, u, s.WS.Conn, name, time.Since(start), err)
	}
	took := max(m.At.Sub(start), 0) // 0: it had arrived before the wait began
	failure := s.Step.Capture(msg{data: m.Data, took: took}, p.vars)
	u.recordProto(stats.Sample{Method: "WS", Name: name, Duration: took, Bytes: int64(len(m.Data)), WireBytes: int64(len(m.Data)), Failure: failure}, sent, m.Data)
	return failure != "", nil
}

// wsFail records a failed operation on a connection; a connection that
// ended is closed and its session recorded.
func (p *planUser) wsFail(ctx context.Context, u *vuser, conn, name string, took time.Duration, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, httpload.ErrStopped
	}
	u.recordProto(stats.Sample{Method: "WS", Name: name, Duration: took, Failure: err.Error()})
	if oc := p.proto.conns[conn]; oc != nil {
		if oc.c.Closed() {
			p.endConn(u, conn, oc.c.Err())
		} else if !errors.Is(err, wsload.ErrTimeout) && strings.Contains(err.Error(), "timeout") {
			// a write that timed out leaves half a frame: the connection is gone
			oc.c.Abort()
			p.endConn(u, conn, err)
		}
	}
	return true, nil
}

func (p *planUser) endConn(u *vuser, conn string, err error) {
	oc := p.proto.conns[conn]
	if oc == nil {
		return
	}
	oc.c.Abort()
	p.recordSession(u, oc, err)
	delete(p.proto.conns, conn)
}

func (p *planUser) recordSession(u *vuser, oc *openConn, err error) {
	f := ""
	if err != nil {
		f = err.Error()
	}
	if d := oc.c.Dropped(); d > 0 && f == "" {
		f = strconv.Itoa(d) + " messages dropped unread (queue full)"
	}
	u.recordProto(stats.Sample{Method: "WS", Name: "session " + oc.label, Duration: time.Since(oc.c.Opened), Failure: f})
}

// closeProto closes what a stopping user left open, recording each
// connection's session.
func (p *planUser) closeProto(u *vuser) {
	if p.proto == nil {
		return
	}
	for name, oc := range p.proto.conns {
		cerr := oc.c.Close(1001, "user stopped", 2*time.Second)
		p.recordSession(u, oc, cerr)
		delete(p.proto.conns, name)
	}
}

// wsURL joins a relative URL to host, http becoming ws and https wss.
func wsURL(host, u string) string {
	if strings.HasPrefix(u, "ws://") || strings.HasPrefix(u, "wss://") {
		return u
	}
	full := absURL(host, u)
	switch {
	case strings.HasPrefix(full, "https://"):
		return "wss://" + full[len("https://"):]
	case strings.HasPrefix(full, "http://"):
		return "ws://" + full[len("http://"):]
	}
	return full
}

// handshakeHeader renders the headers of a WebSocket handshake or an
// event stream's request: the step's headers, horde's User-Agent unless
// one is given, and the cookies (the step's and the user's jar's).
func (p *planUser) handshakeHeader(u *vuser, s *step, header, own []scenario.Param, target string) (http.Header, error) {
	h := http.Header{}
	for _, prm := range header {
		v, err := prm.Value.Append(nil, &p.env)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: header %s: %w", s.Pos.File, s.Pos.Line, prm.Name, err)
		}
		h.Set(prm.Name, string(v))
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", userAgent)
	}
	cookies, err := p.cookieHeader(u, s, own, target)
	if err != nil {
		return nil, err
	}
	if cookies != "" {
		h.Set("Cookie", cookies)
	}
	return h, nil
}

// cookieHeader is the Cookie header of a handshake or stream request: the
// step's own cookies, then the user's jar's for target.
func (p *planUser) cookieHeader(u *vuser, s *step, own []scenario.Param, target string) (string, error) {
	var b strings.Builder
	for _, c := range own {
		v, err := c.Value.Append(nil, &p.env)
		if err != nil {
			return "", fmt.Errorf("%s:%d: cookie %s: %w", s.Pos.File, s.Pos.Line, c.Name, err)
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.Name + "=" + string(v))
	}
	if tu, err := url.Parse(target); err == nil {
		for _, c := range u.client.Cookies(tu) {
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(c.Name + "=" + c.Value)
		}
	}
	return b.String(), nil
}

func httpProxy(t *httpload.Transport) func(*http.Request) (*url.URL, error) {
	if t.Proxy == nil {
		return nil
	}
	return func(r *http.Request) (*url.URL, error) { return t.Proxy(r.URL) }
}

// runSSE reads an event stream until the step's end: events:, duration:
// or an until: event; each event is a sample named by its type.
func (p *planUser) runSSE(ctx context.Context, u *vuser, s *step, st *protoState) (bool, error) {
	sp := s.SSE
	raw, label, err := p.stepURL(s, "sse url")
	if err != nil {
		return false, err
	}
	target := absURL(p.pc.host, raw)
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = u.timeout()
	}
	h, err := p.handshakeHeader(u, s, s.Header, s.Cookies, target)
	if err != nil {
		return false, err
	}
	o := sse.Options{Header: h, Dial: u.client.DialContext}
	if tr := s.transport; tr != nil {
		o.TLS, o.Proxy = tr.TLS, httpProxy(tr)
	}
	if sp.Resume {
		o.LastEventID = st.lastID[label]
	}

	begin := time.Now()
	var end <-chan time.Time
	if sp.Duration > 0 {
		t := time.NewTimer(sp.Duration)
		defer t.Stop()
		end = t.C
	}
	events, reconnects := 0, 0
	failed := false
	finish := func(f string) (bool, error) {
		u.recordProto(stats.Sample{Method: "SSE", Name: "stream " + label, Duration: time.Since(begin), Failure: f})
		return failed || f != "", nil
	}
	for {
		start := time.Now()
		octx, cancel := context.WithCancel(ctx)
		hdr := time.AfterFunc(timeout, cancel) // the headers' timeout
		stream, _, err := sse.Open(octx, target, o)
		hdr.Stop()
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return false, httpload.ErrStopped
			}
			if octx.Err() != nil {
				err = errors.New("timeout")
			}
			u.recordProto(stats.Sample{Method: "SSE", Name: "connect " + label, Duration: time.Since(start), Failure: err.Error()})
			return finish("")
		}
		u.recordProto(stats.Sample{Method: "SSE", Name: "connect " + label, Duration: stream.Opened.Sub(start)})
		ch := stream.Run()
		last := start
		idle := time.NewTimer(timeout)
		done, reason := false, ""
	read:
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					break read
				}
				if !idle.Stop() {
					<-idle.C
				}
				idle.Reset(timeout)
				if events == 0 {
					u.recordProto(stats.Sample{Method: "SSE", Name: "first event " + label, Duration: ev.At.Sub(start)})
				}
				events++
				st.lastID[label] = ev.ID
				o.LastEventID = ev.ID
				m := msg{data: ev.Data, took: ev.At.Sub(last)}
				failure := s.Step.CheckFailure(m, u.RecordCheck)
				if sp.Until != nil && sp.Until.Matches(m) {
					if f := s.Step.Capture(m, p.vars); failure == "" {
						failure = f
					}
					done = true
				}
				u.recordProto(stats.Sample{Method: "SSE", Name: label + " " + ev.Type, Duration: ev.At.Sub(last), Bytes: int64(len(ev.Data)), WireBytes: int64(len(ev.Data)), Failure: failure}, nil, ev.Data)
				failed = failed || failure != ""
				last = ev.At
				if done || sp.Events > 0 && events >= sp.Events {
					done = true
					break read
				}
			case <-end:
				done = true
				break read
			case <-idle.C:
				reason = fmt.Sprintf("no event within %s", timeout)
				break read
			case <-ctx.Done():
				idle.Stop()
				stream.Close()
				cancel()
				return false, httpload.ErrStopped
			}
		}
		idle.Stop()
		stream.Close()
		cancel()
		for range ch { // let the reader end
		}
		if done {
			return finish("")
		}
		if reason == "" {
			reason = "stream ended"
			if e := stream.Err(); e != nil && e != io.EOF && !errors.Is(e, context.Canceled) {
				reason = "stream: " + e.Error()
			}
		}
		if reconnects >= sp.Reconnect {
			return finish(fmt.Sprintf("%s after %d events", reason, events))
		}
		reconnects++
		wait := stream.Retry
		if wait <= 0 {
			wait = time.Second
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return false, httpload.ErrStopped
		case <-end:
			return finish("")
		}
	}
}

// Cookies, DialContext and TLSConfig give a script user's WebSocket and
// SSE connections (internal/script/ws.go) the user's cookie jar, source
// addresses and the run's TLS settings.
func (u *vuser) Cookies(x *url.URL) []*http.Cookie { return u.client.Cookies(x) }

func (u *vuser) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return u.client.DialContext(ctx, network, addr)
}

func (u *vuser) TLSConfig() *tls.Config {
	if t := u.e.cfg.HTTP.Transport; t != nil {
		return t.TLS
	}
	return u.e.cfg.HTTP.TLSConfig
}

// recordProto records a WebSocket or SSE sample and shows it to the trace
// (horde try, -L debug): bodies are the message sent and the one received.
func (u *vuser) recordProto(smp stats.Sample, bodies ...[]byte) {
	u.record(smp)
	if u.e.cfg.Trace == nil {
		return
	}
	x := &Exchange{Method: smp.Method, URL: smp.Name, Name: smp.Name, Took: smp.Duration, Failure: smp.Failure,
		req: new(fasthttp.Request), resp: new(fasthttp.Response), proto: true}
	if len(bodies) > 0 {
		x.req.SetBody(bodies[0])
	}
	if len(bodies) > 1 {
		x.resp.SetBody(bodies[1])
	}
	switch {
	case smp.Failure != "" && len(bodies) < 2:
		x.Err = smp.Failure
	case smp.Method == "WS":
		x.Status = http.StatusSwitchingProtocols
	default:
		x.Status = http.StatusOK
	}
	u.e.cfg.Trace(x)
}
