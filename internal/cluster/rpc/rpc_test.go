package rpc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/cluster"
)

// welcomer answers a Join with a Welcome and echoes acks for reports.
type welcomer struct{}

func (welcomer) Accept(ctx context.Context, c cluster.MasterConn) error {
	m, err := c.Recv()
	if err != nil || m.Join == nil {
		return err
	}
	if err := c.Send(&cluster.MasterMessage{Welcome: &cluster.Welcome{Index: 7, MasterID: "m"}}); err != nil {
		return err
	}
	for {
		m, err := c.Recv()
		if err != nil {
			return nil
		}
		if m.Report != nil {
			c.Send(&cluster.MasterMessage{Ack: &cluster.Ack{Seq: m.Report.Seq}})
		}
	}
}

type pki struct{ dir string }

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newPKI makes a CA and, signed by it, a server certificate for 127.0.0.1
// and a client certificate.
func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "horde test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage, ip bool) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
		}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)
		writePEM(t, filepath.Join(dir, name+"-key.pem"), "EC PRIVATE KEY", kb)
	}
	leaf("server", 2, x509.ExtKeyUsageServerAuth, true)
	leaf("client", 3, x509.ExtKeyUsageClientAuth, false)
	return pki{dir}
}

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

func serve(t *testing.T, files TLSFiles) string {
	t.Helper()
	var srv *Server
	if files.Enabled() {
		cfg, err := files.ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		srv = NewServer(welcomer{}, ServerConfig{TLS: cfg})
	} else {
		srv = NewServer(welcomer{}, ServerConfig{})
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Stop(time.Second) })
	return l.Addr().String()
}

// session joins and sends one report; it returns the first error.
func session(addr string, files TLSFiles) error {
	d := Dialer{Addr: addr}
	if files.Enabled() {
		cfg, err := files.ClientConfig()
		if err != nil {
			return err
		}
		d.TLS = cfg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.Dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Send(&cluster.WorkerMessage{Join: &cluster.Join{WorkerID: "w"}}); err != nil {
		return err
	}
	m, err := c.Recv()
	if err != nil {
		return err
	}
	if m.Welcome == nil || m.Welcome.Index != 7 {
		return errUnexpected
	}
	if err := c.Send(&cluster.WorkerMessage{Report: &cluster.Report{Seq: 3}}); err != nil {
		return err
	}
	m, err = c.Recv()
	if err != nil {
		return err
	}
	if m.Ack == nil || m.Ack.Seq != 3 {
		return errUnexpected
	}
	return nil
}

var errUnexpected = os.ErrInvalid

func TestSession_Plain(t *testing.T) {
	if err := session(serve(t, TLSFiles{}), TLSFiles{}); err != nil {
		t.Fatal(err)
	}
}

func TestSession_MutualTLS(t *testing.T) {
	p := newPKI(t)
	addr := serve(t, TLSFiles{Cert: p.path("server.pem"), Key: p.path("server-key.pem"), CA: p.path("ca.pem")})
	if err := session(addr, TLSFiles{CA: p.path("ca.pem"), Cert: p.path("client.pem"), Key: p.path("client-key.pem")}); err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	if err := session(addr, TLSFiles{CA: p.path("ca.pem")}); err == nil {
		t.Error("a worker without a client certificate got a session")
	}
	if err := session(addr, TLSFiles{}); err == nil {
		t.Error("a plain-TCP worker got a session from a TLS master")
	}
}

func TestSession_ServerTLSOnly(t *testing.T) {
	p := newPKI(t)
	addr := serve(t, TLSFiles{Cert: p.path("server.pem"), Key: p.path("server-key.pem")})
	if err := session(addr, TLSFiles{CA: p.path("ca.pem")}); err != nil {
		t.Fatalf("TLS worker: %v", err)
	}
}
