package locustfile

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/horde-load/horde/internal/python"
)

// w writes indented Starlark lines.
type w struct {
	b   *strings.Builder
	ind int
}

func (x *w) line(format string, a ...any) {
	x.b.WriteString(strings.Repeat("    ", x.ind))
	fmt.Fprintf(x.b, format, a...)
	x.b.WriteByte('\n')
}

// starlarkReserved are words Starlark keeps that Python does not.
var starlarkReserved = map[string]bool{"load": true, "u": true}

func ident(s string) string {
	if starlarkReserved[s] {
		return s + "_"
	}
	return s
}

// userSpecial are class attributes Locust reads itself; the others become
// the user's variables (u.vars).
var userSpecial = map[string]bool{"host": true, "weight": true, "fixed_count": true, "wait_time": true, "tasks": true,
	"abstract": true, "min_wait": true, "max_wait": true, "network_timeout": true, "connection_timeout": true,
	"insecure": true, "max_redirects": true, "max_retries": true, "concurrency": true, "client_pool": true,
	"ssl_context_factory": true, "task_set": true, "pool_manager": true, "wait_function": true, "on_start": true, "on_stop": true}

// body writes the module's statements in order: constants, functions, and
// for each user or task-set class its functions.
func (c *conv) body(b *strings.Builder) {
	out := &w{b: b}
	c.stmtsTop(out, c.m.Body)
}

func (c *conv) stmtsTop(out *w, body []python.Stmt) {
	for _, s := range body {
		switch s := s.(type) {
		case *python.Import, *python.ImportFrom:
			c.importNote(out, s)
		case *python.ClassDef:
			c.classOut(out, c.classes[s.Name], s)
		case *python.FuncDef:
			c.moduleFunc(out, s)
		case *python.If:
			if cmp, ok := s.Test.(*python.Compare); ok && python.Dotted(cmp.Left) == "__name__" {
				out.line("# %s: `if __name__ == \"__main__\":` left out (horde runs the file itself)", c.where(s.P))
				c.note(s.P, false, "the `if __name__ == \"__main__\"` block is left out")
				continue
			}
			c.topStmt(out, s)
		case *python.ExprStmt:
			if _, ok := s.X.(*python.Str); ok {
				continue // a docstring
			}
			if call, ok := s.X.(*python.Call); ok && eventOf(call.Fn) != "" {
				c.eventListener(out, call.Fn, call.Args, s.P)
				continue
			}
			c.topStmt(out, s)
		default:
			c.topStmt(out, s)
		}
	}
}

func (c *conv) importNote(out *w, s python.Stmt) {
	var names []string
	switch s := s.(type) {
	case *python.Import:
		for _, a := range s.Names {
			if !knownModules[strings.Split(a.Name, ".")[0]] {
				names = append(names, a.Name)
			}
		}
	case *python.ImportFrom:
		root := strings.Split(s.Module, ".")[0]
		if s.Level > 0 || !knownModules[root] {
			names = append(names, strings.Repeat(".", s.Level)+s.Module)
		}
	}
	for _, n := range names {
		out.line("# not converted: %s: %s (horde cannot load Python modules; its uses below fail)", c.where(s.Position()), c.line(s.Position()))
		c.note(s.Position(), true, "import of %s (only locust, random, uuid, time, json, string, os and logging translate)", n)
	}
}

// topStmt translates a module-level statement; one that cannot be is a
// comment (a fail() at the top level would stop the whole file loading).
func (c *conv) topStmt(out *w, s python.Stmt) {
	fc := &fnCtx{c: c, top: true}
	if as, ok := s.(*python.Assign); ok && len(as.Targets) == 1 {
		if n, ok := as.Targets[0].(*python.Name); ok {
			if call, ok := as.Value.(*python.Call); ok && c.isLogger(call.Fn) {
				fc.c.loggerNames().add(n.Id)
				return
			}
		}
	}
	var sub strings.Builder
	so := &w{b: &sub}
	if err := fc.stmt(so, s); err != nil {
		var e *notConverted
		if errors.As(err, &e) {
			out.line("# not converted: %s: %s", c.where(e.pos), e.msg)
			for _, l := range c.sourceLines(s) {
				out.line("#   %s", l)
			}
			c.note(e.pos, true, "%s", e.msg)
			placeholders(out, s)
			return
		}
		panic(err)
	}
	out.b.WriteString(sub.String())
}

