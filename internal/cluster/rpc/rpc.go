// Package rpc carries cluster sessions over gRPC: NewServer serves a
// cluster.Acceptor (the master) to workers that dial in, and Dialer is the
// worker's side. Workers dial out; they need no inbound port. Listen and
// Access keep the channel closed beyond loopback: a worker receives the
// scenario and its data files.
package rpc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/horde-load/horde/internal/cluster"
	pb "github.com/horde-load/horde/internal/cluster/clusterpb"
)

// MaxMessageBytes bounds one message: the Welcome carries the scenario and
// its data files.
const MaxMessageBytes = 256 << 20

// DialTimeout bounds one attempt to connect to the master.
const DialTimeout = 5 * time.Second

// TLSFiles names the PEM files of the worker channel's TLS.
type TLSFiles struct {
	Cert, Key string // this side's certificate; required on the master
	CA        string // master: require client certificates signed by it (mutual TLS); worker: verify the master with it
	// ServerName overrides the name the worker checks in the master's
	// certificate (default: the host it dials).
	ServerName string
}

// Enabled reports whether any TLS file is named.
func (f TLSFiles) Enabled() bool { return f.Cert != "" || f.Key != "" || f.CA != "" }

// Mutual reports whether the master's TLS requires client certificates:
// a CA beside the certificate and key.
func (f TLSFiles) Mutual() bool { return f.Cert != "" && f.Key != "" && f.CA != "" }

