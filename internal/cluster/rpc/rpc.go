// Package rpc carries cluster sessions over gRPC: NewServer serves a
// cluster.Acceptor (the master) to workers that dial in, and Dialer is the
// worker's side. Workers dial out; they need no inbound port.
package rpc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
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

// Server serves the Cluster service over gRPC.
type Server struct {
	pb.UnimplementedClusterServer
	acc  cluster.Acceptor
	grpc *grpc.Server
	ctx  context.Context
}

// NewServer returns a server that hands each worker session to acc. ctx
// bounds every session. tlsCfg nil means plain TCP.
func NewServer(ctx context.Context, acc cluster.Acceptor, tlsCfg *tls.Config) *Server {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		// The session's own heartbeats find dead peers; TCP keepalive
		// pings only keep idle NATs and load balancers open.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	}
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	s := &Server{acc: acc, grpc: grpc.NewServer(opts...), ctx: ctx}
	pb.RegisterClusterServer(s.grpc, s)
	return s
}

// Serve accepts workers on l until Stop.
func (s *Server) Serve(l net.Listener) error { return s.grpc.Serve(l) }

// Stop ends every session and the listener. Sessions get up to grace to
// end by themselves first.
func (s *Server) Stop(grace time.Duration) {
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		s.grpc.Stop()
		<-done
	}
}

// Connect implements pb.ClusterServer: one worker session.
func (s *Server) Connect(stream pb.Cluster_ConnectServer) error {
	addr := "?"
	if p, ok := peer.FromContext(stream.Context()); ok {
		addr = p.Addr.String()
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	err := s.acc.Accept(ctx, &serverConn{stream: stream, peer: addr})
	var ref *cluster.RefusedError
	if errors.As(err, &ref) {
		return status.Error(codes.PermissionDenied, ref.Refusal.Reason)
	}
	return nil
}

type serverConn struct {
	stream pb.Cluster_ConnectServer
	peer   string
}

func (c *serverConn) Send(m *cluster.MasterMessage) error {
	p, err := MasterToPB(m)
	if err != nil {
		return err
	}
	return c.stream.Send(p)
}

func (c *serverConn) Recv() (*cluster.WorkerMessage, error) {
	p, err := c.stream.Recv()
	if err != nil {
		return nil, err
	}
	return WorkerFromPB(p)
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
	p, err := WorkerToPB(m)
	if err != nil {
		return err
	}
	return c.stream.Send(p)
}

func (c *clientConn) Recv() (*cluster.MasterMessage, error) {
	p, err := c.stream.Recv()
	if err != nil {
		return nil, err
	}
	return MasterFromPB(p)
}

func (c *clientConn) Close() error {
	c.once.Do(func() {
		c.cancel()
		c.cc.Close()
	})
	return nil
}
