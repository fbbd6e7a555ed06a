package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"
)

// testRuntime is deterministic: a fixed random stream, clock, counter and
// environment, so that two renders can be compared.
func testRuntime() (*runtime, func()) {
	pcg := rand.NewPCG(1, 2)
	r := rand.New(pcg)
	seq := new(atomic.Int64)
	rt := &runtime{
		uint64:  r.Uint64,
		uint64n: r.Uint64N,
		now:     func() time.Time { return time.Unix(1700000000, 123e6) },
		seq:     seq,
		getenv: func(k string) string {
			if k == "HOME_T" {
				return "/home/t"
			}
			return ""
		},
	}
	reset := func() { pcg.Seed(1, 2); seq.Store(0) }
	return rt, reset
}

func mustCompile(t testing.TB, text string, rt *runtime) *Template {
	t.Helper()
	tm, err := compileTemplate(text, rt)
	if err != nil {
		t.Fatalf("compile %q: %v", text, err)
	}
	return tm
}

func render(t testing.TB, tm *Template, env *Env) string {
	t.Helper()
	b, err := tm.Append(nil, env)
	if err != nil {
		t.Fatalf("render %q: %v", tm.src, err)
	}
	return string(b)
}

func testEnv() *Env {
	return &Env{UserID: 7, Vars: Vars{
		"token": "abc",
		"n":     "42",
		"creds": map[string]string{"username": "alice", "password": "s3cret"},
		"obj":   map[string]any{"inner": map[string]string{"x": "y"}},
	}}
}

