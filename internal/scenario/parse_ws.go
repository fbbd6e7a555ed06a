// This file parses the WebSocket and server-sent events steps
// (docs/protocols.md): ws_connect, ws_send, ws_receive, ws_ping, ws_close
// and sse. The engine runs them with internal/wsload and internal/sse.

package scenario

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// WebSocket actions (WSStep.Action).
const (
	WSConnect = "connect"
	WSSend    = "send"
	WSReceive = "receive"
	WSPing    = "ping"
	WSClose   = "close"
)

// WSStep is a WebSocket step; its Step carries the name, timeout,
// captures and transport.
type WSStep struct {
	Action string
	// Conn names the user's connection the step uses ("ws" unless conn: says).
	Conn string
	// URL (connect) is a ws://, wss:// or relative URL: relative ones are
	// joined to the host, http becoming ws and https wss.
	URL          *Template
	Header       []Param
	Cookies      []Param
	Subprotocols []string
	// Message (send) is the rendered message; Binary sends it as a binary frame.
	Message *Template
	Binary  bool
	// Match (send with reply:, receive) decides which message is awaited:
	// its checks all hold; nil: any message. Expect is whether a send waits.
	Match  *Step
	Expect bool
	// Code and Reason (close) are the close frame's.
	Code   int
	Reason string
}

// SSEStep reads a server-sent event stream; its Step carries the URL,
// headers, name, timeout, checks (on every event) and captures (from the
// until: event).
type SSEStep struct {
	// Events stops after that many events (0: no count); Duration after
	// that long (0: until the stream ends, an until: event, or Events).
	Events   int
	Duration time.Duration
	// Until stops at the first event whose checks hold; captures are
	// taken from it.
	Until *Step
	// Reconnect is how many times a dropped stream is reopened with
	// Last-Event-ID within the step; Resume sends the last event ID the
	// user saw on a stream of this name in an earlier step.
	Reconnect int
	Resume    bool
}

var (
	wsActions     = []string{"ws_connect", "ws_send", "ws_receive", "ws_ping", "ws_close"}
	wsStepKeys    = append(slices.Clone(wsActions), "conn", "name", "timeout", "on_failure")
	wsConnectKeys = append(slices.Clone(transportKeys), "headers", "cookies", "subprotocols")
	wsSendKeys    = []string{"reply", "capture"}
	wsReceiveKeys = []string{"capture"}
	wsCloseKeys   = []string{"reason"}
	wsMessageKeys = []string{"text", "json", "binary"}
	sseKeys       = append(slices.Clone(transportKeys), "sse", "name", "headers", "cookies", "timeout", "on_failure",
		"events", "duration", "check", "until", "capture", "reconnect", "resume")
	// wsMatchKeys are the checks a message can be matched with.
	wsMatchKeys = []string{"body_contains", "json"}
)

// isProtoStep reports whether mapping n is a WebSocket or SSE step.
func isProtoStep(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	return slices.ContainsFunc(append(slices.Clone(wsActions), "sse"), func(k string) bool { return hasKey(n, k) })
}

