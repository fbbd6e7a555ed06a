package httpload

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// rawTCP is a TCP connection whose reads and writes are made as raw
// system calls on its non-blocking socket, waiting on Go's netpoller
// exactly as net.TCPConn does (deadlines, Close and errors alike).
//
// Why: a read or write through the net package enters the runtime's
// syscall bookkeeping (entersyscall), and when the process had been idle
// that wakes the runtime's monitor thread (sysmon) from its deep sleep;
// woken by a system call, the monitor polls again every 20 µs until the
// process is idle again. A load generator at a fixed rate is idle between
// most of its events, so that is two futex calls, a nanosleep or two and
// as many context switches per request: more system calls than the
// request's own (docs/performance.md, the open model). A non-blocking read
// or write on a socket never blocks, so it needs none of the bookkeeping;
// the monitor then sleeps on, as it is designed to while nothing waits in
// a system call.
//
// On an HTTP/1.1 connection a request's write can also be deferred to the
// read of its answer (deferWrites, Read): write, wait, read, without the
// read that can only fail with EAGAIN in between (docs/performance.md,
// "The plain GET without the speculative read").
type rawTCP struct {
	*net.TCPConn
	rc syscall.RawConn

	// The read and the write in progress, for the callbacks (method
	// values made once per connection, so a read or write allocates
	// nothing). A read and a write may run at once (HTTP/2 reads in its
	// own goroutine); two reads, or two writes, take turns.
	r, w          rawCall
	readF, writeF func(uintptr) bool

	// Deferred writes (HTTP/1.1 only; see deferWrites): lazy says a small
	// Write is kept in pend and sent by the next Read, inside its raw
	// callback. Only the goroutine that writes and reads the connection
	// touches them (Close, from any goroutine, does not).
	lazy    bool
	pend    *[]byte // the bytes waiting for the next Read; nil: none
	pendErr error   // the error of the last deferred write (see writeErr)

	// Lazy deadlines (see setDue): due is when the request in progress
	// times out and set the deadline the connection has (both nanotime;
	// 0: none known, as after a SetDeadline of someone else). set <= due,
	// so the deadline fires no later than the request's; when it fires
	// early, Read and Write move it to due and wait on. Only the goroutine
	// that writes and reads the connection touches them.
	due, set int64
}

type rawCall struct {
	mu    sync.Mutex
	p     []byte
	n     int
	errno syscall.Errno

	// A read's deferred write: wp is what is left to send (nil once sent),
	// wn what was sent of it, werrno the write's error.
	wp     []byte
	wn     int
	werrno syscall.Errno
}

// maxDeferred is the largest write kept for the next Read: a request that
// fits the client's write buffer (one Flush). Larger ones, and the rest of a
// request that overflows it, are written at once.
const maxDeferred = bufferSize

// deferredBufs lend the buffers of deferred writes, so that an idle
// connection holds none.
var deferredBufs = sync.Pool{New: func() any { b := make([]byte, 0, maxDeferred); return &b }}

// fastConn returns nc with raw reads and writes when it is a TCP
// connection, else nc.
func fastConn(nc net.Conn) net.Conn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	c := &rawTCP{TCPConn: tc, rc: rc}
	c.readF, c.writeF = c.read, c.writeCB
	return c
}

// deferWrites makes nc's small writes wait for its next read, when nc is
// a raw connection (see rawTCP.Read). Only for a connection whose writes
// are each followed by a read of the same goroutine, and never read by
// another one at the same time: HTTP/1.1, not HTTP/2 or TLS.
func deferWrites(nc net.Conn, on bool) {
	if c, ok := nc.(*rawTCP); ok {
		c.lazy = on
	}
}

// writeErr returns the error of nc's last deferred write, if it failed:
// the read that sent it reported the failure, but an HTTP reader takes
// any error before the answer's first byte for a closed connection, and
// the exchange gives the write's own error as a direct write would have.
func writeErr(nc net.Conn) error {
	if c, ok := nc.(*rawTCP); ok {
		return c.pendErr
	}
	return nil
}

