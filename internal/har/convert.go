// This file turns a parsed HAR log into a scenario: which entries are
// kept, how they group into tasks, what is captured and templated.

package har

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Options tune Convert. The zero value converts the most frequent host's
// requests, without static assets, into a user class named "recorded".
type Options struct {
	// Source names the HAR file in the scenario's header comment.
	Source string
	// Host is the recorded host the scenario tests (host, host:port or a
	// URL); empty picks the origin most requests went to.
	Host string
	// IncludeHosts are further hosts whose requests are kept (with
	// absolute URLs).
	IncludeHosts []string
	// IncludeStatic keeps images, style sheets, scripts, fonts and media.
	IncludeStatic bool
	// Name is the user class's name (default "recorded").
	Name string
	// Gap starts a new task, in a recording without pages, when no request
	// was in flight for this long (default DefaultGap).
	Gap time.Duration
	// MinSleep is the shortest pause written as a sleep step (default
	// DefaultMinSleep); shorter ones are the browser's own.
	MinSleep time.Duration
}

// Defaults of Options.
const (
	DefaultName     = "recorded"
	DefaultGap      = 2 * time.Second
	DefaultMinSleep = 100 * time.Millisecond
)

// Result is a converted scenario and what the conversion did.
type Result struct {
	YAML     []byte
	Host     string         // the scenario's host
	Entries  int            // entries in the file
	Requests int            // requests kept
	Tasks    int            // tasks written
	Captures int            // captures written
	Dropped  map[string]int // entries left out, by reason
	Notes    []string       // things to review
}

// Reasons for leaving an entry out (Result.Dropped keys).
const (
	DropStatic    = "static assets (--include-static keeps them)"
	DropHost      = "requests to other hosts (--include-host HOST keeps them)"
	DropScheme    = "non-HTTP URLs"
	DropPreflight = "CORS preflights (the browser's own)"
	DropCache     = "answered from the browser's cache"
	DropNoAnswer  = "requests without an answer (blocked, cancelled or failed)"
	DropMethod    = "methods a scenario cannot send"
)

// step is a request or a sleep of the scenario being built.
type step struct {
	e        *Entry
	sleep    time.Duration
	method   string
	url      string
	name     string
	headers  []field
	cookies  []field
	body     bodyOut
	noFollow bool
	status   []int
	captures []capture
	// credential: a capture of this response is used in a header
	credential bool
	setsCookie bool
}

type field struct {
	name, value, comment string
}

type bodyOut struct {
	kind    string // json, form, body or ""
	json    *jsonNode
	form    []field
	text    string
	comment string
}

type capture struct {
	name, kind, path string
}

// source is a value a response holds that a later request may send.
type source struct {
	step       int    // index into the steps
	kind, path string // capture kind (json, header, cookie) and its argument
	key        string // JSON key, header or cookie name
	id         bool   // an identifier's key (id, item_id, uuid...)
}

type converter struct {
	opts    Options
	res     *Result
	main    string // origin
	steps   []*step
	strs    map[string]source // values of 8 characters or more, first source
	ids     map[string]source // values under identifier keys, first source
	vars    map[string]string // "step/kind/path" -> variable
	used    map[string]bool   // variable names
	cookies map[string]bool   // cookie names some response set so far
}