// protoStep parses a WebSocket or SSE step; extra are keys of the
// enclosing task (weight, tags) that it skips.
func (p *parser) protoStep(n *yaml.Node, extra []string) *Step {
	r := p.resolve(n)
	if hasKey(r, "sse") {
		return p.sseStep(n, extra)
	}
	known := wsStepKeys
	var action *pair
	ps, _ := p.pairs(n, "websocket step")
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].key.Line < ps[j].key.Line })
	for i := range ps {
		if slices.Contains(wsActions, ps[i].name) {
			if action != nil {
				p.errorf(ps[i].key, "step has two websocket actions, %s and %s; use one per step", action.name, ps[i].name)
				return nil
			}
			action = &ps[i]
		}
	}
	if action == nil { // pairs reported why
		return nil
	}
	s := &Step{Pos: p.pos(r), Timeout: p.defTimeout, Method: "WS", URL: &Template{static: true}}
	ws := &WSStep{Action: strings.TrimPrefix(action.name, "ws_"), Conn: "ws"}
	s.WS = ws
	switch ws.Action {
	case WSConnect:
		known = append(slices.Clone(known), wsConnectKeys...)
	case WSSend:
		known = append(slices.Clone(known), wsSendKeys...)
	case WSReceive:
		known = append(slices.Clone(known), wsReceiveKeys...)
	case WSClose:
		known = append(slices.Clone(known), wsCloseKeys...)
	}
	f := p.protoFields(ps, extra, known, "websocket "+ws.Action+" step", wsStepKeys, wsConnectKeys, wsSendKeys, wsCloseKeys)
	p.connAndName(f, s, &ws.Conn)
	p.positiveDuration(f, "timeout", "timeout", &s.Timeout)
	s.StopOnFailure = p.stopOnFailure(f)
	if e, ok := f["capture"]; ok {
		s.Captures = p.captures(e.val)
	}
	switch ws.Action {
	case WSConnect:
		if u, ok := p.str(action.val, "ws_connect url"); ok {
			ws.URL = p.template(action.val, u)
			if ws.URL != nil {
				s.URL = ws.URL
			}
			if st, ok := ws.URL.Static(); ok && ws.URL != nil && !strings.HasPrefix(st, "/") && !isWSURL(st) {
				p.errorf(action.val, "url %q must start with / or be an absolute ws:// or wss:// URL", st)
			}
		}
		if ws.URL == nil {
			ws.URL = &Template{static: true}
		}
		if e, ok := f["headers"]; ok {
			ws.Header = p.headers(e.val)
		}
		ws.Header = append(slices.DeleteFunc(slices.Clone(p.defHeaders), func(d Param) bool {
			return slices.ContainsFunc(ws.Header, func(h Param) bool { return strings.EqualFold(h.Name, d.Name) })
		}), ws.Header...)
		if e, ok := f["cookies"]; ok {
			ws.Cookies = p.params(e.val, "cookies", false)
		}
		if e, ok := f["subprotocols"]; ok {
			items, _ := p.list(e.val, "subprotocols", true)
			for _, it := range items {
				if v, ok := p.str(it, "subprotocol"); ok {
					ws.Subprotocols = append(ws.Subprotocols, v)
				}
			}
		}
		s.Transport = p.transport(p.transportSpecs(p.defSpec, f))
	case WSSend:
		p.wsMessage(action.val, ws)
		if e, ok := f["reply"]; ok {
			ws.Expect = true
			ws.Match = p.wsMatch(e.val, "reply")
		} else if c, ok := f["capture"]; ok {
			p.errorf(c.key, "capture needs a reply: to capture from (add reply: {} to wait for the next message)")
		}
	case WSReceive:
		ws.Expect = true
		ws.Match = p.wsMatch(action.val, "ws_receive")
	case WSPing:
		if v := p.resolve(action.val); v != nil && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value != "" {
			p.errorf(action.val, "ws_ping takes true (name the connection with conn:)")
		}
	case WSClose:
		ws.Code = 1000
		if v := p.resolve(action.val); v != nil && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
			if c, ok := p.int(action.val, "close code"); ok {
				if c != 1000 && (c < 3000 || c > 4999) {
					p.errorf(action.val, "close code %d: a client may send 1000 or 3000-4999", c)
				}
				ws.Code = c
			}
		}
		if e, ok := f["reason"]; ok {
			ws.Reason, _ = p.str(e.val, "reason")
			if len(ws.Reason) > 123 {
				p.errorf(e.val, "reason is %d bytes; a close frame holds 123", len(ws.Reason))
			}
		}
	}
	return s
}

func isWSURL(s string) bool { return strings.HasPrefix(s, "ws://") || strings.HasPrefix(s, "wss://") }

