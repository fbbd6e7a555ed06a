package scenario

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse_MonitorPrometheus(t *testing.T) {
	src := `host: http://127.0.0.1:1
monitor:
  interval: 5s
  prometheus:
    url: http://127.0.0.1:9090/
    queries:
      - {name: memory, query: 'sum(container_memory_usage_bytes{pod=~"my-app-.*"})'}
      - name: cpu
        query: sum(rate(container_cpu_usage_seconds_total{pod=~"my-app-.*"}[1m]))
      - {name: failcnt, query: 'rate(container_memory_failures_total[5m])', memory: false}
thresholds: ["target.memory_growth < 10%"]
` + loadUsers
	p, err := Parse("m.yaml", ".", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := Monitor{
		Interval: 5 * time.Second,
		Prometheus: MonitorPrometheus{URL: "http://127.0.0.1:9090", Queries: []MonitorQuery{
			{Name: "memory", Query: `sum(container_memory_usage_bytes{pod=~"my-app-.*"})`, Pos: Pos{"m.yaml", 7, 9}},
			{Name: "cpu", Query: `sum(rate(container_cpu_usage_seconds_total{pod=~"my-app-.*"}[1m]))`, Pos: Pos{"m.yaml", 8, 9}},
			{Name: "failcnt", Query: `rate(container_memory_failures_total[5m])`, Memory: &no, Pos: Pos{"m.yaml", 10, 9}},
		}},
		Pos: Pos{"m.yaml", 3, 3},
	}
	if diff := cmp.Diff(want, p.Monitor); diff != "" {
		t.Errorf("monitor (-want +got):\n%s", diff)
	}
	if len(p.Thresholds) != 1 {
		t.Errorf("a prometheus: monitor alone allows target.* thresholds: %+v", p.Thresholds)
	}
}

func TestParse_MonitorPrometheusErrors(t *testing.T) {
	const head = "host: http://x\n" + loadUsers + "monitor:\n  prometheus:\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown key", head + "    url: http://p:9090\n    querys: [{name: a, query: up}]\n", []string{
			`8:5: prometheus needs queries: a list of {name: NAME, query: PROMQL}`,
			`9:5: unknown key "querys" in prometheus; did you mean "queries"?`,
		}},
		{"typo in monitor", "host: http://x\n" + loadUsers + "monitor:\n  prometeus: {url: http://p}\n",
			[]string{`7:3: unknown key "prometeus" in monitor; did you mean "prometheus"?`}},
		{"not a mapping", head[:len(head)-1] + " http://p:9090\n", []string{`7:15: prometheus must be a mapping, got a string ("http://p:9090")`}},
		{"no url", head + "    queries: [{name: a, query: up}]\n", []string{"8:5: prometheus needs a url: the server, e.g. http://prometheus:9090"}},
		{"bad url", head + "    url: localhost:9090\n    queries: [{name: a, query: up}]\n",
			[]string{`8:10: prometheus url "localhost:9090" is not an http(s) URL (want http://host:9090)`}},
		{"ftp url", head + "    url: ftp://p\n    queries: [{name: a, query: up}]\n",
			[]string{`8:10: prometheus url "ftp://p" is not an http(s) URL (want http://host:9090)`}},
		{"queries empty", head + "    url: http://p\n    queries: []\n", []string{"9:14: queries is empty: add at least one {name: NAME, query: PROMQL}"}},
		{"bad kind", head + "    url: http://p\n    queries: [{name: a, query: up, kind: rss-ish}]\n", []string{`9:42: kind "rss-ish": want heap (a garbage-collected heap), os (RSS, working set), count or auto`}},
		{"queries a string", head + "    url: http://p\n    queries: up\n", []string{`9:14: queries must be a list, got a string ("up")`}},
		{"query a string", head + "    url: http://p\n    queries: [up]\n", []string{`9:15: query must be a mapping, got a string ("up")`}},
		{"empty query", head + "    url: http://p\n    queries:\n      - {name: a, query: ''}\n", []string{"10:26: query is empty"}},
		{"blank query", head + "    url: http://p\n    queries:\n      - {name: a, query: '  '}\n", []string{`10:26: query "  ": is blank`}},
		{"no query", head + "    url: http://p\n    queries:\n      - {name: a}\n", []string{"10:9: query needs query: PROMQL"}},
		{"no name", head + "    url: http://p\n    queries:\n      - {query: up}\n", []string{"10:9: query needs a name: it names the series in the run"}},
		{"bad name", head + "    url: http://p\n    queries:\n      - {name: 'my memory', query: up}\n",
			[]string{`10:16: query name "my memory" must be letters, digits and _, not starting with a digit`}},
		{"duplicate name", head + "    url: http://p\n    queries:\n      - {name: a, query: up}\n      - {name: a, query: up}\n",
			[]string{`11:16: duplicate query name "a" (first at line 10)`}},
		{"unknown query key", head + "    url: http://p\n    queries:\n      - {name: a, qeury: up}\n", []string{
			"10:9: query needs query: PROMQL",
			`10:19: unknown key "qeury" in query; did you mean "query"?`,
		}},
		{"memory not bool", head + "    url: http://p\n    queries:\n      - {name: a, query: up, memory: yes}\n",
			[]string{`10:38: memory must be true or false, got a string ("yes")`}},
		{"unclosed paren", head + "    url: http://p\n    queries:\n      - {name: a, query: 'sum(rate(x[1m])'}\n",
			[]string{`10:26: query "sum(rate(x[1m])": unclosed '('`}},
		{"unexpected brace", head + "    url: http://p\n    queries:\n      - {name: a, query: 'x{a=\"b\"}}'}\n",
			[]string{`10:26: query "x{a=\"b\"}}": unexpected '}'`}},
		{"unterminated string", head + "    url: http://p\n    queries:\n      - {name: a, query: 'x{a=\"b}'}\n",
			[]string{`10:26: query "x{a=\"b}": unterminated string "`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", ".", []byte(tt.src), Options{})
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v, want an ErrorList\nsource:\n%s", err, tt.src)
			}
			var got []string
			for _, e := range list {
				got = append(got, strings.TrimPrefix(e.Error(), "f.yaml:"))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nsource:\n%s", diff, tt.src)
			}
		})
	}
}

func TestPromqlBalanced(t *testing.T) {
	for q, want := range map[string]string{
		`sum(rate(container_cpu_usage_seconds_total{pod=~"my-app-.*"}[1m]))`: "",
		`x{a="(", b='[', c=` + "`{`" + `}`:                                   "",
		`x{a="\"("}`:                                                         "",
		"sum(x) # a comment with (\n":                                        "",
		`x{a="}`:                                                             `unterminated string "`,
		`(x]`:                                                                `unexpected ']'`,
		`)`:                                                                  `unexpected ')'`,
		`sum by (pod (x)`:                                                    `unclosed '('`,
		"":                                                                   "is blank",
	} {
		if got := promqlBalanced(q); got != want {
			t.Errorf("promqlBalanced(%q) = %q, want %q", q, got, want)
		}
	}
}
