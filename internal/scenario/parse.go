package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/shape"
	"go.yaml.in/yaml/v3"
)

// LoadFile reads, validates and compiles a scenario file. On bad input it
// returns an ErrorList with every problem found, each with file:line:col.
// A file that cannot be read is reported as a plain wrapped error.
func LoadFile(path string, opts Options) (*Plan, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, filepath.Dir(path), src, opts)
}

// Parse is LoadFile for bytes already read; name is used in error messages
// and relative data file paths are resolved against dir.
func Parse(name, dir string, src []byte, opts Options) (*Plan, error) {
	p := &parser{file: name, dir: dir, src: src, rt: defaultRuntime}
	plan := p.parse(opts)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i].Pos, p.errs[j].Pos
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, p.errs
	}
	return plan, nil
}

// Keys known at each level of the file.
var (
	topKeys       = []string{"host", "defaults", "data", "load", "users", "thresholds", "monitor"}
	monitorKeys   = []string{"interval", "scrape", "prometheus", "process"}
	thresholdKeys = []string{"threshold", "abort_on_fail", "grace"}
	scrapeKeys    = []string{"url", "metrics"}
	defaultsKeys  = []string{"headers", "timeout"}
	feederKeys    = []string{"file", "mode"}
	loadKeys      = []string{"users", "spawn_rate", "run_time", "stop_timeout", "rate", "pre_allocated_vus", "max_vus", "stages", "cycle", "spike"}
	stageKeys     = []string{"duration", "target"}
	cycleKeys     = []string{"min", "max", "period"}
	spikeKeys     = []string{"base", "peak", "at", "duration"}
	classKeys     = []string{"name", "weight", "count", "wait", "feed", "sequential", "on_start", "tasks", "on_stop"}
	waitKinds     = []string{"constant", "between", "pacing"}
	methodKeys    = []string{"get", "post", "put", "patch", "delete", "head", "options"}
	bodyKeys      = []string{"json", "form", "body"}
	requestKeys   = append(slices.Clone(methodKeys), "name", "headers", "query", "json", "form", "body",
		"content_type", "timeout", "capture", "check")
	taskKeys      = append(slices.Clone(requestKeys), "weight", "steps")
	stepsTaskKeys = []string{"weight", "name", "steps"}
	captureKinds  = []string{"json", "header", "regex"}
	checkKeys     = []string{"status", "body_contains", "json"}
)

type parser struct {
	file, dir string
	src       []byte
	lines     [][]byte // src split in lines, on demand
	rt        *runtime
	errs      ErrorList

	defHeaders []Param
	defTimeout time.Duration
	feeders    map[string]bool // every name under data:, loaded or not
}

type pair struct {
	name     string
	key, val *yaml.Node
}

func (p *parser) pos(n *yaml.Node) Pos {
	line, col := 1, 1
	if n != nil {
		line, col = max(n.Line, 1), max(n.Column, 1)
	}
	return Pos{File: p.file, Line: line, Col: col}
}

func (p *parser) errorAt(pos Pos, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errorAt(p.pos(n), format, args...)
}

var yamlLineRE = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

func decodeYAML(src []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(src, n)
}