func TestTemplate_Render(t *testing.T) {
	tests := []struct {
		text, want string
		fast       bool // compiled to ops, not text/template
	}{
		{"plain", "plain", true},
		{"Bearer {{ .token }}", "Bearer abc", true},
		{"{{ .creds.username }}:{{ .creds.password }}", "alice:s3cret", true},
		{"{{ .obj.inner.x }}", "y", true},
		{"[{{ .missing }}]", "[]", true},
		{"[{{ .creds.missing }}]", "[]", true},
		{"[{{ .missing.deeper }}]", "[]", true},
		{"{{ vu }}", "7", true},
		{"{{ seq }},{{ seq }}", "1,2", true},
		{"{{ now }}", "2023-11-14T22:13:20Z", true},
		{`{{ now "unix" }}`, "1700000000", true},
		{`{{ now "unixms" }}`, "1700000000123", true},
		{`{{ now "2006-01-02" }}`, "2023-11-14", true},
		{`{{ env "HOME_T" }}`, "/home/t", true},
		{`{{ env "NOPE" }}`, "", true},
		{`{{ randInt 5 5 }}`, "5", true},
		{`{{ randInt 5 .n }}`, "", true}, // checked by range below
		{`{{ randChoice "a" }}`, "a", true},
		{`{{ randChoice .token }}`, "abc", true},
		{`{{ randChoice .missing }}`, "", true},
		{"{{/* comment */}}x", "x", true},
		{"{{ if .token }}yes{{ else }}no{{ end }}", "yes", false},
		{"{{ if .missing }}yes{{ else }}no{{ end }}", "no", false},
		{"{{ range $k, $v := .creds }}{{ $k }}={{ $v }};{{ end }}", "password=s3cret;username=alice;", false},
		{`{{ printf "%05d" 42 }}`, "00042", false},
		{`{{ .missing | printf "%v" }}`, "<nil>", false},
		{"{{ $x := .token }}{{ $x }}", "abc", false},
		{"{{ .missing }}{{ if true }}{{ .missing }}{{ end }}", "", false},
		{`{{ index .creds "username" }}`, "alice", false},
		{"{{ vu | printf \"%03d\" }}", "007", false},
		{`{{ define "x" }}X{{ end }}{{ template "x" }}`, "X", false},
	}
	rt, reset := testRuntime()
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			reset()
			tm := mustCompile(t, tt.text, rt)
			if fast := tm.slow == nil; fast != tt.fast {
				t.Errorf("fast path = %v, want %v", fast, tt.fast)
			}
			got := render(t, tm, testEnv())
			if strings.HasPrefix(tt.text, "{{ randInt 5 .n") {
				if n := atoiOr(got, -1); n < 5 || n > 42 {
					t.Errorf("got %q, want 5..42", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func atoiOr(s string, def int) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		return def
	}
	return n
}

func TestTemplate_RealFuncs(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	tm, err := CompileTemplate("{{ uuid }}")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 100 {
		u := render(t, tm, nil)
		if !uuidRE.MatchString(u) {
			t.Fatalf("uuid %q is not a v4 UUID", u)
		}
		seen[u] = true
	}
	if len(seen) != 100 {
		t.Errorf("100 uuids gave %d distinct", len(seen))
	}
	ri, _ := CompileTemplate("{{ randInt 1 3 }}")
	counts := map[string]int{}
	for range 300 {
		counts[render(t, ri, nil)]++
	}
	if len(counts) != 3 || counts["1"] == 0 || counts["3"] == 0 {
		t.Errorf("randInt 1 3 drew %v, want 1, 2 and 3", counts)
	}
	rc, _ := CompileTemplate(`{{ randChoice "a" "b" }}`)
	choices := map[string]int{}
	for range 100 {
		choices[render(t, rc, nil)]++
	}
	if len(choices) != 2 {
		t.Errorf("randChoice drew %v", choices)
	}
	sq, _ := CompileTemplate("{{ seq }}")
	a, b := atoiOr(render(t, sq, nil), 0), atoiOr(render(t, sq, nil), 0)
	if a < 1 || b != a+1 {
		t.Errorf("seq gave %d then %d", a, b)
	}
	t.Setenv("HORDE_TEST_X", "xv")
	ev, _ := CompileTemplate(`{{ env "HORDE_TEST_X" }}`)
	if got := render(t, ev, nil); got != "xv" {
		t.Errorf("env = %q", got)
	}
	nw, _ := CompileTemplate(`{{ now "unix" }}`)
	if n := atoiOr(render(t, nw, nil), 0); n < int(time.Now().Unix())-5 {
		t.Errorf("now unix = %d", n)
	}
}

func TestTemplate_RuntimeErrors(t *testing.T) {
	rt, _ := testRuntime()
	tests := []struct{ text, want string }{
		{`{{ randInt 5 1 }}`, "randInt: min 5 is greater than max 1"},
		{`{{ randInt "a" 1 }}`, `randInt: "a" is not an integer`},
		{`{{ .token.x }}`, "can't evaluate field x in type string"},
		{`{{ now 5 }}`, "now: format 5 is not a string"},
	}
	for _, tt := range tests {
		tm := mustCompile(t, tt.text, rt)
		_, err := tm.Append(nil, testEnv())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.text, err, tt.want)
		}
	}
}

func TestTemplate_CompileErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"{{ randint 1 2 }}", `unknown function "randint"; did you mean "randInt"?`},
		{"{{ uid }}", `unknown function "uid"; did you mean "uuid"?`},
		{"{{ foo }}", `unknown function "foo"`},
		{"{{ randInt 1 }}", "randInt wants 2 arguments, got 1"},
		{"{{ 1 | randInt 1 2 }}", "randInt wants 2 arguments, got 3"},
		{"{{ randChoice }}", "randChoice wants at least 1 argument, got 0"},
		{"{{ uuid 1 }}", "uuid wants 0 arguments, got 1"},
		{`{{ now "a" "b" }}`, "now wants at most 1 argument, got 2"},
		{"{{ .a ", "bad template: unclosed action"},
		{"{{ end }}", "bad template: unexpected {{end}}"},
	}
	for _, tt := range tests {
		_, err := CompileTemplate(tt.text)
		if err == nil || err.Error() != tt.want {
			t.Errorf("CompileTemplate(%q) = %v, want %q", tt.text, err, tt.want)
		}
	}
}

