//go:build !linux

package target

import "time"

// spinThread has no thread CPU clock here: spin falls back to wall time.
func spinThread(time.Duration) bool { return false }
