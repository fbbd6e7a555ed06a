package scenario

import (
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
	p := &parser{file: name, dir: dir, src: src, rt: defaultRuntime, opts: opts, transports: map[string]*Transport{}}
	plan := p.parse(opts)
	if len(p.errs) == 0 {
		if err := plan.selectTags(opts.Tags, opts.ExcludeTags); err != nil {
			return nil, err
		}
	}
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
	topKeys       = []string{"host", "defaults", "data", "load", "setup", "users", "teardown", "thresholds", "monitor"}
	monitorKeys   = []string{"interval", "scrape", "prometheus", "process", "limits"}
	thresholdKeys = []string{"threshold", "abort_on_fail", "grace"}
	scrapeKeys    = []string{"url", "metrics"}
	defaultsKeys  = append([]string{"headers", "timeout", "auth", "source_addrs"}, transportKeys...)
	feederKeys    = []string{"file", "mode", "prefetch"}
	loadKeys      = []string{"users", "spawn_rate", "run_time", "stop_timeout", "rate", "pre_allocated_vus", "max_vus", "stages", "cycle", "spike"}
	stageKeys     = []string{"duration", "target"}
	cycleKeys     = []string{"min", "max", "period"}
	spikeKeys     = []string{"base", "peak", "at", "duration"}
	classKeys     = []string{"name", "weight", "count", "wait", "feed", "sequential", "tags", "on_start", "tasks", "on_stop", "script"}
	waitKinds     = []string{"constant", "between", "pacing"}
	methodKeys    = []string{"get", "post", "put", "patch", "delete", "head", "options"}
	bodyKeys      = []string{"json", "form", "body", "body_file", "multipart"}
	requestKeys   = append(slices.Clone(methodKeys), "name", "headers", "query", "json", "form", "body",
		"body_file", "multipart", "content_type", "timeout", "capture", "check", "auth", "cookies",
		"follow_redirects", "on_failure", "tls", "http2", "proxy", "compression")
	taskKeys        = append(slices.Clone(requestKeys), "weight", "tags", "steps", "script")
	taskScriptKeys  = []string{"file", "function"}
	classScriptKeys = []string{"file", "user"}
	stepsTaskKeys   = []string{"weight", "name", "tags", "steps", "on_failure"}
	authKinds       = []string{"basic", "bearer"}
	multipartKeys   = []string{"fields", "files"}
	fileKeys        = []string{"file", "content_type", "filename"}
	failPolicies    = []string{FailContinue, FailStopTask}
	feedTimings     = []string{"per_user", "per_iteration"}
	captureKinds    = []string{"json", "header", "cookie", "regex"}
	checkKeys       = []string{"status", "body_contains", "json", "header", "max_duration"}
	headerCheckKeys = []string{"name", "equals", "matches"}
)

