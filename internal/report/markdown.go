package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/stats"
)

// mdCell escapes a table cell: pipes and line breaks would end it.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// WriteMarkdown writes a short summary of a run for CI logs (GitHub job
// summaries, merge request comments): the outcome, the verdicts failures
// first, the statistics per request name and the most frequent errors.
func WriteMarkdown(w io.Writer, info Info, s *stats.Snapshot) error {
	var b strings.Builder
	title := info.Title
	if title == "" {
		title = "horde load test report"
	}
	outcome := "passed"
	if info.ExitCode != 0 {
		outcome = fmt.Sprintf("failed (exit code %d)", info.ExitCode)
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "**Result: %s**", outcome)
	if d := runDuration(info); d > 0 {
		fmt.Fprintf(&b, " · %s", d.Round(time.Second))
	}
	if !info.Start.IsZero() {
		fmt.Fprintf(&b, " · started %s", info.Start.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, " · %d users", info.Users)
	if info.Host != "" {
		fmt.Fprintf(&b, " · %s", info.Host)
	}
	if info.ScenarioFile != "" {
		fmt.Fprintf(&b, " · `%s`", info.ScenarioFile)
	}
	b.WriteString("\n\n")

	if len(info.Verdicts) > 0 {
		b.WriteString("## Verdicts\n\n| Status | Kind | Name | Reason |\n|---|---|---|---|\n")
		for _, st := range verdictOrder {
			for _, v := range info.Verdicts {
				if v.Status == st {
					fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", strings.ToUpper(string(v.Status)), v.Kind, mdCell(v.Name), mdCell(v.Reason))
				}
			}
		}
		b.WriteString("\n")
	}

	if info.Baseline != nil {
		compare.WriteSummaryMarkdown(&b, info.Baseline)
	}

	b.WriteString("## Requests\n\n| Method | Name | Requests | Failures | Avg (ms) | Min (ms) | Max (ms) | p50 (ms) | p95 (ms) | p99 (ms) | req/s |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	row := func(e *stats.Entry) {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %.2f |\n",
			mdCell(e.Method), mdCell(e.Name), e.Requests, e.Failures, fmtMs(e.AvgMs), fmtMs(e.MinMs), fmtMs(e.MaxMs),
			fmtMs(stats.PercentileAt(e.Percentiles, 0.50)), fmtMs(stats.PercentileAt(e.Percentiles, 0.95)), fmtMs(stats.PercentileAt(e.Percentiles, 0.99)), e.TotalRPS)
	}
	for i := range s.Entries {
		row(&s.Entries[i])
	}
	total := s.Total
	total.Name = "**" + stats.AggregatedName + "**"
	row(&total)
	b.WriteString("\n")

	if len(s.Errors) > 0 {
		const maxErrors = 10
		b.WriteString("## Errors\n\n| Occurrences | Request | Error |\n|--:|---|---|\n")
		for i, e := range s.Errors {
			if i == maxErrors {
				fmt.Fprintf(&b, "\n%d more kinds of error not shown.\n", len(s.Errors)-maxErrors)
				break
			}
			fmt.Fprintf(&b, "| %d | %s | %s |\n", e.Occurrences, mdCell(strings.TrimSpace(e.Method+" "+e.Name)), mdCell(e.Message))
		}
		b.WriteString("\n")
	}
	if len(info.Exceptions) > 0 {
		b.WriteString("## Exceptions\n\n| Count | Message |\n|--:|---|\n")
		for _, e := range info.Exceptions {
			fmt.Fprintf(&b, "| %d | %s |\n", e.Count, mdCell(e.Message))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
