// This file writes the scenario's YAML, and keeps request JSON bodies in
// their recorded key order.

package har

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

type jsonKind int

const (
	jsonString jsonKind = iota
	jsonNumber
	jsonBool
	jsonNull
	jsonObject
	jsonArray
)

// jsonNode is a JSON value with its object keys in document order.
type jsonNode struct {
	kind  jsonKind
	text  string // string (a template), number or boolean text
	items []jsonItem
}

type jsonItem struct {
	key   string // objects only
	value *jsonNode
}

// parseJSONNode reads one JSON document, keeping key order and numbers'
// text.
func parseJSONNode(doc []byte) (*jsonNode, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	return readJSONNode(dec)
}

func readJSONNode(dec *json.Decoder) (*jsonNode, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		n := &jsonNode{kind: jsonObject}
		if x == '[' {
			n.kind = jsonArray
		}
		for dec.More() {
			var it jsonItem
			if n.kind == jsonObject {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				it.key, _ = k.(string)
			}
			if it.value, err = readJSONNode(dec); err != nil {
				return nil, err
			}
			// a repeated key: the last one wins, as in encoding/json
			if i := slices.IndexFunc(n.items, func(o jsonItem) bool { return n.kind == jsonObject && o.key == it.key }); i >= 0 {
				n.items[i].value = it.value
				continue
			}
			n.items = append(n.items, it)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return n, nil
	case string:
		return &jsonNode{kind: jsonString, text: x}, nil
	case json.Number:
		return &jsonNode{kind: jsonNumber, text: x.String()}, nil
	case bool:
		return &jsonNode{kind: jsonBool, text: strconv.FormatBool(x)}, nil
	default:
		return &jsonNode{kind: jsonNull}, nil
	}
}

func (n *jsonNode) yaml() *yaml.Node {
	switch n.kind {
	case jsonObject:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if len(n.items) == 0 {
			m.Style = yaml.FlowStyle
		}
		for _, it := range n.items {
			m.Content = append(m.Content, str(it.key), it.value.yaml())
		}
		return m
	case jsonArray:
		s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if len(n.items) == 0 {
			s.Style = yaml.FlowStyle
		}
		for _, it := range n.items {
			s.Content = append(s.Content, it.value.yaml())
		}
		return s
	case jsonNumber:
		tag := "!!int"
		if strings.ContainsAny(n.text, ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: n.text}
	case jsonBool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: n.text}
	case jsonNull:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	return str(n.text)
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func num(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func mapping(flow bool, kv ...*yaml.Node) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
	if flow {
		m.Style = yaml.FlowStyle
	}
	return m
}

func fields(fs []field) *yaml.Node {
	m := mapping(false)
	for _, f := range fs {
		k := str(f.name)
		k.LineComment = comment(f.comment)
		m.Content = append(m.Content, k, str(f.value))
	}
	return m
}

// fieldsMulti is fields with repeated names as lists (form fields).
func fieldsMulti(fs []field) *yaml.Node {
	m := mapping(false)
	index := map[string]int{}
	for _, f := range fs {
		if i, ok := index[f.name]; ok {
			v := m.Content[i+1]
			if v.Kind != yaml.SequenceNode {
				v = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Content: []*yaml.Node{v}}
				m.Content[i+1] = v
			}
			v.Content = append(v.Content, str(f.value))
			continue
		}
		index[f.name] = len(m.Content)
		m.Content = append(m.Content, str(f.name), str(f.value))
	}
	return m
}

func comment(s string) string {
	if s == "" {
		return ""
	}
	return "# " + s
}

func duration(d time.Duration) string { return d.String() }

