package har

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// ex is a compact exchange from which the tests write HAR entries.
type ex struct {
	at     float64 // seconds after the start
	ms     float64 // duration
	method string
	url    string
	status int
	reqH   [][2]string
	respH  [][2]string
	mime   string // request body type
	body   string
	resp   string // response body (JSON unless respMime says otherwise)
	rtype  string // Chromium's resource type
	page   string
	cached bool
}

func harJSON(t testing.TB, pages [][2]string, exs ...ex) []byte {
	t.Helper()
	base := time.Date(2026, 12, 3, 5, 0, 0, 0, time.UTC)
	var entries []map[string]any
	for _, x := range exs {
		if x.ms == 0 {
			x.ms = 10
		}
		if x.method == "" {
			x.method = "GET"
		}
		if x.status == 0 {
			x.status = 200
		}
		hs := func(kv [][2]string) []map[string]string {
			out := []map[string]string{}
			for _, h := range kv {
				out = append(out, map[string]string{"name": h[0], "value": h[1]})
			}
			return out
		}
		req := map[string]any{"method": x.method, "url": x.url, "httpVersion": "HTTP/1.1", "headers": hs(x.reqH),
			"queryString": []any{}, "cookies": []any{}, "headersSize": -1, "bodySize": len(x.body)}
		if x.body != "" {
			req["postData"] = map[string]string{"mimeType": x.mime, "text": x.body}
		}
		respMime := "application/json"
		for _, h := range x.respH {
			if strings.EqualFold(h[0], "content-type") {
				respMime = h[1]
			}
		}
		e := map[string]any{
			"startedDateTime": base.Add(time.Duration(x.at * float64(time.Second))).Format(time.RFC3339Nano),
			"time":            x.ms,
			"request":         req,
			"response": map[string]any{"status": x.status, "statusText": "", "httpVersion": "HTTP/1.1", "headers": hs(x.respH),
				"cookies": []any{}, "content": map[string]any{"size": len(x.resp), "mimeType": respMime, "text": x.resp},
				"redirectURL": "", "headersSize": -1, "bodySize": -1},
			"cache": map[string]any{}, "timings": map[string]any{"send": 0, "wait": x.ms, "receive": 0},
		}
		if x.rtype != "" {
			e["_resourceType"] = x.rtype
		}
		if x.page != "" {
			e["pageref"] = x.page
		}
		if x.cached {
			e["_fromCache"] = "disk"
		}
		entries = append(entries, e)
	}
	log := map[string]any{"version": "1.2", "creator": map[string]string{"name": "test", "version": "1"}, "entries": entries}
	if pages != nil {
		var ps []map[string]string
		for _, p := range pages {
			ps = append(ps, map[string]string{"id": p[0], "title": p[1], "startedDateTime": base.Format(time.RFC3339Nano)})
		}
		log["pages"] = ps
	}
	b, err := json.MarshalIndent(map[string]any{"log": log}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// convert parses and converts a HAR, and checks that horde accepts the
// scenario.
func convert(t *testing.T, data []byte, opts Options) (*Result, string) {
	t.Helper()
	log, err := Parse("t.har", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	res, err := Convert(log, opts)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	if _, err := scenario.Parse("out.yaml", t.TempDir(), res.YAML, scenario.Options{}); err != nil {
		t.Fatalf("the scenario is not valid:\n%v\n%s", err, res.YAML)
	}
	return res, string(res.YAML)
}

func wantIn(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func wantNotIn(t *testing.T, out string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(out, w) {
			t.Errorf("output has %q:\n%s", w, out)
		}
	}
}

var goldenCounts = map[string]struct {
	dropped                   map[string]int
	requests, captures, tasks int
}{
	"shop":          {map[string]int{DropStatic: 2, DropHost: 2, DropPreflight: 1, DropCache: 1, DropNoAnswer: 1}, 7, 2, 2},
	"chromium-shop": {map[string]int{DropStatic: 3, DropHost: 1}, 9, 3, 2},
}

// The recordings in testdata (shop.har written like Chromium's DevTools
// export over HTTP/2, chromium-shop.har recorded by the e2e test through
// the DevTools protocol) converts to the golden scenario:
// login in on_start with its token captured, pages as tasks, the created
// item's id captured, logout in on_stop, static assets, other hosts,
// preflights, cached and unanswered entries left out.
func TestConvert_Golden(t *testing.T) {
	for _, name := range []string{"shop", "chromium-shop"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name+".har"))
			if err != nil {
				t.Fatal(err)
			}
			res, out := convert(t, data, Options{Source: name + ".har"})
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, res.YAML, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), out); diff != "" {
				t.Errorf("scenario differs from %s (-want +got; -update rewrites it):\n%s", golden, diff)
			}
			counts := goldenCounts[name]
			if diff := cmp.Diff(counts.dropped, res.Dropped); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
			if res.Requests != counts.requests || res.Captures != counts.captures || res.Tasks != counts.tasks {
				t.Errorf("requests, captures, tasks: got %d, %d, %d, want %d, %d, %d",
					res.Requests, res.Captures, res.Tasks, counts.requests, counts.captures, counts.tasks)
			}
		})
	}
}

