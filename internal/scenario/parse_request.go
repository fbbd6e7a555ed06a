// This file parses a request (headers, query, captures, checks, bodies) and its templates.

package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// request compiles a request whose keys f were already checked.
func (p *parser) request(n *yaml.Node, f map[string]pair) *Step {
	n = p.resolve(n)
	s := &Step{Pos: p.pos(n), Timeout: p.defTimeout}
	var method *pair
	var body *pair
	// walk in file order so that "two methods" points at the second one
	var ordered []pair
	for _, e := range f {
		ordered = append(ordered, e)
	}
	sort.Slice(ordered, func(i, j int) bool {
		a, b := ordered[i].key, ordered[j].key
		return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
	})
	for i := range ordered {
		e := &ordered[i]
		switch {
		case slices.Contains(methodKeys, e.name):
			if method != nil {
				p.errorf(e.key, "request has two methods, %s and %s; use one", method.name, e.name)
				continue
			}
			method = e
		case slices.Contains(bodyKeys, e.name):
			if body != nil {
				p.errorf(e.key, "request has two bodies, %s and %s; use one", body.name, e.name)
				continue
			}
			body = e
		}
	}
	if method == nil {
		p.errorf(n, "request has no method: add one of get, post, put, patch, delete, head or options")
		return nil
	}
	s.Method = strings.ToUpper(method.name)
	p.urlNameHeaders(s, method.val, method.name+" url", f)
	if e, ok := f["query"]; ok {
		s.Query = p.params(e.val, "query", true)
	}
	if e, ok := f["timeout"]; ok {
		s.Timeout, _ = p.duration(e.val, "timeout")
	}
	if body != nil {
		switch body.name {
		case "json":
			s.BodyKind, s.ContentType = BodyJSON, "application/json"
			s.Body = p.jsonBody(body.val)
		case "form":
			s.BodyKind, s.ContentType = BodyForm, "application/x-www-form-urlencoded"
			s.Body = p.formBody(body.val)
		case "body":
			s.BodyKind = BodyRaw
			if t, ok := p.text(body.val, "body"); ok {
				s.Body = p.template(body.val, t)
			}
		case "body_file":
			s.BodyKind = BodyRaw
			if b, ok := p.readFile(body.val, "body_file"); ok {
				s.Body = &Template{src: string(b), static: true}
			}
		case "multipart":
			s.BodyKind = BodyMultipart
			s.Body, s.ContentType = p.multipart(body.val)
		}
	}
	if e, ok := f["auth"]; ok {
		p.auth(e, s, f)
	} else if d := p.defAuth; d != nil && !hasHeader(p, f, "Authorization") {
		s.Header = append(s.Header, d.Header...)
		s.BasicUser, s.BasicPass = d.BasicUser, d.BasicPass
	}
	if e, ok := f["cookies"]; ok {
		s.Cookies = p.params(e.val, "cookies", false)
		for _, c := range s.Cookies {
			if !headerNameRE.MatchString(c.Name) {
				p.errorf(e.val, "bad cookie name %q", c.Name)
			}
		}
	}
	if e, ok := f["follow_redirects"]; ok {
		if v, ok := p.bool(e.val, "follow_redirects"); ok {
			s.NoRedirect = !v
		}
	}
	s.StopOnFailure = p.stopOnFailure(f)
	if e, ok := f["content_type"]; ok {
		if ct, ok := p.str(e.val, "content_type"); ok {
			if body == nil {
				p.errorf(e.key, "content_type without a body: add json, form, body or body_file")
			}
			s.ContentType = ct
		}
	}
	if e, ok := f["capture"]; ok {
		s.Captures = p.captures(e.val)
	}
	if e, ok := f["check"]; ok {
		s.Checks = p.checks(e.val)
	}
	spec := p.transportSpecs(p.defSpec, f)
	s.Transport = p.transport(spec)
	s.Compression = spec.compression == nil || *spec.compression
	return s
}

var headerNameRE = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")

func (p *parser) headers(n *yaml.Node) []Param {
	ps := p.params(n, "headers", false)
	for i := 0; i < len(ps); i++ {
		if !headerNameRE.MatchString(ps[i].Name) {
			p.errorf(n, "bad header name %q", ps[i].Name)
		}
	}
	return ps
}

