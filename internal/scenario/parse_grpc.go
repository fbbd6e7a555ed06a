// This file parses a gRPC step (grpc: /pkg.Service/Method); the calls are
// made by internal/grpcload (docs/protocols.md#grpc).

package scenario

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/horde-load/horde/internal/grpcload"
)

// GRPCCall is a compiled gRPC step (Step.GRPC).
type GRPCCall struct {
	// Method is the full method name, /package.Service/Method.
	Method string
	// Desc is the method, from the step's .proto files; nil with
	// reflection: true (the server's reflection service is asked when the
	// call is first made).
	Desc protoreflect.MethodDescriptor
	// Target is host:port; "" means the scenario's host.
	Target string
	// TLS is the TLS configuration when the call uses TLS (a grpcs://
	// target, a tls: setting, or an https:// host with no target); nil:
	// plaintext, unless the host is https://, when HostTLS is used.
	TLS *tls.Config
	// HostTLS is the TLS configuration for an https:// host.
	HostTLS *tls.Config
	// Plaintext is a grpc:// target: no TLS whatever the host.
	Plaintext bool
	Metadata  []Param
	// Messages are the request messages as JSON templates.
	Messages []*Template
	// Codes are the status codes that are not failures (default OK).
	Codes []codes.Code
	// StatusChecked is a status check the step wrote (check: {status:});
	// without one the default OK fails the call but is no named check in
	// the checks summary, as HTTP's status < 400.
	StatusChecked bool
	// MessageCount, when >= 0, is the number of messages the call must
	// receive (check: {messages: N}).
	MessageCount int
	// Interval is the pause between two messages of a client stream.
	Interval time.Duration
	// MaxMessages bounds the answers kept for checks and captures (0: all).
	MaxMessages int
}

// Keys of a gRPC step.
var (
	grpcKeys = []string{"grpc", "name", "target", "proto", "reflection", "metadata", "message", "messages",
		"timeout", "tls", "send_interval", "max_messages", "check", "capture", "on_failure"}
	grpcTaskKeys   = append(slices.Clone(grpcKeys), "weight", "tags")
	grpcCheckKeys  = []string{"status", "messages", "json", "body_contains", "header", "max_duration"}
	grpcMetadataRE = regexp.MustCompile(`^[0-9a-z_.-]+$`)
)

// grpcState is the parser's: the proto: sets compiled (nil after an
// error, reported once) and the files they read, shipped to workers.
type grpcState struct {
	protos map[string]*grpcload.Schema
	files  []string
}

// isGRPC reports whether the mapping n is a gRPC step.
func (p *parser) isGRPC(n *yaml.Node) bool {
	r := p.resolve(n)
	return r != nil && r.Kind == yaml.MappingNode && hasKey(r, "grpc")
}

// grpcTask parses a task that is one gRPC step.
func (p *parser) grpcTask(n *yaml.Node) *Task {
	f := p.fields(n, "grpc task", grpcTaskKeys)
	if f == nil {
		return nil
	}
	t := &Task{Weight: 1}
	if e, ok := f["tags"]; ok {
		t.Tags = p.tags(e.val)
	}
	p.positiveInt(f, "weight", &t.Weight)
	s := p.grpcStep(n, f)
	if s == nil {
		return nil
	}
	t.Steps, t.Name = []*Step{s}, s.Name
	return t
}

