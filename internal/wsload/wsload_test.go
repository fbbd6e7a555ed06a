package wsload

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// server answers each text message "x" with "ignored x" then "reply x";
// "bye" makes it close normally, "boom" with 1011.
func server(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test") != "yes" {
			http.Error(w, "no header", http.StatusForbidden)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			switch string(data) {
			case "bye":
				c.Close(websocket.StatusNormalClosure, "")
				return
			case "boom":
				c.Close(websocket.StatusInternalError, "boom")
				return
			}
			c.Write(r.Context(), websocket.MessageText, []byte("ignored "+string(data)))
			c.Write(r.Context(), websocket.MessageText, []byte("reply "+string(data)))
		}
	}))
	t.Cleanup(s.Close)
	return "ws" + strings.TrimPrefix(s.URL, "http")
}

func dial(t *testing.T, url string, o Options) *Conn {
	t.Helper()
	o.Header = http.Header{"X-Test": {"yes"}}
	c, _, _, err := Dial(context.Background(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Abort)
	return c
}

func TestWaitSkipsToTheMatch(t *testing.T) {
	c := dial(t, server(t), Options{})
	ctx := context.Background()
	if err := c.Send(ctx, false, []byte("a"), time.Second); err != nil {
		t.Fatal(err)
	}
	m, skipped, err := c.Wait(ctx, 5*time.Second, func(m Message) bool { return strings.HasPrefix(string(m.Data), "reply") })
	if err != nil || string(m.Data) != "reply a" || skipped != 1 || m.Binary {
		t.Fatalf("got %q skipped %d err %v", m.Data, skipped, err)
	}
	_, skipped, err = c.Wait(ctx, 50*time.Millisecond, nil)
	if !errors.Is(err, ErrTimeout) || skipped != 0 {
		t.Fatalf("an empty queue: err %v skipped %d, want a timeout", err, skipped)
	}
	if _, err := c.Ping(ctx, time.Second); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := c.Close(1000, "", time.Second); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func TestQueueDropsTheOldest(t *testing.T) {
	c := dial(t, server(t), Options{Queue: 2})
	ctx := context.Background()
	for _, s := range []string{"a", "b"} {
		if err := c.Send(ctx, false, []byte(s), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.Dropped() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	m, _, err := c.Wait(ctx, time.Second, nil)
	if err != nil || string(m.Data) != "ignored b" || c.Dropped() != 2 {
		t.Fatalf("first kept %q (err %v), dropped %d; want ignored b and 2 dropped", m.Data, err, c.Dropped())
	}
}

func TestServerClosures(t *testing.T) {
	url := server(t)
	ctx := context.Background()
	c := dial(t, url, Options{})
	c.Send(ctx, false, []byte("bye"), time.Second)
	if _, _, err := c.Wait(ctx, 5*time.Second, nil); err == nil {
		t.Fatal("a wait on a closed connection succeeded")
	}
	if !c.Closed() || c.Err() != nil {
		t.Errorf("normal closure: closed %v err %v, want closed and no error", c.Closed(), c.Err())
	}
	c = dial(t, url, Options{})
	c.Send(ctx, false, []byte("boom"), time.Second)
	_, _, err := c.Wait(ctx, 5*time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), "closed by the server: 1011 boom") {
		t.Errorf("wait: %v", err)
	}
	if e := c.Err(); e == nil || !strings.Contains(e.Error(), "1011") {
		t.Errorf("Err = %v, want the 1011 closure", e)
	}
	_, _, _, err = Dial(ctx, url, Options{})
	if err == nil || err.Error() != "websocket handshake: HTTP 403 Forbidden" {
		t.Errorf("refused upgrade: %v", err)
	}
	if _, _, _, err := Dial(ctx, "http://x", Options{}); err == nil {
		t.Error("http:// URL accepted")
	}
}