// params reads a mapping of templated values; with multi, a list value
// gives the name once per item.
func (p *parser) params(n *yaml.Node, what string, multi bool) []Param {
	ps, _ := p.pairs(n, what)
	var out []Param
	for _, e := range ps {
		vals := []*yaml.Node{e.val}
		if r := p.resolve(e.val); multi && r != nil && r.Kind == yaml.SequenceNode {
			vals = r.Content
		}
		for _, v := range vals {
			t, ok := p.text(v, fmt.Sprintf("%s %s", what, e.name))
			if !ok {
				continue
			}
			if tm := p.template(v, t); tm != nil {
				out = append(out, Param{Name: e.name, Value: tm})
			}
		}
	}
	return out
}

func (p *parser) captures(n *yaml.Node) []*Capture {
	ps, _ := p.pairs(n, "capture")
	var out []*Capture
	for _, e := range ps {
		if !identRE.MatchString(e.name) {
			p.errorf(e.key, "capture name %q must be letters, digits and _ (templates read it as {{ .%s }})", e.name, e.name)
			continue
		}
		src, ok := p.pairs(e.val, "capture "+e.name)
		if !ok {
			continue
		}
		c := &Capture{Var: e.name, pos: p.pos(e.key)}
		if p.captured == nil {
			p.captured = map[string]bool{}
		}
		p.captured[e.name] = true
		var source *pair // json, header or cookie
		var regex *pair
		for i := range src {
			s := &src[i]
			if !slices.Contains(captureKinds, s.name) {
				p.unknownKey(s.key, s.name, "capture", captureKinds)
				continue
			}
			if s.name == "regex" {
				regex = s
				continue
			}
			if source != nil {
				p.errorf(s.key, "capture %s has two sources, %s and %s; use one of json, header, cookie or regex", e.name, source.name, s.name)
				continue
			}
			source = s
		}
		if source == nil && regex == nil {
			if len(src) == 0 {
				p.errorf(e.val, "capture %s has no source: want json, header, cookie or regex", e.name)
			}
			continue
		}
		good := true
		if source != nil {
			v, ok := p.str(source.val, source.name)
			if !ok {
				continue
			}
			c.src = v
			switch source.name {
			case "json":
				c.kind = captureJSON
				path, err := parseJSONPath(v)
				if err != nil {
					p.errorf(source.val, "bad json path %q: %s", v, err)
					good = false
				}
				c.path = path
				if regex != nil {
					p.errorf(regex.key, "capture %s: regex applies to a header, a cookie or the body, not to json", e.name)
					good = false
				}
			case "header":
				c.kind, c.header = captureHeader, v
			case "cookie":
				c.kind, c.header = captureCookie, v
			}
		} else {
			c.kind = captureRegex
		}
		if regex != nil {
			re, ok := p.regex(regex.val, "regex")
			if !ok {
				continue
			}
			c.re = re
			if source == nil {
				c.src = re.String()
			}
		}
		if !good {
			continue
		}
		out = append(out, c)
	}
	return out
}

func (p *parser) checks(n *yaml.Node) []*Check {
	f := p.fields(n, "check", checkKeys)
	var out []*Check
	if e, ok := f["status"]; ok {
		items, _ := p.list(e.val, "status", true)
		c := &Check{kind: checkStatus, pos: p.pos(e.key)}
		for _, it := range items {
			v, ok := p.int(it, "status")
			if !ok {
				continue
			}
			if v < 100 || v > 599 {
				p.errorf(it, "status must be between 100 and 599, got %d", v)
				continue
			}
			c.statuses = append(c.statuses, v)
		}
		if r := p.resolve(e.val); r != nil && r.Kind == yaml.SequenceNode && len(r.Content) == 0 {
			p.errorf(e.val, "status is an empty list")
		}
		if len(c.statuses) > 0 {
			out = append(out, c)
		}
	}
	if e, ok := f["body_contains"]; ok {
		items, _ := p.list(e.val, "body_contains", true)
		for _, it := range items {
			if s, ok := p.str(it, "body_contains"); ok {
				out = append(out, &Check{kind: checkBodyContains, text: s, needle: []byte(s), pos: p.pos(it)})
			}
		}
	}
	if e, ok := f["json"]; ok {
		ps, _ := p.pairs(e.val, "check json")
		for _, jp := range ps {
			path, err := parseJSONPath(jp.name)
			if err != nil {
				p.errorf(jp.key, "bad json path %q: %s", jp.name, err)
				continue
			}
			if isCompare(p.resolve(jp.val)) {
				if cmp, ok := p.compares(jp.val, jp.name); ok {
					out = append(out, &Check{kind: checkJSON, text: jp.name, path: path, cmp: cmp, pos: p.pos(jp.key)})
				}
				continue
			}
			want, text, ok := p.jsonValue(jp.val)
			if !ok {
				continue
			}
			out = append(out, &Check{kind: checkJSON, text: jp.name, path: path, want: want, wantText: text, pos: p.pos(jp.key)})
		}
	}
	if e, ok := f["header"]; ok {
		r := p.resolve(e.val)
		items := []*yaml.Node{e.val}
		if r != nil && r.Kind == yaml.SequenceNode {
			items = r.Content
			if len(items) == 0 {
				p.errorf(e.val, "header is an empty list")
			}
		}
		for _, it := range items {
			if c := p.headerCheck(it); c != nil {
				out = append(out, c)
			}
		}
	}
	if e, ok := f["max_duration"]; ok {
		if d, ok := p.duration(e.val, "max_duration"); ok {
			if d <= 0 {
				p.errorf(e.val, "max_duration must be > 0")
			} else {
				out = append(out, &Check{kind: checkDuration, max: d, pos: p.pos(e.key)})
			}
		}
	}
	for _, c := range out { // the name the checks summary counts it by (HTTP, SSE, gRPC)
		c.name = c.describe()
	}
	return out
}

