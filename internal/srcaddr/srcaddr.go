// Package srcaddr holds the local source addresses a run spreads its
// connections over (--source-addrs, source_addrs:): a leaf, so that the
// scenario can carry them and httpload dial from them.
package srcaddr

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
)

// maxAddrs bounds a range such as 10.0.0.0-10.255.255.255, which is
// almost surely a mistake and would take memory for nothing.
const maxAddrs = 65536

// Addrs are the local addresses new connections are made from, taken
// in turn (round robin across every client sharing the value), so that a
// test can open more connections to one target address and port than one
// source address has ephemeral ports (about 28,000 on Linux's default
// ip_local_port_range). The zero value and nil pick none: the kernel
// chooses, as without the setting. Safe for concurrent use.
type Addrs struct {
	addrs []*net.TCPAddr
	next  atomic.Uint64
}

// Parse parses a comma-separated list of IP addresses and
// inclusive ranges "FIRST-LAST" (same family), such as
// "127.0.0.2-127.0.0.9" or "10.0.0.5,10.0.0.7,fd00::1-fd00::4". An empty
// string gives nil.
func Parse(s string) (*Addrs, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	sa := &Addrs{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("%q: empty address in the list", s)
		}
		first, last, isRange := strings.Cut(part, "-")
		lo, err := netip.ParseAddr(strings.TrimSpace(first))
		if err != nil {
			return nil, fmt.Errorf("%q: not an IP address (want e.g. 127.0.0.2-127.0.0.9 or 10.0.0.5,10.0.0.6)", strings.TrimSpace(first))
		}
		lo = lo.Unmap()
		hi := lo
		if isRange {
			if hi, err = netip.ParseAddr(strings.TrimSpace(last)); err != nil {
				return nil, fmt.Errorf("%q: not an IP address (want e.g. 127.0.0.2-127.0.0.9)", strings.TrimSpace(last))
			}
			hi = hi.Unmap()
			if lo.Is4() != hi.Is4() {
				return nil, fmt.Errorf("%q: the range mixes IPv4 and IPv6", part)
			}
			if hi.Less(lo) {
				return nil, fmt.Errorf("%q: the range ends before it starts", part)
			}
		}
		if lo.Zone() != "" || hi.Zone() != "" {
			return nil, fmt.Errorf("%q: zoned addresses are not supported", part)
		}
		for a := lo; ; a = a.Next() {
			if len(sa.addrs) == maxAddrs {
				return nil, fmt.Errorf("%q: more than %d addresses", s, maxAddrs)
			}
			sa.addrs = append(sa.addrs, &net.TCPAddr{IP: a.AsSlice()})
			if a == hi {
				break
			}
		}
	}
	return sa, nil
}

// Len is the number of addresses.
func (s *Addrs) Len() int {
	if s == nil {
		return 0
	}
	return len(s.addrs)
}

// String lists the addresses, comma-separated.
func (s *Addrs) String() string {
	if s == nil {
		return ""
	}
	out := make([]string, len(s.addrs))
	for i, a := range s.addrs {
		out[i] = a.IP.String()
	}
	return strings.Join(out, ",")
}

// Pick returns the next source address for a connection to a remote of
// the given family (IPv4 when v4), nil when none is set or none of that
// family exists (the kernel then chooses).
func (s *Addrs) Pick(v4 bool) *net.TCPAddr {
	if s == nil || len(s.addrs) == 0 {
		return nil
	}
	n := uint64(len(s.addrs))
	start := s.next.Add(1) - 1
	for i := uint64(0); i < n; i++ {
		a := s.addrs[(start+i)%n]
		if (a.IP.To4() != nil) == v4 {
			return a
		}
	}
	return nil
}
