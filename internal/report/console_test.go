package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/horde-load/horde/internal/soak"
)

func TestPrintTable(t *testing.T) {
	var b strings.Builder
	PrintTable(&b, testSnapshot(), 20, "")
	out := b.String()
	golden(t, "table.golden.txt", []byte(out))

	ls := strings.Split(out, "\n")
	tests := []struct {
		line int
		want string
	}{
		{0, "Elapsed 1m5s, 20 users"},
		{1, "Type     Name                                      # reqs      # fails |    Avg     Min     Max     Med |   req/s  failures/s"},
		{2, "--------|----------------------------------------|-------|-------------|-------|-------|-------|--------|--------|-----------"},
		{4, "GET      /api/items                                   100     2(2.00%) |   12.5    0.75     251    10.4 |   12.50        0.10"},
		{7, "         Aggregated                                   110     2(1.82%) |   11.5    0.75     251    9.60 |   13.00        0.10"},
	}
	for _, tt := range tests {
		if tt.line >= len(ls) || ls[tt.line] != tt.want {
			t.Errorf("line %d:\ngot  %q\nwant %q", tt.line, ls[min(tt.line, len(ls)-1)], tt.want)
		}
	}
	// Columns line up: every table line has the same width.
	for i := 1; i <= 7; i++ {
		if got, want := len([]rune(ls[i])), consoleWidth; got != want {
			t.Errorf("line %d is %d wide, want %d: %q", i, got, want, ls[i])
		}
	}
}

func TestPrintTable_truncatesLongNames(t *testing.T) {
	s := testSnapshot()
	s.Entries[0].Name = "/api/" + strings.Repeat("x", 100)
	var b strings.Builder
	PrintTable(&b, s, 1, "")
	want := "POST     /api/" + strings.Repeat("x", 34) + "… "
	if !strings.Contains(b.String(), want) {
		t.Errorf("long name not cut to %q:\n%s", want, b.String())
	}
}

func TestPrintSummary(t *testing.T) {
	var b strings.Builder
	PrintSummary(&b, testSnapshot(), testExceptions())
	out := b.String()
	golden(t, "summary.golden.txt", []byte(out))
	for _, want := range []string{
		// whole-run rates in the table
		"GET      /api/items                                   100     2(2.00%) |   12.5    0.75     251    10.4 |   10.00        0.20\n",
		"Response time percentiles (exact to 3 significant digits)\n",
		"Type     Name                                       # reqs    50%    66%    75%    80%    90%    95%    98%    99%  99.9% 99.99%   100%\n",
		"GET      /api/items                                    100   10.4   12.0   15.0   18.0   30.0   60.0    100    150    240    251    251\n",
		"Error report\n# occurrences      Error\n",
		"2                  GET /api/items: HTTPError('404 Client Error: Not Found for url: /api/items')\n",
		"Exceptions\n",
		"3                  ValueError(\"bad, value\") (worker-1,worker-2)\n    Traceback (most recent call last):\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary does not contain %q", want)
		}
	}
	// An entry without requests has no percentile row.
	if strings.Count(out, "/empty") != 1 {
		t.Errorf("/empty should appear in the statistics table only")
	}
}

func TestPrintSummary_noErrors(t *testing.T) {
	s := testSnapshot()
	s.Errors = nil
	var b strings.Builder
	PrintSummary(&b, s, nil)
	for _, absent := range []string{"Error report", "Exceptions"} {
		if strings.Contains(b.String(), absent) {
			t.Errorf("summary without failures contains %q", absent)
		}
	}
}

// The sentence under the verdicts names what decides the exit code as
// run.Outcome does: thresholds when the run has any, else Locust's rule
// (a failed request or a user-code error); for analyze, checks too.
func TestPrintVerdicts_saysWhatDecides(t *testing.T) {
	check := soak.Verdict{Kind: "check", Name: "latency p95 (ms)", Status: soak.Pass, Reason: "steady"}
	th := soak.Verdict{Kind: "threshold", Name: "p95 < 300ms", Status: soak.Pass, Reason: "holds"}
	for _, c := range []struct {
		vs     []soak.Verdict
		decide bool
		want   string
	}{
		{[]soak.Verdict{check}, false, "No threshold is set: a failed request or an error in user code decides the exit code"},
		{[]soak.Verdict{check, th}, false, "A failed threshold decides the exit code (1); checks inform"},
		{[]soak.Verdict{check}, true, "A failed threshold or check decides the exit code (1)"},
	} {
		var b bytes.Buffer
		PrintVerdictsDeciding(&b, c.vs, c.decide)
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("verdicts %v (checks decide %v):\n%s\nwant %q", c.vs, c.decide, b.String(), c.want)
		}
	}
}