// jsonValue reads a YAML value as literal JSON (no templates), decoded
// with json.Number, and its JSON text.
func (p *parser) jsonValue(n *yaml.Node) (any, string, bool) {
	b := &jsonBuilder{p: p, budget: maxJSONNodes}
	b.value(n, 0)
	if b.failed {
		return nil, "", false
	}
	text := b.src.String()
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var want any
	if err := d.Decode(&want); err != nil {
		p.errorf(n, "expected value is not JSON: %s", err)
		return nil, "", false
	}
	return want, text, true
}

// isCompare reports whether a json check's expected value is a mapping of
// comparison operators ({">": 2, "<=": 10}) rather than an object to equal.
func isCompare(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return false
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind != yaml.ScalarNode || !slices.Contains(compareOps, k.Value) {
			return false
		}
	}
	return true
}

// compares reads a mapping of comparison operators for the json check at path.
func (p *parser) compares(n *yaml.Node, path string) ([]compare, bool) {
	ps, ok := p.pairs(n, "check json "+path)
	if !ok {
		return nil, false
	}
	var out []compare
	good := true
	for _, e := range ps {
		m := compare{op: e.name}
		if !p.compareValue(e, &m) {
			good = false
			continue
		}
		out = append(out, m)
	}
	return out, good && len(out) > 0
}

// compareValue reads the expected value of the comparison m (by its
// operator) from e; false when it is not one.
func (p *parser) compareValue(e pair, m *compare) bool {
	switch e.name {
	case "<", ">", "<=", ">=":
		r, ok := p.scalar(e.val, e.name, "a number")
		if !ok {
			return false
		}
		if r.ShortTag() != "!!int" && r.ShortTag() != "!!float" {
			p.errorf(e.val, "%s wants a number, got %s", e.name, kindName(r))
			return false
		}
		v, ok := new(big.Float).SetPrec(256).SetString(strings.ReplaceAll(r.Value, "_", ""))
		if !ok {
			p.errorf(e.val, "%s wants a number, got %s", e.name, kindName(r))
			return false
		}
		m.num, m.wantText = v, r.Value
	case "in":
		r := p.resolve(e.val)
		if r == nil || r.Kind != yaml.SequenceNode || len(r.Content) == 0 {
			p.errorf(e.val, "in wants a non-empty list of values")
			return false
		}
		want, text, ok := p.jsonValue(e.val)
		if !ok {
			return false
		}
		m.list, m.wantText = want.([]any), text
	case "equals":
		want, text, ok := p.jsonValue(e.val)
		if !ok {
			return false
		}
		m.want, m.wantText = want, text
	case "exists":
		v, ok := p.bool(e.val, "exists")
		if !ok {
			return false
		}
		m.exists = v
	case "matches":
		re, ok := p.regex(e.val, "matches")
		if !ok {
			return false
		}
		m.re = re
	}
	return true
}

