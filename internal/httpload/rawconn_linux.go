package httpload

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
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
type rawTCP struct {
	*net.TCPConn
	rc syscall.RawConn

	// The read and the write in progress, for the callbacks (method
	// values made once per connection, so a read or write allocates
	// nothing). A read and a write may run at once (HTTP/2 reads in its
	// own goroutine); two reads, or two writes, take turns.
	r, w          rawCall
	readF, writeF func(uintptr) bool
}

type rawCall struct {
	mu    sync.Mutex
	p     []byte
	n     int
	errno syscall.Errno
}

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
	c.readF, c.writeF = c.read, c.write
	return c
}

// Read reads as net.TCPConn does: 0 bytes read is io.EOF.
func (c *rawTCP) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r := &c.r
	r.mu.Lock()
	r.p, r.n, r.errno = p, 0, 0
	err := c.rc.Read(c.readF)
	n, errno := r.n, r.errno
	r.p = nil
	r.mu.Unlock()
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

// Write writes all of p, or fails, as net.TCPConn does.
func (c *rawTCP) Write(p []byte) (int, error) {
	w := &c.w
	w.mu.Lock()
	w.p, w.n, w.errno = p, 0, 0
	err := c.rc.Write(c.writeF)
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

func (c *rawTCP) write(fd uintptr) bool {
	w := &c.w
	for w.n < len(w.p) {
		var n uintptr
		var e syscall.Errno
		if raceEnabled {
			m, err := syscall.Write(int(fd), w.p[w.n:])
			n, e = uintptr(max(m, 0)), errnoOf(err)
		} else {
			n, _, e = syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&w.p[w.n])), uintptr(len(w.p)-w.n))
		}
		switch e {
		case 0:
			w.n += int(n)
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
