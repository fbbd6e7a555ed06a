package scenario

import (
	"errors"
	"strings"
	"testing"
)

// A file the YAML parser refuses is reported at the line that is wrong,
// in words.
func TestParse_YAMLMistakeInWords(t *testing.T) {
	head := "host: http://127.0.0.1:8080\nusers:\n  - name: api\n    tasks:\n      - get: /api/data/1\n        name: x\n"
	for _, tc := range []struct {
		name, src string
		line, col int
		want      string
	}{
		{"check between the dash and the keys", head + "       check:\n          status: 200\n", 7, 8, "check: is indented less than the request above it (line 5)"},
		{"check at the dash", head + "      check:\n          status: 200\n      - get: /b\n", 7, 7, "check: is indented less than the request above it (line 5)"},
		{"check at the class's keys, then the list goes on", head + "    check:\n          status: 200\n      - get: /b\n", 7, 5, "check: is indented less than the request above it (line 5)"},
		{"a tab", "host: http://x\nusers:\n  - name: api\n    tasks:\n\t- get: /a\n", 5, 1, "tabs are not allowed for indentation in YAML"},
		{"a tab after spaces", head + "  \t      check: {status: 200}\n", 7, 3, "tabs are not allowed for indentation in YAML"},
		{"a key under a value", head + "          timeout: 3s\n", 7, 11, "timeout: is indented more than name: above it (line 6)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", "testdata", []byte(tc.src), Options{})
			var list ErrorList
			if !errors.As(err, &list) || len(list) != 1 {
				t.Fatalf("got %v, want one error", err)
			}
			e := list[0]
			if e.Pos.Line != tc.line || e.Pos.Col != tc.col || !strings.Contains(e.Msg, tc.want) {
				t.Errorf("got %d:%d: %s\nwant %d:%d: ...%s...", e.Pos.Line, e.Pos.Col, e.Msg, tc.line, tc.col, tc.want)
			}
		})
	}
}

// A tab inside a block scalar is text, and valid files give no hint.
func TestYAMLHint_NoFalseAlarm(t *testing.T) {
	for _, src := range []string{
		"a: |\n\tx\n  y\nb: 1\n",
		"tasks:\n- get: /a\n  name: b\nnext: 1\n",
		"a:\n  - b: 1\n    c: [1,\n      2]\n  - d: 2\n",
		"a: x # y: z\nb: 2\n",
	} {
		if line, col, msg, ok := yamlHint([]byte(src)); ok {
			t.Errorf("%q: hint %d:%d %s, want none", src, line, col, msg)
		}
	}
}

func FuzzYAMLHint(f *testing.F) {
	f.Add([]byte("a:\n  - b: 1\n   c: 2\n"))
	f.Add([]byte("a:\n\t- b\n"))
	f.Add([]byte("a: |\n  x\n b: 1\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		line, col, msg, ok := yamlHint(src)
		if !ok {
			return
		}
		if n := strings.Count(string(src), "\n") + 1; line < 1 || line > n || col < 1 || msg == "" {
			t.Errorf("hint %d:%d %q out of the file's %d lines", line, col, msg, n)
		}
		if l2, c2, m2, _ := yamlHint(src); l2 != line || c2 != col || m2 != msg {
			t.Errorf("not deterministic")
		}
	})
}