// sourceLines are the lines of a statement as written, up to a few.
func (c *conv) sourceLines(s python.Stmt) []string {
	p := s.Position()
	var out []string
	for i := p.Line - 1; i < len(c.src) && len(out) < 6; i++ {
		l := strings.TrimRight(c.src[i], " \t\r")
		t := strings.TrimSpace(l)
		if i > p.Line-1 && (t == "" || indentOf(l) <= indentOf(c.src[p.Line-1]) && !strings.HasPrefix(t, "def ") && !strings.HasPrefix(t, "@")) {
			break
		}
		out = append(out, l)
	}
	return out
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " \t")) }

type nameSet map[string]bool

func (s nameSet) add(n string) { s[n] = true }

func (c *conv) loggerNames() nameSet {
	if c.loggers == nil {
		c.loggers = nameSet{}
	}
	return c.loggers
}

func (c *conv) isLogger(fn python.Expr) bool {
	d := python.Dotted(fn)
	return d == "logging.getLogger" && c.imports["logging"] == "logging"
}

// eventListener handles events.X.add_listener(fn) and the decorator form.
func (c *conv) eventListener(out *w, fn python.Expr, args []python.Expr, at python.Pos) bool {
	a, ok := fn.(*python.Attribute)
	if !ok || a.Name != "add_listener" {
		return false
	}
	ev, ok := a.X.(*python.Attribute)
	if !ok {
		return false
	}
	d := python.Dotted(ev.X)
	if d != "events" && !strings.HasSuffix(d, ".events") {
		return false
	}
	name := ""
	if len(args) == 1 {
		name = python.Dotted(args[0])
	}
	switch ev.Name {
	case "test_start":
		c.setup = append(c.setup, name)
	case "test_stop":
		c.teardown = append(c.teardown, name)
	default:
		out.line("# not converted: %s: %s", c.where(at), c.line(at))
		c.note(at, true, "events.%s listener (only test_start and test_stop translate, as setup and teardown)", ev.Name)
	}
	return true
}

func (c *conv) moduleFunc(out *w, f *python.FuncDef) {
	if _, ok := c.hookNames[f.Name]; ok {
		for _, d := range f.Decorators {
			if eventOf(d) != "" {
				c.eventListener(out, d, []python.Expr{&python.Name{At: python.At{P: f.P}, Id: f.Name}}, f.P)
			}
		}
		c.emitFunc(out, ident(f.Name), f, &fnCtx{c: c, hook: true}, false)
		return
	}
	for _, d := range f.Decorators {
		dn, _ := python.Decorator(d)
		if strings.HasSuffix(dn, ".add_listener") {
			if a, ok := d.(*python.Attribute); ok {
				ev, _ := a.X.(*python.Attribute)
				if ev != nil && (ev.Name == "test_start" || ev.Name == "test_stop") {
					c.eventListener(out, d, []python.Expr{&python.Name{Id: f.Name}}, f.P)
					c.emitFunc(out, f.Name, f, &fnCtx{c: c, hook: true}, false)
					return
				}
			}
			at := d.Position()
			out.line("# not converted: %s: @%s", c.where(at), dn)
			out.line("#   %s", c.line(at))
			for _, l := range c.sourceLines(f) {
				out.line("#   %s", l)
			}
			c.note(at, true, "%s listener (only test_start and test_stop translate, as setup and teardown)", dn)
			return
		}
		if dn == "task" || c.locustName(d, "task") || c.locustName(d, "tag") || dn == "tag" {
			continue
		}
		c.note(f.P, false, "decorator @%s of %s is left out", dn, f.Name)
	}
	user := c.userFuncs[f.Name] || c.usedAsTask(f.Name) || c.takesUser(f)
	fc := &fnCtx{c: c}
	if user && len(f.Params) > 0 {
		fc.self = f.Params[0].Name
	}
	c.emitFunc(out, ident(f.Name), f, fc, user)
}