type parser struct {
	file, dir string
	src       []byte
	lines     [][]byte // src split in lines, on demand
	rt        *runtime
	errs      ErrorList

	opts       Options
	defHeaders []Param
	defTimeout time.Duration
	defSpec    transportSpec
	transports map[string]*Transport // by settings: steps alike share one
	defAuth    *Step                 // defaults: auth, compiled once (its Header and BasicUser/BasicPass)
	onFailure  string                // the task's on_failure while its steps are parsed
	feeders    map[string]bool       // every name under data:, loaded or not
	captured   map[string]bool       // every capture's variable
	varRefs    []varRef              // every variable a template reads, checked at the end
	grpc       grpcState
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
		col := 1
		if hl, hc, hint, ok := yamlHint(p.src); ok && hl >= line {
			line, col, msg = hl, hc, hint
		}
		p.errorAt(Pos{File: p.file, Line: line, Col: col}, "%s", msg)
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
		if !isHostURL(opts.Host) {
			p.errorAt(p.pos(nil), "host %q (from -H) is not an http://, https://, mqtt:// or mqtts:// URL", opts.Host)
		}
		plan.Host = strings.TrimRight(opts.Host, "/")
	}
	if n := f["host"].val; n != nil {
		if s, ok := p.str(n, "host"); ok {
			if !isHostURL(s) {
				p.errorf(n, "host %q is not an http://, https://, mqtt:// or mqtts:// URL", s)
			} else if plan.Host == "" {
				plan.Host = strings.TrimRight(s, "/")
			}
		}
	} else if opts.Host == "" {
		p.errorAt(p.pos(nil), "host is missing: set host: in the file or pass -H")
	}

	if n := f["defaults"].val; n != nil {
		plan.SourceAddrs = p.defaults(n)
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
	if e, ok := f["setup"]; ok {
		plan.Setup = p.requests(e.val, "setup")
	}
	if e, ok := f["teardown"]; ok {
		plan.Teardown = p.requests(e.val, "teardown")
	}
	if n := f["users"].val; n != nil {
		plan.Classes = p.classes(n)
	} else {
		p.errorAt(p.pos(nil), "users is missing: add a users: list with at least one user class")
	}
	p.checkVarRefs(plan)
	p.checkMQTTHost(plan)                            // parse_mqtt.go
	plan.Files = append(plan.Files, p.grpc.files...) // the .proto files gRPC steps read
	return plan
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isHostURL reports whether s can be the host: an HTTP URL, or an MQTT
// broker's (mqtt://, mqtts://) for scenarios of MQTT devices.
func isHostURL(s string) bool {
	u, err := url.Parse(s)
	return isHTTPURL(s) || err == nil && (u.Scheme == "mqtt" || u.Scheme == "mqtts") && u.Host != ""
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
// positiveInt sets *dst to the integer field key of f, if there, which
// must be above zero.
func (p *parser) positiveInt(f map[string]pair, key string, dst *int) {
	p.intField(f, key, dst, func(v int) bool { return v > 0 }, "> 0")
}

// nonNegativeInt sets *dst to the integer field key of f, if there, which
// must not be below zero.
func (p *parser) nonNegativeInt(f map[string]pair, key string, dst *int) {
	p.intField(f, key, dst, func(v int) bool { return v >= 0 }, ">= 0")
}

func (p *parser) intField(f map[string]pair, key string, dst *int, good func(int) bool, want string) {
	e, ok := f[key]
	if !ok {
		return
	}
	if v, ok := p.int(e.val, key); ok {
		if !good(v) {
			p.errorf(e.val, "%s must be %s, got %d", key, want, v)
		}
		*dst = v
	}
}

// positiveDuration sets *dst to the duration field key of f, if there,
// which must be above zero (what names it in the error), and reports
// whether f has the field.
func (p *parser) positiveDuration(f map[string]pair, key, what string, dst *time.Duration) bool {
	e, ok := f[key]
	if !ok {
		return false
	}
	if d, ok := p.duration(e.val, key); ok {
		if d <= 0 {
			p.errorf(e.val, "%s must be > 0", what)
		}
		*dst = d
	}
	return true
}

// readField sets *dst to what read makes of the field key of f, when f
// has it (what read returns on an error too, as its callers want), and
// returns the field.
func readField[T any](f map[string]pair, key string, read func(*yaml.Node, string) (T, bool), dst *T) (pair, bool) {
	e, ok := f[key]
	if ok {
		*dst, _ = read(e.val, key)
	}
	return e, ok
}

// allFields are the fields of what at n, as fields reads them, with an
// error for each of known that is missing.
func (p *parser) allFields(n *yaml.Node, what string, known []string) map[string]pair {
	fs := p.fields(n, what, known)
	if fs == nil {
		return nil
	}
	for _, k := range known {
		if _, ok := fs[k]; !ok {
			p.errorf(n, "%s needs %s", what, k)
		}
	}
	return fs
}

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
	} else if slices.Contains(requestKeys, name) && !slices.Contains(methodKeys, name) {
		msg += fmt.Sprintf(" (%s: belongs to a request: is it indented less than the request above it?)", name)
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
	return decodeScalar(p, n, what, "an integer", func(tag string, _ int) bool { return tag == "!!int" })
}

func (p *parser) float(n *yaml.Node, what string) (float64, bool) {
	return decodeScalar(p, n, what, "a number", func(tag string, v float64) bool {
		return (tag == "!!int" || tag == "!!float") && !math.IsNaN(v) && !math.IsInf(v, 0)
	})
}

func (p *parser) bool(n *yaml.Node, what string) (bool, bool) {
	return decodeScalar(p, n, what, "true or false", func(tag string, _ bool) bool { return tag == "!!bool" })
}

// decodeScalar reads a scalar as a T, which valid must accept given the
// scalar's tag; want says what it must be in the error.
func decodeScalar[T any](p *parser, n *yaml.Node, what, want string, valid func(tag string, v T) bool) (T, bool) {
	var v T
	r, ok := p.scalar(n, what, want)
	if !ok {
		return v, false
	}
	if r.Decode(&v) != nil || !valid(r.ShortTag(), v) {
		p.errorf(n, "%s must be %s, got %s", what, want, kindName(r))
		var zero T
		return zero, false
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
