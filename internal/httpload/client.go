// Package httpload is the HTTP client of a virtual user: its own keep-alive
// connection per host and its own cookie jar, as each Locust HttpUser has its
// own session.
//
// It speaks HTTP/1.1 with fasthttp's request and response types over
// connections it manages itself (HTTP/2, by ALPN or h2c, goes through
// golang.org/x/net/http2 on the same one connection; see transport.go): a user owns its connection outright (no
// pool shared between users, no cleaner goroutine per user), and read and
// write buffers are borrowed from process-wide pools only for the duration of
// one request, so ten thousand idle users hold nothing but their sockets.
package httpload

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/horde-load/horde/internal/srcaddr"
	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"
)

// Defaults for Options.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultMaxBodySize  = 64 << 20
	DefaultMaxRedirects = 10
	bufferSize          = 4096
	// maxDeferIdle is how long a connection may have been idle for its
	// next request's write to be deferred to the read of the answer (see
	// exchange): well under any server's keep-alive timeout.
	maxDeferIdle = 100 * time.Millisecond
)

// ErrStopped is returned for a request cut off because its user was stopped.
var ErrStopped = errors.New("user stopped")

// Options configure a Client. The zero value is usable.
type Options struct {
	Timeout      time.Duration // per request, including redirects; default DefaultTimeout
	MaxBodySize  int           // responses above it fail; default DefaultMaxBodySize
	MaxRedirects int           // default DefaultMaxRedirects; negative: never follow
	TLSConfig    *tls.Config   // nil: default verification; ignored when Transport is set
	// Transport is used by Do; nil: TLSConfig, HTTP/2 by ALPN and the
	// environment's proxy (EnvProxy).
	Transport *Transport
	// SourceAddrs are the local addresses direct connections are made
	// from, in turn; nil: the kernel chooses.
	SourceAddrs *srcaddr.Addrs
}

// Client is one user's HTTP client. It is not safe for concurrent use: a
// virtual user sends one request at a time.
type Client struct {
	opts    Options
	conns   map[string]*conn // by scheme://host:port
	jar     *cookiejar.Jar   // created on the first Set-Cookie
	lastKey string
	lastT   *Transport // the transport lastKey was built for
	ph      Phases     // of the request in Do, added up by dial and the exchanges
	// The request in Do: when it started and when it times out, on the
	// monotonic clock (nanotime), and its deadline as a time.Time, made
	// by the first that needs it (see deadline).
	start, due int64
	wallDue    time.Time

	// The last request written, as written (see Call.Static): raw holds
	// its bytes when rawOK, for rawKey's connections; same says the
	// request in Do may be written from them, changed that Do changed
	// the request (a redirect, cookies from the jar).
	raw           []byte
	rawKey        string
	rawOK, same   bool
	changed, keep bool
	capture       captureWriter

	mu      sync.Mutex // guards aborted and the conn set against Abort
	aborted bool
}

type conn struct {
	net.Conn
	addr      string
	h2        *http2.ClientConn // nil: HTTP/1.1
	h2count   *countConn        // HTTP/2: the bytes its frames took
	proxied   bool              // plain HTTP through a proxy: absolute-form requests
	proxyAuth string            // Proxy-Authorization for proxied requests

	// HTTP/1.1 exchanges count what they write and read, and note when
	// the answer's first byte came (nanotime; zero until then): only the
	// user's goroutine reads and writes the connection, so no lock.
	sent, recv int64
	firstByte  int64
	// lastUsed is when the last answer on the connection was read
	// (nanotime; zero: none yet), to tell whether its next request may be
	// deferred.
	lastUsed int64
}

// Read reads from the connection, counting the bytes and timing the first.
func (cn *conn) Read(p []byte) (int, error) {
	n, err := cn.Conn.Read(p)
	if n > 0 {
		if cn.firstByte == 0 {
			cn.firstByte = nanotime()
		}
		cn.recv += int64(n)
	}
	return n, err
}

// Write writes to the connection, counting the bytes.
func (cn *conn) Write(p []byte) (int, error) {
	n, err := cn.Conn.Write(p)
	cn.sent += int64(n)
	return n, err
}

