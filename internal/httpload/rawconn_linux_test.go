package httpload

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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

// With deferred writes on, a small write reaches the peer only with the
// next Read, which sends it and then waits for the answer.
func TestRawTCP_DeferredWriteSentByRead(t *testing.T) {
	c, srv := rawPair(t)
	deferWrites(c, true)
	if n, err := c.Write([]byte("GET / HTTP/1.1\r\n")); n != 16 || err != nil {
		t.Fatalf("write: %d, %v", n, err)
	}
	if n, err := c.Write([]byte("\r\n")); n != 2 || err != nil { // joins the first
		t.Fatalf("write: %d, %v", n, err)
	}
	srv.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := srv.Read(make([]byte, 64)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the peer read %d bytes (%v) before the client's Read; want nothing yet", n, err)
	}
	srv.SetReadDeadline(time.Time{})
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 64)
		n, _ := io.ReadAtLeast(srv, b, 18)
		got <- string(b[:n])
		srv.Write([]byte("answer"))
	}()
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(c, buf, 6)
	if err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("read: %q, %v", buf[:n], err)
	}
	if s := <-got; s != "GET / HTTP/1.1\r\n\r\n" {
		t.Fatalf("the peer got %q", s)
	}
	if c.pend != nil {
		t.Error("the deferred write is still pending after the read")
	}
}

// A deferred exchange allocates nothing (the buffer is lent by a pool).
func TestRawTCP_DeferredNoAllocations(t *testing.T) {
	c, srv := rawPair(t)
	deferWrites(c, true)
	go io.Copy(srv, srv) // echoes until the connection closes
	msg, buf := []byte("ping"), make([]byte, 16)
	exchange := func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if c.pend == nil {
			t.Fatal("the write was not deferred")
		}
		if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
	}
	exchange()
	if allocs := testing.AllocsPerRun(200, exchange); allocs != 0 {
		t.Errorf("%v allocations per deferred exchange, want 0", allocs)
	}
}

// A deferred write larger than the socket's buffers (here forced past
// maxDeferred) is sent partly in the read callback, the rest by a write
// that waits for room; the answer is read after it.
func TestRawTCP_DeferredPartialWrite(t *testing.T) {
	c, srv := rawPair(t)
	out := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	big := append([]byte(nil), out...)
	c.pend = &big
	done := make(chan error, 1)
	go func() {
		in := make([]byte, len(out))
		_, err := io.ReadFull(srv, in)
		if err == nil && !bytes.Equal(in, out) {
			err = errors.New("the peer got other bytes")
		}
		if err == nil {
			_, err = srv.Write([]byte("ok"))
		}
		done <- err
	}()
	buf := make([]byte, 8)
	n, err := io.ReadAtLeast(c, buf, 2)
	if err != nil || string(buf[:n]) != "ok" {
		t.Fatalf("read: %q, %v", buf[:n], err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A deferred write that fails is reported by the Read that sent it, as
// the write error a direct write gives (a reset connection: stale), and
// kept for the exchange (writeErr).
func TestRawTCP_DeferredWriteError(t *testing.T) {
	c, srv := rawPair(t)
	srv.(*net.TCPConn).SetLinger(0)
	srv.Close() // a reset
	time.Sleep(20 * time.Millisecond)
	deferWrites(c, true)
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, err := c.Read(make([]byte, 8))
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" || !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("got %v, want a write error (reset or broken pipe)", err)
	}
	if !isStaleConn(err) {
		t.Errorf("%v is not taken for a stale connection", err)
	}
	if writeErr(c) != err {
		t.Errorf("writeErr = %v, want %v", writeErr(c), err)
	}
}

// Close while a deferred write waits: the next Read fails with
// net.ErrClosed and sends nothing; Close during the wait for the answer
// ends the read the same way.
func TestRawTCP_DeferredClose(t *testing.T) {
	c, srv := rawPair(t)
	deferWrites(c, true)
	c.Write([]byte("never sent"))
	c.Close()
	if _, err := c.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close: %v, want net.ErrClosed", err)
	}
	if n, err := srv.Read(make([]byte, 16)); n != 0 || err != io.EOF {
		t.Errorf("the peer read %d bytes, %v; want only EOF", n, err)
	}

	c, srv = rawPair(t)
	deferWrites(c, true)
	c.Write([]byte("ping"))
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	if _, err := io.ReadFull(srv, make([]byte, 4)); err != nil { // sent: the read waits now
		t.Fatal(err)
	}
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("got %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read did not end on Close")
	}
}

