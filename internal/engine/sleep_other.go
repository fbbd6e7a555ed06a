//go:build !linux

package engine

import "time"

// waiter sleeps for short waits (as precisely as Go's timers go here).
type waiter struct{}

func newWaiter() *waiter { return &waiter{} }

func (w *waiter) sleep(d time.Duration) { time.Sleep(d) }

func (w *waiter) close() {}