func (cn *conn) Close() error {
	if cn.h2 != nil {
		cn.h2.Close()
	}
	return cn.Conn.Close()
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBodySize <= 0 {
		opts.MaxBodySize = DefaultMaxBodySize
	}
	if opts.MaxRedirects == 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	if opts.Transport == nil {
		opts.Transport = &Transport{TLS: opts.TLSConfig, Proxy: EnvProxy()}
	}
	return &Client{opts: opts, conns: make(map[string]*conn, 1)}
}

// StopOn makes the client abort when ctx is done: the request in flight
// fails with ErrStopped at once and so does every later one, until Reset.
// It registers one callback for the client's lifetime, not one per request.
// The returned release function unregisters it; once it returns, no abort
// from ctx can happen any more (if one had started, it has finished).
func (c *Client) StopOn(ctx context.Context) (release func()) {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.Abort()
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
		}
	}
}

// Abort makes the request in flight fail with ErrStopped at once, and every
// later one until Reset. Unlike the other methods it may be called from any
// goroutine: it is StopOn without a context to register with (the engine
// calls it when a user's stop timeout expires).
func (c *Client) Abort() {
	c.mu.Lock()
	c.aborted = true
	for _, cn := range c.conns {
		cn.Close()
	}
	c.mu.Unlock()
}

// Reset lets an aborted client send again (used for on_stop after the
// tasks were cut off).
func (c *Client) Reset() {
	c.mu.Lock()
	c.aborted = false
	for k, cn := range c.conns {
		cn.Close()
		delete(c.conns, k)
	}
	c.mu.Unlock()
}

// Phases returns the phases of the client's last request (as in its Do's
// Result): for a caller that kept only the duration.
func (c *Client) Phases() Phases { return c.ph }

// Close closes the client's connections.
func (c *Client) Close() { c.Reset() }

var (
	readers sync.Pool
	writers sync.Pool
)

func acquireReader(r io.Reader) *bufio.Reader {
	if v := readers.Get(); v != nil {
		br := v.(*bufio.Reader)
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, bufferSize)
}

func acquireWriter(w io.Writer) *bufio.Writer {
	if v := writers.Get(); v != nil {
		bw := v.(*bufio.Writer)
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, bufferSize)
}

// Call is how one request is sent. Its zero value means the client's
// transport and timeout, following redirects.
type Call struct {
	Transport  *Transport    // nil: the client's; connections are kept per host and transport
	Timeout    time.Duration // 0: the client's
	NoRedirect bool          // a 3xx answer is the response (a scenario step's follow_redirects: false)
	// Static says the caller builds this request the same on every call
	// (a scenario step with a static URL and headers and no body): the
	// client keeps the bytes it writes (up to maxRaw), and Same says req
	// is the very request of the client's last Do, untouched since (and
	// that Do's Result.Changed was false), so that the client may write
	// those bytes again instead of serialising req.
	Static, Same bool
}

// Result is what one exchange measured.
type Result struct {
	// Took is the time from the first byte sent to the last byte of the
	// final response read (redirects included).
	Took time.Duration
	// WireSize is the final response's body size as it came over the wire,
	// before decoding (0 when no response was read).
	WireSize int
	// Phases are the parts of Took (redirects added up) and the bytes the
	// messages took.
	Phases Phases
	// Changed says Do changed the request (it followed a redirect, added
	// cookies from its jar, or wrote it to a proxy in absolute form): the
	// next call cannot be Same.
	Changed bool
}

// Phases are a request's phases, as k6 names them, and its messages'
// sizes; with redirects, the sums over the exchanges.
type Phases struct {
	// Connecting is the time to open a TCP connection (name resolution
	// and a proxy's CONNECT included); TLSHandshaking that of the TLS
	// handshake after it. Both are 0 on a kept-alive connection: Dialed
	// says whether a connection was opened.
	Connecting, TLSHandshaking time.Duration
	// Waiting is from the request sent to the answer's first byte (time
	// to first byte); Receiving from that byte to the answer's last.
	// Answered says whether an answer came (they are 0 otherwise).
	Waiting, Receiving time.Duration
	Dialed, Answered   bool
	// Sent and Received are the messages' bytes on the connection: request
	// line (HTTP/2: frames), headers and body, before TLS and after
	// compression.
	Sent, Received int64
}