// grpcStep compiles a gRPC step whose keys f were already checked.
func (p *parser) grpcStep(n *yaml.Node, f map[string]pair) *Step {
	n = p.resolve(n)
	g := &GRPCCall{MessageCount: -1}
	s := &Step{Method: "GRPC", Pos: p.pos(n), Timeout: p.defTimeout, GRPC: g, URL: &Template{static: true}}
	e := f["grpc"]
	name, ok := p.str(e.val, "grpc method")
	if !ok {
		return nil
	}
	svc, m, err := grpcload.SplitMethod(name)
	if err != nil {
		p.errorf(e.val, "%s", err)
		return nil
	}
	g.Method = "/" + svc + "/" + m
	s.Name = g.Method
	if e, ok := f["name"]; ok {
		s.Name, _ = p.str(e.val, "name")
	}
	_, hasProto := f["proto"]
	reflection := false
	if e, ok := f["reflection"]; ok {
		reflection, _ = p.bool(e.val, "reflection")
		if reflection && hasProto {
			p.errorf(e.key, "grpc step has both proto and reflection: use one")
		}
	}
	switch {
	case hasProto && !reflection:
		g.Desc = p.grpcMethod(f["proto"].val, e.val, name)
	case !hasProto && !reflection:
		p.errorf(e.key, "grpc step needs the method's definition: add proto: [file.proto] or reflection: true")
	}
	if e, ok := f["target"]; ok {
		p.grpcTarget(e.val, g)
	}
	if e, ok := f["metadata"]; ok {
		g.Metadata = p.params(e.val, "metadata", true)
		for i := range g.Metadata {
			md := &g.Metadata[i]
			md.Name = strings.ToLower(md.Name)
			if !grpcMetadataRE.MatchString(md.Name) || strings.HasPrefix(md.Name, "grpc-") {
				p.errorf(e.val, "bad metadata key %q: want lower-case letters, digits, - _ . and not grpc-", md.Name)
			}
		}
	}
	_, one := f["message"]
	if e, ok := f["messages"]; ok {
		if one {
			p.errorf(e.key, "grpc step has both message and messages: use one")
		}
		items, _ := p.list(e.val, "messages", false)
		for _, it := range items {
			g.Messages = append(g.Messages, p.grpcMessage(it, g.Desc))
		}
		if g.Desc != nil && !g.Desc.IsStreamingClient() && len(items) != 1 {
			p.errorf(e.val, "%s is %s: it takes one message, got %d", g.Method, grpcload.Kind(g.Desc), len(items))
		}
	} else if e, ok := f["message"]; ok {
		g.Messages = []*Template{p.grpcMessage(e.val, g.Desc)}
	} else if g.Desc == nil || !g.Desc.IsStreamingClient() {
		g.Messages = []*Template{{static: true, src: "{}"}} // an empty request message
	}
	if e, ok := f["timeout"]; ok {
		s.Timeout, _ = p.duration(e.val, "timeout")
	}
	if e, ok := f["send_interval"]; ok {
		g.Interval, _ = p.duration(e.val, "send_interval")
	}
	p.nonNegativeInt(f, "max_messages", &g.MaxMessages)
	s.StopOnFailure = p.stopOnFailure(f)
	if e, ok := f["capture"]; ok {
		s.Captures = p.captures(e.val)
		for _, c := range s.Captures {
			if c.kind == captureCookie {
				p.errorAt(c.pos, "capture %s: a gRPC answer has no cookies (capture json, header or regex)", c.Var)
			}
		}
	}
	if e, ok := f["check"]; ok {
		p.grpcChecks(e.val, s)
	}
	g.StatusChecked = len(g.Codes) > 0
	if len(g.Codes) == 0 {
		g.Codes = []codes.Code{codes.OK}
	}
	spec := p.transportSpecs(p.defSpec, map[string]pair{})
	g.HostTLS = tlsOf(p.transport(spec))
	if e, ok := f["tls"]; ok {
		spec = p.transportSpecs(p.defSpec, map[string]pair{"tls": e})
		if g.Plaintext {
			p.errorf(e.key, "grpc:// target with tls: write the target grpcs:// or host:port")
		}
		g.TLS = tlsOf(p.transport(spec))
	} else if g.TLS != nil { // grpcs:// target
		g.TLS = g.HostTLS
	}
	return s
}

