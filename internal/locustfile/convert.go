// Package locustfile translates a locustfile (Locust's Python user classes)
// into a horde Starlark scenario (docs/scripting.md), reading the Python with
// internal/python: it never runs the file. What it cannot translate is
// reported with its file:line and left in the output as a
// fail("not converted: ...") where it would have run, or as a comment
// where nothing runs. docs/convert.md lists the forms.
package locustfile

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/horde-load/horde/internal/python"
)

// Options change what is converted.
type Options struct {
	// Tags and ExcludeTags filter tasks as Locust's --tags and
	// --exclude-tags do, at conversion time.
	Tags, ExcludeTags []string
	// Classes keeps only these user classes (Locust's positional class
	// names); empty keeps every one.
	Classes []string
}

// Note is something the converter could not translate, or translated with
// a difference worth reading.
type Note struct {
	Pos  python.Pos
	Msg  string
	Lost bool // true: not converted (a fail() or a comment stands in its place)
}

// Task is one task of a converted user class, for --list and
// --show-task-ratio.
type Task struct {
	Name   string
	Weight int
}

// User is a converted user class, as Locust would see it (inherited
// attributes resolved): what --list, --show-task-ratio and a Locust-protocol
// master need without running Python.
type User struct {
	Name       string
	Pos        python.Pos // the class statement
	Bases      []string   // as written
	Weight     int        // 1 unless the class (or a base) sets it
	FixedCount int
	Host       string   // the host attribute when it is a string literal
	Wait       string   // the wait as the scenario has it: between(1, 3), constant(0.5), pacing(2)...; "" none
	Tags       []string // the class's @tag(...)s
	Tasks      []Task
}

// Result is a converted file.
type Result struct {
	Star  []byte
	Notes []Note
	Users []User
}

// Lost counts the notes of things not converted.
func (r *Result) Lost() int {
	n := 0
	for _, no := range r.Notes {
		if no.Lost {
			n++
		}
	}
	return n
}

// Convert translates a locustfile. A syntax error is a *python.Error with
// file:line:col; a file without a user class is an error too.
func Convert(filename string, src []byte, opts Options) (*Result, error) {
	m, err := python.Parse(filename, src)
	if err != nil {
		return nil, err
	}
	c := &conv{file: filename, src: strings.Split(string(src), "\n"), m: m, opts: opts,
		helpers: map[string]bool{}, classes: map[string]*class{}, imports: map[string]string{},
		unknown: map[string]string{}, hookNames: map[string]string{}, moduleFuncs: map[string]*python.FuncDef{}, userFuncs: map[string]bool{},
		emittedFuncs: map[string]bool{}}
	return c.run()
}

type classKind int

const (
	kindOther classKind = iota
	kindUser
	kindTaskSet
	kindSequential
)

type class struct {
	c        *python.Class
	kind     classKind
	base     *class // the first base defined in the file
	abstract bool
	fn       string // the Starlark name of its functions' prefix
}

type conv struct {
	file  string
	src   []string
	m     *python.Module
	opts  Options
	out   strings.Builder
	notes []Note

	helpers      map[string]bool
	classes      map[string]*class
	order        []*class
	imports      map[string]string // local name -> "random", "random.randint", "locust.task"...
	unknown      map[string]string // local name -> module it came from (not converted)
	moduleFuncs  map[string]*python.FuncDef
	userFuncs    map[string]bool // module functions used as tasks (first parameter is the user)
	emittedFuncs map[string]bool
	loggers      nameSet           // module names bound to logging.getLogger(...)
	globals      map[string]bool   // names assigned at the top level
	locals       map[string]bool   // names some function binds
	hookNames    map[string]string // module functions that are test_start/test_stop listeners
	session      bool              // self.client.headers / cookies are used: requests merge them
	setup        []string
	teardown     []string
	users        []User
}

func (c *conv) note(p python.Pos, lost bool, format string, a ...any) {
	c.notes = append(c.notes, Note{Pos: p, Msg: fmt.Sprintf(format, a...), Lost: lost})
}

func (c *conv) where(p python.Pos) string { return fmt.Sprintf("%s:%d", c.file, p.Line) }

// line is the source line at p, trimmed, for comments.
func (c *conv) line(p python.Pos) string {
	if p.Line-1 < len(c.src) && p.Line >= 1 {
		return strings.TrimSpace(c.src[p.Line-1])
	}
	return ""
}

var knownModules = map[string]bool{"random": true, "uuid": true, "time": true, "json": true, "string": true,
	"os": true, "logging": true, "locust": true, "gevent": true, "sys": true}

// notConverted is an expression or statement the converter cannot translate.
type notConverted struct {
	pos python.Pos
	msg string
}

func (e *notConverted) Error() string { return e.msg }

