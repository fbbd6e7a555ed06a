package rpc

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/logtest"
)

func TestAccess_CheckHost(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		host string
		open bool // beyond loopback
	}{
		{"*", true}, {"0.0.0.0", true}, {"::", true}, {"[::]", true},
		{"10.0.0.5", true}, {"192.168.1.1", true}, {"fe80::1", true}, {"::ffff:10.0.0.5", true},
		{"127.0.0.1", false}, {"127.1.2.3", false}, {"::1", false}, {"[::1]", false}, {"localhost", false},
		{"::ffff:127.0.0.1", false},
	} {
		err := Access{}.CheckHost(ctx, tt.host)
		var oe *OpenError
		if got := errors.As(err, &oe); got != tt.open {
			t.Errorf("CheckHost(%q) without a token = %v, want an OpenError: %v", tt.host, err, tt.open)
		}
		for _, a := range []Access{{Token: "t"}, {MutualTLS: true}, {AllowOpen: true}} {
			if err := a.CheckHost(ctx, tt.host); err != nil {
				t.Errorf("CheckHost(%q) with %+v = %v, want nil", tt.host, a, err)
			}
		}
	}
	if err := (Access{}).CheckHost(ctx, ""); err != nil {
		t.Errorf("CheckHost of the default host without a token: %v", err)
	}
	msg := (&OpenError{Host: "0.0.0.0"}).Error()
	for _, want := range []string{"--master-bind-host 0.0.0.0", "--worker-token", "--tls-cert", "--tls-key", "--tls-ca", "--allow-open-workers"} {
		if !strings.Contains(msg, want) {
			t.Errorf("OpenError does not name %s: %s", want, msg)
		}
	}
}

func TestAccess_DefaultHost(t *testing.T) {
	for _, tt := range []struct {
		a    Access
		want string
	}{
		{Access{}, "127.0.0.1"},
		{Access{Token: "t"}, "*"},
		{Access{MutualTLS: true}, "*"},
		{Access{AllowOpen: true}, "*"},
	} {
		if got := tt.a.DefaultHost(); got != tt.want {
			t.Errorf("%+v.DefaultHost() = %q, want %q", tt.a, got, tt.want)
		}
	}
}

