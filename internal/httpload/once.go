package httpload

import (
	"time"

	"github.com/valyala/fasthttp"
)

// DoOnce is Do without following redirects: a 3xx answer is the response
// (a scenario step's follow_redirects: false).
func (c *Client) DoOnce(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) (time.Duration, error) {
	return c.DoOnceVia(c.opts.Transport, req, resp, timeout)
}

// DoOnceVia is DoOnce through t (nil: the client's transport).
func (c *Client) DoOnceVia(t *Transport, req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) (time.Duration, error) {
	if t == nil {
		t = c.opts.Transport
	}
	c.wire = 0
	if timeout <= 0 {
		timeout = c.opts.Timeout
	}
	start := time.Now()
	if err := c.roundTrip(t, req, resp, start.Add(timeout)); err != nil {
		return time.Since(start), err
	}
	return time.Since(start), c.decoded(resp)
}
