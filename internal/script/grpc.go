package script

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/grpcload"
	"github.com/horde-load/horde/internal/scenario"
)

// gRPC from scripts (docs/protocols.md#grpc): grpc_proto("x.proto") at
// the top level compiles .proto files once (shipped to workers like
// feeders' files); u.grpc(method, ...) makes a call and records it as a
// YAML gRPC step does.

// protoValue is a compiled set of .proto files.
type protoValue struct{ s *grpcload.Schema }

func (p *protoValue) String() string        { return "<proto>" }
func (p *protoValue) Type() string          { return "proto" }
func (p *protoValue) Freeze()               {}
func (p *protoValue) Truth() starlark.Bool  { return true }
func (p *protoValue) Hash() (uint32, error) { return 0, errors.New("unhashable: proto") }

// builtinGRPCProto compiles the .proto files named relative to the script.
func builtinGRPCProto(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword argument", b.Name())
	}
	var files []string
	for _, a := range args {
		s, ok := starlark.AsString(a)
		if !ok || !strings.HasSuffix(s, ".proto") {
			return nil, fmt.Errorf("%s: want .proto file names, got %s", b.Name(), a.String())
		}
		files = append(files, s)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: name at least one .proto file", b.Name())
	}
	l, _ := thread.Local(localLoader).(*loader)
	dir, _ := thread.Local(localDir).(string)
	if l == nil {
		return nil, fmt.Errorf("%s: call it at the top level of a file, not in a task", b.Name())
	}
	s, err := grpcload.Compile(context.Background(), l.path(dir), files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	for _, f := range s.Read {
		l.note(filepath.Join(dir, f))
	}
	return &protoValue{s: s}, nil
}

// grpcBuiltin is u.grpc, bound to its user on use.
var grpcBuiltin = starlark.NewBuiltin("grpc", func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return b.Receiver().(*userValue).grpcCall(t, args, kwargs)
})

