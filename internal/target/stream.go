package target

// The streaming endpoints, for demos and tests of horde's WebSocket and
// server-sent events steps (docs/target.md): a WebSocket echo and an
// event stream that resumes from Last-Event-ID.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// Stream limits.
const (
	maxWSMessage    = 1 << 20
	maxSSEInterval  = time.Minute
	defaultInterval = time.Second
)

// handleWSEcho upgrades to WebSocket and sends every message back as it
// came (text or binary) until the client closes; pings are answered by the
// protocol. ?close_after=N closes the connection normally (1000) after N
// echoes (a server that drops its clients, to test reconnection). The
// connection ends with the server's shutdown (1001).
func (s *Server) handleWSEcho(w http.ResponseWriter, r *http.Request) {
	closeAfter, err := positiveQuery(r.URL.Query().Get("close_after"), 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, "close_after: "+err.Error())
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered
	}
	defer c.CloseNow()
	c.SetReadLimit(maxWSMessage)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.shutdown:
			c.Close(websocket.StatusGoingAway, "server shutting down")
		case <-ctx.Done():
		}
	}()
	for n := int64(0); ; n++ {
		if closeAfter > 0 && n >= closeAfter {
			c.Close(websocket.StatusNormalClosure, "close_after")
			return
		}
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		err = c.Write(wctx, typ, data)
		wcancel()
		if err != nil {
			return
		}
	}
}

// handleEvents streams server-sent events: ?n=COUNT events (0: until the
// client leaves), one every ?interval=DURATION (default 1s), each
// "event: tick", "id: SEQ", "data: {"n":SEQ,"time":RFC3339}"; a request
// with Last-Event-ID: K resumes at K+1. ?close_after=M ends the response
// after M events (a dropped stream, to test reconnection); ?retry=MS sends
// the reconnection time first.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := positiveQuery(q.Get("n"), 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, "n: "+err.Error())
		return
	}
	closeAfter, err := positiveQuery(q.Get("close_after"), 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, "close_after: "+err.Error())
		return
	}
	interval := defaultInterval
	if v := q.Get("interval"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxSSEInterval {
			writeError(w, http.StatusBadRequest, "interval: a duration between 0s and 1m, e.g. 100ms")
			return
		}
		interval = d
	}
	var next int64 = 1
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		k, err := strconv.ParseInt(id, 10, 64)
		if err != nil || k < 0 {
			writeError(w, http.StatusBadRequest, "Last-Event-ID: not an event id of this stream")
			return
		}
		next = k + 1
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if v := q.Get("retry"); v != "" {
		if ms, err := strconv.Atoi(v); err == nil && ms >= 0 {
			fmt.Fprintf(w, "retry: %d\n\n", ms)
		}
	}
	if err := rc.Flush(); err != nil {
		return
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for sent := int64(0); ; sent++ {
		if n > 0 && next > n {
			return
		}
		if closeAfter > 0 && sent >= closeAfter {
			return
		}
		if sent > 0 {
			t.Reset(interval)
		}
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.shutdown:
			return
		}
		_, err := fmt.Fprintf(w, "event: tick\nid: %d\ndata: {\"n\":%d,\"time\":%q}\n\n", next, next, time.Now().UTC().Format(time.RFC3339Nano))
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
		next++
	}
}
