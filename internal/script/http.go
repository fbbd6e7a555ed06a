package script

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"go.starlark.net/starlark"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/grpcload"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
)

// stderr receives print() from scripts.
var stderr io.Writer = os.Stderr

// userAgent is sent unless a request sets its own, as for YAML requests.
const userAgent = "horde"

// exchanger is the engine's per-user HTTP client (engine's vuser): it sends
// a request without recording it, so that the script records it once it
// knows whether it failed.
type exchanger interface {
	Exchange(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) (time.Duration, error)
}

// phaser is an exchanger that tells what it measured of its last exchange
// (the engine's vuser), and phasedRecorder a VU that records a request
// with it: a script's requests then carry their phases and message sizes
// as a YAML step's do.
type phaser interface{ LastPhases() httpload.Phases }

type phasedRecorder interface {
	RecordPhased(s horde.Sample, p httpload.Phases)
}

// checkRecorder is a VU that counts check() outcomes by name for the
// checks summary (the engine's vuser).
type checkRecorder interface{ RecordCheck(name string, ok bool) }

// scratcher is a VU that lends its request and response buffers (the
// engine's), so that a script user holds no second set.
type scratcher interface {
	Scratch() (*fasthttp.Request, *fasthttp.Response)
}

// ownClient is the client of a user whose VU has no Exchange (a VU of
// another engine): the same client the engine would use, of its own.
type ownClient struct{ c *httpload.Client }

func (o ownClient) Exchange(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) (time.Duration, error) {
	r, err := o.c.Do(req, resp, httpload.Call{Timeout: timeout})
	return r.Took, err
}

// userValue is the u passed to every function: the user's requests and state.
type userValue struct {
	r       *runner
	host    string
	vars    *starlark.Dict
	client  exchanger // r.ex, or a client of its own for a VU without one
	req     *fasthttp.Request
	resp    *fasthttp.Response
	buf     []byte
	last    *response // the latest response, whose headers are still in resp
	pending []*response
	methods [len(methodNames)]*starlark.Builtin // bound on first use

	conns     []*wsConn         // WebSocket connections opened (ws.go), closed at the user's end
	mqttConns []*mqttConn       // MQTT connections opened (mqtt.go), closed at the user's end
	grpcConns grpcload.Conns    // the user's gRPC connections (grpc.go)
	grpcFn    *starlark.Builtin // u.grpc, bound on first use

	tracer tracer      // the VU when it shows requests (horde try, -L debug); nil otherwise
	shown  *shownTrace // the latest request, shown once the next starts or the call ends
}

// tracer is a VU that shows each request (the engine's user under horde try
// or -L debug): req and resp are the exchange (resp is unset when errText
// is not ""), ev its outcome: the script's check() calls after it and what
// was recorded.
type tracer interface {
	Tracing() bool
	TraceScript(req *fasthttp.Request, resp *fasthttp.Response, name string, pos scenario.Pos, took time.Duration, errText string, ev *scenario.Trace)
}

// shownTrace is a request kept to be shown with the checks that follow it.
type shownTrace struct {
	out    *response
	pos    scenario.Pos
	req    fasthttp.Request
	resp   fasthttp.Response
	checks []scenario.Outcome
}

// showTrace shows the latest request (if any) to the tracer.
func (u *userValue) showTrace() {
	t := u.shown
	if t == nil {
		return
	}
	u.shown = nil
	ev := &scenario.Trace{Checks: t.checks}
	switch {
	case t.out.recorded:
		ev.Failure = t.out.failed
	default:
		ev.Failure = t.out.defaultFailure()
	}
	u.tracer.TraceScript(&t.req, &t.resp, t.out.name, t.pos, t.out.took, t.out.err, ev)
}

// traceCheck adds a check() to the request it follows (r, or the latest).
func (u *userValue) traceCheck(r *response, msg string, ok bool) {
	t := u.shown
	if t == nil || (r != nil && t.out != r) {
		return
	}
	o := scenario.Outcome{What: msg}
	if !ok {
		o.Failure = "check failed: " + msg
	}
	t.checks = append(t.checks, o)
}