// usedAsTask says whether a module function is named in some class's
// tasks (then its first parameter is the user).
func (c *conv) usedAsTask(name string) bool {
	for _, k := range c.order {
		if a, ok := k.c.Attr("tasks"); ok {
			var elts []python.Expr
			switch v := a.Value.(type) {
			case *python.List:
				elts = v.Elts
			case *python.Tuple:
				elts = v.Elts
			case *python.Dict:
				elts = v.Keys
			}
			for _, e := range elts {
				if python.Dotted(e) == name {
					c.userFuncs[name] = true
					return true
				}
			}
		}
	}
	return false
}

// emitFunc writes def name(params): body. A method's self becomes u; a
// user function's first parameter too.
func (c *conv) emitFunc(out *w, name string, f *python.FuncDef, fc *fnCtx, user bool) {
	fc.locals = map[string]bool{}
	for _, p := range f.Params {
		fc.locals[p.Name] = true
	}
	bound(f.Body, fc.locals)
	var params []string
	ps := f.Params
	if fc.self != "" || fc.hook {
		params = append(params, "u")
		if len(ps) > 0 && !fc.hook {
			ps = ps[1:]
		}
	}
	if fc.hook {
		ps = nil // environment, **kwargs: horde gives the user u instead
	}
	for _, p := range ps {
		s, err := fc.param(p)
		if err != nil {
			out.line("def %s(*args, **kwargs):", name)
			out.ind++
			c.failLine(out, err)
			out.ind--
			out.line("")
			return
		}
		params = append(params, s)
	}
	out.line("def %s(%s):", name, strings.Join(params, ", "))
	out.ind++
	n := len(out.b.String())
	fc.prologue(out)
	fc.stmts(out, f.Body)
	if len(out.b.String()) == n {
		out.line("pass")
	}
	out.ind--
	out.line("")
}

func (c *conv) failLine(out *w, err error) {
	var e *notConverted
	if !errors.As(err, &e) {
		panic(err)
	}
	c.note(e.pos, true, "%s", e.msg)
	out.line("fail(%s)", quote(fmt.Sprintf("not converted: %s: %s", c.where(e.pos), e.msg)))
}

// ---- classes

func (c *conv) classOut(out *w, k *class, d *python.ClassDef) {
	if k == nil {
		return
	}
	switch k.kind {
	case kindOther:
		out.line("# not converted: %s: class %s (not a User or TaskSet; Starlark has no classes)", c.where(d.P), d.Name)
		c.note(d.P, true, "class %s is not a User or a TaskSet (Starlark has no classes)", d.Name)
		return
	}
	out.line("# %s: class %s(%s)", c.where(d.P), d.Name, strings.Join(k.c.Bases, ", "))
	out.line("")
	for _, nested := range d.Body {
		if nd, ok := nested.(*python.ClassDef); ok {
			c.classOut(out, c.classes[nd.Name], nd)
		}
	}
	for _, f := range k.c.Methods {
		if f.Name == "wait_time" {
			c.note(f.P, true, "a wait_time method of %s (only between, constant, constant_pacing and constant_throughput translate); the user does not wait", d.Name)
			continue
		}
		fc := &fnCtx{c: c, cls: k, self: "self"}
		if len(f.Params) > 0 {
			fc.self = f.Params[0].Name
		}
		for _, dec := range f.Decorators {
			dn, _ := python.Decorator(dec)
			switch {
			case dn == "task" || dn == "tag" || c.locustName(dec, "task") || c.locustName(dec, "tag"):
			case dn == "staticmethod":
				fc.self = ""
			default:
				c.note(f.P, false, "decorator @%s of %s.%s is left out", dn, d.Name, f.Name)
			}
		}
		if f.Name == "on_start" && k.kind == kindUser {
			fc.start = true
		}
		if f.Name == "__init__" {
			continue // its assignments run first in on_start (below)
		}
		if k.kind != kindUser {
			fc.inTaskSet = true
		}
		c.emitFunc(out, c.method(k, f.Name), f, fc, true)
	}
	if k.kind == kindUser && k.c.Method("on_start") == nil && c.needsStart(k) {
		out.line("def %s_on_start(u):", k.fn)
		out.ind++
		(&fnCtx{c: c, cls: k, self: "self", start: true}).prologue(out)
		out.ind--
		out.line("")
	}
	if k.kind == kindTaskSet || k.kind == kindSequential {
		c.taskSetFunc(out, k)
	}
}