func (p *parser) parse(opts Options) *Plan {
	var doc yaml.Node
	if err := decodeYAML(p.src, &doc); err != nil {
		msg, line := err.Error(), 1
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			if l, err := strconv.Atoi(m[1]); err == nil && l > 0 {
				line = l
			}
			msg = "yaml: " + m[2]
		}
		p.errorAt(Pos{File: p.file, Line: line, Col: 1}, "%s", msg)
		return nil
	}
	plan := &Plan{File: p.file, Feeders: map[string]*Feeder{}}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = p.resolve(doc.Content[0])
	}
	if root == nil || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		p.errorAt(p.pos(nil), "scenario is empty: it needs host: and users:")
		return nil
	}
	f := p.fields(root, "scenario", topKeys)
	if f == nil {
		return nil
	}

	if opts.Host != "" {
		if !isHTTPURL(opts.Host) {
			p.errorAt(p.pos(nil), "host %q (from -H) is not an http:// or https:// URL", opts.Host)
		}
		plan.Host = strings.TrimRight(opts.Host, "/")
	}
	if n := f["host"].val; n != nil {
		if s, ok := p.str(n, "host"); ok {
			if !isHTTPURL(s) {
				p.errorf(n, "host %q is not an http:// or https:// URL", s)
			} else if plan.Host == "" {
				plan.Host = strings.TrimRight(s, "/")
			}
		}
	} else if opts.Host == "" {
		p.errorAt(p.pos(nil), "host is missing: set host: in the file or pass -H")
	}

	if n := f["defaults"].val; n != nil {
		p.defaults(n)
	}
	p.feeders = map[string]bool{}
	if n := f["data"].val; n != nil {
		p.data(n, plan)
	}
	if n := f["monitor"].val; n != nil {
		plan.Monitor = p.monitor(n)
	}
	if n := f["thresholds"].val; n != nil {
		plan.Thresholds = p.thresholds(n, f["monitor"].val != nil)
	}
	if n := f["load"].val; n != nil {
		plan.Load = p.load(n)
	}
	if n := f["users"].val; n != nil {
		plan.Classes = p.classes(n)
	} else {
		p.errorAt(p.pos(nil), "users is missing: add a users: list with at least one user class")
	}
	return plan
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// resolve follows aliases.
func (p *parser) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!int", "!!float":
			return "a number (" + n.Value + ")"
		case "!!bool":
			return "a boolean (" + n.Value + ")"
		}
		return fmt.Sprintf("a string (%q)", truncate(n.Value, 40))
	}
	return "something else"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// pairs returns the entries of a mapping in order, reporting non-scalar and
// duplicate keys; ok is false when n is not a mapping.
func (p *parser) pairs(n *yaml.Node, what string) (out []pair, ok bool) {
	n = p.resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		if n == nil {
			p.errorf(n, "%s must be a mapping", what)
		} else {
			p.errorf(n, "%s must be a mapping, got %s", what, kindName(n))
		}
		return nil, false
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := p.resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			p.errorf(n.Content[i], "keys in %s must be strings", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, "duplicate key %q in %s (first at line %d)", k.Value, what, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{name: k.Value, key: k, val: v})
	}
	return out, true
}

// fields is pairs for a mapping with a fixed set of keys: unknown keys are
// reported with a suggestion.
func (p *parser) fields(n *yaml.Node, what string, known []string) map[string]pair {
	ps, ok := p.pairs(n, what)
	if !ok {
		return nil
	}
	m := make(map[string]pair, len(ps))
	for _, e := range ps {
		if !slices.Contains(known, e.name) {
			p.unknownKey(e.key, e.name, what, known)
			continue
		}
		m[e.name] = e
	}
	return m
}

func (p *parser) unknownKey(k *yaml.Node, name, what string, known []string) {
	msg := fmt.Sprintf("unknown key %q in %s", name, what)
	if s := suggest(name, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	p.errorf(k, "%s", msg)
}

func (p *parser) scalar(n *yaml.Node, what, want string) (*yaml.Node, bool) {
	r := p.resolve(n)
	if r == nil || r.Kind != yaml.ScalarNode {
		if r == nil {
			p.errorf(n, "%s must be %s", what, want)
		} else {
			p.errorf(n, "%s must be %s, got %s", what, want, kindName(r))
		}
		return nil, false
	}
	return r, true
}

// str reads a non-empty string; numbers and booleans are taken as written.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	r, ok := p.scalar(n, what, "a string")
	if !ok {
		return "", false
	}
	if r.ShortTag() == "!!null" || r.Value == "" {
		p.errorf(n, "%s is empty", what)
		return "", false
	}
	return r.Value, true
}

// text reads a string that may be empty (a template, a header value).
func (p *parser) text(n *yaml.Node, what string) (string, bool) {
	r, ok := p.scalar(n, what, "a string")
	if !ok {
		return "", false
	}
	if r.ShortTag() == "!!null" {
		return "", true
	}
	return r.Value, true
}

func (p *parser) int(n *yaml.Node, what string) (int, bool) {
	r, ok := p.scalar(n, what, "an integer")
	if !ok {
		return 0, false
	}
	var v int
	if r.ShortTag() != "!!int" || r.Decode(&v) != nil {
		p.errorf(n, "%s must be an integer, got %s", what, kindName(r))
		return 0, false
	}
	return v, true
}

func (p *parser) float(n *yaml.Node, what string) (float64, bool) {
	r, ok := p.scalar(n, what, "a number")
	if !ok {
		return 0, false
	}
	var v float64
	if (r.ShortTag() != "!!int" && r.ShortTag() != "!!float") || r.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errorf(n, "%s must be a number, got %s", what, kindName(r))
		return 0, false
	}
	return v, true
}

