package locust

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/cluster"
)

// dealer is a test's Locust worker: a ZMTP 3 DEALER written by hand.
type dealer struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialDealer(t *testing.T, addr, identity string) *dealer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := &dealer{t: t, c: c, r: bufio.NewReader(c)}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	g := greeting()
	g[11] = 1 // libzmq 4 says 3.1
	c.Write(g)
	peer := make([]byte, greetingLen)
	if _, err := io.ReadFull(d.r, peer); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	if err := checkGreeting(peer); err != nil {
		t.Fatal(err)
	}
	d.command("READY", "Socket-Type", "DEALER", "Identity", identity)
	frame, cmd := d.frame()
	if !cmd {
		t.Fatal("expected the server's READY")
	}
	name, body, _ := parseCommand(frame)
	p, _ := parseProperties(body)
	if name != "READY" || p["socket-type"] != "ROUTER" {
		t.Fatalf("server said %s %v", name, p)
	}
	return d
}

func (d *dealer) command(name string, kv ...string) {
	body := append([]byte{byte(len(name))}, name...)
	for i := 0; i+1 < len(kv); i += 2 {
		body = append(body, byte(len(kv[i])))
		body = append(body, kv[i]...)
		body = binary.BigEndian.AppendUint32(body, uint32(len(kv[i+1])))
		body = append(body, kv[i+1]...)
	}
	d.raw(flagCommand, body)
}

func (d *dealer) raw(flags byte, body []byte) {
	var hdr []byte
	if len(body) > 255 {
		hdr = binary.BigEndian.AppendUint64([]byte{flags | flagLong}, uint64(len(body)))
	} else {
		hdr = []byte{flags, byte(len(body))}
	}
	d.c.Write(append(hdr, body...))
}

func (d *dealer) send(typ string, data any) {
	b, err := Encode(&Message{Type: typ, Data: data, NodeID: "w"})
	if err != nil {
		d.t.Fatal(err)
	}
	d.raw(0, b)
}

func (d *dealer) frame() ([]byte, bool) {
	d.t.Helper()
	flags, err := d.r.ReadByte()
	if err != nil {
		d.t.Fatalf("read: %v", err)
	}
	var n uint64
	if flags&flagLong != 0 {
		var b [8]byte
		io.ReadFull(d.r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	} else {
		b, _ := d.r.ReadByte()
		n = uint64(b)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(d.r, body); err != nil {
		d.t.Fatalf("read: %v", err)
	}
	return body, flags&flagCommand != 0
}

// recv returns the next message the server sends the worker.
func (d *dealer) recv() *Message {
	d.t.Helper()
	for {
		b, cmd := d.frame()
		if cmd {
			continue
		}
		m, err := Decode(b)
		if err != nil {
			d.t.Fatal(err)
		}
		return m
	}
}

// expect returns the next message of type typ, skipping heartbeats.
func (d *dealer) expect(typ string) *Message {
	d.t.Helper()
	for {
		m := d.recv()
		if m.Type == typ {
			return m
		}
		if m.Type != "heartbeat" {
			d.t.Fatalf("got %s %v, want %s", m.Type, m.Data, typ)
		}
	}
}

// fakeMaster records what sessions deliver and lets a test answer.
type fakeMaster struct {
	mu    sync.Mutex
	conns chan cluster.MasterConn
	msgs  chan *cluster.WorkerMessage
}

func newFakeMaster() *fakeMaster {
	return &fakeMaster{conns: make(chan cluster.MasterConn, 8), msgs: make(chan *cluster.WorkerMessage, 256)}
}

func (f *fakeMaster) Accept(ctx context.Context, c cluster.MasterConn) error {
	f.conns <- c
	for {
		m, err := c.Recv()
		if err != nil {
			return nil
		}
		f.msgs <- m
	}
}

func (f *fakeMaster) next(t *testing.T, pred func(*cluster.WorkerMessage) bool) *cluster.WorkerMessage {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-f.msgs:
			if pred(m) {
				return m
			}
		case <-timeout:
			t.Fatal("no such message from the session")
		}
	}
}

func serve(t *testing.T, acc cluster.Acceptor) (string, *Server) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(acc, Config{Version: "v1", Tags: []string{"a"}})
	ctx, cancel := context.WithCancel(context.Background())
	go s.Serve(ctx, l)
	t.Cleanup(func() { cancel(); l.Close(); s.Close() })
	return l.Addr().String(), s
}

func TestHandshake_RefusesWithoutIdentity(t *testing.T) {
	addr, _ := serve(t, newFakeMaster())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(greeting())
	r := bufio.NewReader(c)
	io.ReadFull(r, make([]byte, greetingLen))
	d := &dealer{t: t, c: c, r: r}
	d.command("READY", "Socket-Type", "DEALER")
	d.frame() // the server's READY
	b, cmd := d.frame()
	if name, _, _ := parseCommand(b); !cmd || name != "ERROR" {
		t.Fatalf("got %q, want an ERROR command", b)
	}
}

func TestOversizeFrameClosesTheConnection(t *testing.T) {
	addr, _ := serve(t, newFakeMaster())
	d := dialDealer(t, addr, "w1")
	hdr := binary.BigEndian.AppendUint64([]byte{flagLong}, 1<<62)
	d.c.Write(hdr)
	d.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := d.r.ReadByte(); err == nil {
		t.Fatal("the connection stayed open after a frame of 2^62 bytes")
	}
}
