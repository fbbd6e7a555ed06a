package target

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestEvents(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	get := func(query, lastID string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/events"+query, nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("?n=3&interval=0s&retry=250", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.HasPrefix(body, "retry: 250\n\n") || strings.Count(body, "event: tick\n") != 3 || !strings.Contains(body, "id: 3\ndata: {\"n\":3,") {
		t.Errorf("body:\n%s", body)
	}
	_, body = get("?n=5&interval=0s", "3")
	if strings.Count(body, "event: tick") != 2 || !strings.Contains(body, "id: 4\n") || strings.Contains(body, "id: 3\n") {
		t.Errorf("resumed after 3:\n%s", body)
	}
	_, body = get("?interval=0s&close_after=2", "10")
	if strings.Count(body, "event: tick") != 2 || !strings.Contains(body, "id: 12\n") {
		t.Errorf("close_after=2 from 10:\n%s", body)
	}
	for _, q := range []string{"?n=x", "?interval=2m", "?interval=-1s", "?close_after=-1"} {
		if resp, _ := get(q, ""); resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
		}
	}
	if resp, _ := get("?n=1", "abc"); resp.StatusCode != 400 {
		t.Errorf("bad Last-Event-ID: status %d, want 400", resp.StatusCode)
	}
}

func TestWSEcho(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, m := range []struct {
		typ  websocket.MessageType
		data string
	}{{websocket.MessageText, "hello"}, {websocket.MessageBinary, "\x00\x01"}} {
		if err := c.Write(ctx, m.typ, []byte(m.data)); err != nil {
			t.Fatal(err)
		}
		typ, data, err := c.Read(ctx)
		if err != nil || typ != m.typ || string(data) != m.data {
			t.Errorf("echo of %q: %v %q %v", m.data, typ, data, err)
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Errorf("close: %v", err)
	}
}