// grpcCall makes one call: u.grpc(method, proto=, reflection=, message=,
// messages=, metadata=, timeout=, target=, name=, statuses=).
func (u *userValue) grpcCall(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		method, target, name string
		proto                *protoValue
		reflection           bool
		message, messages    starlark.Value = starlark.None, starlark.None
		metadata, timeout    starlark.Value = starlark.None, starlark.None
		statuses             *starlark.List
	)
	if err := starlark.UnpackArgs("grpc", args, kwargs, "method", &method, "proto?", &proto, "reflection?", &reflection,
		"message?", &message, "messages?", &messages, "metadata?", &metadata, "timeout?", &timeout,
		"target?", &target, "name?", &name, "statuses?", &statuses); err != nil {
		return nil, err
	}
	r := u.r
	ctx := r.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if ctx.Err() != nil {
		return nil, errStopped
	}
	if (proto == nil) == !reflection {
		return nil, errors.New("grpc: give proto= (from grpc_proto) or reflection = True")
	}
	svc, m, err := grpcload.SplitMethod(method)
	if err != nil {
		return nil, fmt.Errorf("grpc: %w", err)
	}
	full := "/" + svc + "/" + m
	if name == "" {
		name = full
	}
	ok := []codes.Code{codes.OK}
	if statuses != nil {
		ok = nil
		for i := range statuses.Len() {
			s, isStr := starlark.AsString(statuses.Index(i))
			c, good := grpcCode(s)
			if !isStr || !good {
				return nil, fmt.Errorf("grpc: statuses: %s is not a gRPC status name", statuses.Index(i))
			}
			ok = append(ok, c)
		}
	}
	c := &grpcload.Call{}
	if proto != nil {
		if c.Method, err = proto.s.Method(full); err != nil {
			return nil, fmt.Errorf("grpc: %w", err)
		}
	}
	encode := func(v starlark.Value) ([]byte, error) {
		if s, ok := starlark.AsString(v); ok {
			return []byte(s), nil
		}
		out, err := starlark.Call(thread, jsonEncode, starlark.Tuple{v}, nil)
		if err != nil {
			return nil, err
		}
		return []byte(string(out.(starlark.String))), nil
	}
	switch {
	case message != starlark.None && messages != starlark.None:
		return nil, errors.New("grpc: give message or messages, not both")
	case messages != starlark.None:
		it := starlark.Iterate(messages)
		if it == nil {
			return nil, fmt.Errorf("grpc: messages must be a list, got %s", messages.Type())
		}
		var v starlark.Value
		for it.Next(&v) {
			b, err := encode(v)
			if err != nil {
				it.Done()
				return nil, fmt.Errorf("grpc: messages: %w", err)
			}
			c.Messages = append(c.Messages, b)
		}
		it.Done()
	case message != starlark.None:
		b, err := encode(message)
		if err != nil {
			return nil, fmt.Errorf("grpc: message: %w", err)
		}
		c.Messages = [][]byte{b}
	}
	if d, ok := metadata.(*starlark.Dict); ok {
		c.Metadata = map[string][]string{}
		for _, kv := range d.Items() {
			k, ok1 := starlark.AsString(kv[0])
			v, ok2 := starlark.AsString(kv[1])
			if !ok1 || !ok2 {
				return nil, errors.New("grpc: metadata must map strings to strings")
			}
			k = strings.ToLower(k)
			c.Metadata[k] = append(c.Metadata[k], v)
		}
	} else if metadata != starlark.None {
		return nil, fmt.Errorf("grpc: metadata must be a dict, got %s", metadata.Type())
	}
	d := 60 * time.Second
	if timeout != starlark.None {
		if d, err = toDuration(timeout); err != nil {
			return nil, fmt.Errorf("grpc: timeout: %w", err)
		}
	}
	addr, tc, err := grpcTarget(target, u.host)
	if err != nil {
		return nil, fmt.Errorf("grpc: %w", err)
	}
	cc, err := u.grpcConns.Get(addr, tc)
	if err != nil {
		return nil, fmt.Errorf("grpc: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if c.Method == nil {
		if c.Method, err = reflectMethod(cctx, addr, full, cc); err != nil {
			if ctx.Err() != nil {
				return nil, errStopped
			}
			r.vu.Record(horde.Sample{Method: "GRPC", Name: name, Failure: err.Error()})
			return &grpcResult{code: codes.Unknown, failure: err.Error()}, nil
		}
	}
	if !c.Method.IsStreamingClient() && len(c.Messages) == 0 {
		c.Messages = [][]byte{[]byte("{}")}
	}
	res := grpcload.Invoke(cctx, cc, c)
	if ctx.Err() != nil {
		return nil, errStopped
	}
	if c.Method.IsStreamingServer() && res.Received > 0 {
		r.vu.Record(horde.Sample{Method: "GRPC_FIRST", Name: name, Duration: res.First})
		for _, g := range res.Gaps {
			r.vu.Record(horde.Sample{Method: "GRPC_MSG", Name: name, Duration: g})
		}
	}
	failure := ""
	if res.Err != nil {
		failure = res.Err.Error()
	} else if !containsCode(ok, res.Code) {
		failure = "grpc status " + scenario.GRPCCodeName(res.Code)
		if res.Message != "" {
			failure += ": " + res.Message
		}
	}
	r.vu.Record(horde.Sample{Method: "GRPC", Name: name, Duration: res.Took, Bytes: res.Bytes, Failure: failure})
	out := &grpcResult{code: res.Code, status: res.Message, failure: failure, took: res.Took}
	for _, b := range res.Responses {
		v, err := starlark.Call(thread, jsonDecode, starlark.Tuple{starlark.String(b)}, nil)
		if err != nil {
			return nil, err
		}
		out.messages = append(out.messages, v)
	}
	out.headers = starlark.NewDict(len(res.Header) + len(res.Trailer))
	for _, md := range []map[string][]string{res.Header, res.Trailer} {
		keys := make([]string, 0, len(md))
		for k := range md {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if len(md[k]) > 0 {
				out.headers.SetKey(starlark.String(k), starlark.String(md[k][0]))
			}
		}
	}
	return out, nil
}

