package run

import (
	"context"
	"time"

	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/soak"
)

// PromAnalysis is `horde analyze --prometheus`: series queried from a
// Prometheus server over a range, judged as the seed's analyser does.
type PromAnalysis struct {
	URL        string
	Queries    []string
	Start, End time.Time
	Step       time.Duration // 0: the range / 1000, at least 1 s
	Warmup     time.Duration
}

// AnalyzePrometheus judges each query's series: memory series get the
// leak check, others the drift check. Its checks decide the outcome.
func AnalyzePrometheus(ctx context.Context, p PromAnalysis) (*Outcome, error) {
	if len(p.Queries) == 0 {
		return nil, badInput("--prometheus needs at least one --query")
	}
	if !p.End.After(p.Start) {
		return nil, badInput("--end must be after --start")
	}
	step := p.Step
	if step <= 0 {
		step = max(p.End.Sub(p.Start)/1000, time.Second)
	}
	var vs []soak.Verdict
	for _, q := range p.Queries {
		got, err := monitor.QueryRange(ctx, nil, p.URL, q, p.Start, p.End, step)
		if err != nil {
			return nil, badInput("--query %q: %v", q, err)
		}
		if len(got) == 0 {
			vs = append(vs, soak.Verdict{Kind: "check", Name: q, Status: soak.Warn, Reason: q + ": no data in the range"})
		}
		for _, s := range got {
			if s.Memory {
				l := soak.Leak(s.Name, s.Points, soak.LeakOptions{Warmup: p.Warmup})
				vs = append(vs, soak.Verdict{Kind: "check", Name: "memory leak: " + s.Name, Status: l.Status, Reason: "memory leak (" + s.Name + "): " + l.Reason})
				continue
			}
			d := soak.Drift(s.Name, s.Points, soak.DriftOptions{Warmup: p.Warmup})
			vs = append(vs, soak.Verdict{Kind: "check", Name: "drift: " + s.Name, Status: d.Status, Reason: d.Reason})
		}
	}
	return &Outcome{Verdicts: vs, ChecksDecide: true}, nil
}