// ServerConfig returns the master's TLS configuration.
func (f TLSFiles) ServerConfig() (*tls.Config, error) {
	if f.Cert == "" || f.Key == "" {
		return nil, errors.New("TLS for workers needs both --tls-cert and --tls-key")
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.CA != "" {
		pool, err := loadPool(f.CA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientConfig returns the worker's TLS configuration.
func (f TLSFiles) ClientConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if f.CA != "" {
		pool, err := loadPool(f.CA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if f.Cert != "" || f.Key != "" {
		cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("TLS CA %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// DefaultOpenWarnEvery is how often Serve repeats its warning about a
// channel open beyond loopback (Access.AllowOpen).
const DefaultOpenWarnEvery = time.Hour

// joinTimeout bounds the wait for a worker's Join when the server checks
// its token.
const joinTimeout = 15 * time.Second

// ServerConfig configures NewServer.
type ServerConfig struct {
	// Access is who may join. With a Token, the server checks each
	// worker's Join before the Acceptor sees it, and slows down addresses
	// that fail it (FailureBurst, FailureEvery).
	Access Access
	TLS    *tls.Config // nil: plain TCP
	// Version is the master's horde version, named in token refusals.
	Version string
	Logger  *slog.Logger // nil: discard
	// OpenWarnEvery is how often Serve repeats the warning of an open
	// channel; 0 means DefaultOpenWarnEvery.
	OpenWarnEvery time.Duration
}

// Server serves the Cluster service over gRPC.
type Server struct {
	pb.UnimplementedClusterServer
	acc     cluster.Acceptor
	grpc    *grpc.Server
	cfg     ServerConfig
	log     *slog.Logger
	limiter *failureLimiter
}

// NewServer returns a server that hands each worker session to acc.
// Sessions end with the worker, or at Stop.
func NewServer(acc cluster.Acceptor, cfg ServerConfig) *Server {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		// The session's own heartbeats find dead peers; TCP keepalive
		// pings only keep idle NATs and load balancers open.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	if cfg.OpenWarnEvery <= 0 {
		cfg.OpenWarnEvery = DefaultOpenWarnEvery
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{acc: acc, grpc: grpc.NewServer(opts...), cfg: cfg, log: log, limiter: newFailureLimiter()}
	pb.RegisterClusterServer(s.grpc, s)
	return s
}

// Serve accepts workers on l until Stop. When the channel is open beyond
// loopback (Access.AllowOpen without a token or mutual TLS), it warns at
// once and every OpenWarnEvery until it returns.
func (s *Server) Serve(l net.Listener) error {
	if s.cfg.Access.open(l.Addr()) {
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			s.warnOpen(l.Addr(), stop)
		}()
		defer func() { close(stop); <-done }()
	}
	return s.grpc.Serve(l)
}

// warnOpen logs that the channel is open, now and every OpenWarnEvery
// until stop is closed.
func (s *Server) warnOpen(addr net.Addr, stop <-chan struct{}) {
	t := time.NewTicker(s.cfg.OpenWarnEvery)
	defer t.Stop()
	for {
		s.log.Warn("!!! WORKERS CAN JOIN WITHOUT A TOKEN !!! (--allow-open-workers) anyone who can reach " + addr.String() +
			" receives the scenario and its data files (credentials, tokens in headers, the target's address) and can report made-up statistics; " +
			"set --worker-token or mutual TLS (--tls-ca), or listen on 127.0.0.1 (--master-bind-host)")
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// Stop ends every session and the listener. Sessions get up to grace to
// end by themselves first.
func (s *Server) Stop(grace time.Duration) {
	cluster.WaitOrForce(s.grpc.GracefulStop, grace, s.grpc.Stop)
}

// Connect implements pb.ClusterServer: one worker session.
func (s *Server) Connect(stream pb.Cluster_ConnectServer) error {
	addr := "?"
	if p, ok := peer.FromContext(stream.Context()); ok {
		addr = p.Addr.String()
	}
	conn := &serverConn{stream: stream, peer: addr}
	if s.cfg.Access.Token != "" {
		first, err := s.checkToken(stream.Context(), conn)
		if err != nil {
			return err
		}
		conn.first = first
	}
	err := s.acc.Accept(stream.Context(), conn)
	var ref *cluster.RefusedError
	if errors.As(err, &ref) {
		return status.Error(codes.PermissionDenied, ref.Refusal.Reason)
	}
	return nil
}

// checkToken reads the worker's first message and, if it is a Join, checks
// its token (cluster.CheckToken), after the wait the failure limiter asks
// of the worker's address. A wrong or missing token is answered with a
// Refusal, as the master answers a version mismatch. It returns the first
// message, for the Acceptor.
func (s *Server) checkToken(ctx context.Context, conn *serverConn) (*cluster.WorkerMessage, error) {
	type recv struct {
		m   *cluster.WorkerMessage
		err error
	}
	got := make(chan recv, 1) // the receiver never blocks: it ends with the stream
	go func() {
		m, err := conn.Recv()
		got <- recv{m, err}
	}()
	timer := time.NewTimer(joinTimeout)
	defer timer.Stop()
	var first *cluster.WorkerMessage
	select {
	case r := <-got:
		if r.err != nil {
			return nil, r.err
		}
		first = r.m
	case <-timer.C:
		return nil, status.Errorf(codes.DeadlineExceeded, "no join within %v", joinTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	j := first.Join
	if j == nil {
		return first, nil // the Acceptor refuses it
	}
	ip := conn.peer
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	wait, reserved, ok := s.limiter.admit(ip, time.Now())
	if !ok {
		return nil, status.Error(codes.ResourceExhausted, "too many failed worker token attempts from this address; try again later")
	}
	if wait > 0 {
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	reason := cluster.CheckToken(j, s.cfg.Access.Token)
	if reason == "" {
		return first, nil
	}
	limited, firstTime := s.limiter.fail(ip, time.Now(), reserved)
	if !limited || firstTime {
		s.log.Error("worker refused", "worker", j.WorkerID, "addr", conn.peer, "reason", reason)
	}
	if firstTime {
		s.log.Warn("worker token failures from one address: its next attempts are slowed down, and no longer logged",
			"addr", ip, "failures_at_once", FailureBurst, "then_one_per", FailureEvery)
	}
	ref := cluster.Refusal{Reason: reason, MasterVersion: s.cfg.Version, MasterProtocol: cluster.Protocol}
	conn.Send(&cluster.MasterMessage{Refusal: &ref})
	return nil, status.Error(codes.PermissionDenied, reason)
}

type serverConn struct {
	stream pb.Cluster_ConnectServer
	peer   string
	first  *cluster.WorkerMessage // read by checkToken; Recv returns it first
}

func (c *serverConn) Send(m *cluster.MasterMessage) error {
	return send(c.stream.Send, MasterToPB, m)
}

func (c *serverConn) Recv() (*cluster.WorkerMessage, error) {
	if m := c.first; m != nil {
		c.first = nil
		return m, nil
	}
	return recv(c.stream.Recv, WorkerFromPB)
}

// send converts a message to its protobuf form and sends it on a stream.
func send[M, P any](sendPB func(P) error, toPB func(M) (P, error), m M) error {
	p, err := toPB(m)
	if err != nil {
		return err
	}
	return sendPB(p)
}

// recv receives a protobuf message from a stream and converts it.
func recv[M, P any](recvPB func() (P, error), fromPB func(P) (M, error)) (M, error) {
	p, err := recvPB()
	if err != nil {
		var zero M
		return zero, err
	}
	return fromPB(p)
}

func (c *serverConn) Peer() string { return c.peer }

// Dialer dials a master over gRPC; each Dial is a new connection.
type Dialer struct {
	Addr string      // host:port
	TLS  *tls.Config // nil: plain TCP
}

var _ cluster.Dialer = Dialer{}

// Dial connects and opens a session stream. It fails fast when the master
// is not there, so the worker's own backoff paces the retries.
func (d Dialer) Dial(ctx context.Context) (cluster.WorkerConn, error) {
	creds := insecure.NewCredentials()
	if d.TLS != nil {
		creds = credentials.NewTLS(d.TLS)
	}
	cc, err := grpc.NewClient(d.Addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
	)
	if err != nil {
		return nil, fmt.Errorf("dial master %s: %w", d.Addr, err)
	}
	// Wait for the connection, boundedly: a partitioned master must not
	// hold the worker in a connect for minutes.
	cc.Connect()
	wctx, wcancel := context.WithTimeout(ctx, DialTimeout)
	defer wcancel()
	for st := cc.GetState(); st != connectivity.Ready; st = cc.GetState() {
		if st == connectivity.TransientFailure || st == connectivity.Shutdown || !cc.WaitForStateChange(wctx, st) {
			cc.Close()
			if wctx.Err() != nil {
				return nil, fmt.Errorf("connect to master %s: no connection within %v", d.Addr, DialTimeout)
			}
			return nil, fmt.Errorf("connect to master %s: connection failed", d.Addr)
		}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stream, err := pb.NewClusterClient(cc).Connect(sctx)
	if err != nil {
		cancel()
		cc.Close()
		return nil, fmt.Errorf("connect to master %s: %w", d.Addr, err)
	}
	return &clientConn{cc: cc, stream: stream, cancel: cancel}, nil
}

type clientConn struct {
	cc     *grpc.ClientConn
	stream pb.Cluster_ConnectClient
	cancel context.CancelFunc
	once   sync.Once
}

func (c *clientConn) Send(m *cluster.WorkerMessage) error {
	return send(c.stream.Send, WorkerToPB, m)
}

func (c *clientConn) Recv() (*cluster.MasterMessage, error) {
	return recv(c.stream.Recv, MasterFromPB)
}

// CloseSend half-closes the stream: what was sent is delivered, then its
// end (a worker's goodbye is its last message; see worker.Run).
func (c *clientConn) CloseSend() error {
	return c.stream.CloseSend()
}

func (c *clientConn) Close() error {
	c.once.Do(func() {
		c.cancel()
		c.cc.Close()
	})
	return nil
}
