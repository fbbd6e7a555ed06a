package script

// The WebSocket and server-sent events of script users
// (docs/protocols.md): u.ws_connect(...) returns a connection whose
// send, receive, request, ping and close record samples like the YAML
// steps do; u.sse(...) reads an event stream and returns its events.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/sse"
	"github.com/horde-load/horde/internal/wsload"
)

// protoVU is the engine's user as the protocols need it: its cookie jar,
// its dialer (source addresses) and the run's TLS settings.
type protoVU interface {
	Cookies(u *url.URL) []*http.Cookie
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	TLSConfig() *tls.Config
}

const defaultProtoTimeout = 60 * time.Second

// wsConn is a script's WebSocket connection.
type wsConn struct {
	u     *userValue
	c     *wsload.Conn
	label string
	done  bool
}

func (w *wsConn) String() string        { return fmt.Sprintf("<websocket %s>", w.label) }
func (w *wsConn) Type() string          { return "websocket" }
func (w *wsConn) Freeze()               {}
func (w *wsConn) Truth() starlark.Bool  { return starlark.Bool(!w.done && !w.c.Closed()) }
func (w *wsConn) Hash() (uint32, error) { return 0, errors.New("unhashable: websocket") }
func (w *wsConn) AttrNames() []string {
	return []string{"close", "ping", "receive", "request", "send", "subprotocol"}
}

func (w *wsConn) Attr(name string) (starlark.Value, error) {
	switch name {
	case "subprotocol":
		return starlark.String(w.c.Subprotocol), nil
	case "send", "receive", "request", "ping", "close":
		return starlark.NewBuiltin(name, w.call), nil
	}
	return nil, nil
}

// protoOpts are the connection options shared by ws_connect and sse.
type protoOpts struct {
	target  string // the URL, made absolute against the user's host
	header  http.Header
	tls     *tls.Config
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration // the handshake's (and sse's longest wait between events)
}

// protoOpts reads the url, headers= and timeout= arguments of ws_connect
// and sse.
func (u *userValue) protoOpts(fn, rawURL string, headers, timeout starlark.Value) (protoOpts, error) {
	target := rawURL
	if !strings.Contains(rawURL, "://") {
		target = u.host
		if !strings.HasPrefix(rawURL, "/") {
			target += "/"
		}
		target += rawURL
	}
	h := http.Header{}
	if headers != starlark.None {
		d, ok := headers.(*starlark.Dict)
		if !ok {
			return protoOpts{}, fmt.Errorf("%s: headers must be a dict, got %s", fn, headers.Type())
		}
		for _, kv := range d.Items() {
			k, ok := starlark.AsString(kv[0])
			if !ok {
				return protoOpts{}, fmt.Errorf("%s: header name %s is not a string", fn, kv[0])
			}
			h.Set(k, text(kv[1]))
		}
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", userAgent)
	}
	var cfg *tls.Config
	var dial func(context.Context, string, string) (net.Conn, error)
	if p, ok := u.r.vu.(protoVU); ok {
		cfg, dial = p.TLSConfig(), p.DialContext
		if tu, err := url.Parse(wsToHTTP(target)); err == nil && h.Get("Cookie") == "" {
			var parts []string
			for _, c := range p.Cookies(tu) {
				parts = append(parts, c.Name+"="+c.Value)
			}
			if len(parts) > 0 {
				h.Set("Cookie", strings.Join(parts, "; "))
			}
		}
	}
	to, err := optTimeout(fn, timeout)
	if err != nil {
		return protoOpts{}, err
	}
	return protoOpts{target: target, header: h, tls: cfg, dial: dial, timeout: to}, nil
}

func wsToHTTP(s string) string { return rescheme(s, "ws://", "http://", "wss://", "https://") }

func httpToWS(s string) string { return rescheme(s, "http://", "ws://", "https://", "wss://") }

// rescheme replaces the first of the schemes pairs (from, to, from, to...)
// that s begins with.
func rescheme(s string, pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if rest, ok := strings.CutPrefix(s, pairs[i]); ok {
			return pairs[i+1] + rest
		}
	}
	return s
}

func (u *userValue) ctx() context.Context {
	if u.r.ctx != nil {
		return u.r.ctx
	}
	return context.Background()
}