// regex compiles the regular expression in n.
func (p *parser) regex(n *yaml.Node, what string) (*regexp.Regexp, bool) {
	v, ok := p.str(n, what)
	if !ok {
		return nil, false
	}
	re, err := regexp.Compile(v)
	if err != nil {
		p.errorf(n, "bad regex %q: %s", v, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return nil, false
	}
	return re, true
}

// headerCheck reads {name: X, equals: V, matches: RE}; with neither, the
// header must be present.
func (p *parser) headerCheck(n *yaml.Node) *Check {
	f := p.fields(n, "check header", headerCheckKeys)
	if f == nil {
		return nil
	}
	e, ok := f["name"]
	if !ok {
		p.errorf(n, "check header has no name: add name:")
		return nil
	}
	name, ok := p.str(e.val, "header name")
	if !ok {
		return nil
	}
	if !headerNameRE.MatchString(name) {
		p.errorf(e.val, "bad header name %q", name)
		return nil
	}
	c := &Check{kind: checkHeader, text: name, pos: p.pos(e.key)}
	if e, ok := f["equals"]; ok {
		v, ok := p.text(e.val, "equals")
		if !ok {
			return nil
		}
		c.hasEqual, c.equal = true, v
	}
	if e, ok := f["matches"]; ok {
		re, ok := p.regex(e.val, "matches")
		if !ok {
			return nil
		}
		c.cmp = []compare{{op: "matches", re: re}}
	}
	return c
}

// template compiles text found in scalar n, placing errors inside it.
func (p *parser) template(n *yaml.Node, text string) *Template {
	t, err := compileTemplate(text, p.rt)
	if err != nil {
		p.errorAt(p.templatePos(n, text, err), "%s", err.msg)
		return nil
	}
	p.noteVarRefs(n, text)
	return t
}

// templatePos maps a place in a template to the file: exactly for plain
// and quoted one-line scalars and for literal blocks, approximately else.
func (p *parser) templatePos(n *yaml.Node, text string, err *compileError) Pos {
	n = p.resolve(n)
	pos := p.pos(n)
	line, col := 0, -1 // within the text, 0-based; col -1: unknown
	if err.off >= 0 && err.off <= len(text) {
		prefix := text[:err.off]
		line = strings.Count(prefix, "\n")
		col = utf8.RuneCountInString(prefix[strings.LastIndexByte(prefix, '\n')+1:])
	} else if err.line > 0 {
		line = err.line - 1
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		pos.Line = n.Line + 1 + line
		pos.Col = p.blockIndent(n.Line+1) + 1 + max(col, 0)
	default:
		if line > 0 {
			return pos
		}
		if col >= 0 {
			if n.Style == yaml.DoubleQuotedStyle || n.Style == yaml.SingleQuotedStyle {
				col++
			}
			pos.Col += col
		}
	}
	return pos
}

// blockIndent returns the indentation of a block scalar's content: that of
// its first non-blank line, from the 1-based source line given on.
func (p *parser) blockIndent(line int) int {
	if p.lines == nil {
		p.lines = bytes.Split(p.src, []byte("\n"))
	}
	for ; line >= 1 && line <= len(p.lines); line++ {
		l := p.lines[line-1]
		if t := bytes.TrimLeft(l, " "); len(bytes.TrimSpace(t)) > 0 {
			return len(l) - len(t)
		}
	}
	return 0
}

const maxJSONNodes = 100000

// jsonBuilder turns a YAML value into a JSON template: strings become
// templates when p is set to compile them (bodies), literal text otherwise.
type jsonBuilder struct {
	p         *parser
	templated bool
	ops       []op
	src       bytes.Buffer // the JSON text, with template sources as literal strings
	budget    int
	failed    bool
}

func (b *jsonBuilder) lit(s []byte) {
	b.src.Write(s)
	if n := len(b.ops); n > 0 && b.ops[n-1].kind == opText {
		b.ops[n-1].text += string(s)
		return
	}
	b.ops = append(b.ops, op{kind: opText, text: string(s)})
}

func (b *jsonBuilder) fail(n *yaml.Node, format string, args ...any) {
	b.failed = true
	b.p.errorf(n, format, args...)
}

func (b *jsonBuilder) value(n *yaml.Node, depth int) {
	if b.failed {
		return
	}
	b.budget--
	if b.budget < 0 || depth > 200 {
		b.fail(n, "json value is too large or too deeply nested")
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			b.fail(n, "json: unknown alias")
			return
		}
		b.value(n.Alias, depth+1)
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		b.lit([]byte{'{'})
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := b.p.resolve(n.Content[i])
			if k == nil || k.Kind != yaml.ScalarNode {
				b.fail(n.Content[i], "json object keys must be strings")
				return
			}
			if seen[k.Value] {
				b.fail(k, "duplicate key %q in json", k.Value)
				return
			}
			seen[k.Value] = true
			if i > 0 {
				b.lit([]byte{','})
			}
			b.lit(appendJSONString(nil, []byte(k.Value)))
			b.lit([]byte{':'})
			b.value(n.Content[i+1], depth+1)
		}
		b.lit([]byte{'}'})
	case yaml.SequenceNode:
		b.lit([]byte{'['})
		for i, c := range n.Content {
			if i > 0 {
				b.lit([]byte{','})
			}
			b.value(c, depth+1)
		}
		b.lit([]byte{']'})
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			b.lit([]byte("null"))
			return
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				b.fail(n, "json: %s", err)
				return
			}
			if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				b.fail(n, "json: %s is not a JSON number", n.Value)
				return
			}
			out, err := json.Marshal(v)
			if err != nil {
				b.fail(n, "json: %s", err)
				return
			}
			b.lit(out)
			return
		}
		quoted := appendJSONString(nil, []byte(n.Value))
		if !b.templated || !strings.Contains(n.Value, "{{") {
			b.lit(quoted)
			return
		}
		t := b.p.template(n, n.Value)
		if t == nil {
			b.failed = true
			return
		}
		if s, ok := t.Static(); ok { // e.g. only a comment
			b.lit(appendJSONString(nil, []byte(s)))
			return
		}
		b.src.Write(quoted)
		b.ops = append(b.ops, op{kind: opJSON, sub: t, literal: t.single})
	default:
		b.fail(n, "json: unsupported YAML node")
	}
}