// methodNames are u's request methods; "request" takes the method first.
var methodNames = [...]string{"get", "post", "put", "patch", "delete", "head", "options", "request"}

// methodBuiltins are shared by every user: each is bound to its user with
// BindReceiver, once per user and method.
var methodBuiltins = func() (out [len(methodNames)]*starlark.Builtin) {
	for i, m := range methodNames {
		method := strings.ToUpper(m)
		out[i] = starlark.NewBuiltin(m, func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			u := b.Receiver().(*userValue)
			if method != "REQUEST" {
				return u.request(t, method, b.Name(), args, kwargs)
			}
			if len(args) == 0 {
				return nil, errors.New("request: missing method")
			}
			m, ok := starlark.AsString(args[0])
			if !ok || m == "" {
				return nil, fmt.Errorf("request: method must be a string, got %s", args[0].Type())
			}
			return u.request(t, strings.ToUpper(m), "request", args[1:], kwargs)
		})
	}
	return out
}()

func newUserValue(r *runner, host string) *userValue {
	u := &userValue{r: r, host: host, vars: starlark.NewDict(4), client: r.ex}
	if t, ok := r.vu.(tracer); ok && t.Tracing() {
		u.tracer = t
	}
	if u.client == nil {
		u.client = ownClient{httpload.New(httpload.Options{})}
	}
	if s, ok := r.vu.(scratcher); ok {
		u.req, u.resp = s.Scratch()
	} else {
		u.req, u.resp = new(fasthttp.Request), new(fasthttp.Response)
	}
	return u
}

func (u *userValue) String() string        { return fmt.Sprintf("<user %d>", u.r.vu.ID()) }
func (u *userValue) Type() string          { return "user" }
func (u *userValue) Freeze()               {}
func (u *userValue) Truth() starlark.Bool  { return true }
func (u *userValue) Hash() (uint32, error) { return 0, errors.New("unhashable: user") }
func (u *userValue) AttrNames() []string {
	return []string{"delete", "get", "grpc", "head", "host", "id", "mqtt_connect", "options", "patch", "post", "put", "request", "sse", "vars", "ws_connect"}
}

func (u *userValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "vars":
		return u.vars, nil
	case "id":
		return starlark.MakeInt(u.r.vu.ID()), nil
	case "host":
		return starlark.String(u.host), nil
	case "ws_connect": // ws.go
		return starlark.NewBuiltin(name, u.wsConnect), nil
	case "sse":
		return starlark.NewBuiltin(name, u.sseRead), nil
	case "mqtt_connect": // mqtt.go
		return starlark.NewBuiltin(name, u.mqttConnect), nil
	case "grpc":
		if u.grpcFn == nil {
			u.grpcFn = grpcBuiltin.BindReceiver(u)
		}
		return u.grpcFn, nil
	}
	for i, m := range methodNames {
		if m == name {
			if u.methods[i] == nil {
				u.methods[i] = methodBuiltins[i].BindReceiver(u)
			}
			return u.methods[i], nil
		}
	}
	return nil, nil
}

// flush records the responses of catch_response requests the function
// neither marked a success nor a failure: by the status, as any other.
func (u *userValue) flush() {
	for _, p := range u.pending {
		if !p.recorded {
			p.record(p.defaultFailure())
		}
	}
	u.pending = u.pending[:0]
	if u.tracer != nil {
		u.showTrace()
	}
}

