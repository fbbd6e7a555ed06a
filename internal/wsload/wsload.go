// Package wsload is the WebSocket client of a virtual user: one
// connection, dialled with the user's TLS settings, headers and cookies,
// whose incoming messages a reader goroutine queues so that a step can wait
// for the one that matches (with a timeout) without closing the
// connection, and so that pings are answered while the user sleeps.
//
// The protocol is github.com/coder/websocket's (docs/design.md says why).
// Statistics are the caller's: this package times, it does not record.
package wsload

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Defaults.
const (
	// DefaultQueue is how many unread messages a connection keeps; beyond
	// it the oldest is dropped (and counted) so that a user that only
	// sends cannot grow without bound.
	DefaultQueue = 1024
	// DefaultReadLimit is the largest message accepted (bigger closes the
	// connection with 1009, as the protocol says).
	DefaultReadLimit = 16 << 20
)

// Options configure Dial.
type Options struct {
	Header       http.Header
	Subprotocols []string
	// TLS is the configuration for wss:// (nil: the system's roots).
	TLS *tls.Config
	// Dial makes the TCP connection (nil: a net.Dialer); the engine passes
	// one that honours the user's source addresses.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Proxy as in http.Transport (nil: none).
	Proxy func(*http.Request) (*url.URL, error)
	// Queue is how many unread messages are kept (0: DefaultQueue).
	Queue int
	// ReadLimit is the largest message read (0: DefaultReadLimit).
	ReadLimit int64
}

// Message is one data message received.
type Message struct {
	Binary bool
	Data   []byte
	At     time.Time // when it was read off the connection
}

// Conn is one open WebSocket connection. Its methods are for the one
// goroutine of its user; the reader runs beside it.
type Conn struct {
	ws     *websocket.Conn
	Opened time.Time
	// Subprotocol is the one the server chose ("" for none).
	Subprotocol string

	mu      sync.Mutex
	queue   []Message
	max     int
	dropped int   // messages dropped because the queue was full
	err     error // why the reader stopped; set once, before done closes
	notify  chan struct{}
	done    chan struct{}
	closing bool

	readCtx    context.Context
	readCancel context.CancelFunc
}

// Dial opens a connection to rawURL (ws:// or wss://) within ctx. It
// returns the handshake's HTTP response when there was one (on a refused
// upgrade too) and how long the handshake took.
func Dial(ctx context.Context, rawURL string, o Options) (*Conn, *http.Response, time.Duration, error) {
	if !strings.HasPrefix(rawURL, "ws://") && !strings.HasPrefix(rawURL, "wss://") {
		return nil, nil, 0, fmt.Errorf("websocket url %q must start with ws:// or wss://", rawURL)
	}
	tr := &http.Transport{
		TLSClientConfig:   o.TLS,
		Proxy:             o.Proxy,
		DisableKeepAlives: true,
		ForceAttemptHTTP2: false,
	}
	if o.Dial != nil {
		tr.DialContext = o.Dial
	}
	if tr.TLSClientConfig != nil {
		tr.TLSClientConfig = tr.TLSClientConfig.Clone()
	} else {
		tr.TLSClientConfig = &tls.Config{}
	}
	tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	start := time.Now()
	ws, resp, err := websocket.Dial(ctx, rawURL, &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: tr},
		HTTPHeader:   o.Header,
		Subprotocols: o.Subprotocols,
	})
	took := time.Since(start)
	tr.CloseIdleConnections()
	if err != nil {
		return nil, resp, took, describe(err, resp)
	}
	limit := o.ReadLimit
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	ws.SetReadLimit(limit)
	c := &Conn{ws: ws, Opened: start.Add(took), Subprotocol: ws.Subprotocol(), max: o.Queue,
		notify: make(chan struct{}, 1), done: make(chan struct{})}
	if c.max <= 0 {
		c.max = DefaultQueue
	}
	c.readCtx, c.readCancel = context.WithCancel(context.Background())
	go c.read()
	return c, resp, took, nil
}

// describe shortens the library's handshake errors to what a report
// groups well: the status of a refused upgrade, the cause of a failed dial.
func describe(err error, resp *http.Response) error {
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("websocket handshake: HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("websocket handshake: timeout")
	}
	return fmt.Errorf("websocket handshake: %w", err)
}