func (p *parser) bool(n *yaml.Node, what string) (bool, bool) {
	r, ok := p.scalar(n, what, "true or false")
	if !ok {
		return false, false
	}
	var v bool
	if r.ShortTag() != "!!bool" || r.Decode(&v) != nil {
		p.errorf(n, "%s must be true or false, got %s", what, kindName(r))
		return false, false
	}
	return v, true
}

func (p *parser) duration(n *yaml.Node, what string) (time.Duration, bool) {
	r, ok := p.scalar(n, what, "a duration")
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(r.Value)
	if err != nil {
		p.errorf(n, "%s", err)
		return 0, false
	}
	return d, true
}

// list reads a sequence; a scalar is taken as a list of one when one is true.
func (p *parser) list(n *yaml.Node, what string, one bool) ([]*yaml.Node, bool) {
	r := p.resolve(n)
	if r != nil && r.Kind == yaml.SequenceNode {
		return r.Content, true
	}
	if one && r != nil && r.Kind == yaml.ScalarNode && r.ShortTag() != "!!null" {
		return []*yaml.Node{n}, true
	}
	if r == nil {
		p.errorf(n, "%s must be a list", what)
	} else {
		p.errorf(n, "%s must be a list, got %s", what, kindName(r))
	}
	return nil, false
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (p *parser) defaults(n *yaml.Node) {
	f := p.fields(n, "defaults", defaultsKeys)
	if e, ok := f["headers"]; ok {
		p.defHeaders = p.headers(e.val)
	}
	if e, ok := f["timeout"]; ok {
		p.defTimeout, _ = p.duration(e.val, "timeout")
	}
}

func (p *parser) data(n *yaml.Node, plan *Plan) {
	ps, _ := p.pairs(n, "data")
	for _, e := range ps {
		name := e.name
		p.feeders[name] = true
		if !identRE.MatchString(name) {
			p.errorf(e.key, "feeder name %q must be letters, digits and _ (templates read it as {{ .%s.column }})", name, name)
		}
		what := fmt.Sprintf("feeder %s", name)
		f := p.fields(e.val, what, feederKeys)
		if f == nil {
			continue
		}
		mode := FeedSequential
		if m, ok := f["mode"]; ok {
			if s, ok := p.str(m.val, "mode"); ok {
				if !slices.Contains(feedModes, s) {
					msg := fmt.Sprintf("unknown mode %q for %s; want sequential, random or unique", s, what)
					if sug := suggest(s, feedModes); sug != "" {
						msg = fmt.Sprintf("unknown mode %q for %s; did you mean %q?", s, what, sug)
					}
					p.errorf(m.val, "%s", msg)
				}
				mode = s
			}
		}
		fe, ok := f["file"]
		if !ok {
			p.errorf(e.key, "%s has no file: name its CSV file", what)
			continue
		}
		file, ok := p.str(fe.val, "file")
		if !ok {
			continue
		}
		path := file
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.dir, path)
		}
		cols, rows, err := readCSV(path)
		if err != nil {
			p.errorf(fe.val, "data file %q: %s", file, err)
			continue
		}
		if !slices.Contains(feedModes, mode) {
			continue
		}
		feeder, err := NewFeeder(name, mode, cols, rows)
		if err != nil {
			p.errorf(fe.val, "data file %q: %s", file, err)
			continue
		}
		plan.Feeders[name] = feeder
	}
}