// request sends one request: u.get(path, name=, headers=, params=, json=,
// data=, body=, timeout=, catch_response=).
func (u *userValue) request(thread *starlark.Thread, method, fn string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		path                 string
		name                 string
		headers, params      starlark.Value = starlark.None, starlark.None
		jsonBody, data, body starlark.Value = starlark.None, starlark.None, starlark.None
		timeout              starlark.Value = starlark.None
		catch                bool
	)
	if err := starlark.UnpackArgs(fn, args, kwargs, "path", &path, "name?", &name, "headers?", &headers,
		"params?", &params, "json?", &jsonBody, "data?", &data, "body?", &body, "timeout?", &timeout,
		"catch_response?", &catch); err != nil {
		return nil, err
	}
	r := u.r
	if r.ctx != nil && r.ctx.Err() != nil {
		return nil, errStopped
	}
	if u.tracer != nil {
		u.showTrace()
	}
	if u.last != nil {
		u.last.detach()
		u.last = nil
	}
	req, resp := u.req, u.resp
	req.Reset()
	req.Header.SetMethod(method)

	if name == "" {
		name = httpload.PathOf(path)
	}
	b := u.buf[:0]
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		b = append(b, u.host...)
		if !strings.HasPrefix(path, "/") {
			b = append(b, '/')
		}
	}
	b = append(b, path...)
	if params != starlark.None {
		sep := byte('?')
		if strings.IndexByte(path, '?') >= 0 {
			sep = '&'
		}
		var err error
		if b, err = appendParams(b, sep, params); err != nil {
			return nil, fmt.Errorf("%s: params: %w", fn, err)
		}
	}
	req.SetRequestURIBytes(b)
	u.buf = b

	hasUA, hasCT := false, false
	if headers != starlark.None {
		d, ok := headers.(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("%s: headers must be a dict, got %s", fn, headers.Type())
		}
		for _, kv := range d.Items() {
			k, ok := starlark.AsString(kv[0])
			if !ok {
				return nil, fmt.Errorf("%s: header name %s is not a string", fn, kv[0])
			}
			req.Header.Set(k, text(kv[1]))
			switch strings.ToLower(k) {
			case "user-agent":
				hasUA = true
			case "content-type":
				hasCT = true
			}
		}
	}
	if !hasUA {
		req.Header.SetUserAgent(userAgent)
	}
	bodies := 0
	for _, v := range []starlark.Value{jsonBody, data, body} {
		if v != starlark.None {
			bodies++
		}
	}
	if bodies > 1 {
		return nil, fmt.Errorf("%s: give one of json=, data= and body=", fn)
	}
	ct := ""
	switch {
	case jsonBody != starlark.None:
		enc, err := starlark.Call(thread, jsonEncode, starlark.Tuple{jsonBody}, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: json: %w", fn, err)
		}
		s, _ := starlark.AsString(enc)
		req.SetBodyString(s)
		ct = "application/json"
	case data != starlark.None:
		if d, ok := data.(*starlark.Dict); ok {
			form, err := appendParams(nil, 0, d)
			if err != nil {
				return nil, fmt.Errorf("%s: data: %w", fn, err)
			}
			req.SetBodyRaw(form)
			ct = "application/x-www-form-urlencoded"
		} else if text, ok := bodyText(data); ok {
			req.SetBodyString(text)
		} else {
			return nil, fmt.Errorf("%s: data must be a dict (a form), a string or bytes, got %s", fn, data.Type())
		}
	case body != starlark.None:
		text, ok := bodyText(body)
		if !ok {
			return nil, fmt.Errorf("%s: body must be a string or bytes, got %s", fn, body.Type())
		}
		req.SetBodyString(text)
	}
	if ct != "" && !hasCT {
		req.Header.SetContentType(ct)
	}
	var to time.Duration
	if timeout != starlark.None {
		d, err := toDuration(timeout)
		if err != nil {
			return nil, fmt.Errorf("%s: timeout: %w", fn, err)
		}
		to = d
	}

	took, err := u.client.Exchange(req, resp, to)
	out := &response{u: u, method: method, name: name, took: took}
	if ph, ok := u.client.(phaser); ok {
		out.phases = ph.LastPhases()
	}
	if err != nil {
		if errors.Is(err, httpload.ErrStopped) {
			return nil, errStopped
		}
		out.err = err.Error()
		out.hdr = []byte{}
	} else {
		out.status = resp.StatusCode()
		out.body = string(resp.Body())
		u.last = out
	}
	if u.tracer != nil {
		t := &shownTrace{out: out}
		if fr, ok := scriptFrame(thread.CallStack()); ok {
			t.pos = posOf(fr.Pos)
		}
		req.CopyTo(&t.req)
		if err == nil {
			resp.CopyTo(&t.resp)
		}
		u.shown = t
	}
	if catch {
		u.pending = append(u.pending, out)
	} else {
		out.record(out.defaultFailure())
	}
	return out, nil
}

