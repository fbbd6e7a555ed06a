package httpload

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpproxy"
	"golang.org/x/net/http2"
)

// HTTP2Mode says when a connection speaks HTTP/2.
type HTTP2Mode uint8

const (
	// HTTP2Auto offers h2 and http/1.1 by ALPN on https and speaks what the
	// server picks; http:// stays HTTP/1.1.
	HTTP2Auto HTTP2Mode = iota
	// HTTP2Off speaks HTTP/1.1 only.
	HTTP2Off
	// HTTP2On offers only h2 on https (a server that does not pick it is a
	// failure); http:// stays HTTP/1.1.
	HTTP2On
	// HTTP2Cleartext speaks HTTP/2 with prior knowledge on http:// (h2c)
	// and as HTTP2On on https.
	HTTP2Cleartext
)

// Transport says how requests reach their host: TLS settings, HTTP
// version and proxy. A Transport is immutable once used and may be shared
// by every client; a client keeps one connection per host and Transport.
type Transport struct {
	TLS   *tls.Config // nil: default verification against the system roots
	HTTP2 HTTP2Mode
	// Proxy returns the proxy for a request's URL (scheme and host:port
	// only), nil for none. nil Proxy: always direct. EnvProxy follows
	// HTTP_PROXY, HTTPS_PROXY and NO_PROXY as net/http does.
	Proxy func(*url.URL) (*url.URL, error)

	idOnce sync.Once
	id     string // tells connections of different transports apart
}

var transportSeq atomic.Uint64

// ident returns "" for the client's default transport, a short unique
// suffix for connection keys otherwise.
func (t *Transport) ident() string {
	t.idOnce.Do(func() { t.id = "#" + strconv.FormatUint(transportSeq.Add(1), 10) })
	return t.id
}

// EnvProxy is the proxy function of HTTP_PROXY, HTTPS_PROXY and NO_PROXY
// (and their lowercase forms), read once per process, as net/http's
// ProxyFromEnvironment: requests to localhost and loopback addresses are
// never proxied by it.
var EnvProxy = sync.OnceValue(func() func(*url.URL) (*url.URL, error) {
	cfg := httpproxy.FromEnvironment()
	if cfg.HTTPProxy == "" && cfg.HTTPSProxy == "" {
		return nil
	}
	return cfg.ProxyFunc()
})

// FixedProxy returns a proxy function sending every request through p.
func FixedProxy(p *url.URL) func(*url.URL) (*url.URL, error) {
	return func(*url.URL) (*url.URL, error) { return p, nil }
}

var h2transport = &http2.Transport{
	AllowHTTP: true,
	// Bodies are decoded by the client for every protocol alike, and it
	// sends Accept-Encoding itself; the http2 package must not add its own.
	DisableCompression: true,
	ReadIdleTimeout:    0,
}

// dial opens a connection to host (as in the URL) for t: through its proxy
// if any, then TLS and ALPN.
func (c *Client) dial(key string, isTLS bool, host string, t *Transport, deadline time.Time) (*conn, error) {
	addr := hostPort(host, isTLS)
	h2c := !isTLS && t.HTTP2 == HTTP2Cleartext
	var proxy *url.URL
	if t.Proxy != nil {
		scheme := "http"
		if isTLS {
			scheme = "https"
		}
		var err error
		if proxy, err = t.Proxy(&url.URL{Scheme: scheme, Host: addr}); err != nil {
			return nil, fmt.Errorf("proxy: %v", err)
		}
	}
	d := net.Dialer{Deadline: deadline, KeepAlive: 30 * time.Second}
	dialStart := time.Now()
	var nc net.Conn
	proxied := false
	if proxy != nil {
		paddr, err := proxyAddr(proxy)
		if err != nil {
			return nil, err
		}
		if nc, err = d.Dial("tcp", paddr); err != nil {
			return nil, fmt.Errorf("proxy %s: %w", paddr, describe(err))
		}
		if isTLS || h2c {
			if err := connect(nc, proxy, addr, deadline); err != nil {
				nc.Close()
				return nil, err
			}
		} else {
			proxied = true // plain HTTP: requests in absolute form to the proxy
		}
	} else {
		var err error
		if nc, err = c.dialDirect(&d, addr); err != nil {
			return nil, err
		}
	}
	nc = fastConn(nc)
	cn := &conn{addr: key, proxied: proxied, proxyAuth: proxyAuthorization(proxy)}
	connected := time.Now()
	c.ph.Dialed = true
	c.ph.Connecting += connected.Sub(dialStart)
	if isTLS {
		cfg := t.TLS.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			h, _, _ := net.SplitHostPort(addr)
			cfg.ServerName = h
		}
		switch t.HTTP2 {
		case HTTP2Auto:
			cfg.NextProtos = []string{"h2", "http/1.1"}
		case HTTP2On, HTTP2Cleartext:
			cfg.NextProtos = []string{"h2"}
		default:
			cfg.NextProtos = nil
		}
		tc := tls.Client(nc, cfg)
		tc.SetDeadline(deadline)
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, tlsError(err, addr)
		}
		nc = tc
		c.ph.TLSHandshaking += time.Since(connected)
		proto := tc.ConnectionState().NegotiatedProtocol
		if proto != "h2" && (t.HTTP2 == HTTP2On || t.HTTP2 == HTTP2Cleartext) {
			nc.Close()
			return nil, fmt.Errorf("HTTP/2: server did not offer h2 by ALPN (host %s)", addr)
		}
		h2c = proto == "h2"
	}
	cn.Conn = nc
	if h2c {
		nc.SetDeadline(time.Time{})
		cn.h2count = &countConn{Conn: nc}
		cc, err := h2transport.NewClientConn(cn.h2count)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("HTTP/2: %v", err)
		}
		cn.h2 = cc
	}
	return cn, nil
}