func (p *parser) monitor(n *yaml.Node) Monitor {
	var m Monitor
	m.Pos = p.pos(p.resolve(n))
	f := p.fields(n, "monitor", monitorKeys)
	if e, ok := f["interval"]; ok {
		if d, ok := p.duration(e.val, "interval"); ok {
			if d <= 0 {
				p.errorf(e.val, "monitor interval must be > 0")
			}
			m.Interval = d
		}
	}
	if e, ok := f["scrape"]; ok {
		items, _ := p.list(e.val, "scrape", true)
		for _, it := range items {
			var sc MonitorScrape
			r := p.resolve(it)
			if r != nil && r.Kind == yaml.MappingNode {
				sf := p.fields(it, "scrape", scrapeKeys)
				if u, ok := sf["url"]; ok {
					sc.URL, _ = p.str(u.val, "url")
				} else {
					p.errorf(it, "scrape needs a url")
				}
				if mt, ok := sf["metrics"]; ok {
					ms, _ := p.list(mt.val, "metrics", true)
					for _, x := range ms {
						if name, ok := p.str(x, "metric"); ok {
							sc.Metrics = append(sc.Metrics, name)
						}
					}
				}
			} else if u, ok := p.str(it, "scrape url"); ok {
				sc.URL = u
			}
			if sc.URL != "" && !strings.HasPrefix(sc.URL, "http://") && !strings.HasPrefix(sc.URL, "https://") {
				p.errorf(it, "scrape url %q is not an http(s) URL", sc.URL)
			}
			m.Scrapes = append(m.Scrapes, sc)
		}
	}
	if e, ok := f["prometheus"]; ok {
		m.Prometheus = p.prometheus(e.val)
	}
	if e, ok := f["process"]; ok {
		items, _ := p.list(e.val, "process", true)
		for _, it := range items {
			if pid, ok := p.int(it, "process"); ok {
				if pid <= 0 {
					p.errorf(it, "process %d is not a PID", pid)
				}
				m.Processes = append(m.Processes, pid)
			}
		}
	}
	return m
}

// Keys of monitor: prometheus: and of each of its queries.
var (
	prometheusKeys = []string{"url", "queries"}
	queryKeys      = []string{"name", "query", "memory"}
)

// prometheus reads monitor: prometheus: {url, queries: [{name, query, memory}]}.
func (p *parser) prometheus(n *yaml.Node) MonitorPrometheus {
	var mp MonitorPrometheus
	f := p.fields(n, "prometheus", prometheusKeys)
	if f == nil {
		return mp
	}
	if e, ok := f["url"]; ok {
		if u, ok := p.str(e.val, "prometheus url"); ok {
			if !isHTTPURL(u) {
				p.errorf(e.val, "prometheus url %q is not an http(s) URL (want http://host:9090)", u)
			}
			mp.URL = strings.TrimRight(u, "/")
		}
	} else {
		p.errorf(n, "prometheus needs a url: the server, e.g. http://prometheus:9090")
	}
	e, ok := f["queries"]
	if !ok {
		p.errorf(n, "prometheus needs queries: a list of {name: NAME, query: PROMQL}")
		return mp
	}
	items, ok := p.list(e.val, "queries", false)
	if !ok {
		return mp
	}
	if len(items) == 0 {
		p.errorf(e.val, "queries is empty: add at least one {name: NAME, query: PROMQL}")
	}
	first := map[string]int{}
	for _, it := range items {
		qf := p.fields(it, "query", queryKeys)
		if qf == nil {
			continue
		}
		q := MonitorQuery{Pos: p.pos(p.resolve(it))}
		if e, ok := qf["name"]; ok {
			if name, ok := p.str(e.val, "query name"); ok {
				switch line, dup := first[name]; {
				case !identRE.MatchString(name):
					p.errorf(e.val, "query name %q must be letters, digits and _, not starting with a digit", name)
				case dup:
					p.errorf(e.val, "duplicate query name %q (first at line %d)", name, line)
				default:
					first[name] = p.pos(p.resolve(e.val)).Line
				}
				q.Name = name
			}
		} else {
			p.errorf(it, "query needs a name: it names the series in the run")
		}
		if e, ok := qf["query"]; ok {
			if text, ok := p.str(e.val, "query"); ok {
				if err := promqlBalanced(text); err != "" {
					p.errorf(e.val, "query %q: %s", truncate(text, 60), err)
				}
				q.Query = text
			}
		} else {
			p.errorf(it, "query needs query: PROMQL")
		}
		if e, ok := qf["memory"]; ok {
			if v, ok := p.bool(e.val, "memory"); ok {
				q.Memory = &v
			}
		}
		mp.Queries = append(mp.Queries, q)
	}
	return mp
}

// promqlBalanced catches the PromQL mistakes that need no PromQL parser
// (Prometheus checks the rest when the query runs): a blank query,
// unbalanced brackets, an unterminated string. It returns "" when none.
func promqlBalanced(q string) string {
	if strings.TrimSpace(q) == "" {
		return "is blank"
	}
	var stack []rune
	closing := map[rune]rune{')': '(', ']': '[', '}': '{'}
	rs := []rune(q)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '"', '\'', '`':
			j := i + 1
			for ; j < len(rs) && rs[j] != c; j++ {
				if rs[j] == '\\' && c != '`' {
					j++
				}
			}
			if j >= len(rs) {
				return fmt.Sprintf("unterminated string %s", string(c))
			}
			i = j
		case '#': // a comment, to the end of the line
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case '(', '[', '{':
			stack = append(stack, c)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != closing[c] {
				return fmt.Sprintf("unexpected %q", c)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return fmt.Sprintf("unclosed %q", stack[len(stack)-1])
	}
	return ""
}