// Convert turns a parsed recording into a scenario.
func Convert(log *Log, opts Options) (*Result, error) {
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Gap <= 0 {
		opts.Gap = DefaultGap
	}
	if opts.MinSleep <= 0 {
		opts.MinSleep = DefaultMinSleep
	}
	c := &converter{
		opts: opts, res: &Result{Entries: len(log.Entries), Dropped: map[string]int{}},
		strs: map[string]source{}, ids: map[string]source{}, vars: map[string]string{},
		used: map[string]bool{}, cookies: map[string]bool{},
	}
	entries := make([]*Entry, 0, len(log.Entries))
	for i := range log.Entries {
		entries = append(entries, &log.Entries[i])
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Started.Before(entries[j].Started) })
	main, err := c.pickHost(entries)
	if err != nil {
		return nil, err
	}
	c.main, c.res.Host = main, main
	kept, setters := c.filter(entries)
	if len(kept) == 0 {
		return nil, fmt.Errorf("no request left to convert of the %d entries: %s", len(entries), c.droppedText())
	}
	groups := c.group(log, kept)
	var tasks [][]*step
	for gi, g := range groups {
		var ss []*step
		for i, e := range g {
			for _, s := range setters[e] {
				c.noteCookies(s)
			}
			if i > 0 {
				if d := gapBefore(g[:i], e); d >= c.opts.MinSleep {
					ss = append(ss, &step{sleep: roundSleep(d)})
				}
			}
			s := c.request(e)
			ss = append(ss, s)
			c.steps = append(c.steps, s)
			c.addSources(len(c.steps)-1, e)
			c.noteCookies(e)
		}
		if gi+1 < len(groups) {
			if d := gapBefore(g, groups[gi+1][0]); d >= c.opts.MinSleep {
				ss = append(ss, &step{sleep: roundSleep(d)})
			}
		}
		tasks = append(tasks, ss)
	}
	onStart, onStop, tasks := c.split(tasks)
	defaults := commonHeaders(append(append(slices.Concat(tasks...), onStart...), onStop...))
	c.res.Requests = len(c.steps)
	c.res.Tasks = len(tasks)
	c.res.YAML, err = c.emit(log, groups, onStart, tasks, onStop, defaults)
	if err != nil {
		return nil, err
	}
	return c.res, nil
}

// pickHost returns the origin of --host, or the one most requests went to.
func (c *converter) pickHost(entries []*Entry) (string, error) {
	counts := map[string]int{}
	var order []string
	for _, e := range entries {
		if e.URL == nil || !isHTTP(e.URL) {
			continue
		}
		o := origin(e.URL)
		if counts[o] == 0 {
			order = append(order, o)
		}
		w := 1
		if isStatic(e) {
			w = 0 // a CDN's hundred images do not make it the host under test
		}
		counts[o] += w
	}
	if len(order) == 0 {
		return "", fmt.Errorf("no http:// or https:// request among the %d entries", len(entries))
	}
	if c.opts.Host != "" {
		for _, o := range order {
			if matchHost(c.opts.Host, o) {
				return o, nil
			}
		}
		return "", fmt.Errorf("--host %s: no request went to it; the recording has %s", c.opts.Host, hostList(order, counts))
	}
	best := order[0]
	for _, o := range order {
		if counts[o] > counts[best] {
			best = o
		}
	}
	return best, nil
}

func hostList(order []string, counts map[string]int) string {
	s := make([]string, len(order))
	for i, o := range order {
		s[i] = fmt.Sprintf("%s (%d)", o, counts[o])
	}
	return strings.Join(s, ", ")
}

func isHTTP(u *url.URL) bool {
	s := strings.ToLower(u.Scheme)
	return (s == "http" || s == "https") && u.Host != ""
}

// filter keeps the entries the scenario sends. setters maps a kept entry
// to the dropped ones before it (whose Set-Cookie the jar would have kept).
func (c *converter) filter(entries []*Entry) (kept []*Entry, setters map[*Entry][]*Entry) {
	setters = map[*Entry][]*Entry{}
	var pending []*Entry
	otherHosts := map[string]int{}
	for _, e := range entries {
		reason := ""
		switch {
		case e.URL == nil || !isHTTP(e.URL):
			reason = DropScheme
		case origin(e.URL) != c.main && !c.included(e.URL):
			reason = DropHost
			otherHosts[origin(e.URL)]++
		case !c.opts.IncludeStatic && isStatic(e):
			reason = DropStatic
		case e.Response.Status == 0:
			reason = DropNoAnswer
		case e.FromCache != "":
			reason = DropCache
		case isPreflight(e):
			reason = DropPreflight
		case !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}, strings.ToUpper(e.Request.Method)):
			reason = DropMethod
		}
		if reason != "" {
			c.res.Dropped[reason]++
			pending = append(pending, e)
			continue
		}
		setters[e] = pending
		pending = nil
		kept = append(kept, e)
	}
	if len(otherHosts) > 0 {
		var hs []string
		for h := range otherHosts {
			hs = append(hs, h)
		}
		sort.Slice(hs, func(i, j int) bool {
			return otherHosts[hs[i]] > otherHosts[hs[j]] || otherHosts[hs[i]] == otherHosts[hs[j]] && hs[i] < hs[j]
		})
		c.res.Notes = append(c.res.Notes, "left out the requests to "+hostList(hs, otherHosts))
	}
	return kept, setters
}

