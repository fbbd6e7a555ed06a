package engine

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/horde-load/horde/internal/grpcload"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// Statistics' methods of a gRPC step (docs/protocols.md#grpc): the call,
// and for a call whose server streams, the time to its first message and
// the gap before each message.
const (
	grpcMethod      = "GRPC"
	grpcFirstMethod = "GRPC_FIRST"
	grpcMsgMethod   = "GRPC_MSG"
)

// grpcDefaultTimeout is a call's deadline when neither the step nor the
// scenario's defaults set a timeout.
const grpcDefaultTimeout = 60 * time.Second

// grpcStep is what a gRPC step's calls share: where they go.
type grpcStep struct {
	target string
	tls    *tls.Config // nil: plaintext
	err    error       // a host that names no server
}

func newGRPCStep(s *scenario.Step, host string) *grpcStep {
	g := s.GRPC
	if g.Target != "" {
		return &grpcStep{target: g.Target, tls: g.TLS}
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return &grpcStep{err: fmt.Errorf("%s:%d: grpc step has no target and host %q names no server", s.Pos.File, s.Pos.Line, host)}
	}
	st := &grpcStep{target: u.Host, tls: g.TLS}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
		if st.tls == nil {
			st.tls = g.HostTLS
		}
	}
	if u.Port() == "" {
		st.target = net.JoinHostPort(u.Hostname(), port)
	}
	return st
}

// reflected caches the methods found by server reflection, by target and
// method, for the whole process: one lookup, not one per user.
var reflected struct {
	sync.Mutex
	m map[string]protoreflect.MethodDescriptor
}

// grpcResponse is what a gRPC step's checks and captures read: the
// answer as JSON (one message; several as a JSON array), and the header
// and trailer metadata as headers. The status is checked before.
type grpcResponse struct {
	res  *grpcload.Result
	body []byte
}