func nc(n python.Node, format string, a ...any) error {
	return &notConverted{pos: n.Position(), msg: fmt.Sprintf(format, a...)}
}

func (c *conv) run() (*Result, error) {
	c.scan()
	var users []*class
	for _, k := range c.order {
		if k.kind == kindUser && !k.abstract {
			if len(c.opts.Classes) > 0 && !slices.Contains(c.opts.Classes, k.c.Name) {
				continue
			}
			users = append(users, k)
		}
	}
	users, err := c.keepTagged(users)
	if err != nil {
		return nil, err
	}
	if len(users) == 0 {
		if len(c.opts.Classes) > 0 {
			return nil, fmt.Errorf("%s: no user class named %s", c.file, strings.Join(c.opts.Classes, ", "))
		}
		return nil, fmt.Errorf("%s: no user class (a class based on HttpUser or FastHttpUser) to convert", c.file)
	}
	var body strings.Builder
	c.body(&body)
	host := c.hosts(users)
	var usersOut strings.Builder
	usersOut.WriteString("users = [\n")
	for _, u := range users {
		c.userCall(&usersOut, u, host)
	}
	usersOut.WriteString("]\n")

	var head strings.Builder
	fmt.Fprintf(&head, "# Converted by `horde convert` from %s (a locustfile); docs/convert.md.\n", baseName(c.file))
	head.WriteString("# Check it with `horde validate`, then run it as any scenario:\n")
	fmt.Fprintf(&head, "#   horde run %s --headless -u 10 -r 2 -t 1m\n", "THIS_FILE")
	sort.SliceStable(c.notes, func(i, j int) bool { return c.notes[i].Pos.Line < c.notes[j].Pos.Line })
	if lost := c.lostNotes(); len(lost) > 0 {
		fmt.Fprintf(&head, "#\n# Not converted (%d): each is a fail(\"not converted: ...\") where it would run, or a comment.\n", len(lost))
		for _, n := range lost {
			fmt.Fprintf(&head, "#   %s: %s\n", c.where(n.Pos), n.Msg)
		}
	}
	if other := c.otherNotes(); len(other) > 0 {
		fmt.Fprintf(&head, "#\n# Converted with a difference (%d):\n", len(other))
		for _, n := range other {
			fmt.Fprintf(&head, "#   %s: %s\n", c.where(n.Pos), n.Msg)
		}
	}
	head.WriteString("\n")
	head.WriteString(host.decl)
	head.WriteString("\n")
	out := head.String() + c.helperSource() + body.String() + c.hooksSource() + usersOut.String()
	return &Result{Star: []byte(strings.ReplaceAll(out, "THIS_FILE", "FILE.star")), Notes: c.notes, Users: c.users}, nil
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func (c *conv) lostNotes() []Note {
	var out []Note
	for _, n := range c.notes {
		if n.Lost {
			out = append(out, n)
		}
	}
	return out
}

func (c *conv) otherNotes() []Note {
	var out []Note
	for _, n := range c.notes {
		if !n.Lost {
			out = append(out, n)
		}
	}
	return out
}

// scan reads imports, module functions and classes, and finds which classes
// are users and task sets.
func (c *conv) scan() {
	var walk func(body []python.Stmt)
	walk = func(body []python.Stmt) {
		for _, s := range body {
			switch s := s.(type) {
			case *python.Import:
				for _, a := range s.Names {
					root := strings.Split(a.Name, ".")[0]
					local := a.AsName
					if local == "" {
						local = root
					}
					if knownModules[root] {
						if a.AsName != "" {
							c.imports[local] = a.Name
						} else {
							c.imports[local] = root
						}
					} else {
						c.unknown[local] = a.Name
					}
				}
			case *python.ImportFrom:
				mod := s.Module
				root := strings.Split(mod, ".")[0]
				for _, a := range s.Names {
					local := a.AsName
					if local == "" {
						local = a.Name
					}
					if a.Name == "*" {
						if root != "locust" {
							c.unknown["*"+mod] = mod
						}
						continue
					}
					if s.Level == 0 && knownModules[root] {
						if root == "locust" {
							c.imports[local] = "locust." + a.Name
						} else {
							c.imports[local] = mod + "." + a.Name
						}
					} else {
						c.unknown[local] = strings.Repeat(".", s.Level) + mod
					}
				}
			case *python.FuncDef:
				c.moduleFuncs[s.Name] = s
			case *python.ClassDef:
				c.addClass(python.ReadClass(s))
			case *python.If:
				walk(s.Body)
				walk(s.Else)
			case *python.Try:
				walk(s.Body)
			}
		}
	}
	walk(c.m.Body)
	c.scanHooks()
	// Kinds follow the bases, which may come later in the file.
	for changed := true; changed; {
		changed = false
		for _, k := range c.order {
			if k.kind != kindOther {
				continue
			}
			for _, b := range k.c.Bases {
				if kind := c.baseKind(b); kind != kindOther {
					k.kind = kind
					changed = true
					break
				}
			}
		}
	}
	for _, k := range c.order {
		if len(k.c.Bases) > 0 {
			k.base = c.classes[k.c.Bases[0]]
		}
		if a, ok := k.c.Attr("abstract"); ok {
			if v, _ := python.Literal(a.Value); v == true {
				k.abstract = true
			}
		}
	}
}

func (c *conv) addClass(pc *python.Class) {
	oldStyle(pc)
	k := &class{c: pc, fn: pc.Name}
	if _, dup := c.classes[pc.Name]; dup {
		c.note(pc.Def.P, false, "class %s is defined twice; the last one is used", pc.Name)
	} else {
		c.order = append(c.order, k)
	}
	c.classes[pc.Name] = k
	for i, o := range c.order {
		if o.c.Name == pc.Name {
			c.order[i] = k
		}
	}
	for _, nested := range pc.Classes {
		c.addClass(nested)
	}
}

// baseKind tells what a base class name makes a class.
func (c *conv) baseKind(b string) classKind {
	name := b
	if imp, ok := c.imports[b]; ok {
		name = imp
	}
	switch python.LastName(name) {
	case "HttpUser", "FastHttpUser", "HttpLocust", "FastHttpLocust":
		if strings.HasPrefix(name, "locust") || !strings.Contains(name, ".") {
			return kindUser
		}
	case "User", "Locust":
		if strings.HasPrefix(name, "locust") {
			return kindUser
		}
	case "TaskSet":
		if strings.HasPrefix(name, "locust") {
			return kindTaskSet
		}
	case "SequentialTaskSet":
		if strings.HasPrefix(name, "locust") {
			return kindSequential
		}
	}
	if k, ok := c.classes[b]; ok {
		return k.kind
	}
	return kindOther
}

// locustName says whether a local name is locust's name (imported from
// locust, or locust.NAME).
func (c *conv) locustName(e python.Expr, name string) bool {
	d := python.Dotted(e)
	if d == "" {
		return false
	}
	if imp, ok := c.imports[d]; ok {
		d = imp
	}
	if imp, ok := c.imports[strings.Split(d, ".")[0]]; ok && strings.Contains(d, ".") {
		d = imp + d[strings.IndexByte(d, '.'):]
	}
	return d == "locust."+name || strings.HasPrefix(d, "locust.") && strings.HasSuffix(d, "."+name)
}

// oldStyle reads Locust 0.x's task_set = X and min_wait/max_wait (in
// milliseconds) as tasks = [X] and wait_time = between(min, max).
func oldStyle(pc *python.Class) {
	if a, ok := pc.Attr("task_set"); ok {
		if _, has := pc.Attr("tasks"); !has {
			pc.Attrs = append(pc.Attrs, python.Attr{Name: "tasks", Pos: a.Pos, Value: &python.List{At: python.At{P: a.Pos}, Elts: []python.Expr{a.Value}}})
		}
	}
	lo, ok1 := pc.Attr("min_wait")
	hi, ok2 := pc.Attr("max_wait")
	if _, has := pc.Attr("wait_time"); has || !ok1 || !ok2 {
		return
	}
	ms := func(e python.Expr) (python.Expr, bool) {
		v, ok := python.Literal(e)
		var f float64
		switch v := v.(type) {
		case int64:
			f = float64(v)
		case float64:
			f = v
		default:
			ok = false
		}
		return &python.Num{At: python.At{P: e.Position()}, Lit: strconv.FormatFloat(f/1000, 'f', -1, 64) + "e0"}, ok
	}
	a, okA := ms(lo.Value)
	b, okB := ms(hi.Value)
	if okA && okB {
		pc.Attrs = append(pc.Attrs, python.Attr{Name: "wait_time", Pos: lo.Pos, Value: &python.Call{At: python.At{P: lo.Pos},
			Fn: &python.Name{At: python.At{P: lo.Pos}, Id: "between"}, Args: []python.Expr{a, b}}})
	}
}

// moduleGlobal says whether name is assigned at the module's top level.
func (c *conv) moduleGlobal(name string) bool {
	if c.globals == nil {
		c.globals = map[string]bool{}
		for _, st := range c.m.Body {
			if as, ok := st.(*python.Assign); ok {
				for _, t := range as.Targets {
					if n, ok := t.(*python.Name); ok {
						c.globals[n.Id] = true
					}
				}
			}
			if as, ok := st.(*python.AnnAssign); ok {
				if n, ok := as.Target.(*python.Name); ok {
					c.globals[n.Id] = true
				}
			}
		}
	}
	return c.globals[name]
}
