package locust

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func seedMessages(f *testing.F) [][]byte {
	files, _ := filepath.Glob("testdata/*.msgpack")
	var out [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// Decode never panics, allocates in proportion to its input, and what it
// decodes encodes again.
func FuzzDecode(f *testing.F) {
	for _, b := range seedMessages(f) {
		f.Add(b)
	}
	f.Add([]byte{0x93, 0xa5, 's', 't', 'a', 't', 's', 0xdf, 0xff, 0xff, 0xff, 0xff}) // a map of 4 billion entries
	f.Add([]byte{0x93, 0xa1, 'x', 0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0})               // a list of 2 billion
	f.Add([]byte{0x93, 0xa1, 'x', 0x81, 0x91, 0x01, 0x01, 0xc0})                     // a list as a map key
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		ConvertStats(m.Data)
		if _, err := Encode(&Message{Type: m.Type, NodeID: m.NodeID, Data: jsonable(m.Data)}); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

// jsonable turns decoded maps' keys into strings, as Encode expects.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[any]any:
		out := map[string]any{}
		for k, e := range x {
			if s, ok := k.(string); ok {
				out[s] = jsonable(e)
			}
		}
		return out
	case []any:
		for i := range x {
			x[i] = jsonable(x[i])
		}
	}
	return v
}

// A connection's bytes after a valid handshake, whatever they are, never
// crash the server, and the connection's session ends when the peer goes:
// nothing stalls.
func FuzzServeConn(f *testing.F) {
	frame := func(b []byte) []byte {
		if len(b) > 255 {
			return append(binary.BigEndian.AppendUint64([]byte{flagLong}, uint64(len(b))), b...)
		}
		return append([]byte{0, byte(len(b))}, b...)
	}
	msgs := seedMessages(f)
	var all []byte
	for _, b := range msgs {
		f.Add(frame(b))
		all = append(all, frame(b)...)
	}
	f.Add(all)
	f.Add([]byte{flagLong, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})                     // 2^63 bytes
	f.Add([]byte{flagCommand, 5, 4, 'P', 'I', 'N', 'G'})                                        // a short PING
	f.Add([]byte{flagMore, 1, 'x', flagCommand, 1, 0})                                          // a command inside a message
	f.Add(append(frame([]byte{0x93, 0xa3, 'f', 'o', 'o', 0xc0, 0xa1, 'w'}), frame(msgs[0])...)) // unknown type first
	oldH, oldF := handshakeTimeout, firstMessageTimeout
	handshakeTimeout, firstMessageTimeout = time.Second, time.Second
	defer func() { handshakeTimeout, firstMessageTimeout = oldH, oldF }()
	f.Fuzz(func(t *testing.T, in []byte) {
		s := NewServer(newFakeMaster(), Config{Version: "v"})
		srv, cli := net.Pipe()
		go io.Copy(io.Discard, cli)
		go func() {
			cli.Write(greeting())
			body := []byte{5, 'R', 'E', 'A', 'D', 'Y', 11}
			body = append(body, "Socket-Type"...)
			body = binary.BigEndian.AppendUint32(body, 6)
			body = append(body, "DEALER"...)
			body = append(body, 8)
			body = append(body, "Identity"...)
			body = binary.BigEndian.AppendUint32(body, 1)
			body = append(body, 'w')
			cli.Write(append([]byte{flagCommand, byte(len(body))}, body...))
			cli.Write(in)
			cli.Close()
		}()
		done := make(chan struct{})
		go func() {
			s.ServeConn(context.Background(), srv, bufio.NewReader(srv))
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("ServeConn did not return after the peer closed")
		}
	})
}

// A connection that completes the handshake and never says who it is is
// closed, and holds up no other worker meanwhile.
func TestSilentWorkerIsDropped(t *testing.T) {
	old := firstMessageTimeout
	firstMessageTimeout = 300 * time.Millisecond
	// Restored after serve's cleanup, which waits for every connection's
	// goroutine (a deferred restore raced with one still reading it).
	t.Cleanup(func() { firstMessageTimeout = old })
	f := newFakeMaster()
	addr, _ := serve(t, f)
	silent := dialDealer(t, addr, "silent")
	raw, err := net.Dial("tcp", addr) // not even a greeting
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	d := dialDealer(t, addr, "talker")
	d.send("client_ready", "2.12.1")
	select {
	case <-f.conns:
	case <-time.After(5 * time.Second):
		t.Fatal("a silent connection held up another worker")
	}
	silent.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.r.ReadByte(); err == nil {
		t.Fatal("the silent worker's connection is still open")
	}
}