func TestTemplate_Static(t *testing.T) {
	tests := []struct {
		text   string
		static bool
		want   string
	}{
		{"/api/items", true, "/api/items"},
		{"", true, ""},
		{"a }} b", true, "a }} b"},
		{"{{/* c */}}", true, ""},
		{"a{{/* c */}}b", true, "ab"},
		{"/api/{{ .id }}", false, ""},
	}
	for _, tt := range tests {
		tm, err := CompileTemplate(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := tm.Static()
		if ok != tt.static || got != tt.want {
			t.Errorf("Static(%q) = %q, %v; want %q, %v", tt.text, got, ok, tt.want, tt.static)
		}
	}
	var nilT *Template
	if s, ok := nilT.Static(); s != "" || !ok {
		t.Errorf("nil Static() = %q, %v", s, ok)
	}
	if b, err := nilT.Append([]byte("x"), nil); string(b) != "x" || err != nil {
		t.Errorf("nil Append = %q, %v", b, err)
	}
}

// TestTemplate_MatchesTextTemplate compares both compiled forms with
// text/template itself where every variable is present.
func TestTemplate_MatchesTextTemplate(t *testing.T) {
	texts := []string{
		"Bearer {{ .token }}", "{{ .creds.username }}-{{ vu }}-{{ seq }}", `{{ randInt 1 1000 }}`,
		`{{ randInt 1.0 3 }}`, `{{ randInt 0x10 0x20 }}`, `{{ randInt 'a' 'z' }}`, `{{ randChoice "x" .token true 1.5 }}`,
		"{{ .obj }}", "{{ .creds }}", `{{ now "unix" }}`, `{{- .token -}} x`, "{{ .obj.inner }}",
		"{{ if .token }}{{ .token }}{{ end }}", `{{ printf "%s/%d" .token (randInt 1 9) }}`,
	}
	rt, reset := testRuntime()
	for _, text := range texts {
		reset()
		tm := mustCompile(t, text, rt)
		got := render(t, tm, testEnv())
		reset()
		want := execTextTemplate(t, text, rt, testEnv())
		if got != want {
			t.Errorf("%q: got %q, text/template %q", text, got, want)
		}
	}
}

// execTextTemplate runs text through text/template with the same functions.
func execTextTemplate(t testing.TB, text string, rt *runtime, env *Env) string {
	t.Helper()
	fm := template.FuncMap{}
	for name, f := range rt.functions() {
		fm[name] = func(args ...any) (any, error) {
			v, err := f.call(env, args)
			return v.any(), err
		}
	}
	tm, err := template.New("t").Funcs(fm).Parse(text)
	if err != nil {
		t.Fatalf("text/template parse %q: %v", text, err)
	}
	var b bytes.Buffer
	if err := tm.Execute(&b, env.Vars); err != nil {
		t.Fatalf("text/template exec %q: %v", text, err)
	}
	return b.String()
}

func TestTemplate_Concurrent(t *testing.T) {
	tmpls := []*Template{}
	for _, text := range []string{"/api/data/{{ randInt 1 1000 }}", "Bearer {{ .token }}-{{ vu }}", "{{ if .token }}{{ .token }}-{{ vu }}{{ end }}"} {
		tm, err := CompileTemplate(text)
		if err != nil {
			t.Fatal(err)
		}
		tmpls = append(tmpls, tm)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := &Env{UserID: g, Vars: Vars{"token": fmt.Sprint("t", g)}}
			want := fmt.Sprintf("t%d-%d", g, g)
			var buf []byte
			for range 500 {
				for i, tm := range tmpls {
					var err error
					buf, err = tm.Append(buf[:0], env)
					if err != nil {
						errs <- err.Error()
						return
					}
					if i > 0 && !strings.HasSuffix(string(buf), want) {
						errs <- fmt.Sprintf("user %d got %q, want suffix %q", g, buf, want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestJSONBody(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{`{a: 1, b: "x", c: true, d: null, e: 1.5, f: [1, "y"]}`, `{"a":1,"b":"x","c":true,"d":null,"e":1.5,"f":[1,"y"]}`},
		{`{n: "{{ randInt 7 7 }}"}`, `{"n":7}`},
		{`{n: " {{ randInt 7 7 }}"}`, `{"n":" 7"}`},
		{`{n: "{{ randInt 7 7 }}{{ randInt 7 7 }}"}`, `{"n":"77"}`},
		{`{s: "{{ .token }}"}`, `{"s":"abc"}`},
		{`{s: "{{ .missing }}"}`, `{"s":""}`},
		{`{s: "{{ .creds.username }}"}`, `{"s":"alice"}`},
		{`{b: "{{ .t }}", n: "{{ .nul }}", q: "{{ .q }}", f: "{{ .f }}", bad: "{{ .bad }}"}`,
			`{"b":true,"n":null,"q":"a\"b\n","f":-1.5e3,"bad":"01"}`},
		{`{a: &x {k: v}, b: *x}`, `{"a":{"k":"v"},"b":{"k":"v"}}`},
		{`[1, 2]`, `[1,2]`},
		{`"just {{ .token }}"`, `"just abc"`},
		{`{k: 2001-12-14}`, `{"k":"2001-12-14"}`},
		{`{k: 0x1F}`, `{"k":31}`},
		{`{"é\"": "<&>"}`, `{"é\"":"<&>"}`},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			src := "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        json: " + tt.yaml + "\n"
			p, err := Parse("f.yaml", ".", []byte(withVars(src, "token", "missing", "creds", "t", "nul", "q", "f", "bad")), Options{})
			if err != nil {
				t.Fatal(err)
			}
			body := p.Classes[0].Tasks[0].Steps[0].Body
			env := testEnv()
			env.Vars["t"], env.Vars["nul"], env.Vars["q"], env.Vars["f"], env.Vars["bad"] = "true", "null", "a\"b\n", "-1.5e3", "01"
			got := render(t, body, env)
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("%s is not valid JSON", got)
			}
		})
	}
}

func TestFormBody(t *testing.T) {
	src := "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        form: {user: \"{{ .creds.username }} & co\", \"a b\": [1, 2], z: \"=\"}\n"
	p, err := Parse("f.yaml", ".", []byte(withVars(src, "creds")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := render(t, p.Classes[0].Tasks[0].Steps[0].Body, testEnv())
	if want := "user=alice+%26+co&a+b=1&a+b=2&z=%3D"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n tab\t cr\r", "\x00\x1f\x7f", "é ü 日本", "\u2028\u2029",
		"bad \xff utf8", "<html>&"} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		if got := string(appendJSONString(nil, []byte(s))); got != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want.String())
		}
		if got := string(quoteJSONFrom([]byte("x"+s), 1)); got != "x"+strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("quoteJSONFrom(%q) = %s", s, got)
		}
	}
}

