package cli

import (
	"slices"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	src := "\ufeff# comment\n; another\n[locust]\nusers = 7\nspawn_rate: 2.5\nheadless\n--run-time = \"5s\"\ntags = [a, 'b', ]\n\nhost http://x:1\n"
	got, err := parseConfig("l.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []configEntry{
		{key: "users", value: "7", place: "l.conf:4"},
		{key: "spawn-rate", value: "2.5", place: "l.conf:5"},
		{key: "headless", value: "true", place: "l.conf:6"},
		{key: "run-time", value: "5s", place: "l.conf:7"},
		{key: "tags", value: "a,b", list: []string{"a", "b"}, place: "l.conf:8"},
		{key: "host", value: "http://x:1", place: "l.conf:10"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.key != w.key || g.value != w.value || g.place != w.place || !slices.Equal(g.list, w.list) {
			t.Errorf("entry %d: got %+v, want %+v", i, g, w)
		}
	}
	if _, err := parseConfig("b.conf", []byte("ok = 1\ntags = [a, b\n = x\n")); err == nil ||
		!strings.Contains(err.Error(), "b.conf:2: tags") || !strings.Contains(err.Error(), "b.conf:3: no key") {
		t.Errorf("bad lines: %v, want both named by file:line", err)
	}
}

// FuzzParseConfig: any bytes parse or give errors that name file:line; no
// entry has an empty key, and every place names the file.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("users = 7\nrun-time = 5s\n"))
	f.Add([]byte("[locust]\ntags = [a, b]\n# x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseConfig("f.conf", data)
		for _, e := range entries {
			if e.key == "" || !strings.HasPrefix(e.place, "f.conf:") {
				t.Fatalf("entry %+v", e)
			}
		}
		if err != nil && !strings.Contains(err.Error(), "f.conf") {
			t.Fatalf("error %v does not name the file", err)
		}
	})
}
