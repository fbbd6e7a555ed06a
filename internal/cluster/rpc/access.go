package rpc

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Access is who may join through the worker channel. A worker receives the
// scenario with its data files (credentials, tokens in headers, the target's
// address) and its reports are counted, so beyond loopback the channel must
// be closed: by a token, by client certificates, or open on purpose.
type Access struct {
	// Token is what every worker must present (--worker-token); "" for none.
	Token string
	// MutualTLS is set when the master requires client certificates signed
	// by its CA (--tls-cert, --tls-key and --tls-ca).
	MutualTLS bool
	// AllowOpen lets the channel listen beyond loopback with neither
	// (--allow-open-workers). Serve then warns at start and every
	// ServerConfig.OpenWarnEvery.
	AllowOpen bool
}

// Closed reports whether a worker must prove itself: with a token or a
// client certificate.
func (a Access) Closed() bool { return a.Token != "" || a.MutualTLS }

// open reports whether a listener on addr lets anyone reachable join: the
// channel is not closed and addr is beyond loopback.
func (a Access) open(addr net.Addr) bool {
	if a.Closed() {
		return false
	}
	ta, ok := addr.(*net.TCPAddr)
	return !ok || !ta.IP.IsLoopback()
}

// DefaultHost is where the master listens when no host is named: every
// interface when the channel is closed or allowed open, else 127.0.0.1.
func (a Access) DefaultHost() string {
	if a.Closed() || a.AllowOpen {
		return "*"
	}
	return "127.0.0.1"
}

// OpenError is the refusal to listen beyond loopback with an open channel.
type OpenError struct {
	Host string // as named (--master-bind-host)
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("refusing to listen for workers on %s without --worker-token or mutual TLS: it is beyond loopback, and anyone who reaches it "+
		"would receive the scenario and its data files and could report made-up statistics; set --worker-token (HORDE_WORKER_TOKEN), "+
		"or require client certificates (--tls-cert, --tls-key and --tls-ca), or listen on loopback (--master-bind-host 127.0.0.1), "+
		"or pass --allow-open-workers to let anyone join", hostForMessage(e.Host))
}

func hostForMessage(host string) string {
	if host == "" || host == "*" {
		return "every interface (--master-bind-host *)"
	}
	return "--master-bind-host " + host
}

// CheckHost returns an *OpenError when listening on host would open the
// channel beyond loopback without AllowOpen. "" is DefaultHost(), "*" every
// interface; a name is loopback only if every address it resolves to is.
func (a Access) CheckHost(ctx context.Context, host string) error {
	if a.Closed() || a.AllowOpen {
		return nil
	}
	if host == "" {
		host = a.DefaultHost()
	}
	lo, err := loopbackHost(ctx, host)
	if err != nil {
		return fmt.Errorf("--master-bind-host %s: %w", host, err)
	}
	if !lo {
		return &OpenError{Host: host}
	}
	return nil
}

// loopbackHost reports whether every address host names is a loopback one.
func loopbackHost(ctx context.Context, host string) (bool, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "*" {
		return false, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.IsLoopback(), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return false, err
	}
	if len(ips) == 0 {
		return false, fmt.Errorf("%s resolves to no address", host)
	}
	for _, ip := range ips {
		if !ip.Unmap().IsLoopback() {
			return false, nil
		}
	}
	return true, nil
}

// Listen listens for workers on host:port, if a lets it: host "" is
// a.DefaultHost(), "*" every interface. An open channel beyond loopback
// without a.AllowOpen is an *OpenError, checked on the host named and again
// on the address bound.
func Listen(ctx context.Context, host string, port int, a Access) (net.Listener, error) {
	if host == "" {
		host = a.DefaultHost()
	}
	if err := a.CheckHost(ctx, host); err != nil {
		return nil, err
	}
	bind := host
	if bind == "*" {
		bind = ""
	}
	l, err := net.Listen("tcp", net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(bind, "["), "]"), strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listen for workers: %w", err)
	}
	if !a.AllowOpen && a.open(l.Addr()) {
		l.Close()
		return nil, &OpenError{Host: host}
	}
	return l, nil
}