// wsMessage reads what ws_send sends: a string (text), or one of
// {text: ...}, {json: ...}, {binary: ...}.
func (p *parser) wsMessage(n *yaml.Node, ws *WSStep) {
	r := p.resolve(n)
	if r != nil && r.Kind == yaml.ScalarNode {
		if t, ok := p.text(n, "ws_send"); ok {
			ws.Message = p.template(n, t)
		}
		return
	}
	f := p.fields(n, "ws_send", wsMessageKeys)
	if len(f) != 1 {
		if f != nil {
			p.errorf(n, "ws_send wants one of text, json or binary")
		}
		return
	}
	for k, e := range f {
		switch k {
		case "json":
			ws.Message = p.jsonBody(e.val)
		case "text", "binary":
			if t, ok := p.text(e.val, k); ok {
				ws.Message = p.template(e.val, t)
			}
			ws.Binary = k == "binary"
		}
	}
}

// wsMatch reads the checks a message must pass: a mapping of body_contains
// and json checks, or true / {} for any message.
func (p *parser) wsMatch(n *yaml.Node, what string) *Step {
	r := p.resolve(n)
	if r != nil && r.Kind == yaml.ScalarNode && (r.ShortTag() == "!!bool" || r.ShortTag() == "!!null") {
		if r.Value == "false" {
			p.errorf(n, "%s: false waits for nothing; leave the step out", what)
		}
		return nil
	}
	if p.fields(n, what, wsMatchKeys) == nil {
		return nil
	}
	return &Step{Checks: p.checks(n), Pos: p.pos(r)}
}

// sseStep parses - sse: /url with its options.
func (p *parser) sseStep(n *yaml.Node, extra []string) *Step {
	r := p.resolve(n)
	ps, _ := p.pairs(n, "sse step")
	f := map[string]pair{}
	for _, e := range ps {
		if slices.Contains(extra, e.name) {
			continue
		}
		if !slices.Contains(sseKeys, e.name) {
			p.unknownKey(e.key, e.name, "sse step", sseKeys)
			continue
		}
		f[e.name] = e
	}
	e, ok := f["sse"]
	if !ok { // pairs reported why
		return nil
	}
	s := &Step{Pos: p.pos(r), Timeout: p.defTimeout, Method: "SSE", SSE: &SSEStep{}}
	p.urlNameHeaders(s, e.val, "sse url", f)
	if e, ok := f["cookies"]; ok {
		s.Cookies = p.params(e.val, "cookies", false)
	}
	p.positiveDuration(f, "timeout", "timeout", &s.Timeout)
	s.StopOnFailure = p.stopOnFailure(f)
	p.positiveInt(f, "events", &s.SSE.Events)
	p.positiveDuration(f, "duration", "duration", &s.SSE.Duration)
	if e, ok := f["check"]; ok {
		if p.fields(e.val, "sse check", wsMatchKeys) != nil {
			s.Checks = p.checks(e.val)
		}
	}
	if e, ok := f["until"]; ok {
		s.SSE.Until = p.wsMatch(e.val, "until")
		if s.SSE.Until == nil {
			s.SSE.Until = &Step{}
		}
	}
	if e, ok := f["capture"]; ok {
		s.Captures = p.captures(e.val)
		if s.SSE.Until == nil {
			p.errorf(e.key, "capture needs until: (the event to capture from)")
		}
	}
	if e, ok := f["reconnect"]; ok {
		if v, ok := p.int(e.val, "reconnect"); ok {
			if v < 0 {
				p.errorf(e.val, "reconnect must be >= 0")
			}
			s.SSE.Reconnect = v
		}
	}
	if e, ok := f["resume"]; ok {
		s.SSE.Resume, _ = p.bool(e.val, "resume")
	}
	if s.SSE.Events == 0 && s.SSE.Duration == 0 && s.SSE.Until == nil {
		p.errorf(e.key, "sse step has no end: add events:, duration: or until:")
	}
	s.Transport = p.transport(p.transportSpecs(p.defSpec, f))
	return s
}

// Matches reports whether every check of s holds for resp (captures are
// not taken): it decides which WebSocket message or SSE event a step waits for.
func (s *Step) Matches(resp Response) bool {
	if s == nil {
		return true
	}
	return s.CheckFailure(resp, nil) == ""
}