// appendParams appends a dict (or list of pairs) as URL-encoded key=value
// pairs, led by sep (0: none).
func appendParams(b []byte, sep byte, v starlark.Value) ([]byte, error) {
	var pairs [][2]starlark.Value
	switch p := v.(type) {
	case *starlark.Dict:
		for _, kv := range p.Items() {
			pairs = append(pairs, [2]starlark.Value{kv[0], kv[1]})
		}
	case starlark.Indexable:
		for i := 0; i < p.Len(); i++ {
			t, ok := p.Index(i).(starlark.Tuple)
			if !ok || len(t) != 2 {
				return nil, fmt.Errorf("want a dict or a list of (name, value) pairs")
			}
			pairs = append(pairs, [2]starlark.Value{t[0], t[1]})
		}
	default:
		return nil, fmt.Errorf("want a dict or a list of (name, value) pairs, got %s", v.Type())
	}
	for _, kv := range pairs {
		if sep != 0 {
			b = append(b, sep)
		}
		sep = '&'
		b = httpload.AppendQueryEscape(b, text(kv[0]))
		b = append(b, '=')
		b = httpload.AppendQueryEscape(b, text(kv[1]))
	}
	return b, nil
}

// text is a value as a header or query carries it: strings as they are,
// anything else as str() prints it.
func text(v starlark.Value) string {
	if s, ok := starlark.AsString(v); ok {
		return s
	}
	return v.String()
}

// response is what a request returns: r.status, r.headers, r.text,
// r.json(), r.elapsed, r.ok, and r.success()/r.failure(msg) for
// catch_response=True.
type response struct {
	u        *userValue
	method   string
	name     string
	took     time.Duration
	phases   httpload.Phases // what the client measured, when it tells
	status   int
	body     string
	err      string // transport error; status is 0
	hdr      []byte // the raw header once detached from u.resp; nil while live
	headers  *starlark.Dict
	recorded bool
	failed   string
}

func (r *response) String() string {
	return fmt.Sprintf("<response %d %s %s>", r.status, r.method, r.name)
}
func (r *response) Type() string          { return "response" }
func (r *response) Freeze()               {}
func (r *response) Truth() starlark.Bool  { return starlark.Bool(r.ok()) }
func (r *response) Hash() (uint32, error) { return 0, errors.New("unhashable: response") }
func (r *response) AttrNames() []string {
	return []string{"elapsed", "error", "failure", "header", "headers", "json", "ok", "status", "status_code", "success", "text"}
}

func (r *response) ok() bool {
	if r.recorded {
		return r.failed == ""
	}
	return r.err == "" && r.status < 400
}

func (r *response) Attr(name string) (starlark.Value, error) {
	switch name {
	case "status", "status_code":
		return starlark.MakeInt(r.status), nil
	case "text":
		return starlark.String(r.body), nil
	case "elapsed":
		return starlark.Float(r.took.Seconds()), nil
	case "ok":
		return starlark.Bool(r.ok()), nil
	case "error":
		if r.err == "" {
			return starlark.None, nil
		}
		return starlark.String(r.err), nil
	case "headers":
		return r.headerDict(), nil
	case "header":
		return starlark.NewBuiltin("header", r.header), nil
	case "json":
		return starlark.NewBuiltin("json", r.json), nil
	case "success":
		return starlark.NewBuiltin("success", r.success), nil
	case "failure":
		return starlark.NewBuiltin("failure", r.failure), nil
	}
	return nil, nil
}

