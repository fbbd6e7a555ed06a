package httpload

import (
	"time"

	"github.com/valyala/fasthttp"
)

// DoOnce is Do without following redirects: a 3xx answer is the response
// (a scenario step's follow_redirects: false).
func (c *Client) DoOnce(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) (time.Duration, error) {
	if timeout <= 0 {
		timeout = c.opts.Timeout
	}
	start := time.Now()
	err := c.roundTrip(req, resp, start.Add(timeout))
	return time.Since(start), err
}
