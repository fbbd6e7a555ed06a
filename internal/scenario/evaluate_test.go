package scenario

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type fakeResponse struct {
	status int
	header http.Header
	body   string
	reads  int // Body calls
	took   time.Duration
}

func (r *fakeResponse) Status() int               { return r.status }
func (r *fakeResponse) Header(name string) string { return r.header.Get(name) }
func (r *fakeResponse) Body() []byte              { r.reads++; return []byte(r.body) }
func (r *fakeResponse) Duration() time.Duration   { return r.took }
func (r *fakeResponse) Cookie(name string) (string, bool) {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

func stepFor(t *testing.T, yamlReq string) *Step {
	t.Helper()
	src := "host: http://x\nusers:\n  - name: a\n    tasks:\n      - get: /\n" + yamlReq
	p, err := Parse("f.yaml", ".", []byte(src), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p.Classes[0].Tasks[0].Steps[0]
}

func TestStep_Evaluate(t *testing.T) {
	const body = `{"token":"tk","n":3,"f":1.50,"ok":true,"nil":null,"data":{"items":[{"id":11},{"id":12,"tags":["a","b"]}]},"esc":"a\"b","dup":1,"dup":2}`
	tests := []struct {
		name     string
		req      string
		status   int
		body     string
		want     string
		wantVars Vars
	}{
		{"no checks 200", "", 200, "", "", Vars{}},
		{"no checks 404", "", 404, "", "HTTP 404 Not Found", Vars{}},
		{"no checks 599", "", 599, "", "HTTP 599", Vars{}},
		{"status ok", "        check: {status: 200}\n", 200, "", "", Vars{}},
		{"status fail", "        check: {status: 200}\n", 500, "", "check status: got 500, want 200", Vars{}},
		{"status list", "        check: {status: [200, 201]}\n", 201, "", "", Vars{}},
		{"status list fail", "        check: {status: [200, 201]}\n", 500, "", "check status: got 500, want one of [200 201]", Vars{}},
		{"status accepts 404", "        check: {status: 404}\n", 404, "", "", Vars{}},
		{"body_contains ok", "        check: {body_contains: [to, ok]}\n", 200, body, "", Vars{}},
		{"body_contains fail", "        check: {body_contains: nope}\n", 200, body, `check body_contains "nope": not found`, Vars{}},
		{"json number", "        check: {json: {n: 3, f: 1.5}}\n", 200, body, "", Vars{}},
		{"json number fail", "        check: {json: {n: 4}}\n", 200, body, `check json "n": got 3, want 4`, Vars{}},
		{"json string", "        check: {json: {token: tk, \"data.items[1].tags[-1]\": b}}\n", 200, body, "", Vars{}},
		{"json string vs number", "        check: {json: {n: \"3\"}}\n", 200, body, `check json "n": got 3, want "3"`, Vars{}},
		{"json bool null", "        check: {json: {ok: true, nil: null}}\n", 200, body, "", Vars{}},
		{"json object", "        check: {json: {\"data.items[0]\": {id: 11}}}\n", 200, body, "", Vars{}},
		{"json missing", "        check: {json: {\"a.b\": 4}}\n", 200, body, `check json "a.b": path not found`, Vars{}},
		{"json not json", "        check: {json: {a: 1}}\n", 200, "<html>", `check json "a": body is not JSON`, Vars{}},
		{"json last duplicate", "        check: {json: {dup: 2}}\n", 200, body, "", Vars{}},
		{"capture json", "        capture: {t: {json: token}, id: {json: \"data.items[1].id\"}, o: {json: \"data.items[0]\"}, b: {json: ok}, e: {json: esc}, z: {json: nil}}\n",
			200, body, "", Vars{"t": "tk", "id": "12", "o": `{"id":11}`, "b": "true", "e": `a"b`, "z": "null"}},
		{"capture json missing", "        capture: {token: {json: tok}}\n", 200, body, `capture token: json path "tok" not found`, Vars{}},
		{"capture json not json", "        capture: {token: {json: token}}\n", 200, "x", `capture token: body is not JSON`, Vars{}},
		{"capture header", "        capture: {id: {header: X-Id}}\n", 200, "", "", Vars{"id": "r1"}},
		{"capture header missing", "        capture: {id: {header: X-Nope}}\n", 200, "", `capture id: header "X-Nope" missing`, Vars{}},
		{"capture regex group", "        capture: {id: {regex: \"id=(\\\\d+)\"}}\n", 200, "x id=42 y", "", Vars{"id": "42"}},
		{"capture regex whole", "        capture: {id: {regex: \"\\\\d+\"}}\n", 200, "x id=42 y", "", Vars{"id": "42"}},
		{"capture regex no match", "        capture: {id: {regex: \"id=(\\\\d+)\"}}\n", 200, "nothing", `capture id: regex "id=(\\d+)" did not match`, Vars{}},
		{"checks before captures", "        capture: {t: {json: token}}\n        check: {status: 201}\n", 200, body, "check status: got 200, want 201", Vars{}},
		{"http error stops captures", "        capture: {t: {json: token}}\n", 500, body, "HTTP 500 Internal Server Error", Vars{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stepFor(t, tt.req)
			resp := &fakeResponse{status: tt.status, header: http.Header{"X-Id": {"r1"}}, body: tt.body}
			vars := Vars{}
			if got := s.Evaluate(resp, vars); got != tt.want {
				t.Errorf("Evaluate = %q, want %q", got, tt.want)
			}
			if diff := cmp.Diff(tt.wantVars, vars); diff != "" {
				t.Errorf("vars (-want +got):\n%s", diff)
			}
			// Trace (horde try) decides as Evaluate does and stores the same.
			tvars := Vars{}
			if tr := s.Trace(resp, tvars); tr.Failure != tt.want {
				t.Errorf("Trace.Failure = %q, want %q", tr.Failure, tt.want)
			}
			if diff := cmp.Diff(tt.wantVars, tvars); diff != "" {
				t.Errorf("Trace's vars (-want +got):\n%s", diff)
			}
		})
	}
}

// Trace reports every check, and each capture's value or why it did not run.
func TestStep_Trace(t *testing.T) {
	s := stepFor(t, "        check: {status: 200, body_contains: nope, json: {n: 3}}\n        capture: {t: {json: token}}\n")
	resp := &fakeResponse{status: 200, body: `{"token":"tk","n":3}`}
	got := s.Trace(resp, nil)
	want := Trace{
		Checks: []Outcome{
			{What: "status 200"},
			{What: `body_contains "nope"`, Failure: `check body_contains "nope": not found`},
			{What: `json "n" == 3`},
		},
		Captures: []Outcome{{What: "t", Skipped: true}},
		Failure:  `check body_contains "nope": not found`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Trace (-want +got):\n%s", diff)
	}
	s = stepFor(t, "        capture: {t: {json: token}, u: {json: nope}}\n")
	got = s.Trace(resp, Vars{})
	want = Trace{
		Checks:   []Outcome{{What: "status < 400 (no status check)"}},
		Captures: []Outcome{{What: "t", Value: "tk"}, {What: "u", Failure: `capture u: json path "nope" not found`}},
		Failure:  `capture u: json path "nope" not found`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Trace (-want +got):\n%s", diff)
	}
}

func TestStep_EvaluateNoJSONParse(t *testing.T) {
	s := stepFor(t, "        check: {status: 200}\n        capture: {id: {header: X-Id}}\n")
	resp := &fakeResponse{status: 200, header: http.Header{"X-Id": {"r1"}}, body: "not json"}
	if got := s.Evaluate(resp, Vars{}); got != "" {
		t.Fatalf("Evaluate = %q", got)
	}
	if resp.reads != 0 {
		t.Errorf("Body read %d times, want 0 with no body check or capture", resp.reads)
	}
}

func TestParseJSONPath(t *testing.T) {
	tests := []struct {
		in, doc, want string
		bad           bool
	}{
		{in: "a", doc: `{"a":1}`, want: "1"},
		{in: "a.b", doc: `{"a":{"b":"x"}}`, want: `"x"`},
		{in: "[0]", doc: ` [ 5 , 6 ] `, want: "5"},
		{in: "[1].id", doc: `[{"id":1},{"id":2}]`, want: "2"},
		{in: "a[0][1]", doc: `{"a":[[1,2]]}`, want: "2"},
		{in: "a[-1]", doc: `{"a":[1,2,3]}`, want: "3"},
		{in: "a[5]", doc: `{"a":[1]}`},
		{in: "a[-5]", doc: `{"a":[1]}`},
		{in: "k\\u0041", doc: `{"k\u0041":1}`},
		{in: "kA", doc: `{"k\u0041":1}`, want: "1"},
		{in: "s", doc: `{"x":"}{][,\"","s":[1, {"a": "]"}]}`, want: `[1, {"a": "]"}]`},
		{in: "", bad: true}, {in: "a..b", bad: true}, {in: "a.", bad: true}, {in: ".a", bad: true},
		{in: "a[", bad: true}, {in: "a[x]", bad: true}, {in: "a]", bad: true}, {in: "a[0]b", bad: true},
	}
	for _, tt := range tests {
		p, err := parseJSONPath(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseJSONPath(%q) succeeded, want error", tt.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseJSONPath(%q): %v", tt.in, err)
			continue
		}
		got, ok := p.find([]byte(tt.doc))
		if string(got) != tt.want || ok != (tt.want != "") {
			t.Errorf("find(%q) in %s = %q, %v; want %q", tt.in, tt.doc, got, ok, tt.want)
		}
	}
}