// A login's token sent later as a bearer token is captured from the JSON
// answer; the login goes to on_start, the logout to on_stop.
func TestConvert_TokenCapture(t *testing.T) {
	const tok = "c0ffee00c0ffee00c0ffee00c0ffee00"
	data := harJSON(t, nil,
		ex{at: 0, method: "POST", url: "http://api.test/api/login", mime: "application/json",
			body: `{"username":"u","password":"p"}`, resp: `{"user":{"name":"u"},"token":"` + tok + `"}`},
		ex{at: 0.5, url: "http://api.test/api/me", reqH: [][2]string{{"Authorization", "Bearer " + tok}}, resp: `{"name":"u"}`},
		ex{at: 0.6, method: "DELETE", url: "http://api.test/api/session", reqH: [][2]string{{"X-Auth", tok}}, status: 204},
		ex{at: 0.7, method: "POST", url: "http://api.test/api/logout", reqH: [][2]string{{"authorization", "bearer " + tok}}},
	)
	_, out := convert(t, data, Options{})
	wantIn(t, out,
		"on_start:\n      - post: /api/login",
		"capture:\n          token: {json: token}",
		"Authorization: Bearer {{ .token }}",
		"X-Auth: '{{ .token }}'",
		"Authorization: bearer {{ .token }}",
		"on_stop:\n      - post: /api/logout",
		"- delete: /api/session",
		"check: {status: 204}",
	)
	wantNotIn(t, out, tok)
}

// Without pages, a page load or a pause of --gap starts a task; pauses
// between requests become sleep steps, short ones do not.
func TestConvert_GroupsAndSleeps(t *testing.T) {
	data := harJSON(t, nil,
		ex{at: 0, url: "http://h.test/", rtype: "document", respH: [][2]string{{"Content-Type", "text/html"}}, resp: "<p>"},
		ex{at: 0.05, url: "http://h.test/api/a", rtype: "fetch"},                                                                // 40ms after: no sleep
		ex{at: 0.56, url: "http://h.test/api/b", rtype: "fetch"},                                                                // 500ms: a sleep
		ex{at: 1.0, url: "http://h.test/next", rtype: "document", respH: [][2]string{{"Content-Type", "text/html"}}},            // a page load
		ex{at: 4.01, url: "http://h.test/api/c", rtype: "xhr"},                                                                  // 3s gap: a task
		ex{at: 4.02, ms: 100, url: "http://h.test/api/d", rtype: "xhr"}, ex{at: 4.03, url: "http://h.test/api/e", rtype: "xhr"}, // parallel
	)
	res, out := convert(t, data, Options{})
	if res.Tasks != 3 {
		t.Errorf("tasks: got %d, want 3\n%s", res.Tasks, out)
	}
	wantIn(t, out,
		"- name: GET /\n        steps:\n          - get: /\n            check: {status: 200}\n          - get: /api/a\n            check: {status: 200}\n          - sleep: 500ms\n          - get: /api/b",
		"          - sleep: 430ms\n      - name: GET /next", // the think time before the next page ends the task
		"          - sleep: 3s\n      - name: GET /api/c",
		"- get: /api/d\n            check: {status: 200}\n          - get: /api/e",
		"sequential: true",
	)
	_, out = convert(t, data, Options{Gap: 5 * time.Second, MinSleep: time.Second})
	wantNotIn(t, out, "sleep: 500ms", "name: GET /api/c")
	wantIn(t, out, "- sleep: 3s\n          - get: /api/c")
}

