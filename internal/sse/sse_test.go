package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func parseAll(t testing.TB, in string, max int) ([]Event, *Parser, error) {
	p := NewParser(strings.NewReader(in), max)
	var out []Event
	for {
		ev, err := p.Next()
		if err != nil {
			return out, p, err
		}
		out = append(out, ev)
	}
}

func TestParser(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Event
		retry    time.Duration
	}{
		{"plain", "data: hello\n\n", []Event{{Type: "message", Data: []byte("hello")}}, 0},
		{"multi-line data", "data: a\ndata: b\n\n", []Event{{Type: "message", Data: []byte("a\nb")}}, 0},
		{"type and id", "event: tick\nid: 7\ndata: {}\n\ndata: x\n\n",
			[]Event{{Type: "tick", Data: []byte("{}"), ID: "7"}, {Type: "message", Data: []byte("x"), ID: "7"}}, 0},
		{"crlf and cr", "data: a\r\n\r\ndata: b\r\rdata: c\n\n",
			[]Event{{Type: "message", Data: []byte("a")}, {Type: "message", Data: []byte("b")}, {Type: "message", Data: []byte("c")}}, 0},
		{"comments and unknown fields", ": keep-alive\nfoo: bar\ndata\n\n", []Event{{Type: "message", Data: []byte("")}}, 0},
		{"no space after colon", "data:x\n\n", []Event{{Type: "message", Data: []byte("x")}}, 0},
		{"bom", "\xef\xbb\xbfdata: x\n\n", []Event{{Type: "message", Data: []byte("x")}}, 0},
		{"retry", "retry: 1500\nretry: 1x\n\n", nil, 1500 * time.Millisecond},
		{"event without data is not dispatched", "event: x\n\ndata: y\n\n", []Event{{Type: "message", Data: []byte("y")}}, 0},
		{"unterminated last event is dropped", "data: a\n\ndata: b\n", []Event{{Type: "message", Data: []byte("a")}}, 0},
		{"id with NUL is ignored", "id: 1\x002\ndata: a\n\n", []Event{{Type: "message", Data: []byte("a")}}, 0},
		{"empty id resets", "id: 3\ndata: a\n\nid\ndata: b\n\n", []Event{{Type: "message", Data: []byte("a"), ID: "3"}, {Type: "message", Data: []byte("b")}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, p, err := parseAll(t, tc.in, 0)
			if err != io.EOF {
				t.Fatalf("err = %v, want EOF", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if p.Retry != tc.retry {
				t.Errorf("retry = %v, want %v", p.Retry, tc.retry)
			}
		})
	}
}

func TestParserLimit(t *testing.T) {
	_, _, err := parseAll(t, "data: "+strings.Repeat("x", 100)+"\n\n", 50)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	_, _, err = parseAll(t, "data: a\ndata: "+strings.Repeat("x", 40)+"\ndata: "+strings.Repeat("y", 40)+"\n\n", 60)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("joined data: err = %v, want ErrTooLarge", err)
	}
}

// FuzzParser feeds arbitrary streams: the parser never panics, never
// returns an event above its limit, and agrees with itself when the
// stream is read through one-byte reads.
func FuzzParser(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "event: x\r\nid: 1\r\ndata: y\r\n\r\n", "retry: 10\r:c\rdata\r\r", "\xef\xbb\xbfdata:z\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 256
		a, _, errA := parseAll(t, string(b), max)
		for _, ev := range a {
			if len(ev.Data) > max {
				t.Fatalf("event of %d bytes above the limit %d", len(ev.Data), max)
			}
			if ev.Type == "" {
				t.Fatal("event without a type")
			}
		}
		p := NewParser(iotest.OneByteReader(bytes.NewReader(b)), max)
		var c []Event
		var errC error
		for {
			ev, err := p.Next()
			if err != nil {
				errC = err
				break
			}
			c = append(c, ev)
		}
		if (errA == io.EOF) != (errC == io.EOF) || len(a) != len(c) {
			t.Fatalf("one-byte reads differ: %d events (%v) vs %d (%v)", len(a), errA, len(c), errC)
		}
		if diff := cmp.Diff(a, c); diff != "" {
			t.Fatalf("one-byte reads differ:\n%s", diff)
		}
	})
}
