package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
)

// RunOnce runs setup steps in order with one variable set, stops at the
// first failed check with the step's place, and counts its requests.
func TestRunOnce(t *testing.T) {
	srv, log := planServer(t)
	src := fmt.Sprintf(`host: %s
setup:
  - get: /a
    capture: {ct: {header: Content-Type}}
  - get: /b
    headers: {Authorization: "{{ .ct }} {{ .given }}"}
  - get: /fail
    check: {status: 200}
  - get: /never
users:
  - name: a
    tasks:
      - get: /
        capture: {given: {header: X-Given}} # what RunOnce is given comes from a capture
`, srv.URL)
	plan, err := scenario.Parse("t.yaml", ".", []byte(src), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vars, iv, err := RunOnce(context.Background(), plan, plan.Setup, "", map[string]string{"given": "x"}, httpload.Options{})
	var failed *FailedStepError
	if !errors.As(err, &failed) || !strings.Contains(err.Error(), "t.yaml:7: GET /fail: ") {
		t.Fatalf("err %v, want the failed check at t.yaml:7", err)
	}
	if !strings.HasPrefix(vars["ct"], "text/plain") || vars["given"] != "x" {
		t.Errorf("vars %v", vars)
	}
	got := strings.Join(log.all(), "\n")
	if !strings.Contains(got, "/b auth=text/plain; charset=utf-8 x") || strings.Contains(got, "/never") {
		t.Errorf("requests:\n%s", got)
	}
	var n int64
	for _, e := range iv.Entries {
		n += e.Count
	}
	if n != 3 {
		t.Errorf("%d requests counted, want 3", n)
	}
}

// horde try runs the setup first (its captures reach the user) and the
// teardown last.
func TestTry_SetupTeardown(t *testing.T) {
	srv, log := planServer(t)
	src := fmt.Sprintf(`host: %s
setup:
  - get: /login
    capture: {tok: {header: Content-Type}}
users:
  - name: a
    tasks:
      - get: /one
        headers: {Authorization: "{{ .tok }}"}
teardown:
  - get: /logout
    headers: {Authorization: "{{ .tok }}"}
`, srv.URL)
	plan, err := scenario.Parse("t.yaml", ".", []byte(src), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	if err := Try(context.Background(), TryConfig{Plan: plan, Host: srv.URL, Phase: func(p string) { phases = append(phases, p) }}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(phases, ","); got != "setup,task 1 of 1 (weight 1) GET /one,teardown" {
		t.Errorf("phases %s", got)
	}
	got := strings.Join(log.all(), "\n")
	want := "/login auth= lang=\n/one auth=text/plain; charset=utf-8 lang=\n/logout auth=text/plain; charset=utf-8 lang="
	if got != want {
		t.Errorf("requests:\n%s\nwant:\n%s", got, want)
	}
}
