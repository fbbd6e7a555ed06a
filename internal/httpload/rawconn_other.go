//go:build !linux

package httpload

import (
	"net"
	"time"
)

// fastConn returns nc: raw reads and writes are made on Linux only.
func fastConn(nc net.Conn) net.Conn { return nc }

// deferWrites does nothing: writes are deferred on Linux only.
func deferWrites(net.Conn, bool) {}

// writeErr is nil: writes are deferred on Linux only.
func writeErr(net.Conn) error { return nil }

// setDue sets nc's deadline for a request due (nanotime) at due.
func setDue(nc net.Conn, now, due int64, deadline func() time.Time) error {
	return nc.SetDeadline(deadline())
}
