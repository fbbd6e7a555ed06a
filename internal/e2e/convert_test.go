//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// recordedPage is the shop page the browser runs: log in, list the items,
// open one, create one and change it, ping another host; the second page
// reads an item with the token kept in sessionStorage and logs out. The
// pauses are the user's think time.
const recordedPage = `<!doctype html><html><head><title>Shop</title>
<link rel="stylesheet" href="/app.css"></head><body><p id="state">loading</p><img src="/logo.png">
<script>
const sleep = ms => new Promise(r => setTimeout(r, ms));
async function flow() {
  const login = await fetch("/api/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: "alice", password: "test123"})}).then(r => r.json());
  sessionStorage.token = login.token;
  const auth = {"Authorization": "Bearer " + login.token};
  await sleep(300);
  const list = await fetch("/api/items?page=1&limit=5", {headers: auth}).then(r => r.json());
  await sleep(200);
  await fetch("/api/data/" + list.items[2].id, {headers: auth});
  const created = await fetch("/api/items", {method: "POST", headers: {...auth, "Content-Type": "application/json"},
    body: JSON.stringify({title: "recorded", value: 7})}).then(r => r.json());
  await fetch("/api/items/" + created.id, {method: "PATCH", headers: {...auth, "Content-Type": "application/json"},
    body: JSON.stringify({value: 8})});
  await fetch(OTHER + "/collect?e=flow", {mode: "no-cors"});
  document.getElementById("state").textContent = "done";
}
flow().catch(e => document.getElementById("state").textContent = "error: " + e);
</script></body></html>`

const recordedPage2 = `<!doctype html><html><head><title>Item</title></head><body><p id="state">loading</p>
<script>
(async () => {
  const auth = {"Authorization": "Bearer " + sessionStorage.token};
  await fetch("/api/data/7", {headers: auth});
  await new Promise(r => setTimeout(r, 250));
  await fetch("/api/logout", {method: "POST", headers: auth});
  document.getElementById("state").textContent = "done";
})().catch(e => document.getElementById("state").textContent = "error: " + e);
</script></body></html>`

