package scenario

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/horde-load/horde"
)

// Summaries of a plan, for comparing with cmp.
type classSum struct {
	Name       string
	Weight     int
	Count      int
	Wait       horde.Wait
	Feeds      []string
	Sequential bool
	OnStart    []stepSum
	Tasks      []taskSum
	OnStop     []stepSum
}

type taskSum struct {
	Name   string
	Weight int
	Steps  []stepSum
}

type stepSum struct {
	Method      string
	URL         string
	Name        string
	Header      []string // "Name: source"
	Query       []string // "name=source"
	Body        string   // source
	ContentType string
	Timeout     time.Duration
	Captures    []string
	Checks      int
}

func sumSteps(steps []*Step) []stepSum {
	var out []stepSum
	for _, s := range steps {
		ss := stepSum{Method: s.Method, URL: s.URL.String(), Name: s.Name, ContentType: s.ContentType,
			Timeout: s.Timeout, Checks: len(s.Checks)}
		for _, h := range s.Header {
			ss.Header = append(ss.Header, h.Name+": "+h.Value.String())
		}
		for _, q := range s.Query {
			ss.Query = append(ss.Query, q.Name+"="+q.Value.String())
		}
		if s.Body != nil {
			ss.Body = s.Body.String()
		}
		for _, c := range s.Captures {
			ss.Captures = append(ss.Captures, c.Var+"<-"+c.src)
		}
		out = append(out, ss)
	}
	return out
}

func sumClasses(p *Plan) []classSum {
	var out []classSum
	for _, c := range p.Classes {
		cs := classSum{Name: c.Name, Weight: c.Weight, Count: c.Count, Wait: c.Wait, Feeds: c.Feeds,
			Sequential: c.Sequential, OnStart: sumSteps(c.OnStart), OnStop: sumSteps(c.OnStop)}
		for _, t := range c.Tasks {
			cs.Tasks = append(cs.Tasks, taskSum{Name: t.Name, Weight: t.Weight, Steps: sumSteps(t.Steps)})
		}
		out = append(out, cs)
	}
	return out
}

