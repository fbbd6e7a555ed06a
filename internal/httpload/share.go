package httpload

import (
	"context"
	"net"
	"net/http"
	"net/url"
)

// Cookies returns the cookies of the client's jar for u, so that other
// protocols of the same user (a WebSocket handshake, an event stream) send
// what its HTTP requests would; ws and wss read as http and https.
func (c *Client) Cookies(u *url.URL) []*http.Cookie {
	if c.jar == nil || u == nil {
		return nil
	}
	v := *u
	switch v.Scheme {
	case "ws":
		v.Scheme = "http"
	case "wss":
		v.Scheme = "https"
	}
	return c.jar.Cookies(&v)
}

// DialContext connects as the client's HTTP requests do: from its next
// source address when it has some, naming a run out of local ports.
func (c *Client) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	return c.dialDirect(d, addr)
}