func (c *converter) included(u *url.URL) bool {
	o := origin(u)
	for _, h := range c.opts.IncludeHosts {
		if matchHost(h, o) {
			return true
		}
	}
	return false
}

func (c *converter) droppedText() string {
	var rs []string
	for r, n := range c.res.Dropped {
		rs = append(rs, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(rs)
	if len(rs) == 0 {
		return "none"
	}
	return strings.Join(rs, ", ")
}

// group splits the kept entries into tasks: by page when the recording
// has pages, otherwise at each page load and after a pause of Gap.
func (c *converter) group(log *Log, kept []*Entry) [][]*Entry {
	pages := map[string]bool{}
	for _, p := range log.Pages {
		if p.ID != "" {
			pages[p.ID] = true
		}
	}
	byPage := false
	for _, e := range kept {
		if pages[e.Pageref] {
			byPage = true
			break
		}
	}
	var groups [][]*Entry
	if byPage {
		index := map[string]int{}
		for _, e := range kept {
			key := e.Pageref
			if !pages[key] {
				key = ""
			}
			i, ok := index[key]
			if !ok || key == "" && len(groups[i]) > 0 && gapBefore(groups[i], e) >= c.opts.Gap {
				i = len(groups)
				index[key] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], e)
		}
		// pages in the order their first request started
		sort.SliceStable(groups, func(i, j int) bool { return groups[i][0].Started.Before(groups[j][0].Started) })
		return groups
	}
	for i, e := range kept {
		if i == 0 || isNavigation(e) || gapBefore(groups[len(groups)-1], e) >= c.opts.Gap {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], e)
	}
	return groups
}

// gapBefore is the time between the end of the last of before to end and
// the start of e: the user's think time (negative when they overlap).
func gapBefore(before []*Entry, e *Entry) time.Duration {
	var end time.Time
	for _, b := range before {
		if t := b.End(); t.After(end) {
			end = t
		}
	}
	return e.Started.Sub(end)
}

// MaxSleep caps a recorded pause: a longer one is the user away, not
// think time.
const MaxSleep = 5 * time.Minute

func roundSleep(d time.Duration) time.Duration {
	if d > MaxSleep {
		return MaxSleep
	}
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}

// noteCookies records the cookies a response set (the jar has them later).
func (c *converter) noteCookies(e *Entry) {
	for _, ck := range setCookies(e) {
		c.cookies[ck.Name] = true
	}
}

// setCookies are the cookies a response set.
func setCookies(e *Entry) []Cookie {
	return headerCookies(e.Response.Cookies, e.Response.Headers, "Set-Cookie", func(v string) []*http.Cookie {
		var cs []*http.Cookie
		// Chromium joins several Set-Cookie headers with newlines
		for line := range strings.SplitSeq(v, "\n") {
			if ck, err := http.ParseSetCookie(line); err == nil {
				cs = append(cs, ck)
			}
		}
		return cs
	})
}

// sentCookies are the cookies a request sent.
func sentCookies(e *Entry) []Cookie {
	return headerCookies(e.Request.Cookies, e.Request.Headers, "Cookie", func(v string) []*http.Cookie {
		cs, _ := http.ParseCookie(v) // nil on an error: the header is skipped
		return cs
	})
}

// headerCookies are the recorded cookies, or else the names and values of
// those parse finds in the headers called name.
func headerCookies(recorded []Cookie, headers []NameValue, name string, parse func(string) []*http.Cookie) []Cookie {
	if len(recorded) > 0 {
		return recorded
	}
	var out []Cookie
	for _, h := range headers {
		if !strings.EqualFold(h.Name, name) {
			continue
		}
		for _, ck := range parse(h.Value) {
			out = append(out, Cookie{Name: ck.Name, Value: ck.Value})
		}
	}
	return out
}