// Do sends req and reads the answer into resp, following redirects unless
// call.NoRedirect. The request URI must be absolute (http:// or
// https://). A compressed body (gzip, deflate, br, zstd) is decoded in
// resp; the Result tells its size as sent. The Result is set on error too
// (Took is the time until the error).
func (c *Client) Do(req *fasthttp.Request, resp *fasthttp.Response, call Call) (Result, error) {
	t := call.Transport
	if t == nil {
		t = c.opts.Transport
	}
	timeout := call.Timeout
	if timeout <= 0 {
		timeout = c.opts.Timeout
	}
	c.ph = Phases{}
	// The monotonic clock alone (one vDSO call where time.Now makes two);
	// the deadline as a time.Time only when a dial or a connection that
	// needs one asks for it (c.deadline).
	start := nanotime()
	c.start, c.due, c.wallDue = start, start+int64(timeout), time.Time{}
	c.same, c.keep, c.changed = call.Same && c.rawOK && c.jar == nil, call.Static, false
	if !c.same {
		c.rawOK = false // made again by the exchange that keeps the bytes
	}
	for redirects := 0; ; redirects++ {
		if err := c.roundTrip(t, req, resp); err != nil {
			return Result{Took: since(start), Phases: c.ph, Changed: c.changed}, err
		}
		code := resp.StatusCode()
		if call.NoRedirect || !isRedirect(code) || c.opts.MaxRedirects < 0 {
			break
		}
		loc := resp.Header.Peek("Location")
		if len(loc) == 0 {
			break
		}
		if redirects >= c.opts.MaxRedirects {
			return Result{Took: since(start), Phases: c.ph, Changed: c.changed}, fmt.Errorf("stopped after %d redirects", redirects)
		}
		req.URI().UpdateBytes(loc)
		c.same, c.keep, c.changed, c.rawOK = false, false, true, false
		if code == http.StatusSeeOther || ((code == http.StatusMovedPermanently || code == http.StatusFound) && !req.Header.IsGet() && !req.Header.IsHead()) {
			req.Header.SetMethod(http.MethodGet)
			req.ResetBody()
			req.Header.SetContentLength(0)
			req.Header.Del("Content-Type")
		}
	}
	r := Result{WireSize: len(resp.Body()), Phases: c.ph, Changed: c.changed}
	var err error
	if len(resp.Header.ContentEncoding()) > 0 {
		err = decode(resp, c.opts.MaxBodySize)
	}
	r.Took = since(start)
	return r, err
}

// deadline returns the deadline of the request in Do as a time.Time.
func (c *Client) deadline() time.Time {
	if c.wallDue.IsZero() {
		c.wallDue = time.Now().Add(time.Duration(c.due - nanotime()))
	}
	return c.wallDue
}

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

func (c *Client) roundTrip(t *Transport, req *fasthttp.Request, resp *fasthttp.Response) error {
	uri := req.URI()
	scheme := uri.Scheme()
	isTLS := string(scheme) == "https"
	if !isTLS && string(scheme) != "http" {
		return fmt.Errorf("unsupported URL scheme %q", scheme)
	}
	host := uri.Host()
	if len(host) == 0 {
		return errors.New("URL has no host")
	}
	if c.jar != nil {
		c.addCookies(req)
		c.same, c.keep, c.changed, c.rawOK = false, false, true, false
	}
	key := c.key(scheme, host, t)
	if c.same && key != c.rawKey {
		c.same = false
	}
	for attempt := 0; ; attempt++ {
		cn, reused, err := c.conn(key, isTLS, string(host), t)
		if err != nil {
			return err
		}
		if cn.h2 != nil {
			err = c.exchange2(cn, req, resp, c.deadline())
		} else {
			err = c.exchange(cn, req, resp)
		}
		if err == nil {
			if resp.ConnectionClose() || req.ConnectionClose() {
				c.drop(key, cn)
			}
			if c.jar != nil || hasSetCookie(resp) {
				c.storeCookies(req, resp)
			}
			return nil
		}
		if isTLS && !reused {
			err = tlsAlert(cn, err)
		}
		c.drop(key, cn)
		if c.isAborted() {
			return ErrStopped
		}
		// A kept-alive connection the server closed while idle: retry once
		// on a fresh one, as browsers and net/http do.
		if reused && attempt == 0 && isStaleConn(err) {
			continue
		}
		if isTLS && strings.Contains(err.Error(), "remote error: tls: ") {
			// TLS 1.3: a server that refuses the client's certificate says
			// so after the handshake, on the first read.
			return tlsError(err, hostPort(string(host), isTLS))
		}
		return describe(err)
	}
}

