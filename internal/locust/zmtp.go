package locust

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// ZMTP 3.x (rfc.zeromq.org/spec/23 and /37) with the NULL mechanism, the
// part of it a ROUTER needs to serve Locust's DEALER workers: the greeting,
// the READY handshake, frames, and PING/PONG. Everything a peer sends is
// bounded: the handshake by a deadline, each message by MaxMessage bytes.

// Limits of a connection.
const (
	// MaxMessage is the largest message (all its frames) a worker may send.
	// Locust's largest, a stats report of 500 names with a few hundred
	// response-time buckets each, is about 1 MiB.
	MaxMessage  = 16 << 20
	maxIdentity = 255
	greetingLen = 64
)

// handshakeTimeout bounds the greeting and READY exchange (a variable for
// tests).
var handshakeTimeout = 10 * time.Second

// Frame flags.
const (
	flagMore    = 0x01
	flagLong    = 0x02
	flagCommand = 0x04
)

var errOversize = errors.New("message larger than the limit")

// greeting returns the 64 bytes a ZMTP 3.0 peer with the NULL mechanism
// sends: signature, version 3.0, mechanism, as-server 0, filler.
func greeting() []byte {
	g := make([]byte, greetingLen)
	g[0] = 0xFF
	g[8] = 0x01 // libzmq's padding: a ZMTP/1.0 peer reads a length of 1
	g[9] = 0x7F
	g[10], g[11] = 3, 0
	copy(g[12:32], "NULL")
	return g
}

// IsGreeting reports whether b (at least its first byte) can start a ZMTP
// greeting; the listener's demultiplexer sends such connections here.
func IsGreeting(b []byte) bool { return len(b) > 0 && b[0] == 0xFF }

// checkGreeting validates a peer's greeting.
func checkGreeting(g []byte) error {
	if g[0] != 0xFF || g[9] != 0x7F {
		return errors.New("not a ZMTP greeting")
	}
	if g[10] < 3 {
		return fmt.Errorf("ZMTP version %d.%d: only 3.x is spoken (libzmq 4 and later, which every Locust 2 has)", g[10], g[11])
	}
	mech := string(bytes.TrimRight(g[12:32], "\x00"))
	if mech != "NULL" {
		return fmt.Errorf("ZMTP mechanism %q: only NULL (no security) is spoken, as Locust uses", mech)
	}
	return nil
}

// zconn is one ZMTP connection of a DEALER peer.
type zconn struct {
	c        net.Conn
	r        *bufio.Reader
	identity string

	wmu sync.Mutex
	w   *bufio.Writer
}

// handshake exchanges greetings and READY commands with the peer on c,
// whose first bytes may already have been read into r. The peer must be a
// DEALER (or REQ) with an identity (Locust's worker id).
func handshake(c net.Conn, r *bufio.Reader) (*zconn, error) {
	z := &zconn{c: c, r: r, w: bufio.NewWriter(c)}
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	defer c.SetDeadline(time.Time{})
	if _, err := z.w.Write(greeting()); err != nil {
		return nil, err
	}
	if err := z.w.Flush(); err != nil {
		return nil, err
	}
	g := make([]byte, greetingLen)
	if _, err := io.ReadFull(z.r, g); err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := checkGreeting(g); err != nil {
		z.sendError(err.Error())
		return nil, err
	}
	props := map[string]string{"Socket-Type": "ROUTER"}
	if err := z.writeCommand("READY", props); err != nil {
		return nil, err
	}
	frames, cmd, err := z.readMessage(4096)
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if !cmd || len(frames) != 1 {
		return nil, errors.New("handshake: expected a READY command")
	}
	name, body, err := parseCommand(frames[0])
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if name == "ERROR" {
		return nil, fmt.Errorf("handshake: peer sent ERROR %q", body)
	}
	if name != "READY" {
		return nil, fmt.Errorf("handshake: expected READY, got command %q", name)
	}
	p, err := parseProperties(body)
	if err != nil {
		return nil, fmt.Errorf("handshake: READY: %w", err)
	}
	switch st := p["socket-type"]; st {
	case "DEALER", "REQ":
	default:
		z.sendError("a ROUTER serves DEALER sockets (Locust workers)")
		return nil, fmt.Errorf("handshake: socket type %q: a ROUTER serves DEALER peers (Locust workers)", st)
	}
	id := p["identity"]
	if id == "" {
		z.sendError("an identity is required (Locust's worker id)")
		return nil, errors.New("handshake: peer has no identity (a Locust worker sets its id as identity)")
	}
	z.identity = id
	return z, nil
}

// sendError sends an ERROR command with reason, best effort.
func (z *zconn) sendError(reason string) {
	if len(reason) > 255 {
		reason = reason[:255]
	}
	body := append([]byte{byte(len(reason))}, reason...)
	z.wmu.Lock()
	defer z.wmu.Unlock()
	z.writeFrame(flagCommand, append(append([]byte{5}, "ERROR"...), body...))
	z.w.Flush()
}