func TestLoadFile_Examples(t *testing.T) {
	bearer := []string{"Authorization: Bearer {{ .token }}"}
	tests := []struct {
		file    string
		host    string
		load    Load
		classes []classSum
		feeders []string
	}{
		{
			file: "seed-api.yaml",
			host: "http://127.0.0.1:8080",
			load: Load{Users: 50, SpawnRate: 10},
			classes: []classSum{{
				Name: "api", Weight: 1, Wait: horde.Between(time.Second, 3*time.Second),
				OnStart: []stepSum{{
					Method: "POST", URL: "/api/login", ContentType: "application/json",
					Body:     `{"username":"user_{{ randInt 1 10000 }}","password":"test123"}`,
					Captures: []string{"token<-token"}, Checks: 1,
				}},
				Tasks: []taskSum{
					{Name: "/api/data/[id]", Weight: 3, Steps: []stepSum{{
						Method: "GET", URL: "/api/data/{{ randInt 1 1000 }}", Name: "/api/data/[id]", Header: bearer,
					}}},
					{Name: "/api/items", Weight: 2, Steps: []stepSum{{
						Method: "GET", URL: "/api/items", Name: "/api/items", Header: bearer,
						Query: []string{"page={{ randInt 1 100 }}", "limit=20"},
					}}},
					{Name: "/api/items", Weight: 1, Steps: []stepSum{{
						Method: "POST", URL: "/api/items", Name: "/api/items", Header: bearer, ContentType: "application/json",
						Body: `{"title":"Item {{ randInt 1 100000 }}","description":"Test item for soak testing","value":"{{ randInt 1 1000 }}"}`,
					}}},
					{Name: "/api/items/[id]", Weight: 1, Steps: []stepSum{{
						Method: "PATCH", URL: "/api/items/{{ randInt 1 1000 }}", Name: "/api/items/[id]", Header: bearer,
						ContentType: "application/json", Body: `{"value":"{{ randInt 1 1000 }}"}`,
					}}},
				},
				OnStop: []stepSum{{Method: "POST", URL: "/api/logout", Header: bearer}},
			}},
		},
		{
			file: "iot-devices.yaml",
			host: "http://127.0.0.1:8080",
			load: Load{Users: 100, SpawnRate: 10},
			classes: []classSum{{
				Name: "device", Weight: 1, Wait: horde.Between(time.Second, 2*time.Second),
				OnStart: []stepSum{{Method: "POST", URL: "/login", Name: "/login", ContentType: "application/json",
					Body: `{"deviceid":"device-{{ vu }}"}`}},
				Tasks: []taskSum{
					{Name: "/metrics", Weight: 999, Steps: []stepSum{{
						Method: "POST", URL: "/metrics", Name: "/metrics", ContentType: "application/json",
						Body: `{"deviceid":"device-{{ vu }}","timestamp":"{{ now \"unix\" }}","temperature":"{{ randInt 15 35 }}",` +
							`"humidity":"{{ randInt 20 90 }}","battery":"{{ randInt 1 100 }}"}`,
					}}},
					{Name: "/login", Weight: 1, Steps: []stepSum{{Method: "POST", URL: "/login", Name: "/login",
						ContentType: "application/json", Body: `{"deviceid":"device-{{ vu }}"}`}}},
				},
			}},
		},
		{
			file:    "with-data.yaml",
			host:    "http://127.0.0.1:8080",
			load:    Load{Users: 4, SpawnRate: 2, RunTime: 5 * time.Minute},
			feeders: []string{"creds"},
			classes: []classSum{{
				Name: "member", Weight: 1, Wait: horde.Constant(time.Second), Feeds: []string{"creds"},
				OnStart: []stepSum{{Method: "POST", URL: "/api/login", ContentType: "application/json",
					Header:   []string{"User-Agent: horde"},
					Body:     `{"username":"{{ .creds.username }}","password":"{{ .creds.password }}"}`,
					Timeout:  10 * time.Second,
					Captures: []string{"token<-token"}, Checks: 1}},
				Tasks: []taskSum{
					{Name: "browse then create", Weight: 1, Steps: []stepSum{
						{Method: "GET", URL: "/api/items", Header: []string{"User-Agent: horde", "Authorization: Bearer {{ .token }}"},
							Query: []string{"page=1", "limit=20"}, Timeout: 10 * time.Second, Captures: []string{"first_id<-items[0].id"}, Checks: 1},
						{Method: "GET", URL: "/api/items/{{ .first_id }}", Name: "/api/items/[id]",
							Header: []string{"User-Agent: horde", "Authorization: Bearer {{ .token }}"}, Timeout: 10 * time.Second},
					}},
					{Name: "POST /api/items", Weight: 2, Steps: []stepSum{{
						Method: "POST", URL: "/api/items", Header: []string{"User-Agent: horde", "Authorization: Bearer {{ .token }}"},
						ContentType: "application/x-www-form-urlencoded", Timeout: 10 * time.Second,
						Body: "title=Item by {{ .creds.username }}&value={{ randInt 1 1000 }}",
					}}},
				},
				OnStop: []stepSum{{Method: "POST", URL: "/api/logout", Header: []string{"User-Agent: horde", "Authorization: Bearer {{ .token }}"},
					Timeout: 10 * time.Second}},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "examples", tt.file)
			p, err := LoadFile(path, Options{})
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if p.Host != tt.host {
				t.Errorf("Host = %q, want %q", p.Host, tt.host)
			}
			if p.File != path {
				t.Errorf("File = %q, want %q", p.File, path)
			}
			if diff := cmp.Diff(tt.load, p.Load, cmpopts.IgnoreFields(Load{}, "Pos")); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.classes, sumClasses(p)); diff != "" {
				t.Errorf("classes (-want +got):\n%s", diff)
			}
			var feeders []string
			for name := range p.Feeders {
				feeders = append(feeders, name)
			}
			if diff := cmp.Diff(tt.feeders, feeders); diff != "" {
				t.Errorf("feeders (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadFile_SeedRenders(t *testing.T) {
	p, err := LoadFile(filepath.Join("..", "..", "examples", "seed-api.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Vars: Vars{"token": "tok"}}
	create := p.Classes[0].Tasks[2].Steps[0]
	body, err := create.Body.Append(nil, env)
	if err != nil {
		t.Fatal(err)
	}
	// value is a JSON number, title a string, as in the locustfile.
	var got map[string]any
	if err := jsonUnmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if _, ok := got["value"].(float64); !ok {
		t.Errorf("value = %#v, want a number (body %s)", got["value"], body)
	}
	if title, _ := got["title"].(string); !strings.HasPrefix(title, "Item ") {
		t.Errorf("title = %#v, want Item N", got["title"])
	}
	h, err := create.Header[0].Value.Append(nil, env)
	if err != nil || string(h) != "Bearer tok" {
		t.Errorf("Authorization = %q, %v; want Bearer tok", h, err)
	}
}

func TestLoadFile_Missing(t *testing.T) {
	_, err := LoadFile(filepath.Join("testdata", "nope.yaml"), Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

const minimal = "users:\n  - name: a\n    tasks:\n      - get: /\n"

func TestParse_Host(t *testing.T) {
	tests := []struct {
		src, opt, want string
	}{
		{"host: http://a:1\n" + minimal, "", "http://a:1"},
		{"host: http://a:1/\n" + minimal, "", "http://a:1"},
		{"host: http://a:1\n" + minimal, "https://b", "https://b"},
		{minimal, "http://c/", "http://c"},
	}
	for _, tt := range tests {
		p, err := Parse("f.yaml", ".", []byte(tt.src), Options{Host: tt.opt})
		if err != nil {
			t.Errorf("Parse(%q, -H %q): %v", tt.src, tt.opt, err)
			continue
		}
		if p.Host != tt.want {
			t.Errorf("Parse(%q, -H %q).Host = %q, want %q", tt.src, tt.opt, p.Host, tt.want)
		}
	}
}

func TestParse_Steps(t *testing.T) {
	src := `host: http://x
defaults:
  headers: {User-Agent: horde, X-A: a}
  timeout: 3s
users:
  - name: a
    weight: 2
    count: 5
    sequential: true
    wait: {pacing: 2}
    tasks:
      - get: "http://other/{{ .id }}?x=1"
        headers: {x-a: b}
        query: {tag: [a, b], n: 20}
        timeout: 250ms
        check:
          status: [200, 201]
          body_contains: [ok, yes]
          json: {"a.b": 4, c: "x"}
      - put: /raw
        body: "id={{ .id }}"
        content_type: text/plain
      - delete: /d
      - head: /h
      - options: /o
`
	p, err := Parse("f.yaml", ".", []byte(withVars(src, "id")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Classes[0]
	if c.Weight != 2 || c.Count != 5 || !c.Sequential || c.Wait != horde.Pacing(2*time.Second) {
		t.Errorf("class = weight %d count %d sequential %v wait %+v", c.Weight, c.Count, c.Sequential, c.Wait)
	}
	want := []taskSum{
		{Name: "GET http://other/{{ .id }}?x=1", Weight: 1, Steps: []stepSum{{
			Method: "GET", URL: "http://other/{{ .id }}?x=1", Header: []string{"User-Agent: horde", "x-a: b"},
			Query: []string{"tag=a", "tag=b", "n=20"}, Timeout: 250 * time.Millisecond, Checks: 5,
		}}},
		{Name: "PUT /raw", Weight: 1, Steps: []stepSum{{Method: "PUT", URL: "/raw", Header: []string{"User-Agent: horde", "X-A: a"},
			Body: "id={{ .id }}", ContentType: "text/plain", Timeout: 3 * time.Second}}},
		{Name: "DELETE /d", Weight: 1, Steps: []stepSum{{Method: "DELETE", URL: "/d", Header: []string{"User-Agent: horde", "X-A: a"}, Timeout: 3 * time.Second}}},
		{Name: "HEAD /h", Weight: 1, Steps: []stepSum{{Method: "HEAD", URL: "/h", Header: []string{"User-Agent: horde", "X-A: a"}, Timeout: 3 * time.Second}}},
		{Name: "OPTIONS /o", Weight: 1, Steps: []stepSum{{Method: "OPTIONS", URL: "/o", Header: []string{"User-Agent: horde", "X-A: a"}, Timeout: 3 * time.Second}}},
	}
	if diff := cmp.Diff(want, sumClasses(p)[0].Tasks); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
	if got := c.Tasks[1].Steps[0].BodyKind; got != BodyRaw {
		t.Errorf("BodyKind = %d, want BodyRaw", got)
	}
}

func TestParse_Errors(t *testing.T) {
	const head = "host: http://x\nusers:\n  - name: a\n    tasks:\n      - get: /\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "", []string{"1:1: scenario is empty: it needs host: and users:"}},
		{"yaml syntax", "host: http://x\nusers:\n  - name: a\n   bad: [\n", []string{`4:4: bad: is indented less than the keys above it (line 3): line it up with its keys, or start a new item with "- "`}},
		{"yaml tab", "host: http://x\nusers:\n\t- name: a\n", []string{"3:1: tabs are not allowed for indentation in YAML: indent with spaces"}},
		{"yaml syntax line 1", "host: [", []string{"1:1: yaml: did not find expected node content"}},
		{"top not mapping", "- a\n", []string{"1:1: scenario must be a mapping, got a list"}},
		{"unknown top key", "hots: http://x\n" + minimal, []string{
			`1:1: unknown key "hots" in scenario; did you mean "host"?`,
			"1:1: host is missing: set host: in the file or pass -H",
		}},
		{"unknown task key", head + "        wieght: 3\n", []string{`6:9: unknown key "wieght" in task; did you mean "weight"?`}},
		{"unknown key prefix", head + "        timeout_ms: 3\n", []string{`6:9: unknown key "timeout_ms" in task; did you mean "timeout"?`}},
		{"unknown key no suggestion", head + "        zzzzzz: 3\n", []string{`6:9: unknown key "zzzzzz" in task`}},
		{"unknown user key", "host: http://x\nusers:\n  - name: a\n    wiat: {constant: 1s}\n    tasks:\n      - get: /\n",
			[]string{`4:5: unknown key "wiat" in user; did you mean "wait"?`}},
		{"unknown request key", "host: http://x\nusers:\n  - name: a\n    on_start:\n      - post: /l\n        capture: {}\n        chek: {status: 200}\n    tasks:\n      - get: /\n",
			[]string{`7:9: unknown key "chek" in request; did you mean "check"?`}},
		{"unknown load key", "host: http://x\nload: {user: 1}\n" + minimal, []string{`2:8: unknown key "user" in load; did you mean "users"?`}},
		{"host missing", minimal, []string{"1:1: host is missing: set host: in the file or pass -H"}},
		{"script task with a request", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - script: {file: l.star, function: f}\n        get: /\n",
			[]string{"6:9: task with script cannot have get: the function sends its own requests"}},
		{"script task without function", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - script: {file: l.star}\n",
			[]string{"5:17: script has no function: name the function to run"}},
		{"script task unknown key", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - script: {file: l.star, func: f}\n",
			[]string{"5:17: script has no function: name the function to run", `5:32: unknown key "func" in script; did you mean "function"?`}},
		{"script class with tasks", "host: http://x\nusers:\n  - name: a\n    script: {file: l.star, user: a}\n    tasks:\n      - get: /\n",
			[]string{`5:5: user "a" has script: it cannot have tasks too (the script's user class has its own)`}},
		{"host not http", "host: ftp://x\n" + minimal, []string{`1:7: host "ftp://x" is not an http://, https://, mqtt:// or mqtts:// URL`}},
		{"host no scheme", "host: localhost:8080\n" + minimal, []string{`1:7: host "localhost:8080" is not an http://, https://, mqtt:// or mqtts:// URL`}},
		{"host a list", "host: [a]\n" + minimal, []string{`1:7: host must be a string, got a list`}},
		{"no users", "host: http://x\n", []string{"1:1: users is missing: add a users: list with at least one user class"}},
		{"users empty", "host: http://x\nusers: []\n", []string{"2:8: users is empty: add at least one user class"}},
		{"users a mapping", "host: http://x\nusers: {a: 1}\n", []string{"2:8: users must be a list, got a mapping"}},
		{"user a string", "host: http://x\nusers: [x]\n", []string{`2:9: user must be a mapping, got a string ("x")`}},
		{"no name", "host: http://x\nusers:\n  - tasks:\n      - get: /\n", []string{"3:5: user has no name: add name:"}},
		{"no tasks", "host: http://x\nusers:\n  - name: a\n", []string{`3:5: user "a" has no tasks: add tasks:`}},
		{"tasks empty", "host: http://x\nusers:\n  - name: a\n    tasks: []\n", []string{`4:12: user "a" has no tasks: tasks is empty`}},
		{"duplicate user", head + "  - name: a\n    tasks:\n      - get: /\n", []string{`6:11: duplicate user name "a" (first at line 3)`}},
		{"weight zero", head + "        weight: 0\n", []string{"6:17: weight must be > 0, got 0"}},
		{"weight negative class", "host: http://x\nusers:\n  - name: a\n    weight: -2\n    tasks:\n      - get: /\n", []string{"4:13: weight must be > 0, got -2"}},
		{"weight a string", head + "        weight: x\n", []string{`6:17: weight must be an integer, got a string ("x")`}},
		{"weight a float", head + "        weight: 1.5\n", []string{`6:17: weight must be an integer, got a number (1.5)`}},
		{"count negative", "host: http://x\nusers:\n  - name: a\n    count: -1\n    tasks:\n      - get: /\n", []string{"4:12: count must be >= 0, got -1"}},
		{"sequential not bool", "host: http://x\nusers:\n  - name: a\n    sequential: yes\n    tasks:\n      - get: /\n",
			[]string{`4:17: sequential must be true or false, got a string ("yes")`}},
		{"two methods", head + "        post: /b\n", []string{"6:9: request has two methods, get and post; use one"}},
		{"no method", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - name: x\n",
			[]string{"5:9: request has no method: add one of get, post, put, patch, delete, head or options"}},
		{"two bodies", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        json: {a: 1}\n        form: {a: 1}\n",
			[]string{"7:9: request has two bodies, json and form; use one"}},
		{"content_type without body", head + "        content_type: text/plain\n", []string{"6:9: content_type without a body: add json, form, body or body_file"}},
		{"url relative", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - get: api/x\n",
			[]string{`5:14: url "api/x" must start with / or be an absolute http:// or https:// URL`}},
		{"url empty", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - get:\n", []string{"5:13: get url is empty"}},
		{"headers not a mapping", head + "        headers: x\n", []string{`6:18: headers must be a mapping, got a string ("x")`}},
		{"header value a list", head + "        headers: {A: [1]}\n", []string{"6:22: headers A must be a string, got a list"}},
		{"bad header name", head + "        headers: {\"a b\": x}\n", []string{`6:18: bad header name "a b"`}},
		{"bad duration", head + "        timeout: 5x\n", []string{`6:18: bad duration "5x": unknown unit "x" (use e.g. 20, 90s, 1h30m, 7d)`}},
		{"negative duration", "host: http://x\ndefaults: {timeout: -1s}\n" + minimal, []string{`2:21: bad duration "-1s": negative`}},
		{"bad template", head + "        headers: {A: \"x {{ .a \"}\n", []string{"6:22: bad template: unclosed action"}},
		{"bad template block", head + "        body: |\n          line1\n          {{ end }}\n", []string{"8:11: bad template: unexpected {{end}}"}},
		{"unknown function", head + "        headers: {A: \"{{ randint 1 2 }}\"}\n", []string{`6:26: unknown function "randint"; did you mean "randInt"?`}},
		{"unknown function plain", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - get: /a/{{ uid }}\n",
			[]string{`5:20: unknown function "uid"; did you mean "uuid"?`}},
		{"unknown function block", head + "        body: |\n          line1\n            {{ bogus }}\n", []string{`8:16: unknown function "bogus"`}},
		{"unknown function in json", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        json: {a: [1, \"{{ sq }}\"]}\n",
			[]string{`6:27: unknown function "sq"; did you mean "seq"?`}},
		{"wrong arity", head + "        headers: {A: \"{{ randInt 1 }}\"}\n", []string{"6:26: randInt wants 2 arguments, got 1"}},
		{"bad regex", head + "        capture: {x: {regex: \"(\"}}\n", []string{"6:30: bad regex \"(\": missing closing ): `(`"}},
		{"bad json path", head + "        capture: {y: {json: \"a..b\"}}\n", []string{`6:29: bad json path "a..b": empty key`}},
		{"bad json path index", head + "        capture: {y: {json: \"a[x]\"}}\n", []string{`6:29: bad json path "a[x]": index "x" is not an integer`}},
		{"unknown capture kind", head + "        capture: {z: {jsn: a}}\n", []string{`6:23: unknown key "jsn" in capture; did you mean "json"?`}},
		{"two capture sources", head + "        capture: {z: {json: a, header: b}}\n", []string{`6:32: capture z has two sources, json and header; use one of json, header, cookie or regex`}},
		{"capture no source", head + "        capture: {z: {}}\n", []string{`6:22: capture z has no source: want json, header, cookie or regex`}},
		{"capture bad name", head + "        capture: {a-b: {json: a}}\n", []string{`6:19: capture name "a-b" must be letters, digits and _ (templates read it as {{ .a-b }})`}},
		{"check status range", head + "        check: {status: 700}\n", []string{"6:25: status must be between 100 and 599, got 700"}},
		{"check json path", head + "        check: {json: {\"a[\": 1}}\n", []string{`6:24: bad json path "a[": missing ]`}},
		{"check unknown key", head + "        check: {staus: 200}\n", []string{`6:17: unknown key "staus" in check; did you mean "status"?`}},
		{"json body NaN", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        json: {a: .nan}\n",
			[]string{"6:19: json: .nan is not a JSON number"}},
		{"wait unknown kind", "host: http://x\nusers:\n  - name: a\n    wait: {fixed: 1s}\n    tasks:\n      - get: /\n",
			[]string{`4:12: unknown wait kind "fixed"; want constant, between or pacing`}},
		{"wait kind typo", "host: http://x\nusers:\n  - name: a\n    wait: {constnt: 1s}\n    tasks:\n      - get: /\n",
			[]string{`4:12: unknown wait kind "constnt"; did you mean "constant"?`}},
		{"wait two kinds", "host: http://x\nusers:\n  - name: a\n    wait: {constant: 1s, pacing: 2s}\n    tasks:\n      - get: /\n",
			[]string{`4:26: wait has both constant and pacing; use one`}},
		{"between not a pair", "host: http://x\nusers:\n  - name: a\n    wait: {between: [1s]}\n    tasks:\n      - get: /\n",
			[]string{`4:21: between must be [min, max], got a list of 1`}},
		{"between a string", "host: http://x\nusers:\n  - name: a\n    wait: {between: 1s}\n    tasks:\n      - get: /\n",
			[]string{`4:21: between must be [min, max], got a string ("1s")`}},
		{"between min > max", "host: http://x\nusers:\n  - name: a\n    wait: {between: [3s, 1s]}\n    tasks:\n      - get: /\n",
			[]string{`4:21: between min 3s is greater than max 1s`}},
		{"between bad duration", "host: http://x\nusers:\n  - name: a\n    wait: {between: [1s, x]}\n    tasks:\n      - get: /\n",
			[]string{`4:26: bad duration "x": want a number with a unit (use e.g. 20, 90s, 1h30m, 7d)`}},
		{"load negative", "host: http://x\nload: {users: -1, spawn_rate: -2, run_time: -1s, stop_timeout: 1y}\n" + minimal, []string{
			"2:15: users must be >= 0, got -1",
			"2:31: spawn_rate must be >= 0, got -2",
			`2:45: bad duration "-1s": negative`,
			`2:64: bad duration "1y": unknown unit "y" (use e.g. 20, 90s, 1h30m, 7d)`,
		}},
		{"steps empty", head + "      - steps: []\n", []string{"6:16: steps is empty: add at least one request"}},
		{"steps with method", head + "      - steps: [{get: /}]\n        get: /\n", []string{"7:9: task with steps cannot have get: move the request into steps"}},
		{"steps unknown key", head + "      - steps: [{get: /}]\n        wieght: 2\n", []string{`7:9: unknown key "wieght" in task with steps; did you mean "weight"?`}},
		{"steps bad request", head + "      - steps: [{got: /}]\n", []string{
			`6:17: request has no method: add one of get, post, put, patch, delete, head or options`,
			`6:18: unknown key "got" in request; did you mean "get"?`,
		}},
		{"duplicate key", "host: http://x\nhost: http://y\n" + minimal, []string{`2:1: duplicate key "host" in scenario (first at line 1)`}},
		{"feed unknown", "host: http://x\ndata:\n  creds: {file: users.csv}\nusers:\n  - name: a\n    feed: [cred]\n    tasks:\n      - get: /\n",
			[]string{`6:12: unknown feeder "cred" in feed; did you mean "creds"?`}},
		{"feed without data", "host: http://x\nusers:\n  - name: a\n    feed: creds\n    tasks:\n      - get: /\n",
			[]string{`4:11: unknown feeder "creds" in feed; declare it under data:`}},
		{"feeder missing file", "host: http://x\ndata:\n  creds: {file: nope.csv}\n" + minimal, []string{`3:17: data file "nope.csv": no such file or directory`}},
		{"feeder empty file", "host: http://x\ndata:\n  creds: {file: empty.csv}\n" + minimal, []string{`3:17: data file "empty.csv": file is empty`}},
		{"feeder no rows", "host: http://x\ndata:\n  creds: {file: header-only.csv}\n" + minimal, []string{`3:17: data file "header-only.csv": file has a header but no rows`}},
		{"feeder ragged", "host: http://x\ndata:\n  creds: {file: ragged.csv}\n" + minimal, []string{`3:17: data file "ragged.csv": line 3 has 1 fields, the header has 2`}},
		{"feeder a directory", "host: http://x\ndata:\n  creds: {file: .}\n" + minimal, []string{`3:17: data file ".": is a directory`}},
		{"feeder no file", "host: http://x\ndata:\n  creds: {mode: random}\n" + minimal, []string{`3:3: feeder creds has no file: name its CSV file`}},
		{"feeder bad mode", "host: http://x\ndata:\n  creds: {file: users.csv, mode: uniq}\n" + minimal, []string{`3:34: unknown mode "uniq" for feeder creds; did you mean "unique"?`}},
		{"feeder negative prefetch", "host: http://x\ndata:\n  creds: {file: users.csv, mode: unique, prefetch: -1}\n" + minimal,
			[]string{`3:52: prefetch of feeder creds must be >= 0, got -1`}},
		{"feeder random prefetch", "host: http://x\ndata:\n  creds: {file: users.csv, mode: random, prefetch: 2}\n" + minimal,
			[]string{`3:52: prefetch of feeder creds: a random feeder is not leased (each worker picks its own rows)`}},
		{"setup not a list", "host: http://x\nsetup: {get: /}\n" + minimal, []string{`2:8: setup must be a list, got a mapping`}},
		{"teardown bad request", "host: http://x\n" + minimal + "teardown:\n  - get: /\n    chek: {status: 200}\n",
			[]string{`8:5: unknown key "chek" in request; did you mean "check"?`}},
		{"feeder bad name", "host: http://x\ndata:\n  my-creds: {file: users.csv}\n" + minimal,
			[]string{`3:3: feeder name "my-creds" must be letters, digits and _ (templates read it as {{ .my-creds.column }})`}},
		{"many errors", "users:\n  - name: a\n    count: -1\n    tasks: []\n  - name: a\n    tasks:\n      - get: /\n        post: /\n        json: {}\n        body: x\n", []string{
			"1:1: host is missing: set host: in the file or pass -H",
			"3:12: count must be >= 0, got -1",
			`4:12: user "a" has no tasks: tasks is empty`,
			`5:11: duplicate user name "a" (first at line 2)`,
			"8:9: request has two methods, get and post; use one",
			"10:9: request has two bodies, json and body; use one",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("f.yaml", "testdata", []byte(tt.src), Options{})
			if err == nil {
				t.Fatalf("Parse succeeded (%d classes), want errors", len(p.Classes))
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err is %T, want ErrorList", err)
			}
			var got []string
			for _, e := range list {
				if e.Pos.File != "f.yaml" {
					t.Errorf("error %q has file %q, want f.yaml", e.Msg, e.Pos.File)
				}
				got = append(got, strings.TrimPrefix(e.Error(), "f.yaml:"))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nsource:\n%s", diff, tt.src)
			}
			if want := strings.Join(prefixAll("f.yaml:", tt.want), "\n"); err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func prefixAll(p string, s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = p + v
	}
	return out
}

func TestError_Error(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&Error{Pos: Pos{File: "a.yaml", Line: 3, Col: 7}, Msg: "bad"}, "a.yaml:3:7: bad"},
		{&Error{Pos: Pos{Line: 1, Col: 1}, Msg: "bad"}, "1:1: bad"},
		{ErrorList{{Pos: Pos{"a", 1, 2}, Msg: "x"}, {Pos: Pos{"a", 3, 4}, Msg: "y"}}, "a:1:2: x\na:3:4: y"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestFeeder_Next(t *testing.T) {
	rows := [][]string{{"a"}, {"b"}, {"c"}}
	next := func(f *Feeder, n int, r *rand.Rand) []string {
		var out []string
		for range n {
			row, ok := f.Next(r)
			if !ok {
				out = append(out, "-")
				continue
			}
			out = append(out, row["x"])
		}
		return out
	}
	seq, _ := NewFeeder("s", FeedSequential, []string{"x"}, rows)
	if diff := cmp.Diff([]string{"a", "b", "c", "a", "b"}, next(seq, 5, nil)); diff != "" {
		t.Errorf("sequential (-want +got):\n%s", diff)
	}
	uniq, _ := NewFeeder("u", FeedUnique, []string{"x"}, rows)
	if diff := cmp.Diff([]string{"a", "b", "c", "-", "-"}, next(uniq, 5, nil)); diff != "" {
		t.Errorf("unique (-want +got):\n%s", diff)
	}
	rnd, _ := NewFeeder("r", FeedRandom, []string{"x"}, rows)
	seen := map[string]bool{}
	for _, v := range next(rnd, 200, rand.New(rand.NewPCG(1, 2))) {
		seen[v] = true
	}
	if len(seen) != 3 {
		t.Errorf("random drew %v, want all of a, b, c", seen)
	}
	if rnd.Mode() != FeedRandom || rnd.Len() != 3 || !cmp.Equal(rnd.Columns(), []string{"x"}) {
		t.Errorf("Mode, Len, Columns = %q, %d, %v", rnd.Mode(), rnd.Len(), rnd.Columns())
	}
	if _, err := NewFeeder("x", "bogus", nil, nil); err == nil {
		t.Errorf("NewFeeder with mode bogus succeeded")
	}
}

func TestParse_SetupTeardown(t *testing.T) {
	src := "host: http://x\nsetup:\n  - post: /api/login\n    capture:\n      token: {json: token}\n    check: {status: 200}\n" +
		"  - get: /api/me\nusers:\n  - name: a\n    tasks:\n      - get: /\nteardown:\n  - post: /api/logout\n"
	p, err := Parse("f.yaml", "testdata", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Setup) != 2 || p.Setup[0].Method != "POST" || len(p.Setup[0].Captures) != 1 || p.Setup[1].Pos.Line != 7 {
		t.Errorf("setup = %+v", p.Setup)
	}
	if len(p.Teardown) != 1 || p.Teardown[0].Method != "POST" || p.Teardown[0].Pos.Line != 13 {
		t.Errorf("teardown = %+v", p.Teardown)
	}
	src = "host: http://x\ndata:\n  creds: {file: users.csv, mode: unique, prefetch: 4}\nusers:\n  - name: a\n    feed: creds\n    tasks:\n      - get: /\n"
	if p, err = Parse("f.yaml", "testdata", []byte(src), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := p.Feeders["creds"].Prefetch; got != 4 {
		t.Errorf("prefetch = %d, want 4", got)
	}
}

func TestParse_Feeder(t *testing.T) {
	src := "host: http://x\ndata:\n  creds: {file: users.csv, mode: unique}\nusers:\n  - name: a\n    feed: [creds]\n    tasks:\n      - get: /\n"
	p, err := Parse("f.yaml", "testdata", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := p.Feeders["creds"]
	if f == nil || f.Name != "creds" || f.Mode() != FeedUnique || f.Len() != 3 {
		t.Fatalf("feeder = %+v", f)
	}
	row, ok := f.Next(nil)
	if diff := cmp.Diff(map[string]string{"username": "u1", "password": "p1"}, row); !ok || diff != "" {
		t.Errorf("first row (-want +got):\n%s", diff)
	}
	if got := p.Classes[0].Feeds; !cmp.Equal(got, []string{"creds"}) {
		t.Errorf("Feeds = %v", got)
	}
	// An absolute path is used as is.
	abs, _ := filepath.Abs(filepath.Join("testdata", "users.csv"))
	src = strings.Replace(src, "users.csv", abs, 1)
	if _, err := Parse("f.yaml", "elsewhere", []byte(src), Options{}); err != nil {
		t.Errorf("absolute data path: %v", err)
	}
}
