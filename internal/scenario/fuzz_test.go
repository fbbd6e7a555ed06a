package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"seed-api.yaml", "iot-devices.yaml", "with-data.yaml", "websocket.yaml", "sse.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("host: http://x\nusers:\n  - name: a\n    tasks:\n      - get: /\n        wieght: 3\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("host: http://x\nusers:\n  - name: a\n    tasks:\n      - get: /\n        check: {json: {n: {\"<\": 3, in: [1]}}, header: {name: X}}\n        auth: {basic: [a, b]}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p1, err := Parse("f.yaml", "testdata", src, Options{})
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("error %T %v, want a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" || e.Pos.File != "f.yaml" {
					t.Errorf("bad error %#v", e)
				}
			}
			return
		}
		p2, err := Parse("f.yaml", "testdata", src, Options{})
		if err != nil {
			t.Fatalf("second Parse failed: %v", err)
		}
		if diff := cmp.Diff(sumClasses(p1), sumClasses(p2)); diff != "" || p1.Host != p2.Host || !cmp.Equal(p1.Load, p2.Load) {
			t.Errorf("Parse is not deterministic:\n%s", diff)
		}
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"/api/data/{{ randInt 1 1000 }}", "Bearer {{ .token }}", "{{ .creds.username }}", "plain", "",
		`{{ randChoice "a" .token }}`, "{{ if .token }}x{{ end }}", "{{ .missing.x }}", `{{ now "unix" }}`,
		"{{ vu }}-{{ seq }}-{{ uuid }}", "{{/* c */}}", "{{ .token.x }}", `{{ env "HOME_T" }}`,
		`{{ base64 .token }}`, `{{ base64decode "aGk" }}`, `{{ urlquery .token }}`, `{{ sha256 .n }}`,
		`{{ hmac "sha256" .token .n }}`, `{{ hmac "md5" "k" "m" }}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		rt, reset := testRuntime()
		tm, err := compileTemplate(text, rt)
		if err != nil {
			if err.msg == "" {
				t.Errorf("empty error message for %q", text)
			}
			return
		}
		if !strings.Contains(text, "{{") {
			if s, ok := tm.Static(); !ok || s != text {
				t.Errorf("Static(%q) = %q, %v; want the text", text, s, ok)
			}
		}
		if !utf8.ValidString(text) || len(text) > 300 {
			return
		}
		for _, risky := range []string{"range", "template", "block", "printf", "slice", "define", "call"} {
			if strings.Contains(text, risky) {
				return // may loop or allocate without bound; compiling was the test
			}
		}
		env := testEnv()
		reset()
		fast, ferr := tm.Append(nil, env)
		// The same text forced through text/template.
		slowT := &Template{src: text, slow: slowFor(t, text, rt)}
		reset()
		slow, serr := slowT.Append(nil, env)
		if (ferr != nil) != (serr != nil) {
			t.Fatalf("%q: fast error %v, text/template error %v", text, ferr, serr)
		}
		if ferr == nil && string(fast) != string(slow) {
			t.Errorf("%q: fast %q, text/template %q", text, fast, slow)
		}
	})
}

// slowFor compiles text for text/template only.
func slowFor(t *testing.T, text string, rt *runtime) *slowPath {
	t.Helper()
	tm, err := compileTemplate(text, rt)
	if err != nil {
		t.Fatal(err)
	}
	if tm.slow != nil {
		return tm.slow
	}
	trees := parseTrees(t, text)
	return newSlowPath(trees, rt.functions())
}
