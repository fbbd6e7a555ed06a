package target

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// statusClientClosedRequest is answered (and counted) when a request's
// client goes away while it waits for a pause or injected latency; nginx
// uses the same code.
const statusClientClosedRequest = 499

// serveMain is the main listener's handler: fault knobs, then the API, with
// every request counted and timed under its route pattern.
func (s *Server) serveMain(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	sw := statusWriters.Get().(*statusWriter)
	sw.ResponseWriter, sw.code = w, 0

	route := s.serveFaulty(sw, r)

	s.metrics.route(route).observe(sw.status(), time.Since(began))
	sw.ResponseWriter = nil
	statusWriters.Put(sw)
}

// serveFaulty applies the fault knobs in the order a sick server would show
// them (stall, slowness, memory, failure), then routes the request. It
// returns the route pattern, "" when no route matched.
func (s *Server) serveFaulty(w http.ResponseWriter, r *http.Request) string {
	ctx := r.Context()
	if d := s.pauseLeft(); d > 0 {
		if err := sleep(ctx, d); err != nil {
			return s.fail(w, r, statusClientClosedRequest, "request canceled")
		}
	}
	if d := s.cfg.latencyAt(time.Since(s.start)); d > 0 {
		if err := sleep(ctx, d); err != nil {
			return s.fail(w, r, statusClientClosedRequest, "request canceled")
		}
	}
	if n := s.cfg.LeakBytesPerRequest; n > 0 {
		s.leak.retain(n)
	}
	code, msg, done := s.res.before(s.start)
	if code != 0 {
		return s.fail(w, r, code, msg)
	}
	if done != nil {
		defer done()
	}
	if p := s.cfg.ErrorRate; p > 0 && rand.Float64() < p {
		return s.fail(w, r, http.StatusInternalServerError, "injected failure")
	}
	// ServeMux sets r.Pattern in place before calling the route's handler.
	s.mux.ServeHTTP(w, r)
	return r.Pattern
}

// fail answers a request the API never saw and returns its route pattern,
// so that injected failures are counted under the route they hit.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string) string {
	writeError(w, code, msg)
	_, pattern := s.mux.Handler(r)
	return pattern
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// statusWriters recycles statusWriters so that instrumenting a request
// allocates nothing: /delay/0 is the benchmark route.
var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// statusWriter remembers the status code a handler answered.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the code the client got: 200 when the handler wrote nothing.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// leak is memory retained on purpose and never released: a real leak, kept
// reachable so the garbage collector cannot take it back.
type leak struct {
	total atomic.Int64 // bytes retained so far

	mu     sync.Mutex
	chunks [][]byte
}

// pageSize is the stride at which retain writes to its memory. Fresh memory
// from the OS is not resident until written, and the runtime does not
// write to memory it knows is already zeroed.
const pageSize = 4096

// retain allocates n bytes, makes them resident and keeps them forever.
func (l *leak) retain(n int64) {
	b := make([]byte, n)
	for i := 0; i < len(b); i += pageSize {
		b[i] = 0xA5
	}
	l.mu.Lock()
	l.chunks = append(l.chunks, b)
	l.mu.Unlock()
	l.total.Add(n)
}

// bytes is the number of bytes retained so far.
func (l *leak) bytes() int64 { return l.total.Load() }

// leakEvery retains n bytes every interval until ctx is done.
func (s *Server) leakEvery(ctx context.Context, interval time.Duration, n int64) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.leak.retain(n)
		}
	}
}
