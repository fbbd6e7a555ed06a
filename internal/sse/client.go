package sse

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Options configure Open.
type Options struct {
	Header http.Header
	// LastEventID is sent as Last-Event-ID when set (a reconnection).
	LastEventID string
	TLS         *tls.Config
	Dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	Proxy       func(*http.Request) (*url.URL, error)
	MaxEvent    int
}

// Stream is an open event stream.
type Stream struct {
	*Parser
	Resp *http.Response
	// Opened is when the response's headers arrived.
	Opened time.Time
	tr     *http.Transport
	cancel context.CancelFunc
	err    error
}

// Open requests rawURL (http:// or https://) with Accept: text/event-stream.
// It fails for a status other than 200 or a Content-Type other than
// text/event-stream, returning the response for checks; the stream lives
// until Close or ctx ends.
func Open(ctx context.Context, rawURL string, o Options) (*Stream, *http.Response, error) {
	tr := &http.Transport{TLSClientConfig: o.TLS, Proxy: o.Proxy, DisableKeepAlives: true, DisableCompression: true}
	if o.Dial != nil {
		tr.DialContext = o.Dial
	}
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	for k, vs := range o.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if o.LastEventID != "" {
		req.Header.Set("Last-Event-ID", o.LastEventID)
	}
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}).Do(req)
	if err != nil {
		cancel()
		tr.CloseIdleConnections()
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		cancel()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil, resp, fmt.Errorf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		cancel()
		return nil, resp, fmt.Errorf("content type %q is not text/event-stream", resp.Header.Get("Content-Type"))
	}
	s := &Stream{Parser: NewParser(resp.Body, o.MaxEvent), Resp: resp, Opened: time.Now(), tr: tr, cancel: cancel}
	s.SetLastID(o.LastEventID)
	return s, resp, nil
}

// Close ends the stream.
func (s *Stream) Close() {
	s.cancel()
	s.Resp.Body.Close()
	s.tr.CloseIdleConnections()
}

// Received is an event with the time it was read.
type Received struct {
	Event
	At time.Time
}

// Run reads the stream's events into the returned channel until the stream
// ends; then it closes the channel and Err says why (io.EOF for an end by
// the server). Call it once.
func (s *Stream) Run() <-chan Received {
	ch := make(chan Received, 64)
	go func() {
		defer close(ch)
		for {
			ev, err := s.Next()
			if err != nil {
				s.err = err
				return
			}
			ch <- Received{Event: ev, At: time.Now()}
		}
	}()
	return ch
}

// Err is why the stream ended, once Run's channel is closed.
func (s *Stream) Err() error { return s.err }