// esc makes recorded text safe as a template: {{ is written as an action
// that prints it.
func esc(s string) string {
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}

var identClean = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// varName picks a unique variable name for a capture.
func (c *converter) varName(src source) string {
	key := c.opts.Name
	switch src.kind {
	case "json":
		key = src.key
		if l := strings.ToLower(key); l == "id" || l == "uuid" || l == "key" || l == "value" {
			if r := resource(c.steps[src.step].e.URL); r != "" {
				key = r + "_" + l
			}
		}
	default:
		key = strings.ToLower(src.key)
	}
	key = strings.Trim(identClean.ReplaceAllString(key, "_"), "_")
	if key == "" {
		key = "value"
	}
	if key[0] >= '0' && key[0] <= '9' {
		key = "v" + key
	}
	name := key
	for i := 2; c.used[name]; i++ {
		name = key + "_" + strconv.Itoa(i)
	}
	c.used[name] = true
	return name
}

// resource is the last path segment of u that is not an identifier.
func resource(u *url.URL) string {
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i] != "" && !isID(segs[i]) {
			return segs[i]
		}
	}
	return ""
}

// use returns the template reading the value src holds, adding the capture
// to the step that received it.
func (c *converter) use(src source) string {
	key := fmt.Sprintf("%d/%s/%s", src.step, src.kind, src.path)
	name, ok := c.vars[key]
	if !ok {
		name = c.varName(src)
		c.vars[key] = name
		s := c.steps[src.step]
		s.captures = append(s.captures, capture{name: name, kind: src.kind, path: src.path})
		c.res.Captures++
	}
	return "{{ ." + name + " }}"
}

// strSource finds an earlier response that held the string v.
func (c *converter) strSource(v string) (source, bool) {
	if len(v) < 8 {
		return source{}, false
	}
	s, ok := c.strs[v]
	return s, ok
}

// request converts one entry.
func (c *converter) request(e *Entry) *step {
	s := &step{e: e, method: strings.ToLower(e.Request.Method)}
	s.url, s.name = c.target(e.URL)
	c.bodyOf(s)
	c.headersOf(s)
	sent := map[string]bool{}
	for _, ck := range sentCookies(e) {
		if sent[ck.Name] {
			continue
		}
		sent[ck.Name] = true
		if _, err := http.ParseCookie(ck.Name + "=x"); err == nil && !c.cookies[ck.Name] {
			s.cookies = append(s.cookies, field{name: ck.Name, value: esc(ck.Value)})
		}
	}
	if len(s.cookies) > 0 {
		s.cookies[0].comment = "sent by the browser, set by no response in the recording (by JavaScript or before it)"
	}
	st := e.Response.Status
	switch {
	case st == http.StatusNotModified:
		s.status = []int{http.StatusOK, http.StatusNotModified}
	case st >= 300 && st < 400:
		s.noFollow = true
		s.status = []int{st}
	default:
		s.status = []int{st}
	}
	return s
}