// Read reads as net.TCPConn does: 0 bytes read is io.EOF.
//
// With a deferred write waiting (see Write), Read sends it inside the raw
// read callback and waits for the answer without first trying a read that
// could only fail with EAGAIN: one system call fewer per request, as wrk
// does (write, wait for readability, read). That is safe with Go's
// edge-triggered poller because RawConn.Read (internal/poll's
// FD.RawRead, Go 1.26) resets the descriptor's read readiness
// (pollDesc.prepareRead, runtime.poll_runtime_pollReset: pd.rg = pdNil)
// BEFORE it calls the callback the first time, and waits
// (pollDesc.waitRead, runtime.netpollblock) only when the callback
// returns false. The answer can only come after the request is written,
// so after the reset: its arrival raises an epoll event that the
// netpoller records as readiness (pd.rg = pdReady) or as the wake-up of
// the parked goroutine, and the wait cannot miss it. What arrived before
// the request (a server's FIN on an idle keep-alive connection) is
// forgotten by the reset; the client defers writes only on connections
// used moments ago (see Client.exchange), and a server that closes a
// connection after our request reached it sends a reset, which raises an
// event too.
func (c *rawTCP) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r := &c.r
	r.mu.Lock()
	defer r.mu.Unlock()
	var wp []byte
	if c.pend != nil {
		wp = *c.pend
		r.wp, r.wn, r.werrno = wp, 0, 0
		c.pendErr = nil
	}
	r.p, r.n, r.errno = p, 0, 0
	err := c.rc.Read(c.readF)
	for err != nil && c.extend(err) {
		err = c.rc.Read(c.readF) // a deferred write goes on from r.wn
	}
	n, errno := r.n, r.errno
	r.p = nil
	if wp != nil {
		sent, werrno := r.wn, r.werrno
		r.wp = nil
		*c.pend = wp[:0]
		deferredBufs.Put(c.pend)
		c.pend = nil
		switch {
		case werrno != 0:
			c.pendErr = c.opError("write", os.NewSyscallError("write", werrno))
			return 0, c.pendErr
		case err == nil && sent < len(wp):
			// The socket's buffer had no room for all of it: the rest
			// waits for room on the poller, then the answer is read the
			// usual way.
			if _, err := c.write(wp[sent:]); err != nil {
				c.pendErr = err
				return 0, err
			}
			r.p, r.n, r.errno = p, 0, 0
			err = c.rc.Read(c.readF)
			for err != nil && c.extend(err) {
				err = c.rc.Read(c.readF)
			}
			n, errno = r.n, r.errno
			r.p = nil
		}
	}
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *rawTCP) read(fd uintptr) bool {
	r := &c.r
	if r.wp != nil {
		// The first call of a read with a deferred write: send it, then
		// wait for the answer (false) without reading.
		for r.wn < len(r.wp) {
			n, e := writeFD(fd, r.wp[r.wn:])
			switch e {
			case 0:
				r.wn += n
			case syscall.EINTR:
			case syscall.EAGAIN:
				return true // no room: Read writes the rest, then reads
			default:
				r.werrno = e
				return true
			}
		}
		r.wp = nil
		return false
	}
	for {
		var n uintptr
		var e syscall.Errno
		if raceEnabled {
			// syscall.Read tells the race detector that a read follows
			// the writes before it (the net package's happens-before).
			m, err := syscall.Read(int(fd), r.p)
			n, e = uintptr(max(m, 0)), errnoOf(err)
		} else {
			n, _, e = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.p[0])), uintptr(len(r.p)))
		}
		switch e {
		case 0:
			r.n = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait for the socket to be readable
		default:
			r.errno = e
			return true
		}
	}
}

// Write writes all of p, or fails, as net.TCPConn does. With deferred
// writes on, a write of up to maxDeferred bytes is copied and sent by the
// next Read (and reported written); a larger one first sends what waits.
func (c *rawTCP) Write(p []byte) (int, error) {
	if c.lazy {
		if c.pend == nil && len(p) <= maxDeferred {
			c.pend = deferredBufs.Get().(*[]byte)
			*c.pend = append((*c.pend)[:0], p...)
			c.pendErr = nil
			return len(p), nil
		}
		if c.pend != nil {
			if len(*c.pend)+len(p) <= maxDeferred {
				*c.pend = append(*c.pend, p...)
				return len(p), nil
			}
			wp := *c.pend
			_, err := c.write(wp)
			*c.pend = wp[:0]
			deferredBufs.Put(c.pend)
			c.pend = nil
			if err != nil {
				return 0, err
			}
		}
	}
	return c.write(p)
}

