package report

import (
	"regexp"
	"strings"
	"testing"
)

func writeTestHTML(t *testing.T) string {
	t.Helper()
	s := testSnapshot()
	s.Entries = append(s.Entries, s.Entries[0])
	s.Entries[3].Name = "/<script>alert(1)</script>"
	var b strings.Builder
	if err := WriteHTML(&b, testInfo(), s, testHistory()); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteHTML_golden(t *testing.T) {
	golden(t, "report.golden.html", []byte(writeTestHTML(t)))
}

func TestWriteHTML_selfContained(t *testing.T) {
	out := writeTestHTML(t)
	lower := strings.ToLower(out)
	for _, bad := range []string{`src="http`, `href="http`, `src='http`, `href='http`, `@import`, `url(http`, `url("http`, `url('http`, `src="//`, `href="//`} {
		if strings.Contains(lower, bad) {
			t.Errorf("report contains %q: it must not load anything from another host", bad)
		}
	}
	// Every <script> is inline.
	if m := regexp.MustCompile(`<script[^>]*\ssrc=`).FindString(lower); m != "" {
		t.Errorf("report has an external script: %q", m)
	}
	if m := regexp.MustCompile(`<link[^>]*>`).FindString(lower); m != "" {
		t.Errorf("report has a <link>: %q", m)
	}
	for _, want := range []string{uPlotJS[:200], "var uPlot=function()", ".uplot", "new uPlot("} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not contain %.60q", want)
		}
	}
}

func TestWriteHTML_escapes(t *testing.T) {
	out := writeTestHTML(t)
	if strings.Contains(out, "<script>alert(1)</script>") {
		t.Error("a name or title with <script> was not escaped")
	}
	for _, want := range []string{
		"/&lt;script&gt;alert(1)&lt;/script&gt;",                             // entry name
		"<title>Checkout &lt;script&gt;alert(1)&lt;/script&gt; load</title>", // title
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not contain %q", want)
		}
	}
	// The script tags are ours: uPlot and the chart code.
	if got := strings.Count(out, "<script>"); got != 2 {
		t.Errorf("got %d <script> tags, want 2", got)
	}
}

func TestWriteHTML_tables(t *testing.T) {
	out := writeTestHTML(t)
	section := func(id string) string {
		i := strings.Index(out, `<table id="`+id+`">`)
		if i < 0 {
			t.Fatalf("no table %q", id)
		}
		j := strings.Index(out[i:], "</table>")
		return out[i : i+j]
	}
	tests := []struct {
		table, row string
		want       int
	}{
		{"request-stats", `<tr class="entry">`, 4},
		{"request-stats", `<tr class="total">`, 1},
		{"response-times-table", `<tr class="entry">`, 4},
		{"response-times-table", `<tr class="total">`, 1},
		{"failures-table", `<tr class="error">`, 1},
		{"exceptions-table", `<tr class="exception">`, 1},
		{"ratio-table", `<tr class="class">`, 2},
		{"ratio-table", `<tr class="task">`, 3},
	}
	for _, tt := range tests {
		if got := strings.Count(section(tt.table), tt.row); got != tt.want {
			t.Errorf("table %s: got %d rows %s, want %d", tt.table, got, tt.row, tt.want)
		}
	}
	for _, want := range []string{
		`<tr class="task"><td class="text task">items</td><td>3</td><td></td><td>75.0%</td><td>56.2%</td></tr>`,
		`<tr class="class"><td class="text">Browser</td><td>3</td><td>15</td><td>75.0%</td><td>75.0%</td></tr>`,
		`<span class="fail">FAIL</span> (exit code 1)`,
		"<th>99.99%ile (ms)</th>",
		`<td class="text">/empty</td><td>N/A</td>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not contain %q", want)
		}
	}
}

func TestWriteHTML_noHistory(t *testing.T) {
	var b strings.Builder
	if err := WriteHTML(&b, Info{}, testSnapshot(), nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script>") {
		t.Error("a report without history should not carry the chart code")
	}
	for _, want := range []string{"No history was recorded.", "<title>horde report</title>", `<span class="pass">PASS</span>`} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not contain %q", want)
		}
	}
}

// The shape's target is drawn beside the actual values: target users on the
// users chart in the closed model, the target rate on the requests chart in
// the open one.
func TestWriteHTML_target(t *testing.T) {
	out := writeTestHTML(t)
	for _, want := range []string{
		`"target_users":[20,20,20,20,20]`, `"target_rate":[null,null,null,null,null]`,
		`["Target users", "#9e9e9e"]`, `d.target_users`, `d.target_rate`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("closed-model report does not contain %q", want)
		}
	}
	hist := testHistory()
	for i := range hist {
		hist[i].Open, hist[i].Target = true, 2000
	}
	var b strings.Builder
	if err := WriteHTML(&b, testInfo(), testSnapshot(), hist); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"target_users":[null,null,null,null,null]`, `"target_rate":[2000,2000,2000,2000,2000]`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("open-model report does not contain %q", want)
		}
	}
}