// target returns the URL to send (relative to the host, with captured
// values) and the statistics name when it differs (ids as [id]).
func (c *converter) target(u *url.URL) (target, name string) {
	var t, n strings.Builder
	if origin(u) != c.main {
		t.WriteString(origin(u))
		n.WriteString(origin(u))
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	for i, seg := range strings.Split(p, "/") {
		if i > 0 {
			t.WriteByte('/')
			n.WriteByte('/')
		}
		v, err := url.PathUnescape(seg)
		if err != nil || !isID(v) {
			t.WriteString(esc(seg))
			n.WriteString(seg)
			continue
		}
		n.WriteString("[id]")
		if src, ok := c.ids[v]; ok {
			t.WriteString(c.use(src))
		} else if src, ok := c.strSource(v); ok {
			t.WriteString(c.use(src))
		} else {
			t.WriteString(esc(seg))
		}
	}
	if u.RawQuery != "" {
		t.WriteByte('?')
		n.WriteByte('?')
		for i, kv := range strings.Split(u.RawQuery, "&") {
			if i > 0 {
				t.WriteByte('&')
				n.WriteByte('&')
			}
			k, raw, hasEq := strings.Cut(kv, "=")
			t.WriteString(esc(k))
			n.WriteString(k)
			if !hasEq {
				continue
			}
			t.WriteByte('=')
			n.WriteByte('=')
			v, err := url.QueryUnescape(raw)
			if err != nil {
				t.WriteString(esc(raw))
				n.WriteString(raw)
				continue
			}
			if src, ok := c.strSource(v); ok {
				t.WriteString("{{ " + strings.TrimSuffix(strings.TrimPrefix(c.use(src), "{{ "), " }}") + " | urlquery }}")
			} else {
				t.WriteString(esc(raw))
			}
			if isID(v) && (!numRE.MatchString(v) || idKey(k)) {
				n.WriteString("[id]")
			} else {
				n.WriteString(raw)
			}
		}
	}
	target, name = t.String(), n.String()
	if name == target {
		name = ""
	}
	return target, name
}

// templated returns the template for a recorded value: a captured one when
// an earlier response held it, else the value itself.
func (c *converter) templated(v string) (string, bool) {
	if src, ok := c.strSource(v); ok {
		return c.use(src), true
	}
	return esc(v), false
}

// authSchemes are the Authorization schemes whose credentials a login may
// have handed out.
var authSchemes = []string{"Bearer ", "Token ", "JWT "}

func (c *converter) headersOf(s *step) {
	seen := map[string]bool{}
	for _, h := range s.e.Request.Headers {
		if !keptHeader(h.Name) || strings.ContainsAny(h.Value, "\r\n\x00") {
			continue
		}
		name := textproto.CanonicalMIMEHeaderKey(h.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		if name == "Content-Type" && s.body.kind != "body" {
			mt := mediaType(h.Value)
			if s.body.kind == "" || s.body.kind == "json" && mt == "application/json" ||
				s.body.kind == "form" && mt == "application/x-www-form-urlencoded" {
				continue
			}
		}
		f := field{name: name}
		done := false
		if name == "Authorization" {
			for _, scheme := range authSchemes {
				if len(h.Value) > len(scheme) && strings.EqualFold(h.Value[:len(scheme)], scheme) {
					if src, ok := c.strSource(h.Value[len(scheme):]); ok {
						f.value = h.Value[:len(scheme)] + c.use(src)
						c.steps[src.step].credential = true
						done = true
					}
				}
			}
		}
		if !done {
			if src, ok := c.strSource(h.Value); ok {
				f.value = c.use(src)
				c.steps[src.step].credential = true
			} else {
				f.value = esc(h.Value)
				if name == "Authorization" || strings.Contains(strings.ToLower(name), "token") ||
					strings.Contains(strings.ToLower(name), "api-key") {
					f.comment = "recorded credential: no response in the recording handed it out"
					c.res.Notes = append(c.res.Notes, fmt.Sprintf("%s %s: the recorded %s is sent as is (no response handed it out)", s.e.Request.Method, s.e.URL.Path, name))
				}
			}
		}
		s.headers = append(s.headers, f)
	}
}

// bodyOf converts the request body: JSON as a mapping, a form as fields,
// anything else as text.
func (c *converter) bodyOf(s *step) {
	pd := s.e.Request.PostData
	if pd == nil || pd.Text == "" && len(pd.Params) == 0 {
		return
	}
	mt := mediaType(pd.MimeType)
	if mt == "" {
		mt = mediaType(header(s.e.Request.Headers, "Content-Type"))
	}
	switch {
	case (mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Valid([]byte(pd.Text)):
		n, err := parseJSONNode([]byte(pd.Text))
		if err == nil {
			c.templateJSON("", n)
			s.body = bodyOut{kind: "json", json: n}
			return
		}
	case mt == "application/x-www-form-urlencoded":
		if f, ok := c.form(pd); ok {
			s.body = bodyOut{kind: "form", form: f}
			return
		}
	}
	if pd.Text == "" {
		s.body.comment = "the recording has the body's fields but not its text; add it"
		c.res.Notes = append(c.res.Notes, fmt.Sprintf("%s %s: the body is not in the recording", s.e.Request.Method, s.e.URL.Path))
		return
	}
	if !utf8.ValidString(pd.Text) {
		s.body.comment = "a binary body was left out"
		c.res.Notes = append(c.res.Notes, fmt.Sprintf("%s %s: a binary body was left out", s.e.Request.Method, s.e.URL.Path))
		return
	}
	s.body = bodyOut{kind: "body", text: esc(pd.Text)}
}

func (c *converter) form(pd *PostData) ([]field, bool) {
	var out []field
	if pd.Text != "" {
		for kv := range strings.SplitSeq(pd.Text, "&") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			k, err1 := url.QueryUnescape(k)
			v, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				return nil, false
			}
			out = append(out, field{name: k, value: v})
		}
	} else {
		for _, p := range pd.Params {
			if p.FileName != "" {
				return nil, false
			}
			out = append(out, field{name: p.Name, value: p.Value})
		}
	}
	for i := range out {
		out[i].value, _ = c.templated(out[i].value)
	}
	return out, true
}

// templateJSON replaces the strings of a request's JSON body that an
// earlier response held, and the numbers under id-like keys, by their
// captures.
func (c *converter) templateJSON(key string, n *jsonNode) {
	switch n.kind {
	case jsonNumber:
		// an id a response handed out: a template that renders a number
		// is sent as a bare JSON number
		if src, ok := c.ids[n.text]; ok && idKey(key) && numRE.MatchString(n.text) {
			n.kind, n.text = jsonString, c.use(src)
		}
	case jsonString:
		// a value that renders as digits would be sent as a number
		if numRE.MatchString(n.text) {
			n.text = esc(n.text)
			return
		}
		n.text, _ = c.templated(n.text)
	case jsonObject, jsonArray:
		for _, ch := range n.items {
			k := ch.key
			if n.kind == jsonArray {
				k = key
			}
			c.templateJSON(k, ch.value)
		}
	}
}

// maxLeaves bounds the values indexed per response.
const maxLeaves = 20000

// skipSourceHeaders are response headers whose values no request sends back.
var skipSourceHeaders = map[string]bool{
	"date": true, "set-cookie": true, "content-type": true, "content-length": true, "server": true,
	"vary": true, "cache-control": true, "expires": true, "last-modified": true, "connection": true,
	"keep-alive": true, "strict-transport-security": true, "content-security-policy": true,
	"content-encoding": true, "transfer-encoding": true, "location": true, "www-authenticate": true,
}

// addSources indexes what the response of step i holds.
func (c *converter) addSources(i int, e *Entry) {
	if body, ok := e.Response.Content.Body(); ok && len(body) <= 8<<20 {
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') && json.Valid(trimmed) {
			n := 0
			walkJSON(trimmed, func(path, key, value string) bool {
				n++
				src := source{step: i, kind: "json", path: path, key: key, id: idKey(key)}
				if _, ok := c.strs[value]; !ok && len(value) >= 8 {
					c.strs[value] = src
				}
				if _, ok := c.ids[value]; !ok && src.id && value != "" {
					c.ids[value] = src
				}
				return n < maxLeaves
			})
		}
	}
	for _, h := range e.Response.Headers {
		n := strings.ToLower(h.Name)
		if skipSourceHeaders[n] || strings.HasPrefix(n, ":") || strings.HasPrefix(n, "access-control-") || len(h.Value) < 8 {
			continue
		}
		if _, ok := c.strs[h.Value]; !ok {
			c.strs[h.Value] = source{step: i, kind: "header", path: textproto.CanonicalMIMEHeaderKey(h.Name), key: h.Name}
		}
	}
	for _, ck := range setCookies(e) {
		c.steps[i].setsCookie = true
		if _, ok := c.strs[ck.Value]; !ok && len(ck.Value) >= 8 {
			c.strs[ck.Value] = source{step: i, kind: "cookie", path: ck.Name, key: ck.Name}
		}
	}
}

