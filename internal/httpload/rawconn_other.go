//go:build !linux

package httpload

import "net"

// fastConn returns nc: raw reads and writes are made on Linux only.
func fastConn(nc net.Conn) net.Conn { return nc }

// deferWrites does nothing: writes are deferred on Linux only.
func deferWrites(net.Conn, bool) {}

// writeErr is nil: writes are deferred on Linux only.
func writeErr(net.Conn) error { return nil }