// A session recorded in headless Chromium through the DevTools protocol
// against horde target (the page served from the same origin by a reverse
// proxy) converts to a scenario that horde validate accepts and that runs
// with no failure: the token and the created item's id are captured, the
// static assets and the other host are left out.
func TestConvert_ChromiumRecording(t *testing.T) {
	target := startTarget(t)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(other.Close)
	tu, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(tu)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, strings.Replace(recordedPage, "OTHER", fmt.Sprintf("%q", other.URL), 1))
		case "/item":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, recordedPage2)
		case "/app.css":
			w.Header().Set("Content-Type", "text/css")
			fmt.Fprint(w, "body { font-family: sans-serif }")
		case "/logo.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte("\x89PNG\r\n\x1a\n"))
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(site.Close)

	ctx := newBrowser(t)
	rec := newHARRecorder()
	if err := chromedp.Listen(ctx, rec.event); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("Network.enable: %v", err)
	}
	browserDo(t, ctx, "open the shop", chromedp.Navigate(site.URL+"/"))
	browserWait(t, ctx, "the first page's flow", `document.getElementById("state").textContent === "done"`, 20*time.Second)
	rec.bodies(t, ctx)
	browserDo(t, ctx, "open an item", chromedp.Navigate(site.URL+"/item"))
	browserWait(t, ctx, "the second page's flow", `document.getElementById("state").textContent === "done"`, 20*time.Second)
	rec.bodies(t, ctx)

	dir := t.TempDir()
	harFile := filepath.Join(dir, "recording.har")
	rec.write(t, harFile)
	if b, err := os.ReadFile(harFile); err == nil {
		saved := filepath.Join(browserArtifacts(t), "TestConvert_ChromiumRecording.har")
		if os.WriteFile(saved, b, 0o644) == nil {
			t.Logf("recording: %s", saved)
		}
	}

	p := start(t, dir, nil, hordeBin, "convert", harFile, "-o", "out.yaml", "--name", "shopper")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("convert: exit code %d\n%s", code, p.stderr)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	scenario := string(out)
	t.Logf("convert: %s\n%s", p.stderr, scenario)
	for _, want := range []string{
		"host: " + site.URL + "\n",
		"- name: shopper",
		"on_start:\n      - get: /\n",
		"- post: /api/login",
		"token: {json: token}",
		"Authorization: Bearer {{ .token }}",
		"- get: /api/items?page=1&limit=5",
		"items_id: {json: 'items[2].id'}",
		"- get: /api/data/{{ .items_id }}\n            name: /api/data/[id]",
		"- patch: /api/items/{{ .items_id_2 }}\n            name: /api/items/[id]",
		"- name: Shop\n", "- name: Item\n",
		"- get: /api/data/7\n            name: /api/data/[id]",
		"on_stop:\n      - post: /api/logout",
		"- sleep: ",
		"check: {status: 201}",
	} {
		if !strings.Contains(scenario, want) {
			t.Errorf("the scenario lacks %q", want)
		}
	}
	for _, not := range []string{"app.css", "logo.png", "favicon", other.URL, "Sec-", "Host:", "Cookie", "Accept-Encoding"} {
		if strings.Contains(scenario, not) {
			t.Errorf("the scenario has %q", not)
		}
	}
	for _, want := range []string{"left out:", "static assets", "requests to other hosts", "note: left out the requests to " + other.URL} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("convert's summary lacks %q:\n%s", want, p.stderr)
		}
	}

	v := start(t, dir, nil, hordeBin, "validate", "out.yaml")
	if code := v.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("validate: exit code %d\n%s%s", code, v.stdout, v.stderr)
	}

	// The recorded host: the site, which serves the pages and passes the
	// API on to the target.
	r := start(t, dir, nil, hordeBin, "run", "out.yaml", "--headless", "-u", "2", "-r", "10", "-t", "5s",
		"--csv", "res", "--only-summary")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run: exit code %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout, r.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "res_stats.csv"))
	t.Logf("run: %d requests, %d failures", count(t, rows[" Aggregated"], 2), count(t, rows[" Aggregated"], 3))
	if got := count(t, rows[" Aggregated"], 3); got != 0 {
		t.Errorf("failures: got %d, want 0\n%v", got, readCSV(t, filepath.Join(dir, "res_failures.csv")))
	}
	for _, name := range []string{"GET /", "POST /api/login", "GET /api/items", "GET /api/data/[id]", "POST /api/items", "PATCH /api/items/[id]", "GET /item", "POST /api/logout"} {
		if count(t, rows[name], 2) == 0 {
			t.Errorf("no %s request ran; rows: %v", name, keys(rows))
		}
	}
	if got := count(t, rows["POST /api/login"], 2); got != 2 {
		t.Errorf("logins: got %d, want 2 (on_start once per user)", got)
	}
	if got := count(t, rows["POST /api/logout"], 2); got != 2 {
		t.Errorf("logouts: got %d, want 2 (on_stop once per user)", got)
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// harRecorder builds HAR 1.2 entries from the DevTools protocol's network
// events, as Chromium's own "Save all as HAR" does.
type harRecorder struct {
	mu      sync.Mutex
	order   []network.RequestID
	reqs    map[network.RequestID]*harExchange
	pages   []map[string]any
	loaders map[string]string // loader id -> page id
}

type harExchange struct {
	sent       *network.EventRequestWillBeSent
	rawReq     network.Headers
	resp       *network.Response
	rawResp    network.Headers
	rtype      network.ResourceType
	end        float64 // monotonic seconds
	failed     bool
	body       []byte
	bodyBase64 bool
	post       []byte
	fetched    bool
}

func newHARRecorder() *harRecorder {
	return &harRecorder{reqs: map[network.RequestID]*harExchange{}, loaders: map[string]string{}}
}

func (r *harRecorder) get(id network.RequestID) *harExchange {
	x, ok := r.reqs[id]
	if !ok {
		x = &harExchange{}
		r.reqs[id] = x
		r.order = append(r.order, id)
	}
	return x
}

// event runs on the tab's reader goroutine: it only stores.
func (r *harRecorder) event(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		x := r.get(e.RequestID)
		x.sent, x.rtype = e, e.Type
		if e.Type == network.ResourceTypeDocument {
			id := fmt.Sprintf("page_%d", len(r.pages)+1)
			r.loaders[string(e.LoaderID)] = id
			r.pages = append(r.pages, map[string]any{"id": id, "title": e.Request.URL,
				"startedDateTime": wall(e.WallTime), "pageTimings": map[string]any{}})
		}
	case *network.EventRequestWillBeSentExtraInfo:
		r.get(e.RequestID).rawReq = e.Headers
	case *network.EventResponseReceived:
		x := r.get(e.RequestID)
		x.resp, x.rtype = e.Response, e.Type
	case *network.EventResponseReceivedExtraInfo:
		r.get(e.RequestID).rawResp = e.Headers
	case *network.EventLoadingFinished:
		r.get(e.RequestID).end = e.Timestamp.Float64()
	case *network.EventLoadingFailed:
		x := r.get(e.RequestID)
		x.end, x.failed = e.Timestamp.Float64(), true
	}
}