func (b *jsonBuilder) template() *Template {
	t := &Template{src: b.src.String()}
	if len(b.ops) == 0 {
		t.static = true
		return t
	}
	if len(b.ops) == 1 && b.ops[0].kind == opText {
		t.static, t.src = true, b.ops[0].text
		return t
	}
	t.ops = b.ops
	return t
}

func (p *parser) jsonBody(n *yaml.Node) *Template {
	b := &jsonBuilder{p: p, templated: true, budget: maxJSONNodes}
	b.value(n, 0)
	if b.failed {
		return nil
	}
	return b.template()
}

// formBody compiles a mapping into an x-www-form-urlencoded template; keys
// keep their order and list values repeat the key.
func (p *parser) formBody(n *yaml.Node) *Template {
	params := p.params(n, "form", true)
	b := &jsonBuilder{p: p}
	for i, prm := range params {
		if i > 0 {
			b.lit([]byte{'&'})
		}
		b.lit(append(appendQueryEscape(nil, []byte(prm.Name)), '='))
		if s, ok := prm.Value.Static(); ok {
			b.lit(appendQueryEscape(nil, []byte(s)))
			continue
		}
		b.src.WriteString(prm.Value.String())
		b.ops = append(b.ops, op{kind: opQuery, sub: prm.Value})
	}
	return b.template()
}

// stopOnFailure reads a step's on_failure (the scenario's default when it
// has none): whether a failure stops the rest of the task.
func (p *parser) stopOnFailure(f map[string]pair) bool {
	policy := p.onFailure
	if e, ok := f["on_failure"]; ok {
		policy = p.failPolicy(e.val)
	}
	return policy == FailStopTask
}

// urlNameHeaders reads an HTTP-like step's URL (from n: a path beginning
// with / or an absolute http(s):// URL), its name, and its headers over the
// defaults' (a header given on the step replaces the default's).
func (p *parser) urlNameHeaders(s *Step, n *yaml.Node, what string, f map[string]pair) {
	if u, ok := p.str(n, what); ok {
		s.URL = p.template(n, u)
		if st, ok := s.URL.Static(); ok && s.URL != nil && !strings.HasPrefix(st, "/") && !isHTTPURL(st) {
			p.errorf(n, "url %q must start with / or be an absolute http:// or https:// URL", st)
		}
	}
	if s.URL == nil {
		s.URL = &Template{static: true}
	}
	if e, ok := f["name"]; ok {
		s.Name, _ = p.str(e.val, "name")
	}
	s.Header = slices.Clone(p.defHeaders)
	if e, ok := f["headers"]; ok {
		for _, h := range p.headers(e.val) {
			s.Header = slices.DeleteFunc(s.Header, func(d Param) bool { return strings.EqualFold(d.Name, h.Name) })
			s.Header = append(s.Header, h)
		}
	}
}