// key names the connection for scheme, host and transport, remembering the
// last one so that a user who talks to one host builds no string per
// request.
func (c *Client) key(scheme, host []byte, t *Transport) string {
	id := ""
	if t != c.opts.Transport {
		id = t.ident()
	}
	if c.lastKey != "" && t == c.lastT && len(c.lastKey) == len(scheme)+3+len(host)+len(id) &&
		c.lastKey[:len(scheme)] == string(scheme) && c.lastKey[len(scheme)+3:len(c.lastKey)-len(id)] == string(host) {
		return c.lastKey
	}
	c.lastKey, c.lastT = string(scheme)+"://"+string(host)+id, t
	return c.lastKey
}

func (c *Client) isAborted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aborted
}

func (c *Client) conn(key string, isTLS bool, host string, t *Transport) (*conn, bool, error) {
	c.mu.Lock()
	if c.aborted {
		c.mu.Unlock()
		return nil, false, ErrStopped
	}
	cn := c.conns[key]
	c.mu.Unlock()
	if cn != nil {
		if cn.h2 == nil || cn.h2.CanTakeNewRequest() {
			return cn, true, nil
		}
		c.drop(key, cn) // the server sent GOAWAY: a new connection
	}
	cn, err := c.dial(key, isTLS, host, t, c.deadline())
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	if c.aborted {
		c.mu.Unlock()
		cn.Close()
		return nil, false, ErrStopped
	}
	c.conns[key] = cn
	c.mu.Unlock()
	return cn, false, nil
}

func (c *Client) drop(key string, cn *conn) {
	c.mu.Lock()
	if c.conns[key] == cn {
		delete(c.conns, key)
	}
	c.mu.Unlock()
	cn.Close()
}

func (c *Client) exchange(cn *conn, req *fasthttp.Request, resp *fasthttp.Response) error {
	if err := setDue(cn.Conn, c.start, c.due, c.deadline); err != nil {
		return err
	}
	cn.sent, cn.recv = 0, 0
	defer func() {
		c.ph.Sent += cn.sent
		c.ph.Received += cn.recv
	}()
	// A connection used moments ago sends its request with the read of
	// the answer (rawTCP.Read): no read that can only fail with EAGAIN.
	// One idle for longer may hold a FIN its server sent meanwhile, which
	// only that read sees at once (the server may read and drop the
	// request before it closes, and send nothing more), so it writes and
	// reads the usual way, and a stale connection is retried at once.
	deferred := cn.lastUsed != 0 && c.start-cn.lastUsed < int64(maxDeferIdle)
	deferWrites(cn.Conn, deferred)
	var err error
	if c.same && !cn.proxied {
		// The request of the last Do, unchanged: its bytes again.
		_, err = cn.Write(c.raw)
	} else {
		var w io.Writer = cn
		keep := c.keep && !cn.proxied
		if keep { // keep the bytes as they go (captureWriter)
			c.raw = c.raw[:0]
			c.capture = captureWriter{c: c, w: cn, ok: true}
			w = &c.capture
		}
		bw := acquireWriter(w)
		if cn.proxied {
			err = writeProxied(bw, req, cn.proxyAuth)
			c.changed = true // it sets the absolute form and the proxy's headers in req
		} else {
			err = req.Write(bw)
		}
		if err == nil {
			err = bw.Flush()
		}
		bw.Reset(nil)
		writers.Put(bw)
		if keep {
			c.rawOK, c.rawKey = err == nil && c.capture.ok, cn.addr
			c.capture = captureWriter{}
		}
	}
	sentAt := nanotime() // deferred: the write system call is still to come, in the read
	if err != nil {
		return err
	}
	br := acquireReader(cn)
	resp.Reset()
	resp.SkipBody = req.Header.IsHead()
	cn.firstByte = 0
	err = resp.ReadLimitBody(br, c.opts.MaxBodySize)
	if cn.firstByte != 0 {
		now := nanotime()
		c.ph.Answered = true
		c.ph.Waiting += time.Duration(cn.firstByte - sentAt)
		c.ph.Receiving += time.Duration(now - cn.firstByte)
		cn.lastUsed = now
	}
	if err != nil && deferred {
		if werr := writeErr(cn.Conn); werr != nil {
			err = werr // the request's write failed, as a direct write would say
		}
	}
	leftover := br.Buffered()
	br.Reset(nil)
	readers.Put(br)
	if err == nil && leftover > 0 {
		// The server sent more than one response: the connection is out of step.
		resp.SetConnectionClose()
	}
	return err
}