func TestListen(t *testing.T) {
	l, err := Listen(context.Background(), "", 0, Access{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf("without a token the master listens on %v, want loopback", l.Addr())
	}
	var oe *OpenError
	if _, err := Listen(context.Background(), "0.0.0.0", 0, Access{}); !errors.As(err, &oe) {
		t.Errorf("Listen on 0.0.0.0 without a token: %v, want an OpenError", err)
	}
}

func TestFailureLimiter(t *testing.T) {
	l := newFailureLimiter()
	t0 := time.Unix(1000, 0)
	const a, b = "10.0.0.1", "10.0.0.2"
	for i := 1; i <= FailureBurst; i++ {
		if wait, _, ok := l.admit(a, t0); wait != 0 || !ok {
			t.Fatalf("attempt %d: wait %v ok %v, want no wait", i, wait, ok)
		}
		limited, first := l.fail(a, t0, false)
		if want := i == FailureBurst; limited != want || first != want {
			t.Errorf("failure %d: limited %v first %v, want %v", i, limited, first, want)
		}
	}
	// Concurrent attempts queue, one per FailureEvery, up to FailureMaxWait.
	for i := 1; i <= int(FailureMaxWait/FailureEvery); i++ {
		wait, reserved, ok := l.admit(a, t0)
		if want := time.Duration(i) * FailureEvery; wait != want || !reserved || !ok {
			t.Errorf("queued attempt %d: wait %v reserved %v ok %v, want %v, true, true", i, wait, reserved, ok, want)
		}
	}
	if _, _, ok := l.admit(a, t0); ok {
		t.Error("an attempt beyond FailureMaxWait was admitted")
	}
	// Another address is not slowed down.
	if wait, _, ok := l.admit(b, t0); wait != 0 || !ok {
		t.Errorf("another address waits %v (ok %v)", wait, ok)
	}
	// The queued attempts fail in turn: still limited, not logged again.
	for i := 1; i <= int(FailureMaxWait/FailureEvery); i++ {
		limited, first := l.fail(a, t0.Add(time.Duration(i)*FailureEvery), true)
		if !limited || first {
			t.Errorf("queued failure %d: limited %v first %v, want true, false", i, limited, first)
		}
	}
	// Quiet for long enough, the address has its burst again, and is not
	// logged a second time when it goes over it.
	t1 := t0.Add(FailureMaxWait + FailureBurst*FailureEvery + time.Second)
	for i := 1; i <= FailureBurst; i++ {
		if wait, _, ok := l.admit(a, t1); wait != 0 || !ok {
			t.Fatalf("after the quiet, attempt %d: wait %v ok %v", i, wait, ok)
		}
		if _, first := l.fail(a, t1, false); first {
			t.Errorf("after the quiet, failure %d logged again", i)
		}
	}
}

func TestFailureLimiter_Bounded(t *testing.T) {
	l := newFailureLimiter()
	l.max = 8
	t0 := time.Unix(1000, 0)
	for i := range 100 {
		l.fail(net.IPv4(10, 0, byte(i/256), byte(i)).String(), t0, false)
		if len(l.addrs) > l.max {
			t.Fatalf("%d addresses tracked, want at most %d", len(l.addrs), l.max)
		}
	}
}

// join dials addr, joins with token and returns the master's answer.
func join(addr, token string) (*cluster.MasterMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dialer{Addr: addr}.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Send(&cluster.WorkerMessage{Join: &cluster.Join{WorkerID: "w", Token: token}}); err != nil {
		return nil, err
	}
	return c.Recv()
}

func TestServer_Token(t *testing.T) {
	var logs logtest.Buffer
	srv := NewServer(welcomer{}, ServerConfig{
		Access: Access{Token: "s3cret"}, Version: "1.2.3",
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	// The limiter keeps its one attempt a second: with a faster refill the
	// joins before the timed one earned their token back on a loaded machine.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Stop(time.Second) })
	addr := l.Addr().String()

	if m, err := join(addr, "s3cret"); err != nil || m.Welcome == nil || m.Welcome.Index != 7 {
		t.Fatalf("with the token: %+v, %v; want the welcome", m, err)
	}
	for _, tok := range []string{"", "wrong"} {
		m, err := join(addr, tok)
		if err != nil || m.Refusal == nil {
			t.Fatalf("token %q: %+v, %v; want a refusal", tok, m, err)
		}
		if r := m.Refusal; !strings.Contains(r.Reason, "worker token") || r.MasterVersion != "1.2.3" || r.MasterProtocol != cluster.Protocol {
			t.Errorf("token %q: refusal %+v", tok, r)
		}
	}
	// Past FailureBurst failures the address waits, one attempt per every.
	for range FailureBurst - 2 {
		join(addr, "wrong")
	}
	start := time.Now()
	if m, err := join(addr, "wrong"); err != nil || m.Refusal == nil {
		t.Fatalf("a slowed-down wrong token: %+v, %v; want a refusal", m, err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("an attempt past the burst took %v, want it slowed down by up to a second", d)
	}
	// The right token still gets in, after its wait.
	if m, err := join(addr, "s3cret"); err != nil || m.Welcome == nil {
		t.Errorf("the right token from a slowed-down address: %+v, %v", m, err)
	}
	out := logs.String()
	if n := strings.Count(out, "slowed down"); n != 1 {
		t.Errorf("%d warnings about the address, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "worker refused"); n != FailureBurst {
		t.Errorf("%d refusals logged, want %d (the later ones are not):\n%s", n, FailureBurst, out)
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("the log shows the token:\n%s", out)
	}
}

// openAddr makes a loopback listener look like one on every interface.
type openAddr struct{ net.Listener }

func (openAddr) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4zero, Port: 5557} }

func TestServer_WarnsOpen(t *testing.T) {
	for _, tt := range []struct {
		name   string
		access Access
		l      func(net.Listener) net.Listener
		warns  bool
	}{
		{"open beyond loopback", Access{AllowOpen: true}, func(l net.Listener) net.Listener { return openAddr{l} }, true},
		{"with a token", Access{AllowOpen: true, Token: "t"}, func(l net.Listener) net.Listener { return openAddr{l} }, false},
		{"on loopback", Access{AllowOpen: true}, func(l net.Listener) net.Listener { return l }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs logtest.Buffer
			srv := NewServer(welcomer{}, ServerConfig{Access: tt.access, Logger: slog.New(slog.NewTextHandler(&logs, nil)), OpenWarnEvery: 20 * time.Millisecond})
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan struct{})
			go func() { srv.Serve(tt.l(l)); close(served) }()
			time.Sleep(150 * time.Millisecond)
			srv.Stop(time.Second)
			<-served
			n := strings.Count(logs.String(), "WORKERS CAN JOIN WITHOUT A TOKEN")
			if !tt.warns {
				if n != 0 {
					t.Errorf("%d warnings, want none:\n%s", n, logs.String())
				}
				return
			}
			if n < 3 {
				t.Errorf("%d warnings in 150ms every 20ms, want at start and repeated:\n%s", n, logs.String())
			}
			time.Sleep(60 * time.Millisecond)
			if m := strings.Count(logs.String(), "WORKERS CAN JOIN WITHOUT A TOKEN"); m != n {
				t.Errorf("warned %d more times after Serve returned", m-n)
			}
		})
	}
}