// Statistics names replace numbers, UUIDs and long hex or token segments
// with [id]; the URL keeps the recorded value unless a response held it.
func TestConvert_Names(t *testing.T) {
	data := harJSON(t, nil,
		ex{at: 0, url: "http://h.test/api/users/42/orders/550e8400-e29b-41d4-a716-446655440000"},
		ex{at: 0.1, url: "http://h.test/api/blobs/deadbeefdeadbeefdeadbeef?session_id=77&page=2&q=shoes"},
		ex{at: 0.2, url: "http://h.test/api/v2/items"},
		ex{at: 0.3, url: "http://h.test/t/AbCdEfGhIjKlMnOpQrSt0123"},
	)
	_, out := convert(t, data, Options{})
	wantIn(t, out,
		"- get: /api/users/42/orders/550e8400-e29b-41d4-a716-446655440000\n            name: /api/users/[id]/orders/[id]",
		"- get: /api/blobs/deadbeefdeadbeefdeadbeef?session_id=77&page=2&q=shoes\n            name: /api/blobs/[id]?session_id=[id]&page=2&q=shoes",
		"- get: /api/v2/items\n            check",
		"name: /t/[id]",
	)
}

// An id a response handed out and a later URL uses is captured: the URL
// sends the captured value, under a name from the resource.
func TestConvert_IDCapture(t *testing.T) {
	data := harJSON(t, nil,
		ex{at: 0, url: "http://h.test/api/orders", resp: `{"orders":[{"order_id":7,"n":1},{"order_id":8,"n":7}]}`},
		ex{at: 0.1, url: "http://h.test/api/orders/8"},
		ex{at: 0.2, method: "POST", url: "http://h.test/api/carts", status: 201, resp: `{"id":"9b2f6a3e-1c4d-4e5f-8a9b-0c1d2e3f4a5b"}`},
		ex{at: 0.3, method: "PUT", url: "http://h.test/api/carts/9b2f6a3e-1c4d-4e5f-8a9b-0c1d2e3f4a5b/items/3", mime: "application/json", body: `{"qty":"9b2f6a3e-1c4d-4e5f-8a9b-0c1d2e3f4a5b"}`},
		ex{at: 0.4, url: "http://h.test/api/search?cart=9b2f6a3e-1c4d-4e5f-8a9b-0c1d2e3f4a5b"},
		ex{at: 0.5, method: "POST", url: "http://h.test/api/lines", mime: "application/json", body: `{"lines":[{"order_id":7,"qty":7}],"n":8}`},
	)
	_, out := convert(t, data, Options{})
	wantIn(t, out,
		"capture:\n              order_id: {json: 'orders[1].order_id'}",
		"- get: /api/orders/{{ .order_id }}\n            name: /api/orders/[id]",
		"carts_id: {json: id}",
		"- put: /api/carts/{{ .carts_id }}/items/3\n            name: /api/carts/[id]/items/[id]",
		"qty: '{{ .carts_id }}'",
		"- get: /api/search?cart={{ .carts_id | urlquery }}",
		"order_id_2: {json: 'orders[0].order_id'}",
		"- order_id: '{{ .order_id_2 }}'\n                  qty: 7\n              n: 8",
	)
}