func optTimeout(fn string, v starlark.Value) (time.Duration, error) {
	if v == starlark.None {
		return defaultProtoTimeout, nil
	}
	d, err := toDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: timeout: %w", fn, err)
	}
	return d, nil
}

// wsConnect is u.ws_connect(url, name=, headers=, subprotocols=, timeout=).
func (u *userValue) wsConnect(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		path, name   string
		headers      starlark.Value = starlark.None
		subprotocols *starlark.List
		timeout      starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &path, "name?", &name, "headers?", &headers,
		"subprotocols?", &subprotocols, "timeout?", &timeout); err != nil {
		return nil, err
	}
	po, err := u.protoOpts(b.Name(), path, headers, timeout)
	if err != nil {
		return nil, err
	}
	o := wsload.Options{Header: po.header, TLS: po.tls, Dial: po.dial}
	if subprotocols != nil {
		for i := range subprotocols.Len() {
			o.Subprotocols = append(o.Subprotocols, text(subprotocols.Index(i)))
		}
	}
	if name == "" {
		name = httpload.PathOf(path)
	}
	ctx, cancel := context.WithTimeout(u.ctx(), po.timeout)
	c, _, took, err := wsload.Dial(ctx, httpToWS(po.target), o)
	cancel()
	if err != nil {
		if u.ctx().Err() != nil {
			return nil, errStopped
		}
		u.r.vu.Record(horde.Sample{Method: "WS", Name: "connect " + name, Duration: took, Failure: err.Error()})
		return starlark.None, nil
	}
	u.r.vu.Record(horde.Sample{Method: "WS", Name: "connect " + name, Duration: took})
	w := &wsConn{u: u, c: c, label: name}
	u.conns = append(u.conns, w)
	return w, nil
}

// message renders what send and request send: a string (text frame),
// bytes (binary) or json= (text).
func message(thread *starlark.Thread, fn string, msg, jsonMsg starlark.Value) ([]byte, bool, error) {
	switch {
	case jsonMsg != starlark.None:
		if msg != starlark.None {
			return nil, false, fmt.Errorf("%s: give a message or json=, not both", fn)
		}
		enc, err := starlark.Call(thread, jsonEncode, starlark.Tuple{jsonMsg}, nil)
		if err != nil {
			return nil, false, fmt.Errorf("%s: json: %w", fn, err)
		}
		s, _ := starlark.AsString(enc)
		return []byte(s), false, nil
	case msg == starlark.None:
		return nil, false, fmt.Errorf("%s: missing message (a string, bytes, or json=)", fn)
	}
	switch m := msg.(type) {
	case starlark.String:
		return []byte(m), false, nil
	case starlark.Bytes:
		return []byte(m), true, nil
	}
	return nil, false, fmt.Errorf("%s: message must be a string or bytes, got %s", fn, msg.Type())
}