func wall(t interface{ Float64() float64 }) string {
	s := t.Float64()
	return time.Unix(0, int64(s*1e9)).UTC().Format("2006-01-02T15:04:05.000Z")
}

// bodies fetches the response bodies and posted data of the requests that
// finished, while their page is still loaded, and titles the page with the
// document's title as Chromium's export does.
func (r *harRecorder) bodies(t *testing.T, ctx context.Context) {
	t.Helper()
	title := browserEval[string](t, ctx, "document.title")
	r.mu.Lock()
	if len(r.pages) > 0 && title != "" {
		r.pages[len(r.pages)-1]["title"] = title
	}
	r.mu.Unlock()
	// the last events of the flow may still be on their way
	time.Sleep(200 * time.Millisecond)
	r.mu.Lock()
	var todo []network.RequestID
	for _, id := range r.order {
		if x := r.reqs[id]; !x.fetched && x.resp != nil && x.end > 0 && !x.failed {
			x.fetched = true
			todo = append(todo, id)
		}
	}
	r.mu.Unlock()
	for _, id := range todo {
		body, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
		r.mu.Lock()
		x := r.reqs[id]
		if err == nil {
			x.body, x.bodyBase64 = body.Body, body.Base64encoded
		}
		hasPost := x.sent != nil && x.sent.Request.HasPostData
		r.mu.Unlock()
		if hasPost {
			post, err := chromedp.Call(ctx, network.GetRequestPostData, network.GetRequestPostDataParams{RequestID: id})
			if err != nil {
				t.Errorf("post data of %s: %v", id, err)
				continue
			}
			r.mu.Lock()
			x.post = post.PostData
			r.mu.Unlock()
		}
	}
}

func harHeaders(h network.Headers) []map[string]string {
	var out []map[string]string
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		// repeated headers (Set-Cookie) arrive joined by newlines
		for v := range strings.SplitSeq(fmt.Sprint(h[k]), "\n") {
			out = append(out, map[string]string{"name": k, "value": v})
		}
	}
	if out == nil {
		out = []map[string]string{}
	}
	return out
}

