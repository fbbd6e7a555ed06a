package monitor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/horde-load/horde/internal/stats"
)

// The Grafana dashboard in deploy/grafana must not drift from the code:
// every metric a panel or a variable queries is one horde's exporter
// serves (with the labels it has, and quantiles it exports) or a target
// metric documented in docs/monitoring.md.

const (
	dashboardFile = "../../deploy/grafana/horde-dashboard.json"
	kustomizeFile = "../../deploy/grafana/kustomization.yaml"
	helmCopy      = "../../deploy/helm/horde/dashboards/horde-dashboard.json"
	monitoringDoc = "../../docs/monitoring.md"
)

// promSelector is one metric named in a PromQL expression, with its
// label matchers (name → value).
type promSelector struct {
	metric   string
	matchers map[string]string
}

// promExpr is what the dashboard test needs of a PromQL expression: the
// metrics it reads and the labels it groups by. A tokenizer, not a
// parser: strings, ranges and $variables are skipped, an identifier
// followed by "(" is a function, one after by/without/on/ignoring/group_*
// a label list.
type promExpr struct {
	selectors []promSelector
	grouping  []string
}

var promKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
}

// promAggregations may be followed by by/without before their "(".
var promAggregations = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
}

var promGrouping = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdent(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func parsePromExpr(t *testing.T, q string) promExpr {
	t.Helper()
	var e promExpr
	skipSpace := func(i int) int {
		for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n') {
			i++
		}
		return i
	}
	readString := func(i int) (string, int) { // q[i] is the quote
		quote := q[i]
		j := i + 1
		for j < len(q) && q[j] != quote {
			if q[j] == '\\' && quote != '`' {
				j++
			}
			j++
		}
		if j >= len(q) {
			t.Fatalf("%s: unterminated string", q)
		}
		s, err := strconv.Unquote(string('"') + strings.ReplaceAll(q[i+1:j], `"`, `\"`) + string('"'))
		if err != nil {
			s = q[i+1 : j]
		}
		return s, j + 1
	}
	readIdent := func(i int) (string, int) {
		j := i
		for j < len(q) && isIdent(q[j]) {
			j++
		}
		return q[i:j], j
	}
	// matchers reads {a="x", b=~"y"} from q[i] == '{'.
	matchers := func(i int) (map[string]string, int) {
		m := map[string]string{}
		i++
		for {
			i = skipSpace(i)
			if i >= len(q) {
				t.Fatalf("%s: unclosed {", q)
			}
			if q[i] == '}' {
				return m, i + 1
			}
			if q[i] == ',' {
				i++
				continue
			}
			name, j := readIdent(i)
			if name == "" {
				t.Fatalf("%s: bad matcher at %d", q, i)
			}
			j = skipSpace(j)
			for j < len(q) && strings.IndexByte("=!~", q[j]) >= 0 {
				j++
			}
			j = skipSpace(j)
			if j >= len(q) || strings.IndexByte("\"'`", q[j]) < 0 {
				t.Fatalf("%s: matcher %s has no string value", q, name)
			}
			m[name], i = readString(j)
		}
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			_, i = readString(i)
		case c == '[':
			i = strings.IndexByte(q[i:], ']') + i + 1
		case c == '$':
			_, i = readIdent(i + 1)
		case c >= '0' && c <= '9' || c == '.':
			for i < len(q) && (isIdent(q[i]) || q[i] == '.') {
				i++
			}
		case c == '{': // a selector without a metric name
			_, i = matchers(i)
		case isIdentStart(c):
			word, j := readIdent(i)
			k := skipSpace(j)
			switch {
			case promGrouping[word]:
				if k < len(q) && q[k] == '(' {
					end := strings.IndexByte(q[k:], ')') + k
					for _, l := range strings.Split(q[k+1:end], ",") {
						if l = strings.TrimSpace(l); l != "" {
							e.grouping = append(e.grouping, l)
						}
					}
					k = end + 1
				}
				i = k
			case promKeywords[strings.ToLower(word)] || promAggregations[word]:
				i = j
			case k < len(q) && q[k] == '(':
				i = k // a function or an aggregation
			default:
				sel := promSelector{metric: word}
				i = j
				if j < len(q) && q[j] == '{' {
					sel.matchers, i = matchers(j)
				}
				e.selectors = append(e.selectors, sel)
			}
		default:
			i++
		}
	}
	return e
}

