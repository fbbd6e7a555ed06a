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

	"github.com/horde-load/horde/internal/inbox"
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

	in      *inbox.Inbox[Message] // what the reader read, and why it stopped
	mu      sync.Mutex
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
	queue := o.Queue
	if queue <= 0 {
		queue = DefaultQueue
	}
	c := &Conn{ws: ws, Opened: start.Add(took), Subprotocol: ws.Subprotocol(), in: inbox.New[Message](queue)}
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
			c.in.End(err)
			return
		}
		c.in.Put(Message{Binary: typ == websocket.MessageBinary, Data: data, At: time.Now()})
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
var ErrTimeout = inbox.ErrTimeout

// Wait returns the first queued or arriving message for which match is
// true, dropping those before it (skipped counts them). It fails with
// ErrTimeout after timeout (0: none), with the connection's end when it
// closes first, and with ctx's error when ctx is done.
func (c *Conn) Wait(ctx context.Context, timeout time.Duration, match func(Message) bool) (Message, int, error) {
	m, skipped, err := c.in.Wait(ctx, timeout, match)
	if e, ok := err.(*inbox.EndedError); ok {
		err = c.failure("receive", e.Err)
	}
	return m, skipped, err
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
func (c *Conn) Dropped() int { return c.in.Dropped() }

// Closed reports whether the connection has ended (the reader stopped).
func (c *Conn) Closed() bool { return c.in.Ended() }

// Err is why the connection ended: nil while it is open, after our own
// close, and for the server's normal closure (1000, 1001).
func (c *Conn) Err() error {
	if !c.Closed() {
		return nil
	}
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if err := c.in.Err(); !closing && !isNormal(err) {
		return c.failure("connection", err)
	}
	return nil
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