// detach copies the headers out of the user's response buffer before the
// next request reuses it.
func (r *response) detach() {
	if r.hdr == nil {
		r.hdr = append([]byte(nil), r.u.resp.Header.Header()...)
	}
}

// headerPairs visits the response's headers.
func (r *response) headerPairs(f func(k, v string)) {
	if r.hdr == nil { // live: still in u.resp
		r.u.resp.Header.VisitAll(func(k, v []byte) { f(string(k), string(v)) })
		return
	}
	if len(r.hdr) == 0 {
		return
	}
	var h fasthttp.ResponseHeader
	if err := h.Read(bufioReader(r.hdr)); err != nil {
		return
	}
	h.VisitAll(func(k, v []byte) { f(string(k), string(v)) })
}

// headerDict is r.headers: names as the server sent them (canonical case),
// several values of one name joined with ", ".
func (r *response) headerDict() *starlark.Dict {
	if r.headers != nil {
		return r.headers
	}
	m := map[string]string{}
	var keys []string
	r.headerPairs(func(k, v string) {
		k = http.CanonicalHeaderKey(k)
		if old, ok := m[k]; ok {
			m[k] = old + ", " + v
			return
		}
		m[k] = v
		keys = append(keys, k)
	})
	sort.Strings(keys)
	d := starlark.NewDict(len(keys))
	for _, k := range keys {
		_ = d.SetKey(starlark.String(k), starlark.String(m[k]))
	}
	r.headers = d
	return d
}

// header is r.header(name, default=None), case-insensitive.
func (r *response) header(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var def starlark.Value = starlark.None
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name, &def); err != nil {
		return nil, err
	}
	v, found, _ := r.headerDict().Get(starlark.String(http.CanonicalHeaderKey(name)))
	if !found {
		return def, nil
	}
	return v, nil
}

func (r *response) json(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	v, err := starlark.Call(thread, jsonDecode, starlark.Tuple{starlark.String(r.body)}, nil)
	if err != nil {
		return nil, fmt.Errorf("response of %s %s is not JSON: %w", r.method, r.name, err)
	}
	return v, nil
}

func (r *response) success(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	if r.recorded {
		return nil, errors.New("success: this response was already recorded (use catch_response=True, and mark it once)")
	}
	r.record("")
	return starlark.None, nil
}

func (r *response) failure(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &msg); err != nil {
		return nil, err
	}
	if r.recorded {
		return nil, errors.New("failure: this response was already recorded (use catch_response=True, and mark it once)")
	}
	r.fail(text(msg))
	return starlark.None, nil
}

func (r *response) fail(msg string) {
	if msg == "" {
		msg = "failed"
	}
	r.record(msg)
}

func (r *response) defaultFailure() string {
	if r.err != "" {
		return r.err
	}
	if r.status >= 400 {
		if t := http.StatusText(r.status); t != "" {
			return "HTTP " + strconv.Itoa(r.status) + " " + t
		}
		return "HTTP " + strconv.Itoa(r.status)
	}
	return ""
}

func (r *response) record(failure string) {
	r.recorded, r.failed = true, failure
	s := horde.Sample{Method: r.method, Name: r.name, Duration: r.took, Bytes: int64(len(r.body)), Failure: failure}
	if pr, ok := r.u.r.vu.(phasedRecorder); ok {
		pr.RecordPhased(s, r.phases)
		return
	}
	r.u.r.vu.Record(s)
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// bodyText is the text of a string or bytes body.
func bodyText(v starlark.Value) (string, bool) {
	switch v := v.(type) {
	case starlark.String:
		return string(v), true
	case starlark.Bytes:
		return string(v), true
	}
	return "", false
}
