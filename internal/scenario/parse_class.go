// This file parses users: (the classes, their wait, tasks and steps).

package scenario

import (
	"fmt"
	"slices"
	"strings"

	"github.com/horde-load/horde"
	"go.yaml.in/yaml/v3"
)

func (p *parser) classes(n *yaml.Node) []*Class {
	items, ok := p.list(n, "users", false)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorf(n, "users is empty: add at least one user class")
		return nil
	}
	var out []*Class
	names := map[string]*yaml.Node{}
	for _, it := range items {
		c := p.class(it)
		if c == nil {
			continue
		}
		if first, dup := names[c.Name]; dup && c.Name != "" {
			p.errorAt(c.Pos, "duplicate user name %q (first at line %d)", c.Name, first.Line)
		} else {
			names[c.Name] = it
		}
		out = append(out, c)
	}
	return out
}

func (p *parser) class(n *yaml.Node) *Class {
	f := p.fields(n, "user", classKeys)
	if f == nil {
		return nil
	}
	c := &Class{Weight: 1, Pos: p.pos(p.resolve(n))}
	label := "user"
	if e, ok := f["name"]; ok {
		if s, ok := p.str(e.val, "name"); ok {
			c.Name = s
			c.Pos = p.pos(p.resolve(e.val))
			label = fmt.Sprintf("user %q", s)
		}
	} else {
		p.errorf(p.resolve(n), "user has no name: add name:")
	}
	p.positiveInt(f, "weight", &c.Weight)
	p.nonNegativeInt(f, "count", &c.Count)
	if e, ok := f["wait"]; ok {
		c.Wait = p.wait(e.val)
	}
	if e, ok := f["sequential"]; ok {
		c.Sequential, _ = p.bool(e.val, "sequential")
	}
	if e, ok := f["tags"]; ok {
		c.Tags = p.tags(e.val)
	}
	if e, ok := f["feed"]; ok {
		var items []*yaml.Node
		timing := map[*yaml.Node]string{}
		if r := p.resolve(e.val); r != nil && r.Kind == yaml.MappingNode {
			ps, _ := p.pairs(e.val, "feed")
			for _, fp := range ps {
				items = append(items, fp.key)
				if v, ok := p.str(fp.val, "feed "+fp.name); ok {
					if !slices.Contains(feedTimings, v) {
						msg := fmt.Sprintf("unknown feed timing %q for %s; want per_user or per_iteration", v, fp.name)
						if s := suggest(v, feedTimings); s != "" {
							msg = fmt.Sprintf("unknown feed timing %q for %s; did you mean %q?", v, fp.name, s)
						}
						p.errorf(fp.val, "%s", msg)
					}
					timing[fp.key] = v
				}
			}
		} else {
			items, _ = p.list(e.val, "feed", true)
		}
		for _, it := range items {
			name, ok := p.str(it, "feeder name")
			if !ok {
				continue
			}
			if !p.feeders[name] {
				msg := fmt.Sprintf("unknown feeder %q in feed", name)
				if s := suggest(name, sortedKeys(p.feeders)); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				} else if len(p.feeders) == 0 {
					msg += "; declare it under data:"
				}
				p.errorf(it, "%s", msg)
				continue
			}
			if slices.Contains(c.Feeds, name) || slices.Contains(c.IterationFeeds, name) {
				p.errorf(it, "feeder %q is fed twice", name)
				continue
			}
			if timing[it] == "per_iteration" {
				c.IterationFeeds = append(c.IterationFeeds, name)
				continue
			}
			c.Feeds = append(c.Feeds, name)
		}
	}
	if e, ok := f["on_start"]; ok {
		c.OnStart = p.requests(e.val, "on_start")
	}
	if e, ok := f["on_stop"]; ok {
		c.OnStop = p.requests(e.val, "on_stop")
	}
	if e, ok := f["script"]; ok {
		c.Script = p.script(e.val, classScriptKeys, "user")
		for _, k := range []string{"tasks", "on_start", "on_stop", "sequential", "feed"} {
			if o, ok := f[k]; ok {
				p.errorf(o.key, "%s has script: it cannot have %s too (the script's user class has its own)", label, k)
			}
		}
		return c
	}
	if e, ok := f["tasks"]; ok {
		items, ok := p.list(e.val, "tasks", false)
		if ok && len(items) == 0 {
			p.errorf(e.val, "%s has no tasks: tasks is empty", label)
		}
		for i, it := range items {
			if t := p.task(it, i+1); t != nil {
				c.Tasks = append(c.Tasks, t)
			}
		}
	} else {
		p.errorf(p.resolve(n), "%s has no tasks: add tasks:", label)
	}
	return c
}

