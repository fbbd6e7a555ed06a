// Package inbox queues the messages a connection's reader delivers for
// the one user goroutine that waits for them (the WebSocket and MQTT
// clients): at most a fixed number unread, the oldest dropped and counted
// beyond it, and the reason the connection ended.
package inbox

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrTimeout is returned by Wait when no message matched in time.
var ErrTimeout = errors.New("timeout")

// EndedError is returned by Wait when the connection ended before a
// message matched; Err is why it ended.
type EndedError struct{ Err error }

func (e *EndedError) Error() string { return e.Err.Error() }
func (e *EndedError) Unwrap() error { return e.Err }

// Inbox is the queue of one connection. Put and End are for its reader
// (or the library's callback); Wait is for the user's goroutine.
type Inbox[M any] struct {
	mu      sync.Mutex
	queue   []M
	max     int
	dropped int
	err     error // why the connection ended; set once, before done closes
	notify  chan struct{}
	done    chan struct{}
}

// New returns an inbox that holds at most max unread messages (max > 0).
func New[M any](max int) *Inbox[M] {
	return &Inbox[M]{max: max, notify: make(chan struct{}, 1), done: make(chan struct{})}
}

// Put queues m, dropping the oldest unread message when the queue is full.
func (b *Inbox[M]) Put(m M) {
	b.mu.Lock()
	if len(b.queue) >= b.max {
		var zero M
		copy(b.queue, b.queue[1:])
		b.queue[len(b.queue)-1] = zero
		b.queue = b.queue[:len(b.queue)-1]
		b.dropped++
	}
	b.queue = append(b.queue, m)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// End records why the connection ended; the first reason wins. It reports
// whether this call ended it.
func (b *Inbox[M]) End(err error) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended() {
		return false
	}
	if err == nil {
		err = errors.New("connection closed")
	}
	b.err = err
	close(b.done)
	return true
}

func (b *Inbox[M]) ended() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// Ended reports whether the connection has ended.
func (b *Inbox[M]) Ended() bool { return b.ended() }

// Done is closed when the connection ends.
func (b *Inbox[M]) Done() <-chan struct{} { return b.done }

// Err is why the connection ended (nil while it is open).
func (b *Inbox[M]) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Dropped is how many messages were dropped unread because the queue was full.
func (b *Inbox[M]) Dropped() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Wait returns the first queued or arriving message for which match (nil:
// any) is true, dropping those before it (skipped counts them). It fails
// with ErrTimeout after timeout (0: none), with an *EndedError when the
// connection ends first, and with ctx's error when ctx is done. An empty
// queue keeps no buffer: an idle connection holds no memory for it.
func (b *Inbox[M]) Wait(ctx context.Context, timeout time.Duration, match func(M) bool) (m M, skipped int, err error) {
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	var zero M
	for {
		b.mu.Lock()
		for len(b.queue) > 0 {
			m = b.queue[0]
			b.queue[0] = zero
			b.queue = b.queue[1:]
			if match == nil || match(m) {
				b.mu.Unlock()
				return m, skipped, nil
			}
			skipped++
		}
		b.queue = nil
		ended := b.err
		b.mu.Unlock()
		if ended != nil {
			return zero, skipped, &EndedError{ended}
		}
		select {
		case <-b.notify:
		case <-b.done:
		case <-tc:
			return zero, skipped, ErrTimeout
		case <-ctx.Done():
			return zero, skipped, ctx.Err()
		}
	}
}
