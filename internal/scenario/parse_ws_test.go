package scenario

import (
	"strings"
	"testing"
	"time"
)

const wsHead = "host: http://x\nusers:\n  - name: a\n    tasks:\n"

func TestParseWS(t *testing.T) {
	src := wsHead + `      - weight: 3
        ws_send: {json: {type: chat}}
        name: chat
        conn: room
        reply: {json: {type: chat}}
        capture: {seq: {json: seq}}
        timeout: 2s
      - steps:
          - ws_connect: /ws
            subprotocols: [chat, v2]
            headers: {X-A: "{{ vu }}"}
          - ws_receive: {body_contains: hi}
          - ws_ping: true
          - ws_close: 4000
            reason: bye
          - sse: /events
            events: 5
            until: {json: {n: 3}}
            capture: {t: {json: time}}
            reconnect: 2
            resume: true
`
	p, err := Parse("f.yaml", ".", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := p.Classes[0].Tasks[0]
	if t0.Weight != 3 || t0.Name != "chat" || len(t0.Steps) != 1 {
		t.Fatalf("task 0 = %+v", t0)
	}
	s := t0.Steps[0]
	if s.Method != "WS" || s.WS.Action != WSSend || s.WS.Conn != "room" || !s.WS.Expect || s.WS.Match == nil || len(s.Captures) != 1 || s.Timeout != 2*time.Second {
		t.Errorf("ws_send = %+v %+v", s, s.WS)
	}
	if got, _ := s.WS.Message.Static(); got != `{"type":"chat"}` {
		t.Errorf("message %q", got)
	}
	steps := p.Classes[0].Tasks[1].Steps
	if c := steps[0].WS; c.Action != WSConnect || c.Conn != "ws" || len(c.Subprotocols) != 2 || len(c.Header) != 1 {
		t.Errorf("connect = %+v", c)
	}
	if r := steps[1].WS; r.Action != WSReceive || !r.Expect || r.Match == nil {
		t.Errorf("receive = %+v", r)
	}
	if c := steps[3].WS; c.Code != 4000 || c.Reason != "bye" {
		t.Errorf("close = %+v", c)
	}
	if e := steps[4].SSE; e == nil || e.Events != 5 || e.Until == nil || e.Reconnect != 2 || !e.Resume || steps[4].Method != "SSE" {
		t.Errorf("sse = %+v", e)
	}
	m := steps[1].WS.Match
	if !m.Matches(msg("say hi")) || m.Matches(msg("bye")) {
		t.Error("body_contains match")
	}
}

type msg string

func (m msg) Status() int                  { return 0 }
func (m msg) Body() []byte                 { return []byte(m) }
func (m msg) Header(string) string         { return "" }
func (m msg) Cookie(string) (string, bool) { return "", false }
func (m msg) Duration() time.Duration      { return 0 }

func TestParseWSErrors(t *testing.T) {
	for _, tc := range []struct{ steps, want string }{
		{"      - ws_connect: ftp://x\n", `f.yaml:5:21: url "ftp://x" must start with / or be an absolute ws:// or wss:// URL`},
		{"      - ws_send: hi\n        ws_ping: true\n", "f.yaml:6:9: step has two websocket actions, ws_send and ws_ping; use one per step"},
		{"      - ws_send: hi\n        capture: {a: {json: a}}\n", "f.yaml:6:9: capture needs a reply: to capture from"},
		{"      - ws_send: hi\n        subprotocols: [a]\n", "f.yaml:6:9: websocket send step cannot have subprotocols"},
		{"      - ws_receive: {status: 200}\n", `f.yaml:5:22: unknown key "status" in ws_receive`},
		{"      - ws_close: 1001\n", "f.yaml:5:19: close code 1001: a client may send 1000 or 3000-4999"},
		{"      - ws_ping: true\n        conn: a-b\n", `f.yaml:6:15: conn "a-b" must be letters, digits and _`},
		{"      - sse: /e\n", "f.yaml:5:9: sse step has no end: add events:, duration: or until:"},
		{"      - sse: /e\n        events: 1\n        capture: {a: {json: a}}\n", "f.yaml:7:9: capture needs until:"},
		{"      - sse: /e\n        evnts: 1\n", `f.yaml:6:9: unknown key "evnts" in sse step; did you mean "events"?`},
		{"      - ws_send: {json: {a: 1}, text: b}\n", "f.yaml:5:18: ws_send wants one of text, json or binary"},
	} {
		_, err := Parse("f.yaml", ".", []byte(wsHead+tc.steps), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.steps, err, tc.want)
		}
	}
	src := "host: http://x\nsetup:\n  - ws_connect: /ws\nusers:\n  - name: a\n    tasks:\n      - get: /\n"
	if _, err := Parse("f.yaml", ".", []byte(src), Options{}); err == nil || !strings.Contains(err.Error(), "f.yaml:3:5: setup runs HTTP requests only") {
		t.Errorf("ws in setup: %v", err)
	}
}