// needsStart says whether a user class needs a generated on_start: for its
// class attributes, __init__, or a task set's waits.
func (c *conv) needsStart(k *class) bool {
	return len(c.instanceAttrs(k)) > 0 || hasMethod(c, k, "__init__") || c.hasTaskSets(k)
}

func (c *conv) hasTaskSets(k *class) bool {
	for _, t := range c.tasksOf(k) {
		if t.set != nil {
			return true
		}
	}
	return false
}

// instanceAttrs are a class's (and its bases') attributes that are not
// Locust's own: they start as the user's variables.
func (c *conv) instanceAttrs(k *class) []python.Attr {
	var chain []*class
	for x := k; x != nil; x = x.base {
		chain = append([]*class{x}, chain...)
	}
	seen := map[string]int{}
	var out []python.Attr
	for _, x := range chain {
		for _, a := range x.c.Attrs {
			if userSpecial[a.Name] {
				continue
			}
			if i, ok := seen[a.Name]; ok {
				out[i] = a
				continue
			}
			seen[a.Name] = len(out)
			out = append(out, a)
		}
	}
	return out
}

// findMethod looks a method up in the class and its bases in the file.
func (c *conv) findMethod(k *class, name string) (*class, *python.FuncDef) {
	for x := k; x != nil; x = x.base {
		if f := x.c.Method(name); f != nil {
			return x, f
		}
	}
	return nil, nil
}

type taskRef struct {
	fn     string // the Starlark function
	name   string // for --list
	weight int
	set    *class // a task set run as a task
	tags   []string
	pos    python.Pos
}

// tasksOf lists a class's tasks as Locust does: its bases' tasks, then its
// tasks attribute, then its @task methods, with their weights.
func (c *conv) tasksOf(k *class) []taskRef {
	var out []taskRef
	if k.base != nil {
		out = append(out, c.tasksOf(k.base)...)
	}
	if a, ok := k.c.Attr("tasks"); ok {
		add := func(e python.Expr, weight int) {
			d := python.Dotted(e)
			if kk, ok := c.classes[d]; ok && (kk.kind == kindTaskSet || kk.kind == kindSequential) {
				out = append(out, taskRef{fn: kk.fn, name: d, weight: weight, set: kk, tags: c.classTags(kk), pos: e.Position()})
				return
			}
			if f, ok := c.moduleFuncs[d]; ok {
				out = append(out, taskRef{fn: ident(d), name: d, weight: weight, tags: c.funcTags(f), pos: e.Position()})
				return
			}
			if kk, f := c.findMethod(k, d); f != nil {
				out = append(out, taskRef{fn: c.method(kk, d), name: d, weight: weight, tags: c.funcTags(f), pos: e.Position()})
				return
			}
			c.note(e.Position(), true, "task %s of %s is not a function or TaskSet of this file", c.line(e.Position()), k.c.Name)
		}
		switch v := a.Value.(type) {
		case *python.List:
			for _, e := range v.Elts {
				add(e, 1)
			}
		case *python.Tuple:
			for _, e := range v.Elts {
				add(e, 1)
			}
		case *python.Dict:
			for i, key := range v.Keys {
				n, ok := python.Literal(v.Values[i])
				w, isInt := n.(int64)
				if key == nil || !ok || !isInt || w < 0 {
					c.note(a.Pos, true, "tasks of %s: a weight that is not a whole number", k.c.Name)
					continue
				}
				add(key, int(w))
			}
		default:
			c.note(a.Pos, true, "tasks of %s is not a list or a dict", k.c.Name)
		}
	}
	for _, f := range k.c.Methods {
		if w, ok := c.taskWeight(f); ok {
			out = append(out, taskRef{fn: c.method(k, f.Name), name: f.Name, weight: w, tags: c.funcTags(f), pos: f.P})
		}
	}
	for _, nested := range k.c.Classes {
		kk := c.classes[nested.Name]
		for _, d := range nested.Def.Decorators {
			if dn, call := python.Decorator(d); dn == "task" || c.locustName(d, "task") {
				w := 1
				if call != nil && len(call.Args) > 0 {
					if n, ok := python.Literal(call.Args[0]); ok {
						if i, ok := n.(int64); ok {
							w = int(i)
						}
					}
				}
				out = append(out, taskRef{fn: kk.fn, name: nested.Name, weight: w, set: kk, tags: c.classTags(kk), pos: nested.Def.P})
			}
		}
	}
	return c.filterTags(out)
}