// read queues every data message until the connection ends.
func (c *Conn) read() {
	for {
		typ, data, err := c.ws.Read(c.readCtx)
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			close(c.done)
			return
		}
		m := Message{Binary: typ == websocket.MessageBinary, Data: data, At: time.Now()}
		c.mu.Lock()
		if len(c.queue) >= c.max {
			copy(c.queue, c.queue[1:])
			c.queue = c.queue[:len(c.queue)-1]
			c.dropped++
		}
		c.queue = append(c.queue, m)
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// Send writes one message, text or binary, within timeout (0: none). A
// write that times out leaves the connection unusable (the protocol has
// no way to abandon half a frame): it is closed.
func (c *Conn) Send(ctx context.Context, binary bool, data []byte, timeout time.Duration) error {
	typ := websocket.MessageText
	if binary {
		typ = websocket.MessageBinary
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := c.ws.Write(ctx, typ, data); err != nil {
		return c.failure("send", err)
	}
	return nil
}

// ErrTimeout is returned by Wait when no message matched in time.
var ErrTimeout = errors.New("timeout")

// Wait returns the first queued or arriving message for which match is
// true, dropping those before it (skipped counts them). It fails with
// ErrTimeout after timeout (0: none), with the connection's end when it
// closes first, and with ctx's error when ctx is done.
func (c *Conn) Wait(ctx context.Context, timeout time.Duration, match func(Message) bool) (m Message, skipped int, err error) {
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	for {
		c.mu.Lock()
		for len(c.queue) > 0 {
			m = c.queue[0]
			c.queue[0] = Message{}
			c.queue = c.queue[1:]
			if match == nil || match(m) {
				c.mu.Unlock()
				return m, skipped, nil
			}
			skipped++
		}
		c.queue = c.queue[:0]
		readErr := c.err
		c.mu.Unlock()
		if readErr != nil {
			return Message{}, skipped, c.failure("receive", readErr)
		}
		select {
		case <-c.notify:
		case <-c.done:
		case <-tc:
			return Message{}, skipped, ErrTimeout
		case <-ctx.Done():
			return Message{}, skipped, ctx.Err()
		}
	}
}

// Ping sends a ping and waits for its pong within timeout (0: none).
func (c *Conn) Ping(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	start := time.Now()
	err := c.ws.Ping(ctx)
	took := time.Since(start)
	if err != nil {
		return took, c.failure("ping", err)
	}
	return took, nil
}

// Dropped is how many messages were dropped unread because the queue was full.
func (c *Conn) Dropped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Closed reports whether the connection has ended (the reader stopped).
func (c *Conn) Closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Err is why the connection ended: nil while it is open, after our own
// close, and for the server's normal closure (1000, 1001).
func (c *Conn) Err() error {
	if !c.Closed() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || isNormal(c.err) {
		return nil
	}
	return c.failure("connection", c.err)
}

// Close sends a close frame with code and reason and waits (up to
// timeout, 0: five seconds) for the server's; it returns how the
// connection had ended if it ended before (nil for a normal closure).
func (c *Conn) Close(code int, reason string, timeout time.Duration) error {
	if c.Closed() {
		c.readCancel()
		return c.Err()
	}
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	done := make(chan error, 1)
	go func() { done <- c.ws.Close(websocket.StatusCode(code), reason) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout):
		err = errors.New("timeout")
	}
	c.readCancel()
	c.ws.CloseNow()
	if err != nil && !isNormal(err) {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// Abort closes the connection at once, without the closing handshake.
func (c *Conn) Abort() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.readCancel()
	c.ws.CloseNow()
}

func isNormal(err error) bool {
	s := websocket.CloseStatus(err)
	return s == websocket.StatusNormalClosure || s == websocket.StatusGoingAway || errors.Is(err, net.ErrClosed)
}

// failure words an error of the connection for the error report: a close
// by the server names its status code.
func (c *Conn) failure(op string, err error) error {
	if s := websocket.CloseStatus(err); s != -1 {
		var ce websocket.CloseError
		errors.As(err, &ce)
		msg := fmt.Sprintf("%s: closed by the server: %d", op, int(s))
		if ce.Reason != "" {
			msg += " " + ce.Reason
		}
		return errors.New(msg)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: timeout", op)
	}
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return fmt.Errorf("%s: %w", op, err)
}