// call implements the connection's methods:
//
//	send(msg=None, json=, name="send")
//	receive(name="receive", timeout=, contains=, match=)   -> the message, or None
//	request(msg=None, json=, name="request", timeout=, contains=, match=) -> the reply, or None
//	ping(name="ping", timeout=)
//	close(code=1000, reason="")
func (w *wsConn) call(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := "websocket." + b.Name()
	var (
		msg, jsonMsg, timeout, match starlark.Value = starlark.None, starlark.None, starlark.None, starlark.None
		name, contains, reason       string
		code                         = 1000
	)
	var err error
	switch b.Name() {
	case "send":
		err = starlark.UnpackArgs(fn, args, kwargs, "msg?", &msg, "json?", &jsonMsg, "name?", &name)
	case "request":
		err = starlark.UnpackArgs(fn, args, kwargs, "msg?", &msg, "json?", &jsonMsg, "name?", &name, "timeout?", &timeout, "contains?", &contains, "match?", &match)
	case "receive":
		err = starlark.UnpackArgs(fn, args, kwargs, "name?", &name, "timeout?", &timeout, "contains?", &contains, "match?", &match)
	case "ping":
		err = starlark.UnpackArgs(fn, args, kwargs, "name?", &name, "timeout?", &timeout)
	case "close":
		err = starlark.UnpackArgs(fn, args, kwargs, "code?", &code, "reason?", &reason)
	}
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = b.Name()
	}
	if match != starlark.None {
		if _, ok := match.(starlark.Callable); !ok {
			return nil, fmt.Errorf("%s: match must be a function of the message, got %s", fn, match.Type())
		}
	}
	to, err := optTimeout(fn, timeout)
	if err != nil {
		return nil, err
	}
	ctx := w.u.ctx()
	vu := w.u.r.vu
	if w.done {
		if b.Name() == "close" {
			return starlark.None, nil
		}
		vu.Record(horde.Sample{Method: "WS", Name: name, Failure: "websocket " + w.label + " is closed"})
		return starlark.None, nil
	}
	fail := func(took time.Duration, err error) (starlark.Value, error) {
		if ctx.Err() != nil {
			return nil, errStopped
		}
		vu.Record(horde.Sample{Method: "WS", Name: name, Duration: took, Failure: err.Error()})
		if w.c.Closed() {
			w.end(w.c.Err())
		}
		return starlark.None, nil
	}
	switch b.Name() {
	case "ping":
		took, err := w.c.Ping(ctx, to)
		if err != nil {
			return fail(took, err)
		}
		vu.Record(horde.Sample{Method: "WS", Name: name, Duration: took})
		return starlark.None, nil
	case "close":
		w.end(w.c.Close(code, reason, to))
		return starlark.None, nil
	}
	start := time.Now()
	if b.Name() != "receive" {
		data, binary, err := message(thread, fn, msg, jsonMsg)
		if err != nil {
			return nil, err
		}
		if err := w.c.Send(ctx, binary, data, to); err != nil {
			return fail(time.Since(start), err)
		}
		if b.Name() == "send" {
			vu.Record(horde.Sample{Method: "WS", Name: name, Duration: time.Since(start), Bytes: int64(len(data))})
			return starlark.None, nil
		}
	}
	sm := &scriptMatch{thread: thread, fn: match}
	m, skipped, err := w.c.Wait(ctx, to, func(m wsload.Message) bool {
		return (contains == "" || strings.Contains(string(m.Data), contains)) && sm.ok(func() starlark.Value { return msgValue(m) })
	})
	if sm.err != nil {
		return nil, fmt.Errorf("%s: match: %w", fn, sm.err)
	}
	if err != nil {
		return fail(time.Since(start), waitError(err, wsload.ErrTimeout, to, skipped))
	}
	vu.Record(horde.Sample{Method: "WS", Name: name, Duration: max(m.At.Sub(start), 0), Bytes: int64(len(m.Data))})
	return msgValue(m), nil
}

func msgValue(m wsload.Message) starlark.Value {
	if m.Binary {
		return starlark.Bytes(m.Data)
	}
	return starlark.String(m.Data)
}

// end records the connection's session once.
func (w *wsConn) end(err error) {
	if w.done {
		return
	}
	w.done = true
	w.c.Abort()
	f := ""
	if err != nil {
		f = err.Error()
	}
	w.u.r.vu.Record(horde.Sample{Method: "WS", Name: "session " + w.label, Duration: time.Since(w.c.Opened), Failure: f})
}

// closeConns closes the connections a stopping user left open.
func (u *userValue) closeConns() {
	for _, w := range u.conns {
		if !w.done {
			w.end(w.c.Close(1001, "user stopped", 2*time.Second))
		}
	}
	u.conns = u.conns[:0]
}

