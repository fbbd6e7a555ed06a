package locust

import (
	"bufio"
	"log/slog"
	"net"
	"sync"
	"time"
)

// sniffTimeout bounds how long a new connection may stay silent before its
// first byte says which protocol it speaks (every client of the port
// speaks first: ZMTP's greeting, HTTP/2's preface, TLS's ClientHello).
const sniffTimeout = 10 * time.Second

// Demux shares one listener between Locust's workers and horde's: a
// connection whose first byte is 0xFF (a ZMTP greeting) goes to the Locust
// server; any other (gRPC's HTTP/2 preface "PRI *", or a TLS ClientHello)
// is handed to Listener, which horde's gRPC server serves. The sniffing
// runs on a goroutine per connection, so a silent connection holds up no
// other.
type Demux struct {
	l     net.Listener
	zmtp  func(net.Conn, *bufio.Reader)
	allow func(net.Addr) bool
	log   *slog.Logger

	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// NewDemux returns a demultiplexer of l. zmtp serves a ZMTP connection
// (nil: Locust workers are not served, and are told how to be); allow
// says whether a ZMTP peer at an address may join (nil: any).
func NewDemux(l net.Listener, zmtp func(net.Conn, *bufio.Reader), allow func(net.Addr) bool, log *slog.Logger) *Demux {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Demux{l: l, zmtp: zmtp, allow: allow, log: log, conns: make(chan net.Conn), done: make(chan struct{})}
}

// Run accepts connections until the listener is closed.
func (d *Demux) Run() error {
	defer d.Close()
	for {
		c, err := d.l.Accept()
		if err != nil {
			return err
		}
		go d.sniff(c)
	}
}

func (d *Demux) sniff(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReader(c)
	b, err := br.Peek(1)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	if IsGreeting(b) {
		switch {
		case d.zmtp == nil:
			d.log.Warn("a Locust worker tried to join: start the master with -f locustfile.py to take Locust workers", "addr", c.RemoteAddr().String())
			c.Close()
		case d.allow != nil && !d.allow(c.RemoteAddr()):
			d.log.Warn("Locust worker refused: Locust's protocol has no token, so workers beyond loopback need --allow-open-workers (see docs/locust.md)",
				"addr", c.RemoteAddr().String())
			c.Close()
		default:
			d.zmtp(c, br)
		}
		return
	}
	select {
	case d.conns <- &peekedConn{Conn: c, r: br}:
	case <-d.done:
		c.Close()
	}
}

// Listener returns the listener of the connections that are not ZMTP.
func (d *Demux) Listener() net.Listener { return (*otherListener)(d) }

// Close closes the listener and ends Accept of Listener.
func (d *Demux) Close() error {
	d.once.Do(func() { close(d.done) })
	return d.l.Close()
}

type otherListener Demux

func (o *otherListener) Accept() (net.Conn, error) {
	select {
	case c := <-o.conns:
		return c, nil
	case <-o.done:
		return nil, net.ErrClosed
	}
}

func (o *otherListener) Close() error   { return (*Demux)(o).Close() }
func (o *otherListener) Addr() net.Addr { return o.l.Addr() }

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// LoopbackOnly allows peers on loopback addresses.
func LoopbackOnly(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