func (p *parser) thresholds(n *yaml.Node, monitored bool) []*Threshold {
	items, ok := p.list(n, "thresholds", true)
	if !ok {
		return nil
	}
	var out []*Threshold
	for _, it := range items {
		// A threshold is a string, or a map {threshold, abort_on_fail, grace}.
		var abort bool
		var grace time.Duration
		textNode := it
		if r := p.resolve(it); r != nil && r.Kind == yaml.MappingNode {
			f := p.fields(it, "threshold", thresholdKeys)
			e, ok := f["threshold"]
			if !ok {
				p.errorf(it, "threshold needs threshold: EXPRESSION")
				continue
			}
			textNode = e.val
			if a, ok := f["abort_on_fail"]; ok {
				abort, _ = p.bool(a.val, "abort_on_fail")
			}
			if g, ok := f["grace"]; ok {
				grace, _ = p.duration(g.val, "grace")
			}
		}
		text, ok := p.str(textNode, "threshold")
		if !ok {
			continue
		}
		t, err := ParseThreshold(text)
		if err != nil {
			p.errorf(textNode, "%s", err)
			continue
		}
		t.AbortOn, t.Grace = abort, grace
		if abort && (t.Stat == "degradation" || t.Stat == "target") {
			p.errorf(textNode, "threshold %q: abort_on_fail works with request statistics (p95, error_rate, rps...), not %s", text, t.Stat)
			continue
		}
		if t.Stat == "target" {
			if !slices.Contains(TargetMetrics, t.Target) {
				p.errorf(it, "threshold %q: unknown target metric %q (known: %s)", text, t.Target, strings.Join(TargetMetrics, ", "))
				continue
			}
			if !monitored {
				p.errorf(it, "threshold %q: target.* metrics need a monitor: section that scrapes the target", text)
				continue
			}
		}
		t.Pos = p.pos(p.resolve(textNode))
		out = append(out, t)
	}
	return out
}

