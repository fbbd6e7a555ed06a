package scenario

import (
	"fmt"
	"sort"
	"strings"
	"text/template/parse"

	"go.yaml.in/yaml/v3"
)

// varRef is a template's read of a user variable ({{ .token }}), kept
// until the whole file is read to check that something sets it.
type varRef struct {
	name string
	n    *yaml.Node // the scalar the template is in
	text string
	off  int // of the field in text
}

// noteVarRefs records the variables a template reads at its top level
// ({{ .a }}, {{ .a.b }}, {{ f .a }}); reads inside range and with, where
// the dot is something else, are not checked.
func (p *parser) noteVarRefs(n *yaml.Node, text string) {
	if !strings.Contains(text, "{{") {
		return
	}
	trees, err := parseTreesOf(text)
	if err != nil {
		return
	}
	t := trees["t"]
	if t == nil || t.Root == nil {
		return
	}
	var visit func(parse.Node) bool
	visit = func(nd parse.Node) bool {
		switch x := nd.(type) {
		case *parse.FieldNode:
			if len(x.Ident) > 0 {
				p.varRefs = append(p.varRefs, varRef{name: x.Ident[0], n: n, text: text, off: int(x.Pos)})
			}
		case *parse.RangeNode: // the dot is rebound inside
			inspectTemplate(x.Pipe, visit)
			return false
		case *parse.WithNode:
			inspectTemplate(x.Pipe, visit)
			return false
		case *parse.TemplateNode:
			return false
		}
		return true
	}
	inspectTemplate(t.Root, visit)
}

// checkVarRefs reports every template variable that no capture, feeder or
// setup step sets, with the nearest name that is set. A file whose tasks
// run Starlark (which may set any variable) is not checked.
func (p *parser) checkVarRefs(plan *Plan) {
	for _, c := range plan.Classes {
		if c.Script != nil || c.New != nil {
			return
		}
		for _, t := range c.Tasks {
			if t.Script != nil {
				return
			}
		}
	}
	set := map[string]bool{}
	for name := range p.feeders {
		set[name] = true
	}
	for name := range p.captured {
		set[name] = true
	}
	known := make([]string, 0, len(set))
	for name := range set {
		known = append(known, name)
	}
	sort.Strings(known)
	for _, r := range p.varRefs {
		if set[r.name] {
			continue
		}
		msg := fmt.Sprintf("{{ .%s }}: no capture, feeder or setup step sets the variable %q, so it renders empty", r.name, r.name)
		if s := suggest(r.name, known); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else if len(known) > 0 {
			msg += fmt.Sprintf(" (the variables set are %s)", strings.Join(known, ", "))
		}
		p.errorAt(p.templatePos(r.n, r.text, &compileError{off: r.off}), "%s", msg)
	}
}