// Headers the client sets itself, HTTP/2 pseudo-headers, sec-*, cookies,
// the browser's cache validators and Origin/Referer are dropped; headers
// every request sends go to defaults.
func TestConvert_Headers(t *testing.T) {
	common := [][2]string{{":method", "GET"}, {":authority", "h.test"}, {"host", "h.test"}, {"user-agent", "UA/1"},
		{"accept-encoding", "gzip"}, {"connection", "keep-alive"}, {"sec-fetch-site", "same-origin"}, {"Cookie", "a=b"},
		{"referer", "http://h.test/"}, {"origin", "http://h.test"}, {"if-none-match", `"x"`}, {"content-length", "3"}}
	data := harJSON(t, nil,
		ex{at: 0, url: "http://h.test/a", reqH: append(common, [2]string{"x-requested-with", "XMLHttpRequest"}, [2]string{"accept", "text/html"})},
		ex{at: 0.1, method: "POST", url: "http://h.test/b", mime: "application/json;charset=UTF-8", body: `{"a":1}`,
			reqH: append(common, [2]string{"content-type", "application/json;charset=UTF-8"}, [2]string{"accept", "*/*"})},
		ex{at: 0.2, method: "POST", url: "http://h.test/c", mime: "text/plain", body: "raw {{x}}",
			reqH: append(common, [2]string{"content-type", "text/plain"}), status: 304},
	)
	_, out := convert(t, data, Options{})
	wantIn(t, out,
		"defaults:\n  headers:\n    User-Agent: UA/1\n",
		"X-Requested-With: XMLHttpRequest",
		"Accept: '*/*'",
		"Content-Type: text/plain\n",
		"body: raw {{ \"{{\" }}x}}",
		"check: {status: [200, 304]}",
		// a = b is a cookie no response set: kept as a cookie of the request
		"cookies:\n              a: b # sent by the browser",
	)
	wantNotIn(t, out, ":method", "Host", "Accept-Encoding", "Connection", "Sec-", "Referer", "Origin", "If-None-Match",
		"Content-Length", "Content-Type: application/json", "Cookie:")
}

// A cookie a response set is the jar's: the request's Cookie header is
// dropped; a cookie's value sent back in a header is captured from it; a
// form body keeps its fields, a CSRF token captured.
func TestConvert_CookiesAndForms(t *testing.T) {
	data := harJSON(t, nil,
		ex{at: 0, url: "http://h.test/login", respH: [][2]string{{"Content-Type", "text/html"}, {"Set-Cookie", "csrftoken=Zx9Yw8Vu7Ts6; Path=/"}}, resp: "<form>"},
		ex{at: 1, method: "POST", url: "http://h.test/login", mime: "application/x-www-form-urlencoded",
			body:   "user=alice&pw=s+e%26cret&tag=a&tag=b&csrf=Zx9Yw8Vu7Ts6",
			reqH:   [][2]string{{"Cookie", "csrftoken=Zx9Yw8Vu7Ts6"}, {"X-CSRFToken", "Zx9Yw8Vu7Ts6"}, {"Content-Type", "application/x-www-form-urlencoded"}},
			status: 302, respH: [][2]string{{"Location", "/home"}, {"Set-Cookie", "sessionid=abc; HttpOnly"}}},
		ex{at: 1.1, url: "http://h.test/home", reqH: [][2]string{{"Cookie", "csrftoken=Zx9Yw8Vu7Ts6; sessionid=abc"}}},
	)
	_, out := convert(t, data, Options{})
	wantIn(t, out,
		"capture:\n          csrftoken: {cookie: csrftoken}",
		"X-Csrftoken: '{{ .csrftoken }}'",
		"form:\n          user: alice\n          pw: s e&cret\n          tag: [a, b]\n          csrf: '{{ .csrftoken }}'",
		"follow_redirects: false",
		"check: {status: 302}",
		"on_start:", // the login set a cookie
	)
	wantNotIn(t, out, "cookies:", "Cookie:", "Content-Type")
}