func (p *parser) load(n *yaml.Node) Load {
	var l Load
	f := p.fields(n, "load", loadKeys)
	if e, ok := f["users"]; ok {
		if v, ok := p.int(e.val, "users"); ok {
			if v < 0 {
				p.errorf(e.val, "users must be >= 0, got %d", v)
			}
			l.Users = v
		}
	}
	if e, ok := f["spawn_rate"]; ok {
		if v, ok := p.float(e.val, "spawn_rate"); ok {
			if v < 0 {
				p.errorf(e.val, "spawn_rate must be >= 0, got %v", v)
			}
			l.SpawnRate = v
		}
	}
	if e, ok := f["run_time"]; ok {
		l.RunTime, _ = p.duration(e.val, "run_time")
	}
	if e, ok := f["stop_timeout"]; ok {
		l.StopTimeout, _ = p.duration(e.val, "stop_timeout")
	}
	l.Pos = p.pos(p.resolve(n))
	if e, ok := f["rate"]; ok {
		l.Open = true
		if v, ok := p.float(e.val, "rate"); ok {
			if v < 0 {
				p.errorf(e.val, "rate must be >= 0, got %v", v)
			}
			l.Rate = v
		}
		if _, both := f["users"]; both {
			p.errorf(e.key, "rate (open model) and users (closed model) exclude each other: choose one")
		}
	}
	for _, k := range []string{"pre_allocated_vus", "max_vus"} {
		e, ok := f[k]
		if !ok {
			continue
		}
		if !l.Open {
			p.errorf(e.key, "%s needs rate: (the open model)", k)
		}
		if v, ok := p.int(e.val, k); ok {
			if v < 0 {
				p.errorf(e.val, "%s must be >= 0, got %d", k, v)
			}
			if k == "max_vus" {
				l.MaxVUs = v
			} else {
				l.PreAllocatedVUs = v
			}
		}
	}
	if l.MaxVUs > 0 && l.PreAllocatedVUs > l.MaxVUs {
		p.errorf(f["max_vus"].val, "max_vus (%d) is below pre_allocated_vus (%d)", l.MaxVUs, l.PreAllocatedVUs)
	}
	shapes := 0
	if e, ok := f["stages"]; ok {
		shapes++
		items, _ := p.list(e.val, "stages", false)
		for _, it := range items {
			sf := p.fields(it, "stage", stageKeys)
			if sf == nil {
				continue
			}
			var st shape.Stage
			if d, ok := sf["duration"]; ok {
				if v, ok := p.duration(d.val, "duration"); ok {
					if v <= 0 {
						p.errorf(d.val, "stage duration must be > 0")
					}
					st.Duration = v
				}
			} else {
				p.errorf(it, "stage needs a duration")
			}
			if tg, ok := sf["target"]; ok {
				if v, ok := p.float(tg.val, "target"); ok {
					if v < 0 {
						p.errorf(tg.val, "stage target must be >= 0, got %v", v)
					}
					st.Target = v
				}
			} else {
				p.errorf(it, "stage needs a target")
			}
			l.Stages = append(l.Stages, st)
		}
	}
	if e, ok := f["cycle"]; ok {
		shapes++
		cf := p.fields(e.val, "cycle", cycleKeys)
		c := &shape.Cycle{}
		if cf != nil {
			for _, k := range cycleKeys {
				if _, ok := cf[k]; !ok {
					p.errorf(e.val, "cycle needs %s", k)
				}
			}
			if v, ok := cf["min"]; ok {
				c.Min, _ = p.float(v.val, "min")
			}
			if v, ok := cf["max"]; ok {
				c.Max, _ = p.float(v.val, "max")
			}
			if v, ok := cf["period"]; ok {
				c.Period, _ = p.duration(v.val, "period")
			}
			if c.Min < 0 || c.Max < c.Min {
				p.errorf(e.val, "cycle wants 0 <= min <= max, got min %v, max %v", c.Min, c.Max)
			}
			if _, ok := cf["period"]; ok && c.Period <= 0 {
				p.errorf(cf["period"].val, "cycle period must be > 0")
			}
		}
		l.Cycle = c
	}
	if e, ok := f["spike"]; ok {
		shapes++
		sf := p.fields(e.val, "spike", spikeKeys)
		sp := &shape.Spike{}
		if sf != nil {
			for _, k := range spikeKeys {
				if _, ok := sf[k]; !ok {
					p.errorf(e.val, "spike needs %s", k)
				}
			}
			if v, ok := sf["base"]; ok {
				sp.Base, _ = p.float(v.val, "base")
			}
			if v, ok := sf["peak"]; ok {
				sp.Peak, _ = p.float(v.val, "peak")
			}
			if v, ok := sf["at"]; ok {
				sp.At, _ = p.duration(v.val, "at")
			}
			if v, ok := sf["duration"]; ok {
				sp.Duration, _ = p.duration(v.val, "duration")
				if sp.Duration <= 0 {
					p.errorf(v.val, "spike duration must be > 0")
				}
			}
			if sp.Base < 0 || sp.Peak < 0 {
				p.errorf(e.val, "spike base and peak must be >= 0")
			}
		}
		l.Spike = sp
	}
	if shapes > 1 {
		p.errorf(n, "stages, cycle and spike exclude each other: choose one")
	}
	return l
}

// Shape returns the load shape the section describes, with users (closed)
// or rate (open) as the starting value.
func (l Load) Shape() shape.Shape {
	s := shape.Shape{Open: l.Open, Stages: l.Stages, Cycle: l.Cycle, Spike: l.Spike, Start: float64(l.Users)}
	if l.Open {
		s.Start = l.Rate
	}
	return s
}

func (p *parser) classes(n *yaml.Node) []*Class {
	items, ok := p.list(n, "users", false)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorf(n, "users is empty: add at least one user class")
		return nil
	}
	var out []*Class
	names := map[string]*yaml.Node{}
	for _, it := range items {
		c := p.class(it)
		if c == nil {
			continue
		}
		if first, dup := names[c.Name]; dup && c.Name != "" {
			p.errorAt(c.Pos, "duplicate user name %q (first at line %d)", c.Name, first.Line)
		} else {
			names[c.Name] = it
		}
		out = append(out, c)
	}
	return out
}