func (r grpcResponse) Status() int             { return 200 }
func (r grpcResponse) Body() []byte            { return r.body }
func (r grpcResponse) Duration() time.Duration { return r.res.Took }
func (r grpcResponse) Cookie(string) (string, bool) {
	return "", false
}
func (r grpcResponse) Header(name string) string {
	name = strings.ToLower(name)
	if v := r.res.Header.Get(name); len(v) > 0 {
		return v[0]
	}
	if v := r.res.Trailer.Get(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// runGRPC makes a gRPC step's call and records it, as run does an HTTP
// request.
func (p *planUser) runGRPC(u *vuser, s *step) (failed bool, err error) {
	g, gs := s.GRPC, s.grpc
	ctx := p.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if gs.err != nil {
		return false, gs.err
	}
	name := s.Name
	fail := func(took time.Duration, msg string) (bool, error) {
		u.record(stats.Sample{Method: grpcMethod, Name: name, Duration: took, Failure: msg})
		return true, nil
	}
	c := &grpcload.Call{Method: g.Desc, Interval: g.Interval, MaxMessages: g.MaxMessages}
	for _, m := range g.Metadata {
		p.body, err = m.Value.Append(p.body[:0], &p.env)
		if err != nil {
			return false, fmt.Errorf("%s:%d: metadata %s: %w", s.Pos.File, s.Pos.Line, m.Name, err)
		}
		if c.Metadata == nil {
			c.Metadata = map[string][]string{}
		}
		c.Metadata[m.Name] = append(c.Metadata[m.Name], string(p.body))
	}
	for i, m := range g.Messages {
		b, err := m.Append(nil, &p.env)
		if err != nil {
			return false, fmt.Errorf("%s:%d: message %d: %w", s.Pos.File, s.Pos.Line, i+1, err)
		}
		c.Messages = append(c.Messages, b)
	}
	cc, err := p.grpcConns.Get(gs.target, gs.tls)
	if err != nil {
		return fail(0, err.Error())
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = grpcDefaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if c.Method == nil {
		key := gs.target + " " + g.Method
		reflected.Lock()
		md := reflected.m[key]
		if md == nil {
			start := time.Now()
			md, err = grpcload.Reflect(cctx, cc, g.Method)
			if err != nil {
				reflected.Unlock()
				if ctx.Err() != nil {
					return false, httpload.ErrStopped
				}
				return fail(time.Since(start), err.Error())
			}
			if reflected.m == nil {
				reflected.m = map[string]protoreflect.MethodDescriptor{}
			}
			reflected.m[key] = md
		}
		reflected.Unlock()
		c.Method = md
		if !md.IsStreamingClient() && len(c.Messages) == 0 {
			c.Messages = [][]byte{[]byte("{}")}
		}
	}
	res := grpcload.Invoke(cctx, cc, c)
	if ctx.Err() != nil {
		return false, httpload.ErrStopped
	}
	if c.Method.IsStreamingServer() && res.Received > 0 {
		u.record(stats.Sample{Method: grpcFirstMethod, Name: name, Duration: res.First})
		for _, d := range res.Gaps {
			u.record(stats.Sample{Method: grpcMsgMethod, Name: name, Duration: d})
		}
	}
	failure := ""
	var ev *scenario.Trace
	codeOK := accepts(g.Codes, res.Code)
	if res.Err == nil && g.StatusChecked {
		u.RecordCheck(g.StatusCheckName(), codeOK)
	}
	if res.Err == nil && codeOK && g.MessageCount >= 0 {
		u.RecordCheck(g.MessagesCheckName(), res.Received == g.MessageCount)
	}
	switch {
	case res.Err != nil:
		failure = res.Err.Error()
	case !codeOK:
		failure = "grpc status " + scenario.GRPCCodeName(res.Code)
		if res.Message != "" {
			failure += ": " + res.Message
		}
	case g.MessageCount >= 0 && res.Received != g.MessageCount:
		failure = fmt.Sprintf("check messages: got %d, want %d", res.Received, g.MessageCount)
	case u.e.cfg.Trace != nil:
		t := s.TraceChecks(grpcResponse{res: res, body: grpcBody(c.Method, res)}, p.vars, u.RecordCheck)
		failure, ev = t.Failure, &t
	default:
		failure = s.EvaluateChecks(grpcResponse{res: res, body: grpcBody(c.Method, res)}, p.vars, u.RecordCheck)
	}
	u.record(stats.Sample{Method: grpcMethod, Name: name, Duration: res.Took, Bytes: res.Bytes, WireBytes: res.Bytes, Failure: failure})
	if u.e.cfg.Trace != nil {
		p.traceGRPC(u, s, c, res, failure, ev)
	}
	return failure != "", nil
}

// traceGRPC shows a call to cfg.Trace (horde try, -L debug) as an
// exchange: the metadata and messages sent, the status, the header and
// trailer metadata and the answer as JSON.
func (p *planUser) traceGRPC(u *vuser, s *step, c *grpcload.Call, res *grpcload.Result, failure string, ev *scenario.Trace) {
	req, resp := u.scratch()
	req.Reset()
	resp.Reset()
	req.Header.DisableNormalizing()
	resp.Header.DisableNormalizing()
	defer req.Header.EnableNormalizing()
	defer resp.Header.EnableNormalizing()
	if ev != nil { // the status and the message count were checked first, not as HTTP's
		g := s.GRPC
		out := []scenario.Outcome{{What: g.StatusCheckName()}}
		if g.MessageCount >= 0 {
			out = append(out, scenario.Outcome{What: g.MessagesCheckName()})
		}
		for _, o := range ev.Checks {
			if !strings.HasPrefix(o.What, "status < 400") {
				out = append(out, o)
			}
		}
		ev.Checks = out
	}
	scheme := "grpc://"
	if s.grpc.tls != nil {
		scheme = "grpcs://"
	}
	url := scheme + s.grpc.target + s.GRPC.Method
	for k, vs := range c.Metadata {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	for i, m := range c.Messages {
		if i > 0 {
			req.AppendBodyString("\n")
		}
		req.AppendBody(m)
	}
	line := "grpc-status " + scenario.GRPCCodeName(res.Code)
	if res.Message != "" {
		line += ": " + res.Message
	}
	for _, md := range []map[string][]string{res.Header, res.Trailer} {
		for k, vs := range md {
			for _, v := range vs {
				resp.Header.Add(k, v)
			}
		}
	}
	resp.SetBody(grpcBody(c.Method, res))
	x := &Exchange{Method: grpcMethod, URL: url, Name: s.Name, Took: res.Took, Status: int(res.Code), StatusLine: line,
		Failure: failure, Eval: ev, Pos: s.Pos}
	if res.Err != nil {
		x.Err = res.Err.Error()
	}
	u.trace(x)
}

func accepts(list []codes.Code, c codes.Code) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

// grpcBody is the answer checks read: the message of a call whose server
// answers once, a JSON array of the messages of one that streams.
func grpcBody(md protoreflect.MethodDescriptor, res *grpcload.Result) []byte {
	if !md.IsStreamingServer() {
		if len(res.Responses) == 0 {
			return []byte("null")
		}
		return res.Responses[0]
	}
	n := 2
	for _, r := range res.Responses {
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, r := range res.Responses {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, ']')
}