func (s *step) yaml() *yaml.Node {
	if s.e == nil {
		return mapping(false, str("sleep"), str(duration(s.sleep)))
	}
	m := mapping(false, str(s.method), str(s.url))
	add := func(k string, v *yaml.Node) *yaml.Node {
		key := str(k)
		m.Content = append(m.Content, key, v)
		return key
	}
	if s.name != "" {
		add("name", str(s.name))
	}
	if len(s.headers) > 0 {
		add("headers", fields(s.headers))
	}
	if len(s.cookies) > 0 {
		add("cookies", fields(s.cookies))
	}
	switch s.body.kind {
	case "json":
		add("json", s.body.json.yaml())
	case "form":
		add("form", fieldsMulti(s.body.form))
	case "body":
		add("body", str(s.body.text))
	}
	if s.body.comment != "" {
		m.Content[0].LineComment = comment(s.body.comment)
	}
	if s.noFollow {
		add("follow_redirects", boolean(false))
	}
	if len(s.captures) > 0 {
		cm := mapping(false)
		for _, c := range s.captures {
			cm.Content = append(cm.Content, str(c.name), mapping(true, str(c.kind), str(c.path)))
		}
		add("capture", cm)
	}
	var status *yaml.Node
	if len(s.status) == 1 {
		status = num(s.status[0])
	} else {
		status = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, st := range s.status {
			status.Content = append(status.Content, num(st))
		}
	}
	add("check", mapping(true, str("status"), status))
	return m
}

func steps(ss []*step) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, s := range ss {
		n.Content = append(n.Content, s.yaml())
	}
	return n
}

// taskName is the page's title, or the first request.
func taskName(log *Log, ss []*step) string {
	for _, s := range ss {
		if s.e == nil {
			continue
		}
		for _, p := range log.Pages {
			if title := strings.TrimSpace(p.Title); p.ID != "" && p.ID == s.e.Pageref && title != "" {
				// Chromium titles a page without a <title> by its URL
				if u, err := url.Parse(title); err == nil && isHTTP(u) {
					return "page " + u.RequestURI()
				}
				return title
			}
		}
		name := s.name
		if name == "" {
			name = s.e.URL.EscapedPath()
		}
		if name == "" {
			name = "/"
		}
		return strings.ToUpper(s.method) + " " + name
	}
	return "task"
}

func (c *converter) emit(log *Log, _ [][]*Entry, onStart []*step, tasks [][]*step, onStop []*step, defaults []field) ([]byte, error) {
	head := []string{
		fmt.Sprintf("Converted by `horde convert` from %s", orDefault(c.opts.Source, "a HAR recording")),
	}
	if log.Creator.Name != "" {
		head[0] += fmt.Sprintf(" (recorded by %s %s)", log.Creator.Name, log.Creator.Version)
	}
	head = append(head, fmt.Sprintf("%d of %d entries kept as requests, in %d tasks run in order; %d values captured.",
		c.res.Requests, c.res.Entries, len(tasks), c.res.Captures))
	if len(c.res.Dropped) > 0 {
		var rs []string
		for r, n := range c.res.Dropped {
			rs = append(rs, fmt.Sprintf("%d %s", n, r))
		}
		sort.Strings(rs)
		head = append(head, "Left out:")
		for _, r := range rs {
			head = append(head, "  "+r)
		}
	}
	head = append(head, "Review the captures and the recorded values (credentials, ids) before a long run.")
	root := mapping(false)
	hostKey := str("host")
	hostKey.HeadComment = "# " + strings.Join(head, "\n# ")
	root.Content = append(root.Content, hostKey, str(c.main))
	if len(defaults) > 0 {
		root.Content = append(root.Content, str("defaults"), mapping(false, str("headers"), fields(defaults)))
	}
	user := mapping(false, str("name"), str(c.opts.Name))
	if len(tasks) > 1 {
		user.Content = append(user.Content, str("sequential"), boolean(true))
	}
	if len(onStart) > 0 {
		user.Content = append(user.Content, str("on_start"), steps(onStart))
	}
	ts := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	names := map[string]int{}
	for _, t := range tasks {
		name := taskName(log, t)
		names[name]++
		if n := names[name]; n > 1 {
			name = fmt.Sprintf("%s (%d)", name, n)
		}
		ts.Content = append(ts.Content, mapping(false, str("name"), str(name), str("steps"), steps(t)))
	}
	user.Content = append(user.Content, str("tasks"), ts)
	if len(onStop) > 0 {
		user.Content = append(user.Content, str("on_stop"), steps(onStop))
	}
	root.Content = append(root.Content, str("users"), &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{user}})
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
