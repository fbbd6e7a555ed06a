package scenario

import (
	"encoding/json"
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