func (p *parser) class(n *yaml.Node) *Class {
	f := p.fields(n, "user", classKeys)
	if f == nil {
		return nil
	}
	c := &Class{Weight: 1, Pos: p.pos(p.resolve(n))}
	label := "user"
	if e, ok := f["name"]; ok {
		if s, ok := p.str(e.val, "name"); ok {
			c.Name = s
			c.Pos = p.pos(p.resolve(e.val))
			label = fmt.Sprintf("user %q", s)
		}
	} else {
		p.errorf(p.resolve(n), "user has no name: add name:")
	}
	if e, ok := f["weight"]; ok {
		if v, ok := p.int(e.val, "weight"); ok {
			if v <= 0 {
				p.errorf(e.val, "weight must be > 0, got %d", v)
			}
			c.Weight = v
		}
	}
	if e, ok := f["count"]; ok {
		if v, ok := p.int(e.val, "count"); ok {
			if v < 0 {
				p.errorf(e.val, "count must be >= 0, got %d", v)
			}
			c.Count = v
		}
	}
	if e, ok := f["wait"]; ok {
		c.Wait = p.wait(e.val)
	}
	if e, ok := f["sequential"]; ok {
		c.Sequential, _ = p.bool(e.val, "sequential")
	}
	if e, ok := f["feed"]; ok {
		items, _ := p.list(e.val, "feed", true)
		for _, it := range items {
			name, ok := p.str(it, "feeder name")
			if !ok {
				continue
			}
			if !p.feeders[name] {
				msg := fmt.Sprintf("unknown feeder %q in feed", name)
				if s := suggest(name, sortedKeys(p.feeders)); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				} else if len(p.feeders) == 0 {
					msg += "; declare it under data:"
				}
				p.errorf(it, "%s", msg)
				continue
			}
			if slices.Contains(c.Feeds, name) {
				p.errorf(it, "feeder %q is fed twice", name)
				continue
			}
			c.Feeds = append(c.Feeds, name)
		}
	}
	if e, ok := f["on_start"]; ok {
		c.OnStart = p.requests(e.val, "on_start")
	}
	if e, ok := f["on_stop"]; ok {
		c.OnStop = p.requests(e.val, "on_stop")
	}
	if e, ok := f["tasks"]; ok {
		items, ok := p.list(e.val, "tasks", false)
		if ok && len(items) == 0 {
			p.errorf(e.val, "%s has no tasks: tasks is empty", label)
		}
		for i, it := range items {
			if t := p.task(it, i+1); t != nil {
				c.Tasks = append(c.Tasks, t)
			}
		}
	} else {
		p.errorf(p.resolve(n), "%s has no tasks: add tasks:", label)
	}
	return c
}

func (p *parser) wait(n *yaml.Node) horde.Wait {
	ps, ok := p.pairs(n, "wait")
	if !ok {
		return horde.Wait{}
	}
	if len(ps) == 0 {
		p.errorf(n, "wait is empty: want constant, between or pacing")
		return horde.Wait{}
	}
	var w horde.Wait
	for i, e := range ps {
		if !slices.Contains(waitKinds, e.name) {
			msg := fmt.Sprintf("unknown wait kind %q; want constant, between or pacing", e.name)
			if s := suggest(e.name, waitKinds); s != "" {
				msg = fmt.Sprintf("unknown wait kind %q; did you mean %q?", e.name, s)
			}
			p.errorf(e.key, "%s", msg)
			continue
		}
		if i > 0 {
			p.errorf(e.key, "wait has both %s and %s; use one", ps[0].name, e.name)
			continue
		}
		switch e.name {
		case "constant":
			d, _ := p.duration(e.val, "constant")
			w = horde.Constant(d)
		case "pacing":
			d, _ := p.duration(e.val, "pacing")
			w = horde.Pacing(d)
		case "between":
			r := p.resolve(e.val)
			if r == nil || r.Kind != yaml.SequenceNode || len(r.Content) != 2 {
				got := "nothing"
				if r != nil {
					got = kindName(r)
					if r.Kind == yaml.SequenceNode {
						got = fmt.Sprintf("a list of %d", len(r.Content))
					}
				}
				p.errorf(e.val, "between must be [min, max], got %s", got)
				continue
			}
			lo, ok1 := p.duration(r.Content[0], "between min")
			hi, ok2 := p.duration(r.Content[1], "between max")
			if ok1 && ok2 && lo > hi {
				p.errorf(e.val, "between min %v is greater than max %v", lo, hi)
			}
			w = horde.Between(lo, hi)
		}
	}
	return w
}