// A deferred read past its deadline fails as a timeout.
func TestRawTCP_DeferredDeadline(t *testing.T) {
	c, srv := rawPair(t)
	deferWrites(c, true)
	c.SetDeadline(time.Now().Add(30 * time.Millisecond))
	c.Write([]byte("ping"))
	_, err := c.Read(make([]byte, 8))
	if !errors.Is(err, os.ErrDeadlineExceeded) || describe(err) != errTimeout {
		t.Fatalf("got %v, want a timeout", err)
	}
	if _, err := io.ReadFull(srv, make([]byte, 4)); err != nil {
		t.Errorf("the request did not reach the peer: %v", err)
	}
}

// rawServer serves HTTP/1.1 on loopback with serve, one goroutine per
// connection, and counts the connections.
func rawServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	return "http://" + l.Addr().String(), &conns
}

func okAnswer(c net.Conn, body string) error {
	_, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	return err
}

func doRequest(c *Client, method, url string, body []byte) (*fasthttp.Response, error) {
	req, resp := &fasthttp.Request{}, &fasthttp.Response{}
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	if body != nil {
		req.SetBody(body)
	}
	_, err := c.Do(req, resp, Call{})
	return resp, err
}

// rawOf returns the raw connection the client holds (the only one).
func rawOf(t *testing.T, c *Client) *rawTCP {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cn := range c.conns {
		if rc, ok := cn.Conn.(*rawTCP); ok {
			return rc
		}
	}
	t.Fatal("the client holds no raw connection")
	return nil
}

// Back-to-back requests on a kept-alive connection defer their writes to
// the read of the answer, on one connection, every answer matching its
// request.
func TestClient_DeferredKeepAlive(t *testing.T) {
	srv, conns := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if okAnswer(c, "hello "+r.URL.Path) != nil {
				return
			}
		}
	})
	c := New(Options{})
	defer c.Close()
	for i := range 50 {
		resp, err := doRequest(c, "GET", fmt.Sprintf("%s/x/%d", srv, i), nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got, want := string(resp.Body()), fmt.Sprintf("hello /x/%d", i); got != want {
			t.Fatalf("request %d: body %q, want %q", i, got, want)
		}
		if i > 0 && !rawOf(t, c).lazy {
			t.Fatalf("request %d on a connection used moments ago was not deferred", i)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// A server that closes each connection after its answer, without saying
// so: the next request, deferred on the closed connection, fails as stale
// and is retried once on a fresh one.
func TestClient_DeferredStaleRetried(t *testing.T) {
	for _, reset := range []bool{false, true} {
		srv, conns := rawServer(t, func(c net.Conn, br *bufio.Reader) {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			okAnswer(c, "ok")
			if reset {
				c.(*net.TCPConn).SetLinger(0)
			}
		})
		c := New(Options{Timeout: 10 * time.Second})
		for i := range 20 {
			resp, err := doRequest(c, "GET", srv+"/", nil)
			if err != nil || string(resp.Body()) != "ok" {
				t.Fatalf("reset %v, request %d: %q, %v", reset, i, resp.Body(), err)
			}
		}
		c.Close()
		if n := conns.Load(); n != 20 {
			t.Errorf("reset %v: %d connections, want 20", reset, n)
		}
	}
}

// A server that half-closes a connection idle for a while and then reads
// and drops what comes (Apache's lingering close) sends nothing after the
// request: a request on it must not be deferred, or only its timeout
// would end it. The client writes and reads at once, sees the FIN and
// retries on a fresh connection.
func TestClient_IdleHalfClosedRetried(t *testing.T) {
	srv, conns := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			c.SetReadDeadline(time.Now().Add(maxDeferIdle / 4))
			if _, err := http.ReadRequest(br); err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					return
				}
				c.(*net.TCPConn).CloseWrite()
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				io.Copy(io.Discard, br) // until the client closes
				return
			}
			okAnswer(c, "ok")
		}
	})
	c := New(Options{Timeout: 20 * time.Second})
	defer c.Close()
	for i := range 3 {
		if i > 0 {
			time.Sleep(maxDeferIdle * 3 / 2)
		}
		resp, err := doRequest(c, "GET", srv+"/", nil)
		if err != nil || string(resp.Body()) != "ok" {
			t.Fatalf("request %d: %q, %v", i, resp.Body(), err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (each idle one retried)", n)
	}
}

// A deferred request past the client's timeout fails as a timeout.
func TestClient_DeferredTimeout(t *testing.T) {
	srv, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if r.URL.Path == "/hang" {
				io.Copy(io.Discard, br)
				return
			}
			okAnswer(c, "ok")
		}
	})
	c := New(Options{Timeout: 100 * time.Millisecond})
	defer c.Close()
	if _, err := doRequest(c, "GET", srv+"/", nil); err != nil {
		t.Fatal(err)
	}
	_, err := doRequest(c, "GET", srv+"/hang", nil)
	if err == nil || err.Error() != "timeout" {
		t.Errorf("got %v, want timeout", err)
	}
}