func TestAppendQueryEscape(t *testing.T) {
	for _, s := range []string{"", "abc-_.~", "a b&c=d/é?#+%"} {
		if got := string(appendQueryEscape(nil, []byte(s))); got != url.QueryEscape(s) {
			t.Errorf("appendQueryEscape(%q) = %q, want %q", s, got, url.QueryEscape(s))
		}
		if got := string(queryEscapeFrom([]byte("x"+s), 1)); got != "x"+url.QueryEscape(s) {
			t.Errorf("queryEscapeFrom(%q) = %q", s, got)
		}
	}
}

func TestIsJSONLiteral(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-1": true, "1.5": true, "1e10": true, "-0.5E-3": true, "true": true, "false": true, "null": true,
		"": false, "01": false, "1.": false, ".5": false, "+1": false, "1e": false, "NaN": false, "True": false, " 1": false, "abc": false,
	} {
		if got := isJSONLiteral([]byte(s)); got != want {
			t.Errorf("isJSONLiteral(%q) = %v, want %v", s, got, want)
		}
	}
}

func BenchmarkTemplate_Append(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"url-randInt", "/api/data/{{ randInt 1 1000 }}"},
		{"header-token", "Bearer {{ .token }}"},
		{"static", "/api/items"},
		{"slow-if", "{{ if .token }}Bearer {{ .token }}{{ end }}"},
	} {
		tm, err := CompileTemplate(bc.text)
		if err != nil {
			b.Fatal(err)
		}
		env := &Env{UserID: 1, Vars: Vars{"token": "0123456789abcdef0123456789abcdef"}}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 256)
			for b.Loop() {
				buf, _ = tm.Append(buf[:0], env)
			}
		})
	}
}
