package grpcload

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Kind is the kind of a call, from its method's streaming flags.
func Kind(md protoreflect.MethodDescriptor) string {
	switch {
	case md.IsStreamingClient() && md.IsStreamingServer():
		return "bidi"
	case md.IsStreamingClient():
		return "client-streaming"
	case md.IsStreamingServer():
		return "server-streaming"
	}
	return "unary"
}

// Conns are one user's connections, by target and TLS settings: a user
// keeps its connections for its life, as a client of a gRPC service does.
type Conns struct {
	m map[connKey]*grpc.ClientConn
}

type connKey struct {
	target string
	tls    *tls.Config // nil: plaintext
}

// Get returns the user's connection to target (host:port), dialled on
// first use (grpc.NewClient connects lazily, on the first call).
func (c *Conns) Get(target string, tc *tls.Config) (*grpc.ClientConn, error) {
	k := connKey{target, tc}
	if cc, ok := c.m[k]; ok {
		return cc, nil
	}
	creds := insecure.NewCredentials()
	if tc != nil {
		creds = credentials.NewTLS(tc)
	}
	cc, err := grpc.NewClient("passthrough:///"+target, grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent("horde"))
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[connKey]*grpc.ClientConn{}
	}
	c.m[k] = cc
	return cc, nil
}

// Close closes every connection.
func (c *Conns) Close() {
	for k, cc := range c.m {
		cc.Close()
		delete(c.m, k)
	}
}

// Call is one call to make.
type Call struct {
	Method   protoreflect.MethodDescriptor
	Metadata metadata.MD
	// Messages are the request messages as JSON: one for a unary or
	// server-streaming call, any number for a client-streaming or
	// bidirectional one.
	Messages [][]byte
	// Interval is the pause between two messages a stream sends.
	Interval time.Duration
	// MaxMessages bounds the messages kept of a server stream (0: all);
	// the others are counted and timed only.
	MaxMessages int
}

// Result is what a call returned.
type Result struct {
	Code    codes.Code
	Message string // the status message
	Header  metadata.MD
	Trailer metadata.MD
	// Responses are the messages received, as JSON (protojson).
	Responses [][]byte
	Received  int           // messages received (kept or not)
	Bytes     int64         // their size on the wire (protobuf, uncompressed)
	First     time.Duration // time to the first message received (0: none)
	Gaps      []time.Duration
	Took      time.Duration
	// Err is set for a call that failed before the server answered with
	// a status (a bad message, a closed connection...), beside Code.
	Err error
}

// Invoke makes the call on cc and waits for its end. Problems of the call
// (a status other than OK, a message that does not fit the method) are in
// the result; the error is for the context ending first.
func Invoke(ctx context.Context, cc grpc.ClientConnInterface, c *Call) *Result {
	md := c.Method
	res := &Result{}
	reqs := make([]*dynamicpb.Message, 0, len(c.Messages))
	for i, b := range c.Messages {
		m := dynamicpb.NewMessage(md.Input())
		if err := protojson.Unmarshal(b, m); err != nil {
			res.Code, res.Err = codes.InvalidArgument, fmt.Errorf("message %d is not a %s: %s", i+1, md.Input().FullName(), ProtoErrorText(err))
			return res
		}
		reqs = append(reqs, m)
	}
	if !md.IsStreamingClient() && len(reqs) != 1 {
		res.Code, res.Err = codes.InvalidArgument, fmt.Errorf("%s takes one message, got %d", Kind(md), len(reqs))
		return res
	}
	if len(c.Metadata) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, c.Metadata)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	desc := &grpc.StreamDesc{StreamName: string(md.Name()), ServerStreams: md.IsStreamingServer(), ClientStreams: md.IsStreamingClient()}
	stream, err := cc.NewStream(ctx, desc, FullMethod(md))
	if err != nil {
		res.finish(start, err)
		return res
	}
	sendErr := make(chan error, 1)
	send := func() error {
		for i, m := range reqs {
			if i > 0 && c.Interval > 0 {
				t := time.NewTimer(c.Interval)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				}
			}
			if err := stream.SendMsg(m); err != nil {
				if errors.Is(err, io.EOF) {
					return nil // the server ended the call: RecvMsg has its status
				}
				return err
			}
		}
		return stream.CloseSend()
	}
	if md.IsStreamingClient() && md.IsStreamingServer() {
		go func() { sendErr <- send() }()
	} else {
		sendErr <- send()
	}
	last := start
	for {
		out := dynamicpb.NewMessage(md.Output())
		err := stream.RecvMsg(out)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			res.finish(start, err)
			break
		}
		now := time.Now()
		if res.Received == 0 {
			res.First = now.Sub(start)
		} else {
			res.Gaps = append(res.Gaps, now.Sub(last))
		}
		last = now
		res.Received++
		res.Bytes += int64(proto.Size(out))
		if c.MaxMessages == 0 || len(res.Responses) < c.MaxMessages {
			b, err := protojson.MarshalOptions{EmitUnpopulated: false}.Marshal(out)
			if err != nil {
				b = []byte("{}")
			}
			res.Responses = append(res.Responses, b)
		}
		// a single answer too: RecvMsg again reads the status (io.EOF)
	}
	if res.Code != codes.OK || res.Err != nil {
		cancel() // a bidi sender may be pausing between messages
	}
	if err := <-sendErr; err != nil && res.Code == codes.OK && res.Err == nil {
		res.finish(start, err)
	}
	res.Header, _ = stream.Header()
	res.Trailer = stream.Trailer()
	return res
}

func (r *Result) finish(start time.Time, err error) {
	r.Took = time.Since(start)
	if err == nil {
		return
	}
	st, ok := status.FromError(err)
	if ok {
		r.Code, r.Message = st.Code(), st.Message()
		return
	}
	r.Code, r.Err = status.Code(err), err
}

// ProtoErrorText is a protobuf error's text without its "proto:" prefix
// (whose spacing the library varies at random, to be read, not parsed).
func ProtoErrorText(err error) string {
	s := strings.ReplaceAll(err.Error(), "\u00a0", " ")
	s = strings.TrimPrefix(s, "proto:")
	return strings.TrimSpace(s)
}
