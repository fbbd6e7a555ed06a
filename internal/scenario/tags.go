package scenario

import (
	"fmt"
	"slices"
	"strings"
)

// selectTags keeps the tasks that Locust's --tags and --exclude-tags keep:
// with tags, a task stays only if it or its class carries one of them;
// with exclude, a task goes if it or its class carries one of those. A
// class left with no task is dropped, as Locust drops a User class whose
// tasks were all filtered out; a plan left with no class is an error. A
// tag that no task or class carries is an error too, naming it: a typo
// would otherwise run the wrong test.
func (p *Plan) selectTags(tags, exclude []string) error {
	if len(tags) == 0 && len(exclude) == 0 {
		return nil
	}
	known := map[string]bool{}
	for _, c := range p.Classes {
		for _, t := range c.Tags {
			known[t] = true
		}
		for _, t := range c.Tasks {
			for _, g := range t.Tags {
				known[g] = true
			}
		}
	}
	for _, set := range []struct {
		flag  string
		names []string
	}{{"--tags", tags}, {"--exclude-tags", exclude}} {
		for _, n := range set.names {
			if !known[n] {
				return fmt.Errorf("%s %s: no task or user class of %s has this tag (tags: %s)", set.flag, n, p.File, tagList(known))
			}
		}
	}
	hasAny := func(have, want []string) bool {
		return slices.ContainsFunc(have, func(t string) bool { return slices.Contains(want, t) })
	}
	var classes []*Class
	for _, c := range p.Classes {
		var kept []*Task
		for _, t := range c.Tasks {
			all := append(slices.Clone(c.Tags), t.Tags...)
			if len(tags) > 0 && !hasAny(all, tags) {
				continue
			}
			if hasAny(all, exclude) {
				continue
			}
			kept = append(kept, t)
		}
		if len(kept) > 0 {
			cc := *c
			cc.Tasks = kept
			classes = append(classes, &cc)
		}
	}
	if len(classes) == 0 {
		return fmt.Errorf("no task of %s is left by --tags %s --exclude-tags %s", p.File, strings.Join(tags, ","), strings.Join(exclude, ","))
	}
	p.Classes = classes
	return nil
}

func tagList(known map[string]bool) string {
	if len(known) == 0 {
		return "none"
	}
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
