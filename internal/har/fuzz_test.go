package har

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/horde-load/horde/internal/scenario"
)

// FuzzConvert feeds arbitrary bytes to Parse: an error is an ErrorList
// whose every entry has a place; a file that parses converts to a scenario
// horde accepts, or to an error that says why not.
func FuzzConvert(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.har"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed HAR files in testdata: %v", err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(harJSON(f, [][2]string{{"p", "http://x/"}},
		ex{at: 0, method: "POST", url: "http://x/login", mime: "application/json", body: `{"a":[1,{"b":null}]}`, resp: `{"token":"abcdefgh12345678"}`, page: "p"},
		ex{at: 1, url: "http://x/items/abcdefgh12345678?x={{", reqH: [][2]string{{"Authorization", "Bearer abcdefgh12345678"}, {"Cookie", "a=b"}}},
		ex{at: 2, method: "POST", url: "http://x/f", mime: "application/x-www-form-urlencoded", body: "a=%zz&b"},
	))
	f.Add([]byte(`{"log":{"entries":[{"startedDateTime":"2026-01-01T00:00:00Z","request":{"method":"GET","url":"http://x/"},"response":{"status":"x"}}]}}`))
	f.Add([]byte(`{"log":{"entries":[null, 1, {"request":{"url":"::"}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		log, err := Parse("f.har", data)
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("error %T %v, want a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Pos.File != "f.har" || e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" {
					t.Errorf("bad error %#v", e)
				}
			}
			return
		}
		res, err := Convert(log, Options{IncludeStatic: len(data)%2 == 0})
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "no ") && !strings.HasPrefix(msg, "--host") {
				t.Fatalf("unexpected conversion error: %v", err)
			}
			return
		}
		if _, err := scenario.Parse("out.yaml", t.TempDir(), res.YAML, scenario.Options{}); err != nil {
			t.Fatalf("the converted scenario is not valid:\n%v\n%s", err, res.YAML)
		}
	})
}