// writeCommand sends a command with ZMTP metadata properties.
func (z *zconn) writeCommand(name string, props map[string]string) error {
	body := []byte{byte(len(name))}
	body = append(body, name...)
	for k, v := range props {
		body = append(body, byte(len(k)))
		body = append(body, k...)
		body = binary.BigEndian.AppendUint32(body, uint32(len(v)))
		body = append(body, v...)
	}
	z.wmu.Lock()
	defer z.wmu.Unlock()
	if err := z.writeFrame(flagCommand, body); err != nil {
		return err
	}
	return z.w.Flush()
}

// writeFrame writes one frame's header and body (not flushed).
func (z *zconn) writeFrame(flags byte, body []byte) error {
	var hdr [9]byte
	n := 2
	if len(body) > 255 {
		hdr[0] = flags | flagLong
		binary.BigEndian.PutUint64(hdr[1:], uint64(len(body)))
		n = 9
	} else {
		hdr[0] = flags
		hdr[1] = byte(len(body))
	}
	if _, err := z.w.Write(hdr[:n]); err != nil {
		return err
	}
	_, err := z.w.Write(body)
	return err
}

// Send writes one single-frame message (a DEALER receives what a ROUTER
// sends without the identity frame).
func (z *zconn) Send(payload []byte) error {
	z.wmu.Lock()
	defer z.wmu.Unlock()
	z.c.SetWriteDeadline(time.Now().Add(10 * time.Second)) // a peer that does not read cannot hold the master
	if err := z.writeFrame(0, payload); err != nil {
		return err
	}
	return z.w.Flush()
}

// readMessage reads the frames of one message (a command is one frame),
// at most limit bytes of bodies in all.
func (z *zconn) readMessage(limit int) (frames [][]byte, command bool, err error) {
	total := 0
	for {
		flags, err := z.r.ReadByte()
		if err != nil {
			return nil, false, err
		}
		if flags&^(flagMore|flagLong|flagCommand) != 0 {
			return nil, false, fmt.Errorf("bad frame flags %#x", flags)
		}
		var size uint64
		if flags&flagLong != 0 {
			var b [8]byte
			if _, err := io.ReadFull(z.r, b[:]); err != nil {
				return nil, false, err
			}
			size = binary.BigEndian.Uint64(b[:])
		} else {
			b, err := z.r.ReadByte()
			if err != nil {
				return nil, false, err
			}
			size = uint64(b)
		}
		if size > uint64(limit-total) {
			return nil, false, fmt.Errorf("%w: a frame of %d bytes (limit %d per message)", errOversize, size, limit)
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(z.r, body); err != nil {
			return nil, false, err
		}
		total += int(size)
		if flags&flagCommand != 0 {
			if len(frames) > 0 || flags&flagMore != 0 {
				return nil, false, errors.New("a command inside a multipart message")
			}
			return [][]byte{body}, true, nil
		}
		frames = append(frames, body)
		if flags&flagMore == 0 {
			return frames, false, nil
		}
	}
}

// Recv returns the next message's frames, answering PINGs on the way.
func (z *zconn) Recv() ([][]byte, error) {
	for {
		frames, cmd, err := z.readMessage(MaxMessage)
		if err != nil {
			return nil, err
		}
		if !cmd {
			return frames, nil
		}
		name, body, err := parseCommand(frames[0])
		if err != nil {
			return nil, err
		}
		switch name {
		case "PING": // ZMTP 3.1: TTL (2 bytes), then a context echoed in the PONG
			if len(body) >= 2 {
				ctx := body[2:]
				if len(ctx) > 16 {
					ctx = ctx[:16]
				}
				z.wmu.Lock()
				z.writeFrame(flagCommand, append([]byte{4, 'P', 'O', 'N', 'G'}, ctx...))
				z.w.Flush()
				z.wmu.Unlock()
			}
		case "ERROR":
			return nil, fmt.Errorf("peer sent ERROR %q", body)
		}
		// PONG and unknown commands are ignored, as the spec asks.
	}
}

func (z *zconn) Close() error { return z.c.Close() }

// parseCommand splits a command frame into its name and body.
func parseCommand(b []byte) (string, []byte, error) {
	if len(b) < 1 || int(b[0]) > len(b)-1 {
		return "", nil, errors.New("malformed command")
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], nil
}

// parseProperties reads ZMTP metadata (names lowercased: they are
// case-insensitive).
func parseProperties(b []byte) (map[string]string, error) {
	p := map[string]string{}
	for len(b) > 0 {
		n := int(b[0])
		if len(b) < 1+n+4 {
			return nil, errors.New("malformed property")
		}
		name := string(bytes.ToLower(b[1 : 1+n]))
		vlen := binary.BigEndian.Uint32(b[1+n:])
		b = b[1+n+4:]
		if uint64(vlen) > uint64(len(b)) {
			return nil, errors.New("malformed property value")
		}
		if name == "identity" && vlen > maxIdentity {
			return nil, fmt.Errorf("identity of %d bytes (limit %d)", vlen, maxIdentity)
		}
		p[name] = string(b[:vlen])
		b = b[vlen:]
	}
	return p, nil
}