// protoTaskName is a task's default name when its one step is a
// WebSocket, SSE or MQTT step.
func protoTaskName(s *Step) string {
	switch {
	case s.Name != "":
		return s.Name
	case s.WS != nil:
		return fmt.Sprintf("WS %s %s", s.WS.Action, s.WS.Conn)
	case s.MQTT != nil && s.MQTT.Topic != nil:
		return fmt.Sprintf("MQTT %s %s", s.MQTT.Action, s.MQTT.Topic.String())
	case s.MQTT != nil:
		return fmt.Sprintf("MQTT %s %s", s.MQTT.Action, s.MQTT.Conn)
	}
	return "SSE " + s.URL.String()
}

// protoTask is a task whose one step is a WebSocket, SSE or MQTT step
// (read by step, given the task's own keys), with the task's weight, tags
// and name beside it.
func (p *parser) protoTask(n *yaml.Node, ps []pair, step func(*yaml.Node, []string) *Step) *Task {
	t := &Task{Weight: 1}
	f := map[string]pair{}
	for _, e := range ps {
		f[e.name] = e
	}
	if e, ok := f["tags"]; ok {
		t.Tags = p.tags(e.val)
	}
	p.positiveInt(f, "weight", &t.Weight)
	s := step(n, []string{"weight", "tags"})
	if s == nil {
		return nil
	}
	t.Steps = []*Step{s}
	t.Name = protoTaskName(s)
	return t
}

// CheckFailure is the first of the step's checks that fails for resp
// ("" when all hold): an SSE step's checks on each event. With rec, every
// check is evaluated and its outcome told to rec by its name (the checks
// summary); without, it stops at the first failure.
func (s *Step) CheckFailure(resp Response, rec func(name string, ok bool)) string {
	lb := lazyBody{resp: resp, valid: -1}
	first := ""
	for _, c := range s.Checks {
		f := c.eval(resp, lb.isJSON, &lb.body)
		if rec != nil {
			rec(c.name, f == "")
		}
		if f != "" && first == "" {
			first = f
			if rec == nil {
				break
			}
		}
	}
	return first
}

// Capture takes the step's captures from resp into vars, without its
// checks; it returns the first capture's failure, or "".
func (s *Step) Capture(resp Response, vars Vars) string {
	if len(s.Captures) == 0 {
		return ""
	}
	lb := lazyBody{resp: resp, valid: -1}
	for _, c := range s.Captures {
		v, f := c.eval(resp, lb.isJSON, &lb.body)
		if f != "" {
			return f
		}
		vars[c.Var] = v
	}
	return ""
}

// protoFields sorts the keys of a protocol step (what names it in errors):
// those in extra are read elsewhere and skipped, those in known are
// returned by name, one that belongs to another action of the protocol
// (any list of others) is an error saying the step cannot have it, and any
// other key is unknown.
func (p *parser) protoFields(ps []pair, extra, known []string, what string, others ...[]string) map[string]pair {
	f := map[string]pair{}
	for _, e := range ps {
		if slices.Contains(extra, e.name) {
			continue
		}
		if !slices.Contains(known, e.name) {
			if slices.ContainsFunc(others, func(keys []string) bool { return slices.Contains(keys, e.name) }) {
				p.errorf(e.key, "%s cannot have %s", what, e.name)
				continue
			}
			p.unknownKey(e.key, e.name, what, known)
			continue
		}
		f[e.name] = e
	}
	return f
}

// connAndName reads a protocol step's conn: (letters, digits and _) into
// conn and its name: into s.
func (p *parser) connAndName(f map[string]pair, s *Step, conn *string) {
	if e, ok := f["conn"]; ok {
		if v, ok := p.str(e.val, "conn"); ok {
			if !identRE.MatchString(v) {
				p.errorf(e.val, "conn %q must be letters, digits and _", v)
			}
			*conn = v
		}
	}
	if e, ok := f["name"]; ok {
		s.Name, _ = p.str(e.val, "name")
	}
}