// dialDirect connects to addr, from the next source address when the
// client has some; running out of local ports is said so.
func (c *Client) dialDirect(d *net.Dialer, addr string) (net.Conn, error) {
	var src *net.TCPAddr
	if c.opts.SourceAddrs.Len() > 0 {
		v4 := true
		if h, _, err := net.SplitHostPort(addr); err == nil {
			if ip, err := netip.ParseAddr(h); err == nil {
				v4 = ip.Unmap().Is4()
			} else if ips, err := net.LookupIP(h); err == nil && len(ips) > 0 {
				v4 = ips[0].To4() != nil
			}
		}
		if src = c.opts.SourceAddrs.Pick(v4); src != nil {
			d.LocalAddr = src
		}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		if e := dialError(err, addr, src); e != nil {
			return nil, e
		}
		return nil, describe(err)
	}
	return nc, nil
}

// hostPort is host (from a URL) with the scheme's port when it has none.
func hostPort(host string, isTLS bool) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if isTLS {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

func proxyAddr(p *url.URL) (string, error) {
	switch p.Scheme {
	case "http", "":
	default:
		return "", fmt.Errorf("proxy %s: scheme %q not supported; want http://", p.Redacted(), p.Scheme)
	}
	if p.Port() != "" {
		return p.Host, nil
	}
	return net.JoinHostPort(p.Hostname(), "80"), nil
}

func proxyAuthorization(p *url.URL) string {
	if p == nil || p.User == nil {
		return ""
	}
	pass, _ := p.User.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(p.User.Username()+":"+pass))
}

// connect asks the proxy on nc for a tunnel to addr.
func connect(nc net.Conn, proxy *url.URL, addr string, deadline time.Time) error {
	nc.SetDeadline(deadline)
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if a := proxyAuthorization(proxy); a != "" {
		req += "Proxy-Authorization: " + a + "\r\n"
	}
	if _, err := nc.Write([]byte(req + "\r\n")); err != nil {
		return fmt.Errorf("proxy CONNECT %s: %w", addr, describe(err))
	}
	// The proxy sends nothing after its answer until the client speaks, so
	// the reader cannot hold back bytes of the tunnel.
	br := bufio.NewReaderSize(nc, 1024)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return fmt.Errorf("proxy CONNECT %s: %w", addr, describe(err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("proxy CONNECT %s: %s", addr, resp.Status)
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("proxy CONNECT %s: data after the proxy's answer", addr)
	}
	return nil
}

// tlsAlert returns the alert a server sent on a new TLS connection in
// place of the plain EOF the HTTP/1.1 reader reports for it (TLS 1.3 servers
// refuse a client certificate after the handshake, on the first read): the
// TLS connection keeps the alert as its read error.
func tlsAlert(cn *conn, err error) error {
	tc, ok := cn.Conn.(*tls.Conn)
	if !ok || strings.Contains(err.Error(), "remote error: tls: ") || !isStaleConn(err) {
		return err
	}
	tc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	var b [1]byte
	if _, rerr := tc.Read(b[:]); rerr != nil && strings.Contains(rerr.Error(), "remote error: tls: ") {
		return rerr
	}
	return err
}

// tlsError turns a handshake error into a short message the failures table
// can group: no times, no ephemeral ports.
func tlsError(err error, addr string) error {
	var msg string
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ae tls.AlertError
	var re *tls.RecordHeaderError
	switch {
	case errors.As(err, &ua):
		msg = "certificate signed by unknown authority"
	case errors.As(err, &he):
		msg = strings.TrimPrefix(he.Error(), "x509: ")
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			msg = "certificate has expired or is not yet valid"
		default:
			msg = strings.TrimPrefix(ci.Error(), "x509: ")
		}
	case errors.As(err, &ae):
		msg = "server sent alert: " + strings.TrimPrefix(ae.Error(), "tls: ")
	case errors.As(err, &re):
		msg = "server did not answer with TLS (plain HTTP on a TLS port?)"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errTimeout
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return errTimeout
		}
		msg = strings.TrimPrefix(describe(err).Error(), "tls: ")
		if strings.Contains(msg, "remote error: ") {
			msg = "server sent alert: " + msg[strings.Index(msg, "remote error: ")+len("remote error: "):]
			msg = strings.Replace(msg, "tls: ", "", 1)
		}
	}
	return fmt.Errorf("TLS: %s (host %s)", msg, addr)
}