// tlsOf is the TLS configuration of t for gRPC (never nil).
func tlsOf(t *Transport) *tls.Config {
	if t == nil || t.TLS == nil {
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return t.TLS
}

// grpcTarget reads target: host:port, grpc://host:port or grpcs://host:port.
func (p *parser) grpcTarget(n *yaml.Node, g *GRPCCall) {
	v, ok := p.str(n, "target")
	if !ok {
		return
	}
	addr := v
	switch {
	case strings.HasPrefix(v, "grpcs://"):
		addr, g.TLS = strings.TrimPrefix(v, "grpcs://"), &tls.Config{} // replaced by the step's TLS
	case strings.HasPrefix(v, "grpc://"):
		addr, g.Plaintext = strings.TrimPrefix(v, "grpc://"), true
	case strings.Contains(v, "://"):
		p.errorf(n, "target %q: want host:port, grpc://host:port or grpcs://host:port", v)
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		p.errorf(n, "target %q: want host:port, grpc://host:port or grpcs://host:port", v)
		return
	}
	if pn, err := strconv.Atoi(port); err != nil || pn < 1 || pn > 65535 {
		p.errorf(n, "target %q: bad port %q", v, port)
		return
	}
	g.Target = addr
}

// grpcMethod compiles the proto: files (once per set) and finds name in
// them; errors point at the proto: value or the method.
func (p *parser) grpcMethod(protoNode, methodNode *yaml.Node, name string) protoreflect.MethodDescriptor {
	items, _ := p.list(protoNode, "proto", true)
	var files []string
	for _, it := range items {
		if s, ok := p.str(it, "proto file"); ok {
			if !strings.HasSuffix(s, ".proto") {
				p.errorf(it, "proto file %q: want a .proto file", s)
				return nil
			}
			files = append(files, s)
		}
	}
	if len(files) == 0 {
		if len(items) == 0 {
			p.errorf(protoNode, "proto is empty: name the .proto files")
		}
		return nil
	}
	key := strings.Join(files, "\x00")
	if p.grpc.protos == nil {
		p.grpc.protos = map[string]*grpcload.Schema{}
	}
	sc, seen := p.grpc.protos[key]
	if !seen {
		var err error
		sc, err = grpcload.Compile(context.Background(), p.dir, files)
		if err != nil {
			p.errorf(protoNode, "proto: %s", err)
		}
		p.grpc.protos[key] = sc // nil after an error: reported once
		if sc != nil {
			for _, f := range sc.Read {
				if !slices.Contains(p.grpc.files, f) {
					p.grpc.files = append(p.grpc.files, f)
				}
			}
		}
	}
	if sc == nil {
		return nil
	}
	md, err := sc.Method(name)
	if err != nil {
		p.errorf(methodNode, "%s", err)
		return nil
	}
	return md
}

// grpcMessage compiles a request message written as YAML (or a JSON
// string); with the method known, a message without templates is checked
// against its type now.
func (p *parser) grpcMessage(n *yaml.Node, md protoreflect.MethodDescriptor) *Template {
	r := p.resolve(n)
	var t *Template
	if r != nil && r.Kind == yaml.ScalarNode && r.ShortTag() == "!!str" && strings.HasPrefix(strings.TrimSpace(r.Value), "{") {
		t = p.template(n, r.Value) // a JSON text
	} else {
		t = p.jsonBody(n)
	}
	if t == nil {
		return &Template{static: true, src: "{}"}
	}
	if md == nil {
		return t
	}
	if s, ok := t.Static(); ok {
		if err := CheckMessage(md.Input(), []byte(s)); err != nil {
			p.errorf(n, "message is not a %s: %s", md.Input().FullName(), err)
		}
	}
	return t
}

// CheckMessage reports whether JSON text b is a valid message of type d.
func CheckMessage(d protoreflect.MessageDescriptor, b []byte) error {
	if err := protojson.Unmarshal(b, dynamicpb.NewMessage(d)); err != nil {
		return errors.New(grpcload.ProtoErrorText(err))
	}
	return nil
}

// grpcChecks reads a gRPC step's check: status (code names or numbers)
// and messages here, the others as an HTTP step's.
func (p *parser) grpcChecks(n *yaml.Node, s *Step) {
	f := p.fields(n, "grpc check", grpcCheckKeys)
	if f == nil {
		return
	}
	g := s.GRPC
	if e, ok := f["status"]; ok {
		items, _ := p.list(e.val, "status", true)
		for _, it := range items {
			if c, ok := p.grpcCode(it); ok {
				g.Codes = append(g.Codes, c)
			}
		}
	}
	if e, ok := f["messages"]; ok {
		if v, ok := p.int(e.val, "messages"); ok {
			if v < 0 {
				p.errorf(e.val, "messages must be >= 0")
			}
			g.MessageCount = v
		}
	}
	rest := &yaml.Node{Kind: yaml.MappingNode, Line: p.resolve(n).Line, Column: p.resolve(n).Column}
	for _, k := range []string{"json", "body_contains", "header", "max_duration"} {
		if e, ok := f[k]; ok {
			rest.Content = append(rest.Content, e.key, e.val)
		}
	}
	if len(rest.Content) > 0 {
		s.Checks = p.checks(rest)
	}
}

// grpcCode reads a status code: a name (OK, NOT_FOUND, ...) or a number.
func (p *parser) grpcCode(n *yaml.Node) (codes.Code, bool) {
	r, ok := p.scalar(n, "status", "a gRPC status code")
	if !ok {
		return 0, false
	}
	if v, err := strconv.Atoi(r.Value); err == nil {
		if v < 0 || v > 16 {
			p.errorf(n, "status %d: a gRPC status code is 0 to 16", v)
			return 0, false
		}
		return codes.Code(v), true
	}
	i := slices.Index(grpcCodeNames, strings.ToUpper(r.Value))
	if i < 0 {
		msg := fmt.Sprintf("unknown gRPC status %q", r.Value)
		if sg := suggest(strings.ToUpper(r.Value), grpcCodeNames); sg != "" {
			msg += fmt.Sprintf("; did you mean %q?", sg)
		}
		p.errorf(n, "%s", msg)
		return 0, false
	}
	return codes.Code(i), true
}

var grpcCodeNames = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// GRPCCodeName is a status code's name as gRPC writes it: NOT_FOUND.
// StatusCheckName is the status check as the summary and a trace name it:
// "grpc status in [OK, NOT_FOUND]".
func (g *GRPCCall) StatusCheckName() string {
	names := make([]string, len(g.Codes))
	for i, c := range g.Codes {
		names[i] = GRPCCodeName(c)
	}
	return "grpc status in [" + strings.Join(names, ", ") + "]"
}

// MessagesCheckName is the message count check's name: "messages == 5".
func (g *GRPCCall) MessagesCheckName() string {
	return fmt.Sprintf("messages == %d", g.MessageCount)
}

func GRPCCodeName(c codes.Code) string {
	if int(c) < len(grpcCodeNames) {
		return grpcCodeNames[c]
	}
	return "CODE_" + strconv.Itoa(int(c))
}
