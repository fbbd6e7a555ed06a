package httpload

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// exchange2 sends req over the connection's HTTP/2 stream machinery and
// copies the answer into resp, so that checks, captures and statistics see
// the same response whatever the protocol.
func (c *Client) exchange2(cn *conn, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	uri := req.URI()
	u, err := url.Parse(string(uri.FullURI()))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	body := req.Body()
	hr := &http.Request{
		Method:     string(req.Header.Method()),
		URL:        u,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     make(http.Header, 8),
		Host:       u.Host,
	}
	if len(body) > 0 {
		hr.Body = io.NopCloser(bytes.NewReader(body))
		hr.ContentLength = int64(len(body))
		hr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	for k, v := range req.Header.All() {
		switch string(k) {
		case "Host":
			hr.Host = string(v)
		case "Connection", "Content-Length", "Transfer-Encoding", "Keep-Alive", "Upgrade", "Proxy-Connection":
		default:
			hr.Header.Add(string(k), string(v))
		}
	}
	hr = hr.WithContext(ctx)
	sent0, recv0 := cn.h2count.sent.Load(), cn.h2count.recv.Load()
	defer func() {
		c.ph.Sent += cn.h2count.sent.Load() - sent0
		c.ph.Received += cn.h2count.recv.Load() - recv0
	}()
	sentAt := time.Now()
	res, err := cn.h2.RoundTrip(hr)
	if err != nil {
		return err
	}
	// The headers came: the first byte of the answer, as near as HTTP/2's
	// frames let one tell.
	firstByte := time.Now()
	c.ph.Answered = true
	c.ph.Waiting += firstByte.Sub(sentAt)
	defer func() { c.ph.Receiving += time.Since(firstByte) }()
	defer res.Body.Close()
	resp.Reset()
	resp.SetStatusCode(res.StatusCode)
	for k, vs := range res.Header {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	if req.Header.IsHead() {
		return nil
	}
	bp := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(resp.BodyWriter(), io.LimitReader(res.Body, int64(c.opts.MaxBodySize)+1), *bp)
	copyBufs.Put(bp)
	if err != nil {
		return err
	}
	if n > int64(c.opts.MaxBodySize) {
		return fasthttp.ErrBodyTooLarge
	}
	return nil
}

// countConn counts the bytes an HTTP/2 connection's frames take: its
// reader goroutine and the user's both use it, hence atomics.
type countConn struct {
	net.Conn
	sent, recv atomic.Int64
}

func (cc *countConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	cc.recv.Add(int64(n))
	return n, err
}

func (cc *countConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	cc.sent.Add(int64(n))
	return n, err
}

// copyBufs lend io.CopyBuffer its buffer (io.Copy would allocate 32 KiB
// a response: a LimitReader hides the body's WriterTo).
var copyBufs = sync.Pool{New: func() any { b := make([]byte, bufferSize); return &b }}

// writeProxied writes req in absolute form, for a plain-HTTP proxy.
func writeProxied(bw *bufio.Writer, req *fasthttp.Request, auth string) error {
	uri := req.URI()
	if len(req.Header.Host()) == 0 {
		req.Header.SetHostBytes(uri.Host())
	}
	req.Header.SetRequestURIBytes(uri.FullURI())
	if auth != "" {
		req.Header.Set("Proxy-Authorization", auth)
	}
	body := req.Body()
	if len(body) > 0 || !(req.Header.IsGet() || req.Header.IsHead()) {
		req.Header.SetContentLength(len(body))
	}
	if err := req.Header.Write(bw); err != nil {
		return err
	}
	_, err := bw.Write(body)
	return err
}
