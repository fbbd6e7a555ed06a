//go:build e2e

package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// horde try runs one user of the seed scenario once against horde target:
// the login with its token capture, each of the four tasks once, the
// logout: six requests, each printed with its response, the token sent on
// by the later ones.
func TestTry_SeedAPI(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	code, out, errOut := hordeIn(t, dir, "try", repoRoot+"/examples/seed-api.yaml", "-H", host)
	if code != 0 {
		t.Fatalf("try: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	t.Logf("horde try:\n%s", out)
	lines := regexp.MustCompile(`(?m)^(GET|POST|PATCH|PUT|DELETE) (\S+)  \(name (\S+), `).FindAllStringSubmatch(out, -1)
	want := []struct{ method, url, name string }{
		{"POST", `^/api/login$`, "/api/login"},
		{"GET", `^/api/data/\d+$`, "/api/data/[id]"},
		{"GET", `^/api/items\?page=\d+&limit=20$`, "/api/items"},
		{"POST", `^/api/items$`, "/api/items"},
		{"PATCH", `^/api/items/\d+$`, "/api/items/[id]"},
		{"POST", `^/api/logout$`, "/api/logout"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d requests printed, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		got := lines[i]
		path := strings.TrimPrefix(got[2], host)
		if got[1] != w.method || !regexp.MustCompile(w.url).MatchString(path) || got[3] != w.name {
			t.Errorf("request %d: %s %s (name %s), want %s %s (name %s)", i+1, got[1], path, got[3], w.method, w.url, w.name)
		}
	}
	m := regexp.MustCompile(`capture  token = "([0-9a-f]{32})"`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token capture printed:\n%s", out)
	}
	if n := strings.Count(out, "> Authorization: Bearer "+m[1]); n != 5 {
		t.Errorf("the captured token is sent by %d requests, want 5 (every one after the login)", n)
	}
	for _, s := range []string{
		"=== on_start", "=== task 1 of 4 (weight 3)", "=== task 4 of 4 (weight 1)", "=== on_stop",
		"> Content-Type: application/json", `> {"username":"user_`, "< 200 OK  ", `< {"token":"` + m[1] + `"}`,
		"< 201 Created", "check    status 200: ok", "6 requests, 0 failed",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("a request failed:\n%s", out)
	}
}

// A failed check is exit 1 and printed with its reason; bodies are cut at
// --body-limit; a bad class is exit 2.
func TestTry_FailedCheck(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "f.yaml", `users:
  - name: a
    tasks:
      - post: /api/login
        json: {username: u, password: p}
        check:
          status: 201
        capture:
          token: {json: token}
      - get: /nope
`)
	code, out, errOut := hordeIn(t, dir, "try", file, "-H", host, "--body-limit", "10")
	if code != 1 {
		t.Fatalf("try: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, s := range []string{
		"check    status 201: FAILED: check status: got 200, want 201",
		"capture  token: not run (a check failed)",
		`< {"token":"`, "more bytes; --body-limit 10)",
		"check    status < 400 (no status check): FAILED: HTTP 404 Not Found",
		"2 requests, 2 failed",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q\n%s", s, out)
		}
	}
	if !strings.Contains(errOut, "2 of 2 requests failed") {
		t.Errorf("stderr: %q", errOut)
	}
	code, _, errOut = hordeIn(t, dir, "try", file, "-H", host, "--class", "nope")
	if code != 2 || !strings.Contains(errOut, `--class "nope"`) {
		t.Errorf("--class nope: exit %d, want 2 naming the flag\n%s", code, errOut)
	}
}

// -L debug logs every request a run sends.
func TestRun_DebugLogsRequests(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "d.yaml", "users:\n  - name: a\n    wait: {constant: 100ms}\n    tasks:\n      - get: /delay/1\n        name: /delay/[ms]\n")
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-H", host, "-u", "1", "-r", "10", "-t", "2s",
		"--only-summary", "--runs-dir", "runs", "-L", "debug")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	want := "level=DEBUG msg=request method=GET url=" + host + "/delay/1 name=/delay/[ms] ms="
	if n := strings.Count(p.stderr.String(), want); n < 5 {
		t.Errorf("%d request lines %q in the log, want one per request (about 20)\n%s", n, want, p.stderr)
	}
	// Without -L debug, none.
	p = start(t, dir, nil, hordeBin, "run", file, "--headless", "-H", host, "-u", "1", "-r", "10", "-t", "1s",
		"--only-summary", "--runs-dir", "runs")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, p.stderr)
	}
	if strings.Contains(p.stderr.String(), "msg=request") {
		t.Errorf("request lines without -L debug:\n%s", p.stderr)
	}
}