// sseRead is u.sse(url, name=, headers=, events=, duration=, until=,
// timeout=, last_event_id=): it reads the stream until events events, the
// duration, or an event for which until(event) is true, and returns the
// events read, each a struct of type, data, id.
func (u *userValue) sseRead(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		path, name, lastID    string
		headers, timeout, dur starlark.Value = starlark.None, starlark.None, starlark.None
		until                 starlark.Value = starlark.None
		events                int
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &path, "name?", &name, "headers?", &headers,
		"events?", &events, "duration?", &dur, "until?", &until, "timeout?", &timeout, "last_event_id?", &lastID); err != nil {
		return nil, err
	}
	if events <= 0 && dur == starlark.None && until == starlark.None {
		return nil, fmt.Errorf("%s: no end: give events=, duration= or until=", b.Name())
	}
	if until != starlark.None {
		if _, ok := until.(starlark.Callable); !ok {
			return nil, fmt.Errorf("%s: until must be a function of the event, got %s", b.Name(), until.Type())
		}
	}
	po, err := u.protoOpts(b.Name(), path, headers, timeout)
	if err != nil {
		return nil, err
	}
	to := po.timeout
	var end <-chan time.Time
	if dur != starlark.None {
		d, err := toDuration(dur)
		if err != nil {
			return nil, fmt.Errorf("%s: duration: %w", b.Name(), err)
		}
		t := time.NewTimer(d)
		defer t.Stop()
		end = t.C
	}
	if name == "" {
		name = httpload.PathOf(path)
	}
	vu := u.r.vu
	ctx := u.ctx()
	start := time.Now()
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	hdr := time.AfterFunc(to, cancel)
	stream, _, err := sse.Open(octx, po.target, sse.Options{Header: po.header, TLS: po.tls, Dial: po.dial, LastEventID: lastID})
	hdr.Stop()
	if err != nil {
		if ctx.Err() != nil {
			return nil, errStopped
		}
		if octx.Err() != nil {
			err = errors.New("timeout")
		}
		vu.Record(horde.Sample{Method: "SSE", Name: "connect " + name, Duration: time.Since(start), Failure: err.Error()})
		return starlark.NewList(nil), nil
	}
	defer stream.Close()
	vu.Record(horde.Sample{Method: "SSE", Name: "connect " + name, Duration: stream.Opened.Sub(start)})
	ch := stream.Run()
	defer func() {
		stream.Close()
		for range ch {
		}
	}()
	var out []starlark.Value
	last := start
	idle := time.NewTimer(to)
	defer idle.Stop()
	failure := ""
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				if events > 0 || until != starlark.None {
					failure = fmt.Sprintf("stream ended after %d events", len(out))
				}
				vu.Record(horde.Sample{Method: "SSE", Name: "stream " + name, Duration: time.Since(start), Failure: failure})
				return starlark.NewList(out), nil
			}
			idle.Reset(to)
			if len(out) == 0 {
				vu.Record(horde.Sample{Method: "SSE", Name: "first event " + name, Duration: ev.At.Sub(start)})
			}
			vu.Record(horde.Sample{Method: "SSE", Name: name + " " + ev.Type, Duration: ev.At.Sub(last), Bytes: int64(len(ev.Data))})
			last = ev.At
			v := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
				"type": starlark.String(ev.Type), "data": starlark.String(ev.Data), "id": starlark.String(ev.ID)})
			out = append(out, v)
			stop := events > 0 && len(out) >= events
			if until != starlark.None {
				r, err := starlark.Call(thread, until, starlark.Tuple{v}, nil)
				if err != nil {
					return nil, fmt.Errorf("%s: until: %w", b.Name(), err)
				}
				stop = stop || bool(r.Truth())
			}
			if stop {
				vu.Record(horde.Sample{Method: "SSE", Name: "stream " + name, Duration: time.Since(start)})
				return starlark.NewList(out), nil
			}
		case <-end:
			vu.Record(horde.Sample{Method: "SSE", Name: "stream " + name, Duration: time.Since(start)})
			return starlark.NewList(out), nil
		case <-idle.C:
			vu.Record(horde.Sample{Method: "SSE", Name: "stream " + name, Duration: time.Since(start),
				Failure: fmt.Sprintf("no event within %s after %d events", to, len(out))})
			return starlark.NewList(out), nil
		case <-ctx.Done():
			return nil, errStopped
		}
	}
}

// scriptMatch applies a script's match= function (None matches every
// message) to the messages a wait reads; the function's first error stops
// the matching and is kept for the caller to report.
type scriptMatch struct {
	thread *starlark.Thread
	fn     starlark.Value
	err    error
}

func (s *scriptMatch) ok(msg func() starlark.Value) bool {
	if s.err != nil {
		return false
	}
	if s.fn == starlark.None {
		return true
	}
	v, err := starlark.Call(s.thread, s.fn, starlark.Tuple{msg()}, nil)
	if err != nil {
		s.err = err
		return false
	}
	return bool(v.Truth())
}

// waitError words a wait that found no message: a timeout (timeout is the
// protocol package's sentinel) says how long and how many others it read.
func waitError(err, timeout error, to time.Duration, skipped int) error {
	if !errors.Is(err, timeout) {
		return err
	}
	f := fmt.Sprintf("no message matched within %s", to)
	if skipped > 0 {
		f += fmt.Sprintf(" (%d others)", skipped)
	}
	return errors.New(f)
}