func containsCode(list []codes.Code, c codes.Code) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

func grpcCode(name string) (codes.Code, bool) {
	for i := range 17 {
		if scenario.GRPCCodeName(codes.Code(i)) == strings.ToUpper(name) {
			return codes.Code(i), true
		}
	}
	return 0, false
}

// grpcTarget is where a call goes: target (host:port, grpc://, grpcs://)
// or the host's host and port (TLS for https://).
func grpcTarget(target, host string) (string, *tls.Config, error) {
	switch {
	case strings.HasPrefix(target, "grpcs://"):
		return strings.TrimPrefix(target, "grpcs://"), &tls.Config{MinVersion: tls.VersionTLS12}, nil
	case strings.HasPrefix(target, "grpc://"):
		return strings.TrimPrefix(target, "grpc://"), nil, nil
	case target != "":
		return target, nil, nil
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return "", nil, fmt.Errorf("no target and host %q names no server", host)
	}
	if u.Port() != "" {
		if u.Scheme == "https" {
			return u.Host, &tls.Config{MinVersion: tls.VersionTLS12}, nil
		}
		return u.Host, nil, nil
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443"), &tls.Config{MinVersion: tls.VersionTLS12}, nil
	}
	return net.JoinHostPort(u.Hostname(), "80"), nil, nil
}

// reflectMethod asks the server once per process and target.
func reflectMethod(ctx context.Context, addr, full string, cc grpc.ClientConnInterface) (protoreflect.MethodDescriptor, error) {
	key := addr + " " + full
	reflected.Lock()
	defer reflected.Unlock()
	if md := reflected.m[key]; md != nil {
		return md, nil
	}
	md, err := grpcload.Reflect(ctx, cc, full)
	if err != nil {
		return nil, err
	}
	if reflected.m == nil {
		reflected.m = map[string]protoreflect.MethodDescriptor{}
	}
	reflected.m[key] = md
	return md, nil
}

// reflected caches the methods found by server reflection, by target and
// method, for the process: one lookup, not one per user.
var reflected struct {
	sync.Mutex
	m map[string]protoreflect.MethodDescriptor
}

// UserStopped closes the user's gRPC connections; the engine calls it
// when a YAML user whose tasks ran a script stops.
func (r *runner) UserStopped() { r.u.grpcConns.Close() }

// grpcResult is what u.grpc returns.
type grpcResult struct {
	code     codes.Code
	status   string
	failure  string
	took     time.Duration
	messages []starlark.Value
	headers  *starlark.Dict
}

func (g *grpcResult) String() string        { return "<grpc " + scenario.GRPCCodeName(g.code) + ">" }
func (g *grpcResult) Type() string          { return "grpc_result" }
func (g *grpcResult) Freeze()               {}
func (g *grpcResult) Truth() starlark.Bool  { return g.failure == "" }
func (g *grpcResult) Hash() (uint32, error) { return 0, errors.New("unhashable: grpc_result") }
func (g *grpcResult) AttrNames() []string {
	return []string{"code", "failure", "headers", "message", "messages", "ok", "status", "status_message", "took"}
}

func (g *grpcResult) Attr(name string) (starlark.Value, error) {
	switch name {
	case "status":
		return starlark.String(scenario.GRPCCodeName(g.code)), nil
	case "code":
		return starlark.MakeInt(int(g.code)), nil
	case "status_message":
		return starlark.String(g.status), nil
	case "failure":
		return starlark.String(g.failure), nil
	case "ok":
		return starlark.Bool(g.failure == ""), nil
	case "took":
		return starlark.Float(g.took.Seconds()), nil
	case "messages":
		return starlark.NewList(append([]starlark.Value(nil), g.messages...)), nil
	case "message":
		if len(g.messages) == 0 {
			return starlark.None, nil
		}
		return g.messages[0], nil
	case "headers":
		if g.headers == nil {
			return starlark.NewDict(0), nil
		}
		return g.headers, nil
	}
	return nil, nil
}