// Limits on failed token attempts, per address: FailureBurst failures at
// once, then one attempt per FailureEvery; an attempt that would wait more
// than FailureMaxWait is turned away without its token being checked.
const (
	FailureBurst   = 5
	FailureEvery   = time.Second
	FailureMaxWait = 10 * time.Second
)

// failureLimiter slows down the token attempts of an address that fails
// them: a token bucket per address that only failures drain. Its zero
// value is not usable; see newFailureLimiter.
type failureLimiter struct {
	burst   float64       // failures allowed at once
	every   time.Duration // then one attempt per every
	maxWait time.Duration // an attempt that would wait longer is turned away
	max     int           // addresses tracked at most
	forget  time.Duration // when that many are, those quiet this long are forgotten first

	mu    sync.Mutex
	addrs map[string]*failures
}

type failures struct {
	tokens float64   // failures still allowed at at
	at     time.Time // of tokens
	last   time.Time // last failure
	warned bool      // the address was logged as limited
}

func newFailureLimiter() *failureLimiter {
	return &failureLimiter{
		burst: FailureBurst, every: FailureEvery, maxWait: FailureMaxWait,
		max: 4096, forget: time.Hour, addrs: map[string]*failures{},
	}
}

func (l *failureLimiter) refill(f *failures, now time.Time) {
	if now.After(f.at) {
		f.tokens = min(l.burst, f.tokens+float64(now.Sub(f.at))/float64(l.every))
		f.at = now
	}
}

// admit returns how long an attempt from addr must wait before its token
// is checked: zero while addr has failures left. A wait takes the next free
// slot (reserved), so concurrent attempts queue one per every instead of
// all being checked after the same wait. ok is false when the wait would
// exceed maxWait: the attempt is turned away unchecked.
func (l *failureLimiter) admit(addr string, now time.Time) (wait time.Duration, reserved, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.addrs[addr]
	if f == nil {
		return 0, false, true
	}
	l.refill(f, now)
	if f.tokens >= 1 {
		return 0, false, true
	}
	wait = time.Duration((1 - f.tokens) * float64(l.every))
	if wait > l.maxWait {
		return 0, false, false
	}
	f.tokens--
	return wait, true, true
}

// fail records a failed attempt from addr (reserved: one admit made wait,
// whose slot is already taken). It reports whether addr is now limited (its
// next attempt waits) and whether it became so for the first time: the
// one time to log it. (An address is forgotten only when the table is full:
// then it may be logged again.)
func (l *failureLimiter) fail(addr string, now time.Time, reserved bool) (limited, first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.addrs[addr]
	if f == nil {
		l.pruneLocked(now)
		f = &failures{tokens: l.burst, at: now}
		l.addrs[addr] = f
	}
	l.refill(f, now)
	if !reserved {
		f.tokens--
	}
	f.last = now
	limited = f.tokens < 1
	if limited && !f.warned {
		f.warned, first = true, true
	}
	return limited, first
}

// pruneLocked makes room for one more address: it forgets those quiet for
// forget, then, if the table is still full, those whose bucket is full
// again, then any.
func (l *failureLimiter) pruneLocked(now time.Time) {
	if len(l.addrs) < l.max {
		return
	}
	for a, f := range l.addrs {
		if now.Sub(f.last) >= l.forget {
			delete(l.addrs, a)
		}
	}
	for a, f := range l.addrs {
		if len(l.addrs) < l.max {
			return
		}
		if l.refill(f, now); f.tokens >= l.burst {
			delete(l.addrs, a)
		}
	}
	for a := range l.addrs {
		if len(l.addrs) < l.max {
			return
		}
		delete(l.addrs, a)
	}
}
