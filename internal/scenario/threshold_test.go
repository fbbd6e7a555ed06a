package scenario

import (
	"strings"
	"testing"
	"time"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		text                           string
		stat, method, name, op, target string
		pct, value                     float64
	}{
		{text: "p95(/api/items) < 300ms", stat: "p", name: "/api/items", op: "<", pct: 0.95, value: 300},
		{text: "p99 < 1s", stat: "p", op: "<", pct: 0.99, value: 1000},
		{text: "p99.9(GET /api/data/[id]) <= 2.5s", stat: "p", method: "GET", name: "/api/data/[id]", op: "<=", pct: 0.999, value: 2500},
		{text: "error_rate < 1%", stat: "error_rate", op: "<", value: 1},
		{text: "rps > 100", stat: "rps", op: ">", value: 100},
		{text: "degradation(p95) < 20%", stat: "degradation", op: "<", pct: 0.95, value: 20},
		{text: "avg(/x) < 50ms", stat: "avg", name: "/x", op: "<", value: 50},
		{text: "target.memory_growth < 10%", stat: "target", target: "memory_growth", op: "<", value: 10},
		{text: "regression(p95) < 10%", stat: "regression", op: "<", pct: 0.95, value: 10},
		{text: "regression(error_rate) < 0.5%", stat: "regression", op: "<", value: 0.5},
		{text: "regression(target.memory_growth) < 1%/h", stat: "regression", target: "memory_growth", op: "<", value: 1},
		{text: "regression(target.cpu_per_request) < 20%", stat: "regression", target: "cpu_per_request", op: "<", value: 20},
		{text: "regression(target.time_to_exhaustion) < 50%", stat: "regression", target: "time_to_exhaustion", op: "<", value: 50},
		{text: "regression(target.open_fds_growth) < 2%/h", stat: "regression", target: "open_fds_growth", op: "<", value: 2},
		{text: "regression(p95 /api/data/[id]) < 10%", stat: "regression", name: "/api/data/[id]", op: "<", pct: 0.95, value: 10},
		{text: "regression(p99.9 GET /api/data/[id]) <= 15%", stat: "regression", method: "GET", name: "/api/data/[id]", op: "<=", pct: 0.999, value: 15},
		{text: "regression(error_rate  login page ) < 1%", stat: "regression", name: "login page", op: "<", value: 1},
		{text: "regression(rps POST /api/orders) < 5%", stat: "regression", method: "POST", name: "/api/orders", op: "<", value: 5},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseThreshold(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if got.Stat != tt.stat || got.Method != tt.method || got.Name != tt.name || got.Op != tt.op || got.Pct != tt.pct || got.Value != tt.value || got.Target != tt.target {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestParseThreshold_Errors(t *testing.T) {
	for text, want := range map[string]string{
		"p95 300ms":                             "no comparison",
		"p95 < 300":                             "needs a unit",
		"error_rate < 1":                        "needs %",
		"rps > 100ms":                           "not a time",
		"p95 < 3x":                              "unknown unit",
		"latency < 1s":                          `unknown metric "latency"`,
		"eror_rate < 1%":                        `did you mean "error_rate"`,
		"degradation(x) < 20%":                  "takes a percentile",
		"p95(/a < 1s":                           "unclosed",
		"< 1s":                                  "no metric",
		"regression(p95) < 10ms":                "limit in %",
		"regression(target.memory_growth) < 1%": "limit in %/h",
		"regression(latency) < 10%":             "takes p95",
		"regression(target.) < 1%/h":            "needs a metric name",
		"regression(target.cpu_per_request) < 1%/h":    "limit in %",
		"regression(target.memory_growth /api) < 1%/h": "drop the request name",
		"regression(latency /api/items) < 10%":         "takes p95",
		"regression(p95 /api/items) < 10ms":            "regression(p95 /api/items) takes a limit in %",
	} {
		_, err := ParseThreshold(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", text, err, want)
		}
	}
}

func TestParse_Thresholds(t *testing.T) {
	src := "host: http://127.0.0.1:1\nthresholds:\n  - \"p95 < 300ms\"\n  - \"p95 < 3x\"\n  - \"target.memory_growth < 10%\"\n" + loadUsers
	_, err := Parse("t.yaml", ".", []byte(src), Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"t.yaml:4:5: threshold \"p95 < 3x\"", "t.yaml:5:5: threshold \"target.memory_growth < 10%\": target.* metrics need a monitor: section"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	p, err := Parse("t.yaml", ".", []byte("host: http://127.0.0.1:1\nthresholds: [\"p95 < 300ms\", \"error_rate < 1%\"]\n"+loadUsers), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Thresholds) != 2 || p.Thresholds[1].Pos.Line != 2 {
		t.Errorf("thresholds: %+v", p.Thresholds)
	}
}

func TestParse_Monitor(t *testing.T) {
	src := "host: http://127.0.0.1:1\nmonitor:\n  interval: 2s\n  scrape:\n    - http://127.0.0.1:9091/metrics\n    - {url: http://127.0.0.1:9092/metrics, metrics: [go_goroutines]}\n  process: [1]\nthresholds: [\"target.memory_growth < 10%\"]\n" + loadUsers
	p, err := Parse("m.yaml", ".", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := p.Monitor
	if m.Interval != 2*time.Second || len(m.Scrapes) != 2 || m.Scrapes[1].Metrics[0] != "go_goroutines" || m.Processes[0] != 1 {
		t.Errorf("monitor: %+v", m)
	}
	if len(p.Thresholds) != 1 || p.Thresholds[0].Target != "memory_growth" {
		t.Errorf("thresholds: %+v", p.Thresholds)
	}
	_, err = Parse("m.yaml", ".", []byte("host: http://127.0.0.1:1\nmonitor:\n  scrape: [ftp://x]\n  intervall: 1s\n"+loadUsers), Options{})
	for _, want := range []string{"m.yaml:3:12: scrape url \"ftp://x\" is not an http(s) URL", `unknown key "intervall" in monitor; did you mean "interval"?`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors %v lack %q", err, want)
		}
	}
}

func TestParse_ThresholdAbortOnFail(t *testing.T) {
	src := "host: http://127.0.0.1:1\nthresholds:\n  - {threshold: \"p95 < 1s\", abort_on_fail: true, grace: 30s}\n  - \"rps > 1\"\n" + loadUsers
	p, err := Parse("a.yaml", ".", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if th := p.Thresholds[0]; !th.AbortOn || th.Grace != 30*time.Second || th.Text != "p95 < 1s" || p.Thresholds[1].AbortOn {
		t.Errorf("thresholds: %+v %+v", p.Thresholds[0], p.Thresholds[1])
	}
	bad := "host: http://127.0.0.1:1\nthresholds:\n  - {threshold: \"degradation(p95) < 20%\", abort_on_fail: true}\n  - {abort_on_fail: true}\n  - {threshold: \"p95 < 1s\", abort_on_fial: true}\n" + loadUsers
	_, err = Parse("a.yaml", ".", []byte(bad), Options{})
	for _, want := range []string{"abort_on_fail works with request statistics", "threshold needs threshold:", `did you mean "abort_on_fail"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors %v lack %q", err, want)
		}
	}
}

// FuzzParseThreshold: any text parses or fails with an error naming it;
// a parsed threshold's regression names what it compares.
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"p95 < 300ms", "regression(p95) < 10%", "regression(target.memory_growth) < 1%/h", "regression(error_rate) < 0.5%", "degradation(p99) < 20%", "regression(() < %/h",
		"regression(p95 /api/data/[id]) < 10%", "regression(target.cpu_per_request) < 20%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		th, err := ParseThreshold(text)
		if err != nil {
			if !strings.Contains(err.Error(), "threshold") {
				t.Fatalf("%q: error does not name the threshold: %v", text, err)
			}
			return
		}
		if th.Stat == "regression" && th.Of == "" {
			t.Fatalf("%q: regression of nothing", text)
		}
		if th.Stat == "checks" && (th.Name != "" || th.Method != "") {
			t.Fatalf("%q: a checks threshold names a request", text)
		}
	})
}

// checks("name") and checks take a pass rate in percent; a name is quoted
// or bare.
func TestParseThreshold_Checks(t *testing.T) {
	for _, tc := range []struct{ text, check, err string }{
		{`checks("status 200") > 99%`, "status 200", ""},
		{`checks('login is 200') >= 99.5%`, "login is 200", ""},
		{`checks(body_contains "ok") > 50%`, `body_contains "ok"`, ""},
		{`checks > 99%`, "", ""},
		{`checks("a") > 99`, "", "checks needs %"},
		{`checks("a") > 99ms`, "", "checks is not a time"},
		{`checks("") > 99%`, "", "needs a check's name"},
		{`checks("a) > 99%`, "", "unclosed quote"},
		{`check > 99%`, "", `did you mean "checks"`},
	} {
		th, err := ParseThreshold(tc.text)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got %v, want an error with %q", tc.text, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.text, err)
			continue
		}
		if th.Stat != "checks" || th.Check != tc.check {
			t.Errorf("%s: stat %q check %q, want checks %q", tc.text, th.Stat, th.Check, tc.check)
		}
	}
}

// TestParse_RegressionThresholds: a scenario file takes regression( ) of a
// request name and of the target's CPU per request and resource growths,
// and names the place of an unknown target figure.
func TestParse_RegressionThresholds(t *testing.T) {
	src := "host: http://127.0.0.1:1\nthresholds:\n  - \"regression(p95 /api/data/[id]) < 10%\"\n  - \"regression(target.cpu_per_request) < 20%\"\n  - \"regression(target.goroutines_growth) < 5%/h\"\n" + loadUsers
	p, err := Parse("t.yaml", ".", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Thresholds) != 3 || p.Thresholds[0].Name != "/api/data/[id]" || p.Thresholds[1].Target != "cpu_per_request" {
		t.Errorf("thresholds: %+v", p.Thresholds)
	}
	_, err = Parse("t.yaml", ".", []byte("host: http://127.0.0.1:1\nthresholds:\n  - \"regression(target.cpu) < 20%/h\"\n"+loadUsers), Options{})
	if err == nil || !strings.Contains(err.Error(), "t.yaml:3:5") || !strings.Contains(err.Error(), `unknown target metric "cpu"`) {
		t.Errorf("unknown target figure: got %v", err)
	}
}
