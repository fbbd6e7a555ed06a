// This file parses thresholds: (a list of threshold expressions).

package scenario

import (
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

func (p *parser) thresholds(n *yaml.Node, monitored bool) []*Threshold {
	items, ok := p.list(n, "thresholds", true)
	if !ok {
		return nil
	}
	var out []*Threshold
	for _, it := range items {
		// A threshold is a string, or a map {threshold, abort_on_fail, grace}.
		var abort bool
		var grace time.Duration
		textNode := it
		if r := p.resolve(it); r != nil && r.Kind == yaml.MappingNode {
			f := p.fields(it, "threshold", thresholdKeys)
			e, ok := f["threshold"]
			if !ok {
				p.errorf(it, "threshold needs threshold: EXPRESSION")
				continue
			}
			textNode = e.val
			if a, ok := f["abort_on_fail"]; ok {
				abort, _ = p.bool(a.val, "abort_on_fail")
			}
			if g, ok := f["grace"]; ok {
				grace, _ = p.duration(g.val, "grace")
			}
		}
		text, ok := p.str(textNode, "threshold")
		if !ok {
			continue
		}
		t, err := ParseThreshold(text)
		if err != nil {
			p.errorf(textNode, "%s", err)
			continue
		}
		t.AbortOn, t.Grace = abort, grace
		if abort && (t.Stat == "degradation" || t.Stat == "target" || t.Stat == "regression") {
			p.errorf(textNode, "threshold %q: abort_on_fail works with request statistics (p95, error_rate, rps...), not %s", text, t.Stat)
			continue
		}
		if t.Stat == "regression" && t.Of == "target" && !slices.Contains(RegressionTargets, t.Target) {
			p.errorf(it, "threshold %q: unknown target metric %q (known: %s)", text, t.Target, strings.Join(RegressionTargets, ", "))
			continue
		}
		if t.Stat == "target" {
			if !slices.Contains(TargetMetrics, t.Target) {
				p.errorf(it, "threshold %q: unknown target metric %q (known: %s)", text, t.Target, strings.Join(TargetMetrics, ", "))
				continue
			}
			if !monitored {
				p.errorf(it, "threshold %q: target.* metrics need a monitor: section that scrapes the target", text)
				continue
			}
		}
		t.Pos = p.pos(p.resolve(textNode))
		out = append(out, t)
	}
	return out
}
