package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/scenario"
)

// Try runs on_start, every task once in order whatever its weight, then
// on_stop, tracing each exchange with its checks and captures; a capture
// of on_start is sent by the tasks.
func TestTry(t *testing.T) {
	srv, log := planServer(t)
	src := fmt.Sprintf(`host: %s
users:
  - name: a
    on_start:
      - get: /old
        capture: {where: {header: Content-Type}}
        check: {status: 200}
    tasks:
      - weight: 9
        get: /one
        headers: {Authorization: "{{ .where }}"}
      - get: /fail
        name: failing
    on_stop:
      - get: /bye
  - name: b
    tasks:
      - get: /b
`, srv.URL)
	plan, err := scenario.Parse("t.yaml", ".", []byte(src), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = Try(context.Background(), TryConfig{
		Plan: plan, Host: srv.URL,
		Phase: func(p string) { got = append(got, "== "+p) },
		Trace: func(x *Exchange) {
			line := fmt.Sprintf("%s %s %d %q", x.Method, strings.TrimPrefix(x.URL, srv.URL), x.Status, x.Failure)
			if x.FinalURL != "" {
				line += " -> " + strings.TrimPrefix(x.FinalURL, srv.URL)
			}
			if x.Eval != nil {
				for _, c := range x.Eval.Checks {
					line += fmt.Sprintf(" [%s %q]", c.What, c.Failure)
				}
				for _, c := range x.Eval.Captures {
					line += fmt.Sprintf(" [%s=%s]", c.What, c.Value)
				}
			}
			if x.Pos.Line == 0 {
				t.Errorf("%s: no position", line)
			}
			got = append(got, line)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"== on_start",
		`GET /old 200 "" -> /new [status 200 ""] [where=text/plain; charset=utf-8]`,
		"== task 1 of 2 (weight 9) GET /one",
		`GET /one 200 "" [status < 400 (no status check) ""]`,
		"== task 2 of 2 (weight 1) failing",
		`GET /fail 500 "HTTP 500 Internal Server Error" [status < 400 (no status check) "HTTP 500 Internal Server Error"]`,
		"== on_stop",
		`GET /bye 200 "" [status < 400 (no status check) ""]`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
	// The redirect was followed; the capture went out in the task's header.
	if l := log.all(); len(l) != 5 || l[2] != "/one auth=text/plain; charset=utf-8 lang=" {
		t.Errorf("server saw %q", l)
	}
	if err := Try(context.Background(), TryConfig{Plan: plan, Host: srv.URL, Class: 2}); !errors.Is(err, ErrNoClass) {
		t.Errorf("class 2 of 2: %v, want ErrNoClass", err)
	}
}
