package mqttload

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/inbox"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		addr string
		tls  bool
		bad  bool
	}{
		{in: "mqtt://127.0.0.1", addr: "127.0.0.1:1883"},
		{in: "mqtt://h:1884", addr: "h:1884"},
		{in: "mqtts://h", addr: "h:8883", tls: true},
		{in: "tcp://[::1]:1", addr: "[::1]:1"},
		{in: "ssl://h:2", addr: "h:2", tls: true},
		{in: "http://h", bad: true}, {in: "mqtt://", bad: true}, {in: "mqtt://h:0", bad: true}, {in: "mqtt://h:x", bad: true}, {in: "h:1883", bad: true},
	} {
		addr, tls, err := ParseURL(tc.in)
		if (err != nil) != tc.bad || !tc.bad && (addr != tc.addr || tls != tc.tls) {
			t.Errorf("ParseURL(%q) = %q, %v, %v", tc.in, addr, tls, err)
		}
	}
}

// The queue keeps the newest messages when full, counts the dropped, and
// Wait skips those that do not match; the connection's end ends a wait.
func TestQueueAndWait(t *testing.T) {
	c := &Conn{in: inbox.New[Message](3)}
	for _, p := range []string{"1", "2", "3", "4"} {
		c.deliver(Message{Topic: "t", Payload: []byte(p)})
	}
	if c.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", c.Dropped())
	}
	m, skipped, err := c.Wait(context.Background(), time.Second, func(m Message) bool { return string(m.Payload) == "3" })
	if err != nil || string(m.Payload) != "3" || skipped != 1 {
		t.Fatalf("Wait = %q, %d, %v", m.Payload, skipped, err)
	}
	if _, _, err := c.Wait(context.Background(), 10*time.Millisecond, func(m Message) bool { return false }); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Wait with no match: %v", err)
	}
	go func() { time.Sleep(10 * time.Millisecond); c.lost(errors.New("EOF")) }()
	if _, _, err := c.Wait(context.Background(), 5*time.Second, nil); err == nil || err.Error() != "receive: EOF" {
		t.Fatalf("Wait on a lost connection: %v", err)
	}
	if !c.Closed() || c.Err() == nil {
		t.Errorf("closed %v err %v", c.Closed(), c.Err())
	}
}
