//go:build !linux

package httpload

import "net"

// fastConn returns nc: raw reads and writes are made on Linux only.
func fastConn(nc net.Conn) net.Conn { return nc }