func (c *conv) taskWeight(f *python.FuncDef) (int, bool) {
	for _, d := range f.Decorators {
		dn, call := python.Decorator(d)
		if dn != "task" && !c.locustName(d, "task") {
			continue
		}
		if call == nil {
			return 1, true
		}
		var arg python.Expr
		if len(call.Args) > 0 {
			arg = call.Args[0]
		}
		for _, kw := range call.Keywords {
			if kw.Name == "weight" {
				arg = kw.Value
			}
		}
		if arg == nil {
			return 1, true
		}
		if n, ok := python.Literal(arg); ok {
			if i, ok := n.(int64); ok && i >= 0 {
				return int(i), true
			}
		}
		c.note(f.P, true, "@task weight of %s is not a whole number; 1 is used", f.Name)
		return 1, true
	}
	return 0, false
}

func (c *conv) tagsOf(decs []python.Expr) []string {
	var out []string
	for _, d := range decs {
		dn, call := python.Decorator(d)
		if (dn == "tag" || c.locustName(d, "tag")) && call != nil {
			for _, a := range call.Args {
				if s, ok := a.(*python.Str); ok {
					out = append(out, s.Value)
				}
			}
		}
	}
	return out
}

func (c *conv) funcTags(f *python.FuncDef) []string { return c.tagsOf(f.Decorators) }

func (c *conv) classTags(k *class) []string { return c.tagsOf(k.c.Def.Decorators) }

