package httpload

import (
	"time"
	_ "unsafe" // go:linkname
)

// nanotime is the runtime's monotonic clock (what time.Now's monotonic
// reading and time.Since are made of), in nanoseconds: one vDSO call where
// time.Now makes two (the wall clock as well). The request path times
// everything with it (docs/performance.md, 2026-12-06 16:30).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// since is time.Since(start) for a start taken with nanotime.
func since(start int64) time.Duration { return time.Duration(nanotime() - start) }