// tags parses a tags: list of names (a single name is a list of one).
func (p *parser) tags(n *yaml.Node) []string {
	items, _ := p.list(n, "tags", true)
	var out []string
	for _, it := range items {
		s, ok := p.str(it, "tag")
		switch {
		case !ok:
		case strings.TrimSpace(s) == "" || strings.ContainsAny(s, ", \t"):
			p.errorf(it, "tag %q: want a name without spaces or commas", s)
		case slices.Contains(out, s):
			p.errorf(it, "tag %q is listed twice", s)
		default:
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) wait(n *yaml.Node) horde.Wait {
	ps, ok := p.pairs(n, "wait")
	if !ok {
		return horde.Wait{}
	}
	if len(ps) == 0 {
		p.errorf(n, "wait is empty: want constant, between or pacing")
		return horde.Wait{}
	}
	var w horde.Wait
	for i, e := range ps {
		if !slices.Contains(waitKinds, e.name) {
			msg := fmt.Sprintf("unknown wait kind %q; want constant, between or pacing", e.name)
			if s := suggest(e.name, waitKinds); s != "" {
				msg = fmt.Sprintf("unknown wait kind %q; did you mean %q?", e.name, s)
			}
			p.errorf(e.key, "%s", msg)
			continue
		}
		if i > 0 {
			p.errorf(e.key, "wait has both %s and %s; use one", ps[0].name, e.name)
			continue
		}
		switch e.name {
		case "constant":
			d, _ := p.duration(e.val, "constant")
			w = horde.Constant(d)
		case "pacing":
			d, _ := p.duration(e.val, "pacing")
			w = horde.Pacing(d)
		case "between":
			r := p.resolve(e.val)
			if r == nil || r.Kind != yaml.SequenceNode || len(r.Content) != 2 {
				got := "nothing"
				if r != nil {
					got = kindName(r)
					if r.Kind == yaml.SequenceNode {
						got = fmt.Sprintf("a list of %d", len(r.Content))
					}
				}
				p.errorf(e.val, "between must be [min, max], got %s", got)
				continue
			}
			lo, ok1 := p.duration(r.Content[0], "between min")
			hi, ok2 := p.duration(r.Content[1], "between max")
			if ok1 && ok2 && lo > hi {
				p.errorf(e.val, "between min %v is greater than max %v", lo, hi)
			}
			w = horde.Between(lo, hi)
		}
	}
	return w
}

func (p *parser) requests(n *yaml.Node, what string) []*Step {
	items, ok := p.list(n, what, false)
	if !ok {
		return nil
	}
	var out []*Step
	for _, it := range items {
		if r := p.resolve(it); r != nil && r.Kind == yaml.MappingNode && hasKey(r, "sleep") {
			ps, _ := p.pairs(it, "sleep step")
			f := map[string]pair{}
			for _, e := range ps {
				f[e.name] = e
			}
			if s := p.sleep(it, f); s != nil {
				out = append(out, s)
			}
			continue
		}
		if p.isGRPC(it) {
			if f := p.fields(it, "grpc step", grpcKeys); f != nil {
				if s := p.grpcStep(it, f); s != nil {
					out = append(out, s)
				}
			}
			continue
		}
		if isMQTTStep(p.resolve(it)) { // MQTT (parse_mqtt.go)
			if what == "setup" || what == "teardown" {
				p.errorf(it, "%s runs HTTP requests only: connect MQTT devices in a user's on_start or tasks", what)
				continue
			}
			if s := p.mqttStep(it, nil); s != nil {
				out = append(out, s)
			}
			continue
		}
		if isProtoStep(p.resolve(it)) { // WebSocket, SSE (parse_ws.go)
			if what == "setup" || what == "teardown" {
				p.errorf(it, "%s runs HTTP requests only: open WebSocket connections and event streams in a user's on_start or tasks", what)
				continue
			}
			if s := p.protoStep(it, nil); s != nil {
				out = append(out, s)
			}
			continue
		}
		f := p.fields(it, "request", requestKeys)
		if f == nil {
			continue
		}
		if s := p.request(it, f); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) task(n *yaml.Node, index int) *Task {
	ps, ok := p.pairs(n, "task")
	if !ok {
		return nil
	}
	hasSteps := slices.ContainsFunc(ps, func(e pair) bool { return e.name == "steps" })
	if !hasSteps && p.isGRPC(n) {
		return p.grpcTask(n)
	}
	if !hasSteps && isMQTTStep(p.resolve(n)) { // MQTT (parse_mqtt.go)
		return p.protoTask(n, ps, p.mqttStep)
	}
	if !hasSteps && isProtoStep(p.resolve(n)) { // WebSocket, SSE (parse_ws.go)
		return p.protoTask(n, ps, p.protoStep)
	}
	known := taskKeys
	what := "task"
	if hasSteps {
		known, what = stepsTaskKeys, "task with steps"
	}
	f := map[string]pair{}
	sleepTask := false
	for _, e := range ps {
		if !slices.Contains(known, e.name) {
			if hasSteps && slices.Contains(requestKeys, e.name) {
				p.errorf(e.key, "%s cannot have %s: move the request into steps", what, e.name)
				continue
			}
			if e.name == "sleep" {
				v := "500ms"
				if r := p.resolve(e.val); r != nil && r.Kind == yaml.ScalarNode {
					v = r.Value
				}
				p.errorf(e.key, "sleep is a step: write the task with steps: [..., {sleep: %s}, ...]", v)
				sleepTask = true
				continue
			}
			p.unknownKey(e.key, e.name, what, known)
			continue
		}
		f[e.name] = e
	}
	t := &Task{Weight: 1}
	if e, ok := f["tags"]; ok {
		t.Tags = p.tags(e.val)
	}
	p.positiveInt(f, "weight", &t.Weight)
	if sleepTask && !slices.ContainsFunc(methodKeys, func(m string) bool { _, ok := f[m]; return ok }) {
		return nil
	}
	if e, ok := f["script"]; ok {
		for _, o := range ps {
			if o.name != "script" && o.name != "weight" && o.name != "name" && o.name != "tags" {
				p.errorf(o.key, "task with script cannot have %s: the function sends its own requests", o.name)
			}
		}
		t.Script = p.script(e.val, taskScriptKeys, "function")
		if t.Script == nil {
			return nil
		}
		t.Name = t.Script.Name
		if e, ok := f["name"]; ok {
			t.Name, _ = p.str(e.val, "name")
		}
		return t
	}
	if !hasSteps {
		s := p.request(n, f)
		if s == nil {
			return nil
		}
		t.Steps = []*Step{s}
		t.Name = s.Name
		if t.Name == "" {
			t.Name = s.Method + " " + s.URL.String()
		}
		return t
	}
	if e, ok := f["name"]; ok {
		t.Name, _ = p.str(e.val, "name")
	}
	if t.Name == "" {
		t.Name = fmt.Sprintf("task %d", index)
	}
	if e, ok := f["on_failure"]; ok {
		p.onFailure = p.failPolicy(e.val)
	}
	t.Steps = p.requests(f["steps"].val, "steps")
	p.onFailure = ""
	if r := p.resolve(f["steps"].val); r != nil && r.Kind == yaml.SequenceNode && len(r.Content) == 0 {
		p.errorf(f["steps"].val, "steps is empty: add at least one request")
	}
	return t
}

// hasKey reports whether mapping n has the key name.
func hasKey(n *yaml.Node, name string) bool {
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == name {
			return true
		}
	}
	return false
}

// script parses script: {file: lib.star, <what>: name}, where what is
// "function" (a task) or "user" (a class).
func (p *parser) script(n *yaml.Node, known []string, what string) *Script {
	f := p.fields(n, "script", known)
	if f == nil {
		return nil
	}
	sc := &Script{Pos: p.pos(p.resolve(n))}
	fe, ok := p.need(f, "file", p.resolve(n), "script", "name its .star file")
	if !ok {
		return nil
	}
	sc.File, _ = p.str(fe.val, "script file")
	sc.Pos = p.pos(p.resolve(fe.val))
	we, ok := p.need(f, what, p.resolve(n), "script", "name the "+what+" to run")
	if !ok {
		return nil
	}
	sc.Name, _ = p.str(we.val, "script "+what)
	sc.Pos = p.pos(p.resolve(we.val))
	if sc.File == "" || sc.Name == "" {
		return nil
	}
	return sc
}