// filterTags applies --tags and --exclude-tags as Locust does: a task set
// with a wanted tag keeps all its tasks.
func (c *conv) filterTags(ts []taskRef) []taskRef {
	if len(c.opts.Tags) == 0 && len(c.opts.ExcludeTags) == 0 {
		return ts
	}
	var out []taskRef
	for _, t := range ts {
		if slices.ContainsFunc(t.tags, func(s string) bool { return slices.Contains(c.opts.ExcludeTags, s) }) {
			continue
		}
		if len(c.opts.Tags) > 0 && !slices.ContainsFunc(t.tags, func(s string) bool { return slices.Contains(c.opts.Tags, s) }) {
			if t.set == nil || len(c.tasksOf(t.set)) == 0 {
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// merged adds up the weights of a task named twice (a dict cannot hold the
// same function twice).
func merged(ts []taskRef) []taskRef {
	var out []taskRef
	idx := map[string]int{}
	for _, t := range ts {
		if i, ok := idx[t.fn]; ok {
			out[i].weight += t.weight
			continue
		}
		idx[t.fn] = len(out)
		out = append(out, t)
	}
	var kept []taskRef
	for _, t := range out {
		if t.weight > 0 {
			kept = append(kept, t)
		}
	}
	return kept
}

// taskSetFunc writes a task set as one task function: it runs the set's
// tasks, picked by weight (or in order), waiting between them, until one
// interrupts.
func (c *conv) taskSetFunc(out *w, k *class) {
	ts := c.tasksOf(k)
	seq := k.kind == kindSequential
	c.helpers["_INTERRUPT"] = true
	c.helpers["_wait"] = true
	if !seq {
		ts = merged(ts)
		c.helpers["_pick"] = true
	}
	out.line("def %s(u):", k.fn)
	out.ind++
	out.line("\"\"\"%s %s: its tasks until one calls interrupt().\"\"\"", map[bool]string{true: "SequentialTaskSet", false: "TaskSet"}[seq], k.c.Name)
	if len(ts) == 0 {
		c.note(k.c.Def.P, true, "task set %s has no tasks", k.c.Name)
		out.line("fail(%s)", quote(fmt.Sprintf("not converted: %s: task set %s has no tasks", c.where(k.c.Def.P), k.c.Name)))
		out.ind--
		out.line("")
		return
	}
	for _, a := range c.instanceAttrs(k) {
		fc := &fnCtx{c: c, cls: k, self: "self", inTaskSet: true}
		v, err := fc.expr(a.Value)
		if err != nil {
			c.failLine(out, err)
			continue
		}
		out.line("u.vars[%s] = %s", quote(a.Name), v)
	}
	wait := "u.vars.get(\"_wait\")"
	if a, ok := c.classAttr(k, "wait_time"); ok {
		if v, err := c.waitTuple(a.Value); err == nil {
			wait = v
		} else {
			c.note(a.Pos, true, "wait_time of %s: %v", k.c.Name, err)
		}
	}
	if kk, f := c.findMethod(k, "on_start"); f != nil {
		out.line("if %s_on_start(u) == _INTERRUPT:", kk.fn)
		out.line("    return")
	}
	var list []string
	for _, t := range ts {
		if seq {
			for range t.weight {
				list = append(list, t.fn)
			}
		} else {
			list = append(list, fmt.Sprintf("(%s, %d)", t.fn, t.weight))
		}
	}
	out.line("tasks = [%s]", strings.Join(list, ", "))
	out.line("i = 0")
	out.line("while True:")
	out.ind++
	out.line("start = now(\"unixms\")")
	if seq {
		out.line("task = tasks[i %% len(tasks)]")
	} else {
		out.line("task = _pick(tasks)")
	}
	out.line("i += 1")
	out.line("if task(u) == _INTERRUPT:")
	out.line("    break")
	out.line("_wait(%s, start)", wait)
	out.ind--
	if kk, f := c.findMethod(k, "on_stop"); f != nil {
		out.line("%s_on_stop(u)", kk.fn)
	}
	out.ind--
	out.line("")
}

// classCount is the class attribute name of k when it is a whole number
// above zero. One that is not a literal is noted as not converted, with
// what is done instead (ifNot).
func (c *conv) classCount(k *class, name, ifNot string) (int64, bool) {
	a, ok := c.classAttr(k, name)
	if !ok {
		return 0, false
	}
	n, ok := python.Literal(a.Value)
	if !ok {
		c.note(a.Pos, true, "%s of %s is not a whole number; %s", name, k.c.Name, ifNot)
		return 0, false
	}
	i, ok := n.(int64)
	return i, ok && i > 0
}

func (c *conv) classAttr(k *class, name string) (python.Attr, bool) {
	for x := k; x != nil; x = x.base {
		if a, ok := x.c.Attr(name); ok {
			return a, true
		}
	}
	return python.Attr{}, false
}

// waitOf reads wait_time = between(a, b) and the other wait functions.
func (c *conv) waitOf(e python.Expr) (kind string, args []python.Expr, err error) {
	call, ok := e.(*python.Call)
	if !ok {
		return "", nil, nc(e, "wait_time is not a call of between, constant, constant_pacing or constant_throughput")
	}
	for _, name := range []string{"between", "constant", "constant_pacing", "constant_throughput"} {
		if python.Dotted(call.Fn) == name || c.locustName(call.Fn, name) {
			want := 1
			if name == "between" {
				want = 2
			}
			if len(call.Args) != want || len(call.Keywords) > 0 {
				return "", nil, nc(e, "%s takes %d arguments", name, want)
			}
			return name, call.Args, nil
		}
	}
	return "", nil, nc(e, "wait_time = %s(...) (only between, constant, constant_pacing and constant_throughput translate)", python.Dotted(call.Fn))
}

// waitForms are the translations of Locust's waits, by kind: as a wait
// for user(wait=...), and as data for the task-set loop: (kind, a, b).
// between takes two arguments, the others one.
var waitForms = map[string][2]string{
	"between":             {"between(%s, %s)", "(\"between\", %s, %s)"},
	"constant":            {"constant(%s)", "(\"constant\", %s, 0)"},
	"constant_pacing":     {"pacing(%s)", "(\"pacing\", %s, 0)"},
	"constant_throughput": {"pacing(1.0 / %s)", "(\"pacing\", 1.0 / %s, 0)"},
}

// waitArg is a wait for user(wait=...).
func (c *conv) waitArg(e python.Expr) (string, error) { return c.waitFormat(e, 0) }

// waitTuple is a wait as data for the task-set loop: (kind, a, b).
func (c *conv) waitTuple(e python.Expr) (string, error) { return c.waitFormat(e, 1) }

// waitFormat translates the arguments of a wait and writes them with the
// form'th of its kind's waitForms.
func (c *conv) waitFormat(e python.Expr, form int) (string, error) {
	kind, args, err := c.waitOf(e)
	if err != nil {
		return "", err
	}
	vs, err := (&fnCtx{c: c, top: true}).exprs(args...)
	if err != nil {
		return "", err
	}
	f := waitForms[kind][form]
	if kind == "between" {
		return fmt.Sprintf(f, vs[0], vs[1]), nil
	}
	return fmt.Sprintf(f, vs[0]), nil
}

// ---- hosts and users

type hostDecl struct {
	decl    string
	perUser map[string]string
}

func (c *conv) hosts(users []*class) hostDecl {
	h := hostDecl{perUser: map[string]string{}}
	var first string
	distinct := map[string]bool{}
	for _, u := range users {
		a, ok := c.classAttr(u, "host")
		if !ok {
			continue
		}
		v, err := (&fnCtx{c: c, top: true}).expr(a.Value)
		if err != nil {
			c.note(a.Pos, true, "host of %s: %v", u.c.Name, err)
			continue
		}
		if first == "" {
			first = v
		}
		distinct[v] = true
		h.perUser[u.c.Name] = v
	}
	switch {
	case first == "":
		h.decl = "# The locustfile sets no host: pass -H (as Locust's --host), or set LOCUST_HOST.\nhost = env(\"LOCUST_HOST\", \"http://localhost\")\n"
		h.perUser = map[string]string{}
	case len(distinct) == 1 && len(h.perUser) == len(users):
		h.decl = fmt.Sprintf("host = %s\n", first)
		h.perUser = map[string]string{}
	default:
		h.decl = fmt.Sprintf("host = %s\n", first)
	}
	return h
}

func (c *conv) userCall(b *strings.Builder, k *class, host hostDecl) {
	out := &w{b: b, ind: 1}
	ts := merged(c.tasksOf(k))
	u := User{Name: k.c.Name, Pos: k.c.Def.P, Bases: k.c.Bases, Weight: 1, Tags: c.classTags(k)}
	if a, ok := c.classAttr(k, "host"); ok {
		if v, ok := python.Literal(a.Value); ok {
			u.Host, _ = v.(string)
		}
	}
	out.line("user(")
	out.ind++
	out.line("%s,", quote(k.c.Name))
	if len(ts) == 0 {
		c.note(k.c.Def.P, true, "user class %s has no tasks: a task that fails stands in", k.c.Name)
		c.helpers["_no_tasks"] = true
		out.line("tasks = {_no_tasks: 1},")
	} else {
		var items []string
		for _, t := range ts {
			items = append(items, fmt.Sprintf("%s: %d", t.fn, t.weight))
			u.Tasks = append(u.Tasks, Task{Name: t.name, Weight: t.weight})
		}
		out.line("tasks = {%s},", strings.Join(items, ", "))
	}
	if a, ok := c.classAttr(k, "wait_time"); ok {
		if v, err := c.waitArg(a.Value); err == nil {
			out.line("wait = %s,", v)
			u.Wait = v
		} else {
			var e *notConverted
			errors.As(err, &e)
			c.note(a.Pos, true, "%s; the user does not wait", e.msg)
		}
	}
	if i, ok := c.classCount(k, "weight", "1 is used"); ok {
		out.line("weight = %d,", i)
		u.Weight = int(i)
	}
	if i, ok := c.classCount(k, "fixed_count", "it is left out"); ok {
		out.line("count = %d,", i)
		u.FixedCount = int(i)
	}
	if h, ok := host.perUser[k.c.Name]; ok {
		out.line("host = %s,", h)
	}
	if kk, f := c.findMethod(k, "on_start"); f != nil {
		out.line("on_start = %s_on_start,", kk.fn)
	} else if c.needsStart(k) {
		out.line("on_start = %s_on_start,", k.fn)
	}
	if kk, f := c.findMethod(k, "on_stop"); f != nil {
		out.line("on_stop = %s_on_stop,", kk.fn)
	}
	if c.hasTaskSets(k) {
		// A task set keeps the user until it interrupts, as in Locust.
		out.line("task_timeout = \"8760h\",")
		out.line("max_steps = 1000000000000,")
	}
	out.ind--
	out.line("),")
	c.users = append(c.users, u)
}

func hasMethod(c *conv, k *class, name string) bool {
	_, f := c.findMethod(k, name)
	return f != nil
}

// takesUser says whether a module function's first parameter is used as a
// Locust user or task set (its .client): def login(l): l.client.post(...).
func (c *conv) takesUser(f *python.FuncDef) bool {
	if len(f.Params) == 0 || f.Params[0].Kind != python.ParamNormal {
		return false
	}
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(f.Params[0].Name) + `\.(client|user|interrupt)\b`)
	start := f.P.Line - 1
	for i := start; i < len(c.src); i++ {
		l := c.src[i]
		t := strings.TrimSpace(l)
		if i > start && t != "" && indentOf(l) <= indentOf(c.src[start]) && !strings.HasPrefix(t, "def ") && !strings.HasPrefix(t, "@") && !strings.HasPrefix(t, "#") {
			break
		}
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

// bound adds the names a body assigns (not in nested functions).
func bound(body []python.Stmt, out map[string]bool) {
	var target func(e python.Expr)
	target = func(e python.Expr) {
		switch e := e.(type) {
		case *python.Name:
			out[e.Id] = true
		case *python.Tuple:
			for _, x := range e.Elts {
				target(x)
			}
		case *python.List:
			for _, x := range e.Elts {
				target(x)
			}
		case *python.Starred:
			target(e.X)
		}
	}
	for _, s := range body {
		switch s := s.(type) {
		case *python.Assign:
			for _, t := range s.Targets {
				target(t)
			}
		case *python.AugAssign:
			target(s.Target)
		case *python.AnnAssign:
			target(s.Target)
		case *python.For:
			target(s.Target)
		case *python.With:
			for _, it := range s.Items {
				if it.As != nil {
					target(it.As)
				}
			}
		case *python.Try:
			for _, h := range s.Handlers {
				if h.Name != "" {
					out[h.Name] = true
				}
			}
		case *python.FuncDef:
			out[s.Name] = true
		}
		for _, b := range python.Blocks(s) {
			bound(b, out)
		}
	}
}

// notShort are names a method cannot keep in the script: Starlark's and
// horde's predeclared names, and the script's own globals.
var notShort = map[string]bool{"user": true, "between": true, "constant": true, "pacing": true, "sleep": true,
	"check": true, "rand_int": true, "rand_choice": true, "uuid": true, "seq": true, "now": true, "env": true,
	"feeder": true, "json": true, "print": true, "fail": true, "host": true, "users": true, "settings": true,
	"setup": true, "teardown": true, "u": true, "on_start": true, "on_stop": true, "__init__": true, "tasks": true,
	"task": true, "i": true, "start": true, "True": true, "False": true, "None": true, "struct": true, "math": true}

// method is the script's name for a class's method: the method's own name
// when no other class, global or builtin has it (so --show-task-ratio and
// the exceptions say get_data, as Locust does), else Class_method.
func (c *conv) method(k *class, name string) string {
	short := !strings.HasPrefix(name, "_") && !notShort[name] && !starlarkBuiltins[name] && !starlarkReserved[name] &&
		!c.moduleGlobal(name) && c.moduleFuncs[name] == nil && c.classes[name] == nil
	if _, ok := c.imports[name]; ok {
		short = false
	}
	if _, ok := c.unknown[name]; ok {
		short = false
	}
	if short && c.boundAnywhere()[name] {
		short = false // a local of that name would hide the function
	}
	if short {
		n := 0
		for _, o := range c.order {
			if o.c.Method(name) != nil {
				n++
			}
		}
		short = n == 1
	}
	if short {
		return name
	}
	return k.fn + "_" + name
}

// boundAnywhere are the names any function of the file binds.
func (c *conv) boundAnywhere() map[string]bool {
	if c.locals != nil {
		return c.locals
	}
	c.locals = map[string]bool{}
	bindsIn(c.m.Body, c.locals)
	return c.locals
}

// bindsIn adds to out the names every function in body binds: its
// parameters and locals, in nested functions and classes too.
func bindsIn(body []python.Stmt, out map[string]bool) {
	for _, s := range body {
		switch s := s.(type) {
		case *python.FuncDef:
			for _, p := range s.Params {
				out[p.Name] = true
			}
			bound(s.Body, out)
			bindsIn(s.Body, out)
		case *python.ClassDef:
			bindsIn(s.Body, out)
		}
		for _, b := range python.Blocks(s) {
			bindsIn(b, out)
		}
	}
}