// maxRaw is the largest request a client keeps the bytes of (Call.Static):
// a GET's head, not a body.
const maxRaw = 1024

// captureWriter copies what a request's writer flushes into its client's
// raw, up to maxRaw (ok: all of it so far), on its way to w.
type captureWriter struct {
	c  *Client
	w  io.Writer
	ok bool
}

func (cw *captureWriter) Write(p []byte) (int, error) {
	if cw.ok {
		if len(cw.c.raw)+len(p) <= maxRaw {
			cw.c.raw = append(cw.c.raw, p...)
		} else {
			cw.ok = false
		}
	}
	return cw.w.Write(p)
}

// Idle gives back what the client keeps between requests besides its
// connections (the bytes of its last request, Call.Static): for a user
// about to wait long. The next request serialises its request anew.
func (c *Client) Idle() {
	c.raw, c.rawOK = nil, false
}

func isStaleConn(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne *net.OpError
	if errors.As(err, &ne) && (strings.Contains(ne.Err.Error(), "reset") || strings.Contains(ne.Err.Error(), "broken pipe")) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "server closed connection before returning the first response byte") ||
		strings.Contains(s, "http2: client connection lost") || strings.Contains(s, "http2: client conn is closed") ||
		strings.Contains(s, "http2: client conn not usable") || strings.Contains(s, "graceful shutdown GOAWAY") ||
		strings.Contains(s, "EOF")
}

// describe turns network errors into short, groupable messages: the error
// report groups by message, so it must not carry ephemeral ports.
func describe(err error) error {
	var ne net.Error
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return errTimeout
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		if oe.Op == "dial" {
			return fmt.Errorf("connect %s: %v", oe.Addr, unwrapSyscall(oe.Err))
		}
		return fmt.Errorf("%s: %v", oe.Op, unwrapSyscall(oe.Err))
	}
	return err
}

var errTimeout = errors.New("timeout")

func unwrapSyscall(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

func hasSetCookie(resp *fasthttp.Response) bool {
	found := false
	resp.Header.VisitAllCookie(func(_, _ []byte) { found = true })
	return found
}

func requestURL(req *fasthttp.Request) *url.URL {
	u, err := url.Parse(string(req.URI().FullURI()))
	if err != nil {
		return nil
	}
	return u
}

func (c *Client) storeCookies(req *fasthttp.Request, resp *fasthttp.Response) {
	var cookies []*http.Cookie
	resp.Header.VisitAllCookie(func(_, v []byte) {
		if ck, err := http.ParseSetCookie(string(v)); err == nil {
			cookies = append(cookies, ck)
		}
	})
	if len(cookies) == 0 {
		return
	}
	u := requestURL(req)
	if u == nil {
		return
	}
	if c.jar == nil {
		c.jar, _ = cookiejar.New(nil)
	}
	c.jar.SetCookies(u, cookies)
}

func (c *Client) addCookies(req *fasthttp.Request) {
	u := requestURL(req)
	if u == nil {
		return
	}
	for _, ck := range c.jar.Cookies(u) {
		req.Header.SetCookie(ck.Name, ck.Value)
	}
}
