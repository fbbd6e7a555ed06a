package httpload

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// dialError says what a failed connect to addr from src (nil: the
// kernel's choice) means when the local side is the cause, instead of the
// kernel's "cannot assign requested address"; nil when it is not.
//
// Without a source address, EADDRNOTAVAIL from connect means that every
// ephemeral port to addr is taken. With one, Go binds it (port 0) first:
// EADDRINUSE is then the ports running out and EADDRNOTAVAIL an address
// that is not this machine's.
func dialError(err error, addr string, src *net.TCPAddr) error {
	switch {
	case src == nil && errors.Is(err, syscall.EADDRNOTAVAIL),
		src != nil && errors.Is(err, syscall.EADDRINUSE):
		from := ""
		if src != nil {
			from = " from " + src.IP.String()
		}
		return fmt.Errorf("out of local ports to %s%s: add source addresses (--source-addrs)", addr, from)
	case src != nil && errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("connect %s: source address %s (--source-addrs) is not an address of this machine", addr, src.IP)
	}
	return nil
}