func (p *parser) requests(n *yaml.Node, what string) []*Step {
	items, ok := p.list(n, what, false)
	if !ok {
		return nil
	}
	var out []*Step
	for _, it := range items {
		f := p.fields(it, "request", requestKeys)
		if f == nil {
			continue
		}
		if s := p.request(it, f); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) task(n *yaml.Node, index int) *Task {
	ps, ok := p.pairs(n, "task")
	if !ok {
		return nil
	}
	hasSteps := slices.ContainsFunc(ps, func(e pair) bool { return e.name == "steps" })
	known := taskKeys
	what := "task"
	if hasSteps {
		known, what = stepsTaskKeys, "task with steps"
	}
	f := map[string]pair{}
	for _, e := range ps {
		if !slices.Contains(known, e.name) {
			if hasSteps && slices.Contains(requestKeys, e.name) {
				p.errorf(e.key, "%s cannot have %s: move the request into steps", what, e.name)
				continue
			}
			p.unknownKey(e.key, e.name, what, known)
			continue
		}
		f[e.name] = e
	}
	t := &Task{Weight: 1}
	if e, ok := f["weight"]; ok {
		if v, ok := p.int(e.val, "weight"); ok {
			if v <= 0 {
				p.errorf(e.val, "weight must be > 0, got %d", v)
			}
			t.Weight = v
		}
	}
	if !hasSteps {
		s := p.request(n, f)
		if s == nil {
			return nil
		}
		t.Steps = []*Step{s}
		t.Name = s.Name
		if t.Name == "" {
			t.Name = s.Method + " " + s.URL.String()
		}
		return t
	}
	if e, ok := f["name"]; ok {
		t.Name, _ = p.str(e.val, "name")
	}
	if t.Name == "" {
		t.Name = fmt.Sprintf("task %d", index)
	}
	t.Steps = p.requests(f["steps"].val, "steps")
	if r := p.resolve(f["steps"].val); r != nil && r.Kind == yaml.SequenceNode && len(r.Content) == 0 {
		p.errorf(f["steps"].val, "steps is empty: add at least one request")
	}
	return t
}

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
	if u, ok := p.str(method.val, method.name+" url"); ok {
		s.URL = p.template(method.val, u)
		if st, ok := s.URL.Static(); ok && s.URL != nil && !strings.HasPrefix(st, "/") && !isHTTPURL(st) {
			p.errorf(method.val, "url %q must start with / or be an absolute http:// or https:// URL", st)
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
		}
	}
	if e, ok := f["content_type"]; ok {
		if ct, ok := p.str(e.val, "content_type"); ok {
			if body == nil {
				p.errorf(e.key, "content_type without a body: add json, form or body")
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
		n := 0
		for _, s := range src {
			if !slices.Contains(captureKinds, s.name) {
				p.unknownKey(s.key, s.name, "capture", captureKinds)
				continue
			}
			if n++; n > 1 {
				p.errorf(s.key, "capture %s has two sources; use one of json, header or regex", e.name)
				continue
			}
			v, ok := p.str(s.val, s.name)
			if !ok {
				continue
			}
			c.src = v
			switch s.name {
			case "json":
				c.kind = captureJSON
				path, err := parseJSONPath(v)
				if err != nil {
					p.errorf(s.val, "bad json path %q: %s", v, err)
					continue
				}
				c.path = path
			case "header":
				c.kind, c.header = captureHeader, v
			case "regex":
				re, err := regexp.Compile(v)
				if err != nil {
					p.errorf(s.val, "bad regex %q: %s", v, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
					continue
				}
				c.kind, c.re = captureRegex, re
			}
		}
		if n == 0 {
			if len(src) == 0 {
				p.errorf(e.val, "capture %s has no source: want json, header or regex", e.name)
			}
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
			b := &jsonBuilder{p: p, budget: maxJSONNodes}
			b.value(jp.val, 0)
			if b.failed {
				continue
			}
			text := b.src.String()
			d := json.NewDecoder(strings.NewReader(text))
			d.UseNumber()
			var want any
			if err := d.Decode(&want); err != nil {
				p.errorf(jp.val, "expected value is not JSON: %s", err)
				continue
			}
			out = append(out, &Check{kind: checkJSON, text: jp.name, path: path, want: want, wantText: text, pos: p.pos(jp.key)})
		}
	}
	return out
}

// template compiles text found in scalar n, placing errors inside it.
func (p *parser) template(n *yaml.Node, text string) *Template {
	t, err := compileTemplate(text, p.rt)
	if err != nil {
		p.errorAt(p.templatePos(n, text, err), "%s", err.msg)
		return nil
	}
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