// walkJSON calls fn with the path, key and text of every string and number
// of a JSON document (strings without quotes), in document order; fn
// returns false to stop. Keys a path cannot name are skipped.
func walkJSON(doc []byte, fn func(path, key, value string) bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return
	}
	var walk func(v any, path, key string) bool
	walk = func(v any, path, key string) bool {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			// document order is lost in a map; the first key read wins ties
			sort.Strings(keys)
			for _, k := range keys {
				if k == "" || strings.ContainsAny(k, ".[]") {
					continue
				}
				p := k
				if path != "" {
					p = path + "." + k
				}
				if !walk(x[k], p, k) {
					return false
				}
			}
		case []any:
			for i, it := range x {
				if !walk(it, path+"["+strconv.Itoa(i)+"]", key) {
					return false
				}
			}
		case string:
			if path != "" {
				return fn(path, key, x)
			}
		case json.Number:
			if path != "" {
				return fn(path, key, x.String())
			}
		}
		return true
	}
	walk(v, "", "")
}

var (
	loginRE  = regexp.MustCompile(`(?i)(log-?in|sign-?in|auth|token|session)`)
	logoutRE = regexp.MustCompile(`(?i)(log-?out|sign-?out|log-?off)`)
)

// split moves the login-like first requests into on_start (up to the last
// one whose response hands out a credential) and logout-like last ones
// into on_stop, when requests remain for the tasks.
func (c *converter) split(tasks [][]*step) (onStart, onStop []*step, rest [][]*step) {
	total := 0
	for _, t := range tasks {
		total += requests(t)
	}
	if len(tasks) > 0 {
		first := tasks[0]
		cut := -1
		for i, s := range first {
			if s.e == nil {
				continue
			}
			if s.credential || s.setsCookie && (s.method == "post" || loginRE.MatchString(s.e.URL.Path)) {
				cut = i
			}
		}
		if cut >= 0 && requests(first[:cut+1]) < total {
			onStart = first[:cut+1]
			rest := first[cut+1:]
			if len(rest) > 0 && rest[0].e == nil {
				// the pause after logging in stays in on_start
				onStart = append(onStart, rest[0])
				rest = rest[1:]
			}
			total -= requests(onStart)
			tasks[0] = rest
			if requests(rest) == 0 {
				tasks = tasks[1:]
			}
		}
	}
	if len(tasks) > 0 {
		last := tasks[len(tasks)-1]
		cut := len(last)
		for i := len(last) - 1; i >= 0; i-- {
			s := last[i]
			if s.e == nil {
				continue
			}
			if !logoutRE.MatchString(s.e.URL.Path) {
				break
			}
			cut = i
		}
		if cut < len(last) && requests(last[cut:]) < total {
			onStop = last[cut:]
			rest := last[:cut]
			for len(rest) > 0 && rest[len(rest)-1].e == nil {
				rest = rest[:len(rest)-1]
			}
			tasks[len(tasks)-1] = rest
			if requests(rest) == 0 {
				tasks = tasks[:len(tasks)-1]
			}
		}
	}
	return onStart, onStop, tasks
}

func requests(ss []*step) int {
	n := 0
	for _, s := range ss {
		if s.e != nil {
			n++
		}
	}
	return n
}

// commonHeaders are the headers every request sends with the same value,
// which go to defaults:; they are removed from the steps.
func commonHeaders(ss []*step) []field {
	var reqs []*step
	for _, s := range ss {
		if s.e != nil {
			reqs = append(reqs, s)
		}
	}
	if len(reqs) < 2 {
		return nil
	}
	var common []field
	for _, h := range reqs[0].headers {
		if h.comment != "" {
			continue
		}
		all := true
		for _, s := range reqs[1:] {
			if !slices.ContainsFunc(s.headers, func(g field) bool { return g.name == h.name && g.value == h.value }) {
				all = false
				break
			}
		}
		if all {
			common = append(common, h)
		}
	}
	for _, s := range reqs {
		s.headers = slices.DeleteFunc(s.headers, func(g field) bool {
			return slices.ContainsFunc(common, func(h field) bool { return g.name == h.name && g.value == h.value })
		})
	}
	sort.Slice(common, func(i, j int) bool { return common[i].name < common[j].name })
	return common
}
