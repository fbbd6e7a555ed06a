package report

import (
	"strings"
	"testing"

	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

func TestWriteMarkdown(t *testing.T) {
	s := &stats.Snapshot{
		Entries: []stats.Entry{{Method: "GET", Name: "/a|b", Requests: 10, Failures: 1, AvgMs: 2, Percentiles: []float64{1, 1, 1, 1, 1, 3, 3, 4, 4, 4, 4}}},
		Total:   stats.Entry{Name: stats.AggregatedName, Requests: 10, Failures: 1},
		Errors:  []stats.Error{{Method: "GET", Name: "/a|b", Message: "HTTP 500\nbody", Occurrences: 1}},
	}
	info := Info{ExitCode: 1, Verdicts: []soak.Verdict{{Kind: "threshold", Name: "p95 < 1ms", Status: "fail", Reason: "p95 < 1ms fails"}, {Kind: "check", Name: "x", Status: "pass", Reason: "ok"}}}
	var b strings.Builder
	if err := WriteMarkdown(&b, info, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"**Result: failed (exit code 1)**", "| FAIL | threshold | p95 < 1ms |", `| GET | /a\|b | 10 | 1 | 2.00 |`, "| 1 | GET /a\\|b | HTTP 500 body |", "**Aggregated**"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Index(out, "FAIL") > strings.Index(out, "PASS") {
		t.Error("failures should come first")
	}
}