// Bodies of every size on one kept-alive connection: up to the write
// buffer deferred whole, larger ones partly deferred and then written at
// once; the server gets each intact.
func TestClient_DeferredBodies(t *testing.T) {
	srv, conns := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			sum := 0
			for _, x := range b {
				sum += int(x)
			}
			if okAnswer(c, fmt.Sprintf("%d %d", len(b), sum)) != nil {
				return
			}
		}
	})
	c := New(Options{Timeout: 10 * time.Second})
	defer c.Close()
	for _, size := range []int{0, 10, 3000, 4000, 4096, 5000, 9000, 1 << 20, 10} {
		body := make([]byte, size)
		sum := 0
		for i := range body {
			body[i] = byte(i * 7)
			sum += int(body[i])
		}
		resp, err := doRequest(c, "POST", srv+"/", body)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if got, want := string(resp.Body()), fmt.Sprintf("%d %d", size, sum); got != want {
			t.Fatalf("%d bytes: the server got %q, want %q", size, got, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// Aborting the client (another goroutine closes the connection) cuts off
// a deferred request waiting for its answer.
func TestClient_DeferredAbort(t *testing.T) {
	srv, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if r.URL.Path == "/slow" {
				io.Copy(io.Discard, br)
				return
			}
			okAnswer(c, "ok")
		}
	})
	c := New(Options{Timeout: 30 * time.Second})
	if _, err := doRequest(c, "GET", srv+"/", nil); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, c.Abort)
	if _, err := doRequest(c, "GET", srv+"/slow", nil); !errors.Is(err, ErrStopped) {
		t.Fatalf("got %v, want ErrStopped", err)
	}
}

// Lazy deadlines (setDue): a deadline left by an earlier request that
// fires before the present one's is moved to it, and the read waits on;
// the present request still times out, no earlier than its own due.
func TestRawTCP_LazyDeadlineMovedWhenItFiresEarly(t *testing.T) {
	c, srv := rawPair(t)
	wall := func(due int64) func() time.Time {
		return func() time.Time { return time.Now().Add(time.Duration(due - nanotime())) }
	}
	now := nanotime()
	first := now + int64(30*time.Millisecond)
	if err := setDue(c, now, first, wall(first)); err != nil {
		t.Fatal(err)
	}
	// The next request is due much later: the deadline already set fires
	// first, so it is kept (no SetDeadline) until it fires.
	now = nanotime()
	due := now + int64(10*time.Second)
	if err := setDue(c, now, due, wall(due)); err != nil {
		t.Fatal(err)
	}
	if c.set != first || c.due != due {
		t.Fatalf("set %d due %d, want the first deadline kept (%d) and due %d", c.set, c.due, first, due)
	}
	go func() {
		time.Sleep(150 * time.Millisecond) // well past the first deadline
		srv.Write([]byte("late"))
	}()
	buf := make([]byte, 8)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "late" {
		t.Fatalf("read %q, %v; want the late answer", buf[:n], err)
	}
	if c.set != due {
		t.Errorf("deadline set at %d, want moved to due %d", c.set, due)
	}

	// A shorter due than the deadline set: set at once.
	now = nanotime()
	short := now + int64(40*time.Millisecond)
	if err := setDue(c, now, short, wall(short)); err != nil {
		t.Fatal(err)
	}
	if c.set != short {
		t.Fatalf("deadline set at %d, want %d", c.set, short)
	}
	_, err = c.Read(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a timeout", err)
	}
	if nanotime() < short {
		t.Errorf("timed out before the request's due")
	}
	// The next due after an expired deadline sets it again.
	now = nanotime()
	later := now + int64(5*time.Second)
	if err := setDue(c, now, later, wall(later)); err != nil {
		t.Fatal(err)
	}
	if c.set != later {
		t.Errorf("deadline set at %d after it expired, want %d", c.set, later)
	}
	// Someone else's SetDeadline forgets the lazy one.
	c.SetDeadline(time.Time{})
	if c.set != 0 || c.due != 0 {
		t.Errorf("set %d due %d after SetDeadline, want 0 0", c.set, c.due)
	}
}