// write writes all of p now, waiting for room on the poller.
func (c *rawTCP) write(p []byte) (int, error) {
	w := &c.w
	w.mu.Lock()
	w.p, w.n, w.errno = p, 0, 0
	err := c.rc.Write(c.writeF)
	for err != nil && c.extend(err) {
		err = c.rc.Write(c.writeF) // goes on from w.n
	}
	n, errno := w.n, w.errno
	w.p = nil
	w.mu.Unlock()
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case errno != 0:
		return n, c.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

func (c *rawTCP) writeCB(fd uintptr) bool {
	w := &c.w
	for w.n < len(w.p) {
		n, e := writeFD(fd, w.p[w.n:])
		switch e {
		case 0:
			w.n += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // wait for room in the socket's buffer
		default:
			w.errno = e
			return true
		}
	}
	return true
}

// setDue makes nc's reads and writes time out at due (nanotime; now is
// about the present, deadline due as a time.Time). On a raw connection the
// deadline is set only when the one it has would fire later than due, or
// has passed: a deadline that fires before due is moved to due then (Read
// and Write, extend), so that a connection whose requests follow each
// other sets its deadline about once per timeout instead of once per
// request (each SetDeadline reads the clock three times and moves two
// runtime timers). The request still times out at due exactly.
func setDue(nc net.Conn, now, due int64, deadline func() time.Time) error {
	c, ok := nc.(*rawTCP)
	if !ok {
		return nc.SetDeadline(deadline())
	}
	if c.set != 0 && c.set <= due && c.set > now {
		c.due = due
		return nil
	}
	if err := c.TCPConn.SetDeadline(deadline()); err != nil {
		c.due, c.set = 0, 0
		return err
	}
	c.due, c.set = due, due
	return nil
}

// extend reports whether err is a deadline that fired before the request's
// own (setDue), after moving the connection's deadline to it: the read or
// write is then tried again.
func (c *rawTCP) extend(err error) bool {
	if c.due == 0 || c.set >= c.due || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	left := c.due - nanotime()
	if left <= 0 {
		return false
	}
	if c.TCPConn.SetDeadline(time.Now().Add(time.Duration(left))) != nil {
		return false
	}
	c.set = c.due
	return true
}

// SetDeadline, SetReadDeadline and SetWriteDeadline are net.TCPConn's;
// they forget the lazy deadline (setDue), which sets its own again. (An
// HTTP/2 connection's goroutines may call them, but never setDue: due and
// set stay 0 there and are only read.)
func (c *rawTCP) SetDeadline(t time.Time) error {
	c.forget()
	return c.TCPConn.SetDeadline(t)
}

func (c *rawTCP) SetReadDeadline(t time.Time) error {
	c.forget()
	return c.TCPConn.SetReadDeadline(t)
}

func (c *rawTCP) SetWriteDeadline(t time.Time) error {
	c.forget()
	return c.TCPConn.SetWriteDeadline(t)
}

func (c *rawTCP) forget() {
	if c.due != 0 || c.set != 0 {
		c.due, c.set = 0, 0
	}
}

// writeFD makes one write system call of p (not empty) on fd.
func writeFD(fd uintptr, p []byte) (int, syscall.Errno) {
	if raceEnabled {
		m, err := syscall.Write(int(fd), p)
		return max(m, 0), errnoOf(err)
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), e
}

// opError is the error net.TCPConn's Read or Write gives for err: the
// raw calls' "raw-read" and "raw-write" become "read" and "write", so
// messages and checks (timeouts, a closed connection) read the same.
func (c *rawTCP) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// errnoOf is err as an Errno (0 for nil).
func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}
