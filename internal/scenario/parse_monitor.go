// This file parses monitor: (scrape, prometheus queries, process).

package scenario

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

func (p *parser) monitor(n *yaml.Node) Monitor {
	var m Monitor
	m.Pos = p.pos(p.resolve(n))
	f := p.fields(n, "monitor", monitorKeys)
	p.positiveDuration(f, "interval", "monitor interval", &m.Interval)
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
	if e, ok := f["limits"]; ok {
		// limits: {process_resident_memory_bytes: 512MiB, pool: 100}: the
		// limit of every series of that metric (or query name).
		if ps, ok := p.pairs(e.val, "limits"); ok {
			m.Limits = map[string]float64{}
			for _, kv := range ps {
				if raw, ok := p.str(kv.val, "limit of "+kv.name); ok {
					v, err := ParseLimit(raw)
					if err != nil {
						p.errorf(kv.val, "limits: %s: %v", kv.name, err)
						continue
					}
					m.Limits[kv.name] = v
				}
			}
		}
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
	queryKeys      = []string{"name", "query", "memory", "kind"}
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
		if e, ok := qf["kind"]; ok {
			if v, ok := p.str(e.val, "kind"); ok {
				switch v {
				case "heap", "os", "count", "auto":
					q.Kind = v
				default:
					p.errorf(e.val, "kind %q: want heap (a garbage-collected heap), os (RSS, working set), count or auto", v)
				}
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
