package locustfile

import (
	"fmt"
	"strings"

	"github.com/horde-load/horde/internal/python"
)

// scanHooks finds the module functions that are test_start or test_stop
// listeners: decorated, or added with events.X.add_listener(fn).
func (c *conv) scanHooks() {
	for _, st := range c.m.Body {
		if es, ok := st.(*python.ExprStmt); ok {
			if call, ok := es.X.(*python.Call); ok && len(call.Args) == 1 {
				if ev := eventOf(call.Fn); ev == "test_start" || ev == "test_stop" {
					c.hookNames[python.Dotted(call.Args[0])] = ev
				}
			}
		}
	}
	for _, f := range c.moduleFuncs {
		for _, d := range f.Decorators {
			if ev := eventOf(d); ev == "test_start" || ev == "test_stop" {
				c.hookNames[f.Name] = ev
			}
		}
	}
}

// eventOf gives X of events.X.add_listener, else "".
func eventOf(e python.Expr) string {
	a, ok := e.(*python.Attribute)
	if !ok || a.Name != "add_listener" {
		return ""
	}
	ev, ok := a.X.(*python.Attribute)
	if !ok {
		return ""
	}
	if d := python.Dotted(ev.X); d == "events" || strings.HasSuffix(d, ".events") {
		return ev.Name
	}
	return ""
}

// keepTagged leaves out, when tags filter, the user classes with no task
// left (as Locust does).
func (c *conv) keepTagged(users []*class) ([]*class, error) {
	if len(c.opts.Tags) == 0 && len(c.opts.ExcludeTags) == 0 {
		return users, nil
	}
	var kept []*class
	for _, u := range users {
		if len(merged(c.tasksOf(u))) == 0 {
			c.note(u.c.Def.P, false, "user class %s has no task left after --tags/--exclude-tags; it is left out", u.c.Name)
			continue
		}
		kept = append(kept, u)
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("%s: no user class has a task with these tags", c.file)
	}
	return kept, nil
}

// hooksSource sets the script's setup and teardown from the test_start and
// test_stop listeners (several run in the order they were added).
func (c *conv) hooksSource() string {
	var b strings.Builder
	for _, h := range []struct {
		global, event string
		fns           []string
	}{{"setup", "test_start", c.setup}, {"teardown", "test_stop", c.teardown}} {
		switch len(h.fns) {
		case 0:
		case 1:
			fmt.Fprintf(&b, "%s = %s  # the events.%s listener: once per test\n\n", h.global, ident(h.fns[0]), h.event)
		default:
			fmt.Fprintf(&b, "def %s(u):\n    \"\"\"The events.%s listeners: once per test.\"\"\"\n", h.global, h.event)
			for _, f := range h.fns {
				fmt.Fprintf(&b, "    %s(u)\n", ident(f))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
