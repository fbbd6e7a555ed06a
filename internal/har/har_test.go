package har

import (
	"strings"
	"testing"
)

// Bad input is reported at its place: line:col in the file and the
// field's path.
func TestParse_Errors(t *testing.T) {
	entry := func(fields string) string {
		return `{"log": {"version": "1.2", "entries": [
  {"startedDateTime": "2026-12-03T05:00:00Z", "time": 1, "request": {"method": "GET", "url": "http://h/"}, "response": {"status": 200}},
  ` + fields + `
]}}`
	}
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"not JSON", "{\"log\": {\n  \"entries\": [,]}}", []string{"t.har:2:15: invalid JSON: invalid character ',' looking for beginning of value"}},
		{"truncated", "{\"log\": {\"entries\": [", []string{"t.har:1:22: invalid JSON: unexpected end of JSON input"}},
		{"a list", "[1]", []string{`t.har:1:1: a HAR file is a JSON object with a "log" key, got a JSON list`}},
		{"no log", "\n {\"har\": 1}", []string{`t.har:2:2: no "log" key: this is not a HAR file`}},
		{"log not an object", `{"log": 3}`, []string{"t.har:1:9: log: want an object"}},
		{"no entries", `{"log": {"version": "1.2"}}`, []string{`t.har:1:9: log: no "entries" list`}},
		{"entries not a list", `{"log": {"entries": {"a": 1}}}`, []string{"t.har:1:21: log.entries: want a list"}},
		{"status a string", entry(`{"startedDateTime": "2026-12-03T05:00:00Z", "request": {"method": "GET", "url": "http://h/"}, "response": {"status": "200"}}`),
			[]string{"t.har:3:120: entries[1].response.status: want a number, got a JSON string"}},
		{"entry a number", entry(`7`), []string{"t.har:3:3: entries[1]: want an object, got a JSON number"}},
		{"missing fields", entry(`{"request": {}, "response": {}}`), []string{
			"t.har:3:3: entries[1].startedDateTime: missing: the converter orders requests and measures think times by it",
			"t.har:3:15: entries[1].request.method: missing",
			"t.har:3:15: entries[1].request.url: missing",
		}},
		{"bad values", entry(`{"startedDateTime": "yesterday", "time": -5, "request": {"method": "GE T", "url": "/api"}, "response": {"status": 1200}}`), []string{
			`t.har:3:23: entries[1].startedDateTime: "yesterday" is not an ISO 8601 date and time: parsing time "yesterday" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "yesterday" as "2006"`,
			"t.har:3:44: entries[1].time: negative: -5",
			`t.har:3:70: entries[1].request.method: "GE T" is not an HTTP method`,
			`t.har:3:85: entries[1].request.url: "/api" is not an absolute URL: no scheme`,
			"t.har:3:117: entries[1].response.status: 1200 is not an HTTP status (0 for no answer, or 100 to 599)",
		}},
		{"pages wrong", `{"log": {"pages": [{"id": 1}], "entries": []}}`, []string{"t.har:1:27: log.pages.id: want a string, got a JSON number"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.har", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if _, ok := err.(ErrorList); !ok {
				t.Errorf("error %T, want ErrorList", err)
			}
		})
	}
}

// A valid file parses: dates, URLs, positions and Chromium's fields.
func TestParse_OK(t *testing.T) {
	src := "\xef\xbb\xbf" + `{"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
 "pages": [{"id": "page_1", "title": "T", "startedDateTime": "2026-12-03T05:00:00.000+01:00"}],
 "entries": [
  {"pageref": "page_1", "_resourceType": "fetch", "_fromCache": "memory", "startedDateTime": "2026-12-03T05:00:00.250Z", "time": 12.5,
   "request": {"method": "POST", "url": "http://h:8/a?b=1", "headers": [{"name": "a", "value": "b"}], "postData": {"mimeType": "text/plain", "text": "x"}},
   "response": {"status": 201, "content": {"mimeType": "application/json", "text": "eyJhIjoxfQ==", "encoding": "base64"}}, "x": [1, {"y": 2}]}
 ]}, "extra": true}`
	log, err := Parse("t.har", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	e := log.Entries[0]
	if e.Pos.Line != 4 || e.Pos.Col != 3 || e.URL.Host != "h:8" || e.Started.Nanosecond() != 250e6 || e.ResourceType != "fetch" || e.FromCache != "memory" {
		t.Errorf("entry: %+v", e)
	}
	if got := e.End().Sub(e.Started); got.Microseconds() != 12500 {
		t.Errorf("End: %v after the start, want 12.5ms", got)
	}
	if b, ok := e.Response.Content.Body(); !ok || string(b) != `{"a":1}` {
		t.Errorf("base64 body: %q %v", b, ok)
	}
	if log.Pages[0].Started.IsZero() || log.Creator.Name != "WebInspector" {
		t.Errorf("log: %+v", log)
	}
}