func TestParsePromExpr(t *testing.T) {
	e := parsePromExpr(t, `sum by (name, method) (rate(horde_requests_total{job=~"$horde_job", name!="a,b}"}[$__rate_interval])) / on(job) group_left max(x) offset 5m > 0.5`)
	got := []string{}
	for _, s := range e.selectors {
		got = append(got, s.metric)
	}
	if !slices.Equal(got, []string{"horde_requests_total", "x"}) || !slices.Equal(e.grouping, []string{"name", "method", "job"}) ||
		e.selectors[0].matchers["name"] != "a,b}" || e.selectors[0].matchers["job"] != "$horde_job" {
		t.Errorf("got %v %v %v", got, e.grouping, e.selectors)
	}
}

// exported gathers what horde's /metrics serves: metric name → label
// names, and summary name → quantiles.
func exported(t *testing.T) (labels, quantiles map[string][]string) {
	t.Helper()
	snap := &stats.Snapshot{Entries: []stats.Entry{{
		Method: "GET", Name: "/api/items", Requests: 10, Failures: 2, AvgMs: 20,
		Percentiles: []float64{10, 12, 15, 18, 30, 60, 100, 150, 240, 251, 251},
	}}}
	st := stats.New(time.Unix(1700000000, 0))
	r := stats.NewRecorder(1)
	r.Record(0, &stats.Sample{Method: "GET", Name: "/api/items", Duration: 20 * time.Millisecond, Bytes: 0, WireBytes: 0})
	st.Add(r.Flush(time.Unix(1700000000, 0), time.Unix(1700000001, 0)))
	e, err := NewExporter(fakeSource{snap: snap, st: st}, Histogram{})
	if err != nil {
		t.Fatal(err)
	}
	fams, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels, quantiles = map[string][]string{}, map[string][]string{}
	for _, f := range fams {
		var names []string
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(names, l.GetName()) {
					names = append(names, l.GetName())
				}
			}
			for _, q := range m.GetSummary().GetQuantile() {
				if s := strconv.FormatFloat(q.GetQuantile(), 'f', -1, 64); !slices.Contains(quantiles[f.GetName()], s) {
					quantiles[f.GetName()] = append(quantiles[f.GetName()], s)
				}
			}
		}
		labels[f.GetName()] = names
		if f.GetType().String() == "SUMMARY" {
			labels[f.GetName()] = append(slices.Clone(names), "quantile")
			labels[f.GetName()+"_sum"] = names
			labels[f.GetName()+"_count"] = names
		}
		if f.GetType().String() == "HISTOGRAM" {
			labels[f.GetName()+"_bucket"] = append(slices.Clone(names), "le")
			labels[f.GetName()+"_sum"] = names
			labels[f.GetName()+"_count"] = names
		}
	}
	return labels, quantiles
}

