// Package mqttload is the MQTT client of a virtual user (a device): one
// connection to a broker, MQTT 3.1.1 or 5, over TCP (mqtt://) or TLS
// (mqtts://), dialled with the user's dialer and TLS settings. Incoming
// messages of its subscriptions are queued so that a step can wait for the
// one that matches (with a timeout) while the connection stays open, and
// so that the library keeps acknowledging them while the user sleeps.
//
// MQTT 3.1.1 is github.com/eclipse/paho.mqtt.golang's, MQTT 5
// github.com/eclipse/paho.golang's (docs/design.md says why). An idle
// connection costs the library's goroutines and buffers, nothing of ours:
// the queue is a slice that grows only with unread messages.
//
// Statistics are the caller's: this package times, it does not record.
package mqttload

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/horde-load/horde/internal/inbox"
)

// Defaults.
const (
	// DefaultQueue is how many unread messages a connection keeps; beyond
	// it the oldest is dropped (and counted). A subscriber that fans in
	// many devices reads them one per step; the queue takes a burst.
	DefaultQueue = 10000
	// DefaultKeepAlive is the keep-alive when Options.KeepAlive is 0.
	DefaultKeepAlive = 60 * time.Second
	// SentProperty is the MQTT 5 user property each publish carries: the
	// send time in Unix nanoseconds, from which a subscriber times the
	// message's end-to-end delivery.
	SentProperty = "horde-sent"
)

// Options configure Dial.
type Options struct {
	// Version is 3 (MQTT 3.1.1, the default) or 5.
	Version  int
	ClientID string
	// Username and Password are sent when Username is not empty.
	Username string
	Password string
	// Persistent asks the broker to keep the session (clean session false,
	// MQTT 5: clean start false and SessionExpiry).
	Persistent bool
	// SessionExpiry (MQTT 5, persistent sessions) is how long the broker
	// keeps the session after a disconnect (0: one hour).
	SessionExpiry time.Duration
	// KeepAlive is the keep-alive interval (0: DefaultKeepAlive; negative: none).
	KeepAlive time.Duration
	// TLS is the configuration for mqtts:// (nil: the system's roots).
	TLS *tls.Config
	// Dial makes the TCP connection (nil: a net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Queue is how many unread messages are kept (0: DefaultQueue).
	Queue int
}

// Message is one message received on a subscription.
type Message struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retained bool
	At       time.Time // when it was read off the connection
	// Sent is the publisher's send time when the message carried one
	// (SentProperty, MQTT 5); zero otherwise.
	Sent time.Time
}

// backend is one library's client.
type backend interface {
	publish(ctx context.Context, topic string, qos byte, retain bool, payload []byte) error
	subscribe(ctx context.Context, filter string, qos byte) error
	unsubscribe(ctx context.Context, filter string) error
	disconnect(timeout time.Duration)
	// alive reports whether the library still holds the connection open.
	alive() bool
}

// Conn is one open MQTT connection. Its methods are for the one goroutine
// of its user; the library's goroutines deliver messages beside it.
type Conn struct {
	b       backend
	Version int
	Opened  time.Time
	// SessionPresent is the broker's CONNACK flag: it resumed a session.
	SessionPresent bool

	in      *inbox.Inbox[Message] // the subscriptions' messages, and why the connection ended
	mu      sync.Mutex
	closing bool
}

// ErrTimeout is returned when no message matched, or no acknowledgement
// came, in time.
var ErrTimeout = inbox.ErrTimeout

// Dial connects to rawURL (mqtt://host[:1883] or mqtts://host[:8883])
// within ctx and returns the connection and how long TCP, TLS and the
// CONNECT–CONNACK exchange took.
func Dial(ctx context.Context, rawURL string, o Options) (*Conn, time.Duration, error) {
	addr, useTLS, err := ParseURL(rawURL)
	if err != nil {
		return nil, 0, err
	}
	if o.Version == 0 {
		o.Version = 3
	}
	if o.Version != 3 && o.Version != 5 {
		return nil, 0, fmt.Errorf("mqtt version %d: want 3 (3.1.1) or 5", o.Version)
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	queue := o.Queue
	if queue <= 0 {
		queue = DefaultQueue
	}
	c := &Conn{Version: o.Version, in: inbox.New[Message](queue)}
	start := time.Now()
	dial := func(ctx context.Context) (net.Conn, error) {
		var nc net.Conn
		var err error
		if o.Dial != nil {
			nc, err = o.Dial(ctx, "tcp", addr)
		} else {
			var d net.Dialer
			nc, err = d.DialContext(ctx, "tcp", addr)
		}
		if err != nil || !useTLS {
			return nc, err
		}
		cfg := &tls.Config{}
		if o.TLS != nil {
			cfg = o.TLS.Clone()
		}
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		return tc, nil
	}
	if o.Version == 5 {
		c.b, c.SessionPresent, err = dial5(ctx, dial, o, c)
	} else {
		c.b, c.SessionPresent, err = dial3(ctx, dial, addr, o, c)
	}
	took := time.Since(start)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = errors.New("timeout")
		}
		return nil, took, fmt.Errorf("connect: %w", err)
	}
	c.Opened = start.Add(took)
	return c, took, nil
}

