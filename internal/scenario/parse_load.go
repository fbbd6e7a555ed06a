// This file parses load: (closed, open, stages, cycle, spike) and the shape it gives.

package scenario

import (
	"github.com/horde-load/horde/internal/shape"
	"go.yaml.in/yaml/v3"
)

func (p *parser) load(n *yaml.Node) Load {
	var l Load
	f := p.fields(n, "load", loadKeys)
	p.nonNegativeInt(f, "users", &l.Users)
	if e, ok := f["spawn_rate"]; ok {
		if v, ok := p.float(e.val, "spawn_rate"); ok {
			if v < 0 {
				p.errorf(e.val, "spawn_rate must be >= 0, got %v", v)
			}
			l.SpawnRate = v
		}
	}
	if e, ok := f["run_time"]; ok {
		l.RunTime, _ = p.duration(e.val, "run_time")
	}
	if e, ok := f["stop_timeout"]; ok {
		l.StopTimeout, _ = p.duration(e.val, "stop_timeout")
	}
	l.Pos = p.pos(p.resolve(n))
	if e, ok := f["rate"]; ok {
		l.Open = true
		if v, ok := p.float(e.val, "rate"); ok {
			if v < 0 {
				p.errorf(e.val, "rate must be >= 0, got %v", v)
			}
			l.Rate = v
		}
		if _, both := f["users"]; both {
			p.errorf(e.key, "rate (open model) and users (closed model) exclude each other: choose one")
		}
	}
	for _, k := range []string{"pre_allocated_vus", "max_vus"} {
		e, ok := f[k]
		if !ok {
			continue
		}
		if !l.Open {
			p.errorf(e.key, "%s needs rate: (the open model)", k)
		}
		if v, ok := p.int(e.val, k); ok {
			if v < 0 {
				p.errorf(e.val, "%s must be >= 0, got %d", k, v)
			}
			if k == "max_vus" {
				l.MaxVUs = v
			} else {
				l.PreAllocatedVUs = v
			}
		}
	}
	if l.MaxVUs > 0 && l.PreAllocatedVUs > l.MaxVUs {
		p.errorf(f["max_vus"].val, "max_vus (%d) is below pre_allocated_vus (%d)", l.MaxVUs, l.PreAllocatedVUs)
	}
	shapes := 0
	if e, ok := f["stages"]; ok {
		shapes++
		items, _ := p.list(e.val, "stages", false)
		for _, it := range items {
			sf := p.fields(it, "stage", stageKeys)
			if sf == nil {
				continue
			}
			var st shape.Stage
			if !p.positiveDuration(sf, "duration", "stage duration", &st.Duration) {
				p.errorf(it, "stage needs a duration")
			}
			if tg, ok := sf["target"]; ok {
				if v, ok := p.float(tg.val, "target"); ok {
					if v < 0 {
						p.errorf(tg.val, "stage target must be >= 0, got %v", v)
					}
					st.Target = v
				}
			} else {
				p.errorf(it, "stage needs a target")
			}
			l.Stages = append(l.Stages, st)
		}
	}
	if e, ok := f["cycle"]; ok {
		shapes++
		cf := p.allFields(e.val, "cycle", cycleKeys)
		c := &shape.Cycle{}
		if cf != nil {
			readField(cf, "min", p.float, &c.Min)
			readField(cf, "max", p.float, &c.Max)
			p.positiveDuration(cf, "period", "cycle period", &c.Period)
			if c.Min < 0 || c.Max < c.Min {
				p.errorf(e.val, "cycle wants 0 <= min <= max, got min %v, max %v", c.Min, c.Max)
			}
		}
		l.Cycle = c
	}
	if e, ok := f["spike"]; ok {
		shapes++
		sf := p.allFields(e.val, "spike", spikeKeys)
		sp := &shape.Spike{}
		if sf != nil {
			readField(sf, "base", p.float, &sp.Base)
			readField(sf, "peak", p.float, &sp.Peak)
			readField(sf, "at", p.duration, &sp.At)
			p.positiveDuration(sf, "duration", "spike duration", &sp.Duration)
			if sp.Base < 0 || sp.Peak < 0 {
				p.errorf(e.val, "spike base and peak must be >= 0")
			}
		}
		l.Spike = sp
	}
	if shapes > 1 {
		p.errorf(n, "stages, cycle and spike exclude each other: choose one")
	}
	return l
}

// Shape returns the load shape the section describes, with users (closed)
// or rate (open) as the starting value.
func (l Load) Shape() shape.Shape {
	s := shape.Shape{Open: l.Open, Stages: l.Stages, Cycle: l.Cycle, Spike: l.Spike, Start: float64(l.Users)}
	if l.Open {
		s.Start = l.Rate
	}
	return s
}