// write saves the recording as a HAR 1.2 file.
func (r *harRecorder) write(t *testing.T, path string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var entries []map[string]any
	for _, id := range r.order {
		x := r.reqs[id]
		if x.sent == nil {
			continue
		}
		reqH := x.rawReq
		if reqH == nil {
			reqH = x.sent.Request.Headers
		}
		req := map[string]any{"method": x.sent.Request.Method, "url": x.sent.Request.URL, "httpVersion": "HTTP/1.1",
			"headers": harHeaders(reqH), "queryString": []any{}, "cookies": []any{}, "headersSize": -1, "bodySize": len(x.post)}
		if x.post != nil {
			ct := ""
			for k, v := range reqH {
				if strings.EqualFold(k, "content-type") {
					ct = fmt.Sprint(v)
				}
			}
			req["postData"] = map[string]any{"mimeType": ct, "text": string(x.post)}
		}
		resp := map[string]any{"status": 0, "statusText": "", "httpVersion": "", "headers": []any{}, "cookies": []any{},
			"content": map[string]any{"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1, "bodySize": -1}
		ms := -1.0
		if x.resp != nil {
			respH := x.rawResp
			if respH == nil {
				respH = x.resp.Headers
			}
			content := map[string]any{"size": len(x.body), "mimeType": x.resp.MimeType}
			if x.body != nil {
				if x.bodyBase64 {
					content["text"], content["encoding"] = base64.StdEncoding.EncodeToString(x.body), "base64"
				} else {
					content["text"] = string(x.body)
				}
			}
			resp = map[string]any{"status": x.resp.Status, "statusText": x.resp.StatusText, "httpVersion": x.resp.Protocol,
				"headers": harHeaders(respH), "cookies": []any{}, "content": content, "redirectURL": "", "headersSize": -1, "bodySize": len(x.body)}
			req["httpVersion"] = x.resp.Protocol
		}
		if x.failed {
			resp["status"] = 0
		}
		if x.end > 0 {
			ms = (x.end - x.sent.Timestamp.Float64()) * 1000
		}
		e := map[string]any{
			"startedDateTime": wall(x.sent.WallTime), "time": max(ms, 0), "request": req, "response": resp,
			"cache": map[string]any{}, "timings": map[string]any{"send": 0, "wait": max(ms, 0), "receive": 0},
			"_resourceType": strings.ToLower(string(x.rtype)),
		}
		if p, ok := r.loaders[string(x.sent.LoaderID)]; ok {
			e["pageref"] = p
		}
		entries = append(entries, e)
	}
	b, err := json.MarshalIndent(map[string]any{"log": map[string]any{"version": "1.2",
		"creator": map[string]string{"name": "horde e2e (DevTools protocol)", "version": "1"},
		"pages":   r.pages, "entries": entries}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d entries on %d pages", len(entries), len(r.pages))
}

// Bad HAR input: exit 2 and the place of the problem; the summary names
// what was left out.
func TestConvert_BadInput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "broken.har", "{\"log\": {\"entries\": [\n  {\"startedDateTime\": \"2026-12-03T05:00:00Z\", \"request\": {\"method\": \"GET\", \"url\": \"/relative\"}, \"response\": {\"status\": 200}}\n]}}")
	p := start(t, dir, nil, hordeBin, "convert", "broken.har")
	if code := p.wait(t, 30*time.Second); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if want := `broken.har:2:83: entries[0].request.url: "/relative" is not an absolute URL: no scheme`; !strings.Contains(p.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, p.stderr)
	}
	writeFile(t, dir, "static.har", `{"log": {"entries": [{"startedDateTime": "2026-12-03T05:00:00Z", "_resourceType": "image", "request": {"method": "GET", "url": "http://h/a.png"}, "response": {"status": 200}}]}}`)
	p = start(t, dir, nil, hordeBin, "convert", "static.har")
	if code := p.wait(t, 30*time.Second); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if want := "horde: static.har: no request left to convert of the 1 entries: 1 static assets (--include-static keeps them)"; !strings.Contains(p.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, p.stderr)
	}
	p = start(t, dir, nil, hordeBin, "convert", "static.har", "--include-static", "--host", "h")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0\n%s", code, p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "- get: /a.png") {
		t.Errorf("stdout lacks the image:\n%s", p.stdout)
	}
	p = start(t, dir, nil, hordeBin, "convert", "missing.har")
	if code := p.wait(t, 30*time.Second); code != 2 {
		t.Errorf("missing file: exit code %d, want 2", code)
	}
}