// ParseURL reads mqtt://host[:port] (port 1883) or mqtts://host[:port]
// (8883); tcp://, ssl:// and tls:// are accepted as paho's names.
func ParseURL(raw string) (addr string, useTLS bool, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return "", false, fmt.Errorf("mqtt url %q: want mqtt://host:port or mqtts://host:port", raw)
	}
	port := "1883"
	switch u.Scheme {
	case "mqtt", "tcp":
	case "mqtts", "ssl", "tls":
		useTLS, port = true, "8883"
	default:
		return "", false, fmt.Errorf("mqtt url %q: want mqtt://host:port or mqtts://host:port", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return "", false, fmt.Errorf("mqtt url %q: bad port", raw)
		}
		port = p
	}
	return net.JoinHostPort(u.Hostname(), port), useTLS, nil
}

// deliver queues an arriving message (called by the library's goroutine).
func (c *Conn) deliver(m Message) { c.in.Put(m) }

// lost records why the connection ended (the first reason wins).
func (c *Conn) lost(err error) { c.in.End(err) }

// Publish sends one message and waits, within timeout (0: none), for its
// acknowledgement: PUBACK at QoS 1, PUBCOMP at QoS 2, the write at QoS 0.
// It returns how long that took.
func (c *Conn) Publish(ctx context.Context, topic string, qos byte, retain bool, payload []byte, timeout time.Duration) (time.Duration, error) {
	if qos > 2 {
		return 0, fmt.Errorf("publish: qos %d: want 0, 1 or 2", qos)
	}
	if c.Closed() {
		return 0, c.failure("publish", c.cause())
	}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := c.b.publish(ctx, topic, qos, retain, payload)
	took := time.Since(start)
	if err != nil {
		return took, c.failure("publish", err)
	}
	return took, nil
}

// Subscribe subscribes to filter at qos and waits, within timeout, for
// the SUBACK; a refused subscription (0x80 and above) is an error.
func (c *Conn) Subscribe(ctx context.Context, filter string, qos byte, timeout time.Duration) (time.Duration, error) {
	if qos > 2 {
		return 0, fmt.Errorf("subscribe: qos %d: want 0, 1 or 2", qos)
	}
	if c.Closed() {
		return 0, c.failure("subscribe", c.cause())
	}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := c.b.subscribe(ctx, filter, qos)
	took := time.Since(start)
	if err != nil {
		return took, c.failure("subscribe", err)
	}
	return took, nil
}

// Unsubscribe ends a subscription and waits, within timeout, for the UNSUBACK.
func (c *Conn) Unsubscribe(ctx context.Context, filter string, timeout time.Duration) (time.Duration, error) {
	if c.Closed() {
		return 0, c.failure("unsubscribe", c.cause())
	}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := c.b.unsubscribe(ctx, filter)
	took := time.Since(start)
	if err != nil {
		return took, c.failure("unsubscribe", err)
	}
	return took, nil
}

func withTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout > 0 {
		return context.WithTimeout(ctx, timeout)
	}
	return context.WithCancel(ctx)
}

// Wait returns the first queued or arriving message for which match is
// true, dropping those before it (skipped counts them). It fails with
// ErrTimeout after timeout (0: none), with the connection's end when it
// ends first, and with ctx's error when ctx is done.
func (c *Conn) Wait(ctx context.Context, timeout time.Duration, match func(Message) bool) (Message, int, error) {
	m, skipped, err := c.in.Wait(ctx, timeout, match)
	if e, ok := err.(*inbox.EndedError); ok {
		err = c.failure("receive", e.Err)
	}
	return m, skipped, err
}

// Dropped is how many messages were dropped unread because the queue was full.
func (c *Conn) Dropped() int { return c.in.Dropped() }

// Closed reports whether the connection has ended.
func (c *Conn) Closed() bool {
	if c.in.Ended() {
		return true
	}
	if c.b != nil && !c.b.alive() {
		c.lost(errors.New("connection closed"))
		return true
	}
	return false
}

func (c *Conn) cause() error { return c.in.Err() }

// Err is why the connection ended: nil while it is open and after our
// own disconnect.
func (c *Conn) Err() error {
	if !c.Closed() {
		return nil
	}
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if closing {
		return nil
	}
	return c.failure("connection", c.in.Err())
}

// Disconnect sends DISCONNECT (waiting up to timeout, 0: two seconds, for
// work in flight) and closes the connection; it returns how the
// connection had ended if it ended before.
func (c *Conn) Disconnect(timeout time.Duration) error {
	if c.Closed() {
		return c.Err()
	}
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	c.b.disconnect(timeout)
	c.lost(errors.New("disconnected"))
	return nil
}

// failure words an error for the error report.
func (c *Conn) failure(op string, err error) error {
	switch {
	case err == nil:
		return fmt.Errorf("%s: connection closed", op)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrTimeout):
		return fmt.Errorf("%s: timeout", op)
	case errors.Is(err, context.Canceled):
		return context.Canceled
	}
	return fmt.Errorf("%s: %w", op, err)
}
