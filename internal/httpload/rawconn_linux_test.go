package httpload

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// rawPair returns a rawTCP client connection and the server's end of it.
func rawPair(t *testing.T) (*rawTCP, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := l.Accept()
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	c, ok := fastConn(nc).(*rawTCP)
	if !ok {
		t.Fatalf("fastConn(%T) is not raw", nc)
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	return c, srv
}

// Bytes go both ways intact, at once, with writes larger than the
// socket buffers (so both sides wait for room and for data on the
// poller), and the peer's close reads as io.EOF.
func TestRawTCP_ReadsAndWritesAsTCPConn(t *testing.T) {
	c, srv := rawPair(t)
	out := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	echoed := make(chan error, 1)
	go func() { // the server echoes what it reads, then closes
		_, err := io.Copy(srv, io.LimitReader(srv, int64(len(out))))
		srv.Close()
		echoed <- err
	}()
	written := make(chan error, 1)
	go func() {
		n, err := c.Write(out)
		if err == nil && n != len(out) {
			err = io.ErrShortWrite
		}
		written <- err
	}()
	in, err := io.ReadAll(c) // until EOF
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-written; err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := <-echoed; err != nil {
		t.Fatalf("echo: %v", err)
	}
	if !bytes.Equal(in, out) {
		t.Fatalf("read back %d bytes, not the %d written", len(in), len(out))
	}
	if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("read after EOF: %d, %v; want 0, io.EOF", n, err)
	}
}

// A read past its deadline fails as net.TCPConn's does: a timeout, with
// the op "read".
func TestRawTCP_Deadline(t *testing.T) {
	c, _ := rawPair(t)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 8))
	var oe *net.OpError
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &oe) || oe.Op != "read" || !oe.Timeout() {
		t.Fatalf("got %#v, want a read timeout", err)
	}
	if d := describe(err); d != errTimeout {
		t.Errorf("described as %v, want timeout", d)
	}
}

// Closing the connection ends a read waiting on it with net.ErrClosed
// (how Client.Abort cuts a request off).
func TestRawTCP_CloseEndsRead(t *testing.T) {
	c, _ := rawPair(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) || !isStaleConn(err) {
			t.Errorf("got %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read did not end on Close")
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v, want net.ErrClosed", err)
	}
}

// A reset reads as the same error net.TCPConn gives, with the errno.
func TestRawTCP_Reset(t *testing.T) {
	c, srv := rawPair(t)
	srv.(*net.TCPConn).SetLinger(0)
	srv.Close()
	time.Sleep(20 * time.Millisecond)
	_, err := c.Read(make([]byte, 8))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("got %v, want ECONNRESET", err)
	}
	if got, want := describe(err).Error(), "read: connection reset by peer"; got != want {
		t.Errorf("described as %q, want %q", got, want)
	}
	if !isStaleConn(err) {
		t.Error("a reset is not taken for a stale connection")
	}
}

// A read and a write allocate nothing.
func TestRawTCP_NoAllocations(t *testing.T) {
	c, srv := rawPair(t)
	msg, buf, sbuf := []byte("ping"), make([]byte, 16), make([]byte, 16)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		n, err := srv.Read(sbuf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Write(sbuf[:n]); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per exchange, want 0", allocs)
	}
}

// The client's plain-HTTP connections are raw ones.
func TestClient_ConnectionsAreRaw(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	c := New(Options{})
	defer c.Close()
	req, resp := &fasthttp.Request{}, &fasthttp.Response{}
	req.SetRequestURI(srv.URL + "/")
	if _, err := c.Do(req, resp, Call{}); err != nil || string(resp.Body()) != "ok" {
		t.Fatalf("%v, %q", err, resp.Body())
	}
	for _, cn := range c.conns {
		if _, ok := cn.Conn.(*rawTCP); !ok {
			t.Errorf("connection is a %T, want *rawTCP", cn.Conn)
		}
	}
}