// A deferred write whose connection's deadline had expired before the
// read (an earlier, shorter request's) is still sent, once the deadline
// is moved to the request's own.
func TestRawTCP_LazyDeadlineExpiredBeforeDeferredWrite(t *testing.T) {
	c, srv := rawPair(t)
	wall := func(due int64) func() time.Time {
		return func() time.Time { return time.Now().Add(time.Duration(due - nanotime())) }
	}
	now := nanotime()
	first := now + int64(20*time.Millisecond)
	if err := setDue(c, now, first, wall(first)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	now = nanotime()
	due := now + int64(10*time.Second)
	if err := setDue(c, now, due, wall(due)); err != nil { // keeps the first
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond) // the first expires
	deferWrites(c, true)
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	go func() {
		b := make([]byte, 4)
		if _, err := io.ReadFull(srv, b); err == nil && string(b) == "ping" {
			srv.Write([]byte("pong"))
		}
	}()
	buf := make([]byte, 8)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("read %q, %v; want pong", buf[:n], err)
	}
}

// A client whose requests follow each other on one connection keeps its
// timeout: the deadline the first request left fires during a later slow
// answer within that request's own timeout (the answer comes), and a
// request past its timeout fails as a timeout, not before it.
func TestClient_LazyDeadlineTimeoutAfterFastRequests(t *testing.T) {
	srv, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			switch r.URL.Path {
			case "/hang":
				io.Copy(io.Discard, br)
				return
			case "/slow":
				time.Sleep(200 * time.Millisecond)
			}
			okAnswer(c, "ok")
		}
	})
	const timeout = 400 * time.Millisecond
	c := New(Options{Timeout: timeout})
	defer c.Close()
	for range 20 {
		if _, err := doRequest(c, "GET", srv+"/", nil); err != nil {
			t.Fatal(err)
		}
	}
	// Past half the first request's timeout: its deadline, still set,
	// fires while the slow answer is on its way.
	time.Sleep(timeout / 2)
	if _, err := doRequest(c, "GET", srv+"/slow", nil); err != nil {
		t.Fatalf("slow answer within the timeout: %v", err)
	}
	start := time.Now()
	_, err := doRequest(c, "GET", srv+"/hang", nil)
	if err == nil || err.Error() != "timeout" {
		t.Errorf("got %v, want timeout", err)
	}
	if took := time.Since(start); took < timeout {
		t.Errorf("timed out after %v, before the %v timeout", took, timeout)
	}
}

// A Static request sent again as Same goes out byte for byte as the first
// (the client writes the bytes it kept), counts the same bytes sent, and
// after Idle (the bytes given back) it is serialised anew, the same again.
func TestClient_StaticSentAgainSameBytes(t *testing.T) {
	heads := make(chan string, 16)
	srv, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			var head strings.Builder
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			heads <- head.String()
			okAnswer(c, "ok")
		}
	})
	c := New(Options{})
	defer c.Close()
	req, resp := &fasthttp.Request{}, &fasthttp.Response{}
	req.SetRequestURI(srv + "/static?q=1")
	req.Header.Set("X-A", "1")
	var sent []int64
	for i, same := range []bool{false, true, true, false, true} {
		if i == 3 {
			c.Idle()
		}
		r, err := c.Do(req, resp, Call{Static: true, Same: same})
		if err != nil || r.Changed {
			t.Fatalf("request %d: %v, changed %v", i, err, r.Changed)
		}
		sent = append(sent, r.Phases.Sent)
		if i == 0 && !c.rawOK {
			t.Fatal("the first Static request's bytes were not kept")
		}
	}
	first := <-heads
	if !strings.HasPrefix(first, "GET /static?q=1 HTTP/1.1\r\n") || !strings.Contains(first, "X-A: 1\r\n") {
		t.Fatalf("first request %q", first)
	}
	for i := 1; i < 5; i++ {
		if h := <-heads; h != first {
			t.Errorf("request %d is %q, want %q", i, h, first)
		}
		if sent[i] != sent[0] {
			t.Errorf("request %d: %d bytes sent, want %d", i, sent[i], sent[0])
		}
	}
}