// dashboardQueries returns every PromQL expression of the dashboard: the
// panels' targets (rows included) and the query variables.
func dashboardQueries(t *testing.T, dash map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	var panels func(ps []any)
	panels = func(ps []any) {
		for _, p := range ps {
			pm := p.(map[string]any)
			title, _ := pm["title"].(string)
			if ds, ok := pm["datasource"].(map[string]any); ok && ds["uid"] != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q: datasource %v, want uid ${DS_PROMETHEUS}", title, ds)
			}
			for i, tg := range asList(pm["targets"]) {
				tm := tg.(map[string]any)
				expr, _ := tm["expr"].(string)
				if expr == "" {
					t.Errorf("panel %q: target %d has no expr", title, i)
				}
				if ds, _ := tm["datasource"].(map[string]any); ds["uid"] != "${DS_PROMETHEUS}" {
					t.Errorf("panel %q target %d: datasource %v, want uid ${DS_PROMETHEUS}", title, i, ds)
				}
				out["panel "+title+" "+strconv.Itoa(i)] = expr
			}
			panels(asList(pm["panels"]))
		}
	}
	panels(asList(dash["panels"]))
	tmpl, _ := dash["templating"].(map[string]any)
	for _, v := range asList(tmpl["list"]) {
		vm := v.(map[string]any)
		if vm["type"] != "query" {
			continue
		}
		q := vm["query"]
		if qm, ok := q.(map[string]any); ok {
			q = qm["query"]
		}
		out["variable "+vm["name"].(string)] = q.(string)
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

var labelValuesRE = regexp.MustCompile(`^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)

func TestDashboard_MetricsExist(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if v, _ := dash["schemaVersion"].(float64); v < 39 {
		t.Errorf("schemaVersion %v, want >= 39", dash["schemaVersion"])
	}
	doc, err := os.ReadFile(monitoringDoc)
	if err != nil {
		t.Fatal(err)
	}
	labels, quantiles := exported(t)
	always := []string{"job", "instance"} // added by Prometheus to every series
	used := map[string]bool{}
	for where, q := range dashboardQueries(t, dash) {
		var valuesOf string
		if m := labelValuesRE.FindStringSubmatch(q); m != nil {
			q, valuesOf = m[1], m[2]
		}
		e := parsePromExpr(t, q)
		if len(e.selectors) == 0 {
			t.Errorf("%s: %q reads no metric", where, q)
		}
		horde := true
		var have []string // label names of the horde metrics in the expression
		for _, s := range e.selectors {
			used[s.metric] = true
			ls, ok := labels[s.metric]
			if !ok {
				horde = false
				if strings.HasPrefix(s.metric, "horde_") && !strings.HasPrefix(s.metric, "horde_target_") {
					t.Errorf("%s: %s is not served by horde's exporter (internal/monitor/export.go)", where, s.metric)
				} else if !bytes.Contains(doc, []byte("`"+s.metric+"`")) {
					t.Errorf("%s: %s is neither served by horde's exporter nor a target metric documented in docs/monitoring.md", where, s.metric)
				}
				continue
			}
			have = append(have, ls...)
			for l, v := range s.matchers {
				if !slices.Contains(ls, l) && !slices.Contains(always, l) {
					t.Errorf("%s: %s has no label %q (it has %v)", where, s.metric, l, ls)
				}
				if l == "quantile" && !slices.Contains(quantiles[s.metric], v) {
					t.Errorf("%s: %s{quantile=%q} is not exported (quantiles: %v)", where, s.metric, v, quantiles[s.metric])
				}
			}
		}
		if !horde { // a target's labels are the target's business
			continue
		}
		for _, l := range append(e.grouping, valuesOf) {
			if l != "" && !slices.Contains(have, l) && !slices.Contains(always, l) {
				t.Errorf("%s: no metric of %q has the label %q", where, q, l)
			}
		}
	}
	// The panels the issue asks for.
	for _, m := range []string{
		"horde_users", "horde_requests_total", "horde_request_failures_total", "horde_request_duration_seconds_bucket", "horde_request_duration_run_seconds", "horde_workers",
		"process_resident_memory_bytes", "container_memory_usage_bytes", "process_cpu_seconds_total", "container_cpu_usage_seconds_total",
	} {
		if !used[m] {
			t.Errorf("the dashboard has no panel of %s", m)
		}
	}
	if b, err := os.ReadFile(helmCopy); err == nil && !bytes.Equal(b, raw) {
		t.Errorf("%s differs from %s: copy it over", helmCopy, dashboardFile)
	}
}

func TestDashboard_Kustomization(t *testing.T) {
	raw, err := os.ReadFile(kustomizeFile)
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Namespace          string `yaml:"namespace"`
		ConfigMapGenerator []struct {
			Name    string   `yaml:"name"`
			Files   []string `yaml:"files"`
			Options struct {
				DisableNameSuffixHash bool              `yaml:"disableNameSuffixHash"`
				Labels                map[string]string `yaml:"labels"`
			} `yaml:"options"`
		} `yaml:"configMapGenerator"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	if k.Namespace != "load-testing" || len(k.ConfigMapGenerator) != 1 {
		t.Fatalf("kustomization: %+v", k)
	}
	g := k.ConfigMapGenerator[0]
	if g.Name != "horde-grafana-dashboard" || !g.Options.DisableNameSuffixHash || g.Options.Labels["grafana_dashboard"] != "1" ||
		!slices.Contains(g.Files, filepath.Base(dashboardFile)) {
		t.Errorf("configMapGenerator: %+v", g)
	}
}