// --host picks the host under test; others and static assets are kept
// when asked, with absolute URLs.
func TestConvert_Hosts(t *testing.T) {
	data := harJSON(t, nil,
		ex{at: 0, url: "https://app.test/api/a"},
		ex{at: 0.1, url: "https://app.test/api/b"},
		ex{at: 0.2, url: "https://auth.test:8443/oauth/token"},
		ex{at: 0.3, url: "https://app.test/logo.png", respH: [][2]string{{"Content-Type", "image/png"}}},
		ex{at: 0.4, url: "https://app.test/app.js"},
	)
	res, out := convert(t, data, Options{})
	wantIn(t, out, "host: https://app.test\n", "- get: /api/b")
	wantNotIn(t, out, "auth.test", "logo.png", "app.js")
	if res.Dropped[DropHost] != 1 || res.Dropped[DropStatic] != 2 {
		t.Errorf("dropped: %v", res.Dropped)
	}
	_, out = convert(t, data, Options{Host: "auth.test"})
	wantIn(t, out, "host: https://auth.test:8443\n", "- get: /oauth/token")
	wantNotIn(t, out, "/api/a")
	_, out = convert(t, data, Options{IncludeHosts: []string{"https://auth.test:8443"}, IncludeStatic: true})
	wantIn(t, out, "- get: https://auth.test:8443/oauth/token", "- get: /logo.png", "- get: /app.js")

	log, err := Parse("t.har", data)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Convert(log, Options{Host: "other.test"})
	if err == nil || !strings.Contains(err.Error(), "--host other.test: no request went to it; the recording has https://app.test (2), https://auth.test:8443 (1)") {
		t.Errorf("unknown --host: got %v", err)
	}
	_, err = Convert(log, Options{Host: "app.test"})
	if err != nil {
		t.Errorf("--host without port: %v", err)
	}
	only := harJSON(t, nil, ex{at: 0, url: "https://app.test/logo.png", rtype: "image"})
	log, _ = Parse("t.har", only)
	if _, err := Convert(log, Options{}); err == nil || !strings.Contains(err.Error(), "no request left to convert of the 1 entries: 1 static assets (--include-static keeps them)") {
		t.Errorf("all static: got %v", err)
	}
}

// A credential no response handed out is sent as recorded, with a note.
func TestConvert_RecordedCredential(t *testing.T) {
	data := harJSON(t, nil,
		ex{at: 0, url: "http://h.test/api/a", reqH: [][2]string{{"Authorization", "Bearer eyJhbGciOi.recorded"}}},
		ex{at: 0.1, url: "http://h.test/api/b", reqH: [][2]string{{"Authorization", "Bearer eyJhbGciOi.recorded"}}},
	)
	res, out := convert(t, data, Options{Name: "web-user"})
	wantIn(t, out, "Authorization: Bearer eyJhbGciOi.recorded # recorded credential", "- name: web-user")
	if len(res.Notes) != 2 || !strings.Contains(res.Notes[0], "GET /api/a: the recorded Authorization is sent as is") {
		t.Errorf("notes: %q", res.Notes)
	}
}

// Pages name their tasks by title, or by path when the title is the URL.
func TestConvert_Pages(t *testing.T) {
	data := harJSON(t, [][2]string{{"p1", "Home"}, {"p2", "http://h.test/cart?x=1"}, {"p3", ""}},
		ex{at: 0, url: "http://h.test/", page: "p1"},
		ex{at: 5, url: "http://h.test/api/cart", page: "p2"},
		ex{at: 0.5, url: "http://h.test/api/home", page: "p1"},
		ex{at: 9, url: "http://h.test/api/x", page: "p3"},
	)
	_, out := convert(t, data, Options{})
	wantIn(t, out, "- name: Home\n        steps:\n          - get: /\n", "- get: /api/home", "- sleep: 4.49s\n      - name: page /cart?x=1", "- name: GET /api/x")
}

// Odd but valid recordings still give a valid scenario: repeated JSON keys
// (the last wins), repeated cookies, header names that are not tokens,
// a pause of an hour (capped), a day-long request time.
func TestConvert_Odd(t *testing.T) {
	data := harJSON(t, nil,
		ex{at: 0, method: "POST", url: "http://h.test/a", mime: "application/json", body: `{"a":1,"b":2,"a":3}`,
			reqH: [][2]string{{"Cookie", "x=1; x=2"}, {"bad header", "v"}, {"X-Ok", "line\nbreak"}, {"X-Fine", "yes"}}},
		ex{at: 3600, url: "http://h.test/b", ms: 1e12},
		ex{at: 3601, url: "http://h.test/c"},
	)
	_, out := convert(t, data, Options{})
	wantIn(t, out, "json:\n              a: 3\n              b: 2\n", "cookies:\n              x: \"1\"", "X-Fine: yes\n", "- sleep: 5m0s\n")
	wantNotIn(t, out, "bad header", "X-Ok", "x: \"2\"")
	if strings.Count(out, "- sleep:") != 1 {
		t.Errorf("want one sleep (the request of 11 days in flight covers the last pause):\n%s", out)
	}
}
