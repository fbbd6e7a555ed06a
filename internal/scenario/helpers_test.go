package scenario

import (
	"encoding/json"
	"strings"
	"testing"
	"text/template/parse"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func parseTrees(t *testing.T, text string) map[string]*parse.Tree {
	t.Helper()
	trees, err := parseTreesOf(text)
	if err != nil {
		t.Fatal(err)
	}
	return trees
}

// withVars adds to a scenario (whose first line is host:) a setup step that
// captures the variables named, as a template may only read a variable
// something sets.
func withVars(src string, names ...string) string {
	host, rest, _ := strings.Cut(src, "\n")
	s := host + "\nsetup:\n  - get: /vars\n    capture:\n"
	for _, n := range names {
		s += "      " + n + ": {header: X-" + n + "}\n"
	}
	return s + rest
}
