package scenario

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
)

// Templates are Go text/template text, compiled once at load time into one
// of three forms, fastest first:
//
//   - static: text without "{{" is kept as is and appended by a copy;
//   - ops: the parse tree of the common constructs (text, {{ .a }},
//     {{ .a.b }}, a call of one of our functions with literal or .field
//     arguments) becomes a list of ops run by a small interpreter;
//   - slow: anything else (if, range, pipelines, variables, builtins) runs
//     through text/template itself.
//
// Both non-static forms print a missing variable as "" where text/template
// prints "<no value>"; otherwise the ops produce exactly what text/template
// produces (FuzzTemplate checks this).

type opKind uint8

const (
	opText  opKind = iota // append text
	opField               // print a variable: .a or .a.b
	opCall                // print the result of one of our functions
	opJSON                // render sub as a JSON string (or a bare literal; see op.literal)
	opQuery               // render sub query-escaped (a form value)
	opRaw                 // render sub as is (a multipart field)
)

type op struct {
	kind opKind
	text string
	path []string // opField
	fn   *function
	// args are the call's arguments; an argument with a non-nil argPaths
	// entry is a variable read at run time.
	args     []any
	argPaths [][]string
	sub      *Template // opJSON, opQuery, opRaw
	// literal: sub is exactly one action, so a rendered JSON number, true,
	// false or null is emitted bare instead of as a string.
	literal bool
}

// Static reports the template's text when it contains no action. A nil
// Template is the empty static text.
func (t *Template) Static() (string, bool) {
	if t == nil {
		return "", true
	}
	if !t.static {
		return "", false
	}
	return t.src, true
}

// String returns the template's source text.
func (t *Template) String() string {
	if t == nil {
		return ""
	}
	return t.src
}

// Append renders the template for env and appends the result to dst. It is
// safe for concurrent use with distinct Envs. A nil env renders with no
// variables and user ID 0. On error the partial output is returned with it.
func (t *Template) Append(dst []byte, env *Env) ([]byte, error) {
	if t == nil {
		return dst, nil
	}
	if t.static {
		return append(dst, t.src...), nil
	}
	if t.slow != nil {
		return t.slow.append(dst, env)
	}
	var vars Vars
	if env != nil {
		vars = env.Vars
	}
	for i := range t.ops {
		o := &t.ops[i]
		switch o.kind {
		case opText:
			dst = append(dst, o.text...)
		case opField:
			v, found, err := lookup(vars, o.path)
			if err != nil {
				return dst, err
			}
			if found {
				if dst, err = appendValue(dst, v); err != nil {
					return dst, err
				}
			}
		case opCall:
			args := o.args
			if o.argPaths != nil {
				args = make([]any, len(o.args))
				for j, p := range o.argPaths {
					if p == nil {
						args[j] = o.args[j]
						continue
					}
					v, _, err := lookup(vars, p)
					if err != nil {
						return dst, err
					}
					args[j] = v
				}
			}
			v, err := o.fn.call(env, args)
			if err != nil {
				return dst, fmt.Errorf("error calling %s: %w", o.fn.name, err)
			}
			dst = v.appendTo(dst)
		case opJSON:
			start := len(dst)
			var err error
			if dst, err = o.sub.Append(dst, env); err != nil {
				return dst, err
			}
			if o.literal && isJSONLiteral(dst[start:]) {
				continue
			}
			dst = quoteJSONFrom(dst, start)
		case opQuery:
			start := len(dst)
			var err error
			if dst, err = o.sub.Append(dst, env); err != nil {
				return dst, err
			}
			dst = queryEscapeFrom(dst, start)
		case opRaw:
			var err error
			if dst, err = o.sub.Append(dst, env); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

// lookup resolves .a.b against vars the way text/template does for maps,
// except that found is false for a missing key at any level.
func lookup(vars Vars, path []string) (v any, found bool, err error) {
	var cur any = map[string]any(vars)
	for _, name := range path {
		switch m := cur.(type) {
		case map[string]any:
			cur, found = m[name]
		case Vars:
			cur, found = m[name]
		case map[string]string:
			cur, found = m[name]
		case nil:
			return nil, false, fmt.Errorf("nil pointer evaluating interface {}.%s", name)
		default:
			rv := reflect.ValueOf(cur)
			if rv.Kind() != reflect.Map || rv.Type().Key() != reflect.TypeFor[string]() {
				return nil, false, fmt.Errorf("can't evaluate field %s in type %T", name, cur)
			}
			e := rv.MapIndex(reflect.ValueOf(name))
			found = e.IsValid()
			if found {
				cur = e.Interface()
			}
		}
		if !found {
			return nil, false, nil
		}
	}
	return cur, true, nil
}

// appendValue prints v as text/template does.
func appendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return append(dst, v...), nil
	case nil:
		return dst, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return fmt.Append(dst, v), nil
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Chan, reflect.Func:
		if _, ok := v.(fmt.Stringer); !ok {
			if _, ok := v.(error); !ok {
				return dst, fmt.Errorf("can't print value of type %T", v)
			}
		}
	}
	return fmt.Append(dst, rv.Interface()), nil
}

// compileError is a template that does not compile. off is a byte offset
// into the text (-1: unknown) and line a 1-based line of the text (0: unknown).
type compileError struct {
	off, line int
	msg       string
}

func (e *compileError) Error() string { return e.msg }

// CompileTemplate compiles text as a scenario template, for callers outside
// scenario files (the CLI, Go users). Errors read "bad template: ...".
func CompileTemplate(text string) (*Template, error) {
	t, err := compileTemplate(text, defaultRuntime)
	if err != nil {
		return nil, err
	}
	return t, nil
}

var parseErrRE = regexp.MustCompile(`(?s)^template: t:(\d+): (.*)$`)

func compileTemplate(text string, rt *runtime) (*Template, *compileError) {
	if !strings.Contains(text, "{{") {
		return &Template{src: text, static: true}, nil
	}
	trees, err := parseTreesOf(text)
	if err != nil {
		msg := err.Error()
		line := 0
		if m := parseErrRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		return nil, &compileError{off: -1, line: line, msg: "bad template: " + msg}
	}
	funcs := rt.functions()
	for _, name := range sortedKeys(trees) {
		if err := checkFuncs(trees[name].Root, funcs); err != nil {
			return nil, err
		}
	}
	main := trees["t"]
	if main == nil { // cannot happen: Parse always adds the main tree
		return nil, &compileError{off: -1, msg: "bad template: no main template"}
	}
	t := &Template{src: text}
	if len(trees) == 1 {
		t.single = len(main.Root.Nodes) == 1 && main.Root.Nodes[0].Type() == parse.NodeAction
		if ops, ok := compileOps(main.Root, funcs); ok {
			t.ops = mergeText(ops)
			if len(t.ops) == 0 || (len(t.ops) == 1 && t.ops[0].kind == opText) {
				t.static = true
				if len(t.ops) == 1 {
					t.src = t.ops[0].text
				} else {
					t.src = ""
				}
				t.ops = nil
			}
			return t, nil
		}
	}
	t.slow = newSlowPath(trees, funcs)
	return t, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkFuncs reports the first unknown function or wrong argument count.
func checkFuncs(n parse.Node, funcs map[string]*function) *compileError {
	var err *compileError
	checkIdent := func(id *parse.IdentifierNode, nargs int) {
		if err != nil {
			return
		}
		if f, ok := funcs[id.Ident]; ok {
			if e := checkArity(f, nargs); e != nil {
				err = &compileError{off: int(id.Pos), msg: e.Error()}
			}
			return
		}
		if slices.Contains(builtinFuncs, id.Ident) {
			return
		}
		msg := fmt.Sprintf("unknown function %q", id.Ident)
		if s := suggest(id.Ident, append(slices.Clone(funcNames), builtinFuncs...)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		err = &compileError{off: int(id.Pos), msg: msg}
	}
	var visit func(n parse.Node) bool
	visit = func(n parse.Node) bool {
		if err != nil {
			return false
		}
		p, ok := n.(*parse.PipeNode)
		if !ok {
			return true
		}
		// A pipe's identifiers are checked with the argument count their
		// place gives them; its other arguments are walked.
		for i, c := range p.Cmds {
			for j, a := range c.Args {
				if id, ok := a.(*parse.IdentifierNode); ok {
					nargs := 0
					if j == 0 {
						nargs = len(c.Args) - 1
						if i > 0 {
							nargs++ // the piped value
						}
					}
					checkIdent(id, nargs)
					if f := funcs[id.Ident]; err == nil && j == 0 && f != nil && f.literal != nil {
						for k, a := range c.Args[1:] {
							if sn, ok := a.(*parse.StringNode); ok {
								if e := f.literal(k, sn.Text); e != nil {
									err = &compileError{off: int(sn.Pos), msg: e.Error()}
									break
								}
							}
						}
					}
					continue
				}
				inspectTemplate(a, visit)
			}
		}
		return false
	}
	inspectTemplate(n, visit)
	return err
}

// inspectTemplate walks a template's parse tree depth first, as ast.Inspect
// does a Go syntax tree: it calls f(n) and, when f returns true, walks n's
// children (the pipes, commands and arguments of actions, and the pipe and
// both lists of if, range and with). Absent lists and pipes are skipped.
func inspectTemplate(n parse.Node, f func(parse.Node) bool) {
	switch n := n.(type) {
	case nil:
		return
	case *parse.ListNode:
		if n == nil {
			return
		}
	case *parse.PipeNode:
		if n == nil {
			return
		}
	}
	if !f(n) {
		return
	}
	switch n := n.(type) {
	case *parse.ListNode:
		inspectEach(n.Nodes, f)
	case *parse.ActionNode:
		inspectTemplate(n.Pipe, f)
	case *parse.PipeNode:
		inspectEach(n.Cmds, f)
	case *parse.CommandNode:
		inspectEach(n.Args, f)
	case *parse.ChainNode:
		inspectTemplate(n.Node, f)
	case *parse.IfNode:
		inspectBranch(&n.BranchNode, f)
	case *parse.RangeNode:
		inspectBranch(&n.BranchNode, f)
	case *parse.WithNode:
		inspectBranch(&n.BranchNode, f)
	case *parse.TemplateNode:
		inspectTemplate(n.Pipe, f)
	}
}

func inspectEach[N parse.Node](ns []N, f func(parse.Node) bool) {
	for _, n := range ns {
		inspectTemplate(n, f)
	}
}

func inspectBranch(b *parse.BranchNode, f func(parse.Node) bool) {
	inspectTemplate(b.Pipe, f)
	inspectTemplate(b.List, f)
	inspectTemplate(b.ElseList, f)
}

// compileOps turns the common node kinds into ops; ok is false when the
// tree needs text/template.
func compileOps(list *parse.ListNode, funcs map[string]*function) (ops []op, ok bool) {
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			ops = append(ops, op{kind: opText, text: string(n.Text)})
		case *parse.ActionNode:
			o, ok := compileAction(n, funcs)
			if !ok {
				return nil, false
			}
			ops = append(ops, o)
		default:
			return nil, false
		}
	}
	return ops, true
}

func compileAction(a *parse.ActionNode, funcs map[string]*function) (op, bool) {
	p := a.Pipe
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 {
		return op{}, false
	}
	args := p.Cmds[0].Args
	switch first := args[0].(type) {
	case *parse.FieldNode:
		if len(args) != 1 {
			return op{}, false
		}
		return op{kind: opField, path: first.Ident}, true
	case *parse.IdentifierNode:
		f, ok := funcs[first.Ident]
		if !ok {
			return op{}, false
		}
		o := op{kind: opCall, fn: f, args: make([]any, len(args)-1)}
		for i, a := range args[1:] {
			switch a := a.(type) {
			case *parse.StringNode:
				o.args[i] = a.Text
			case *parse.BoolNode:
				o.args[i] = a.True
			case *parse.NumberNode:
				v, ok := idealConstant(a)
				if !ok {
					return op{}, false
				}
				o.args[i] = v
			case *parse.FieldNode:
				if o.argPaths == nil {
					o.argPaths = make([][]string, len(o.args))
				}
				o.argPaths[i] = a.Ident
			default:
				return op{}, false
			}
		}
		return o, true
	}
	return op{}, false
}

// idealConstant mirrors text/template's conversion of a number literal
// passed to a parameter of type any; ok is false for the cases where
// text/template fails or passes a complex number.
func idealConstant(n *parse.NumberNode) (any, bool) {
	isHexInt := len(n.Text) > 2 && n.Text[0] == '0' && (n.Text[1] == 'x' || n.Text[1] == 'X') && !strings.ContainsAny(n.Text, "pP")
	isRuneInt := len(n.Text) > 0 && n.Text[0] == '\''
	switch {
	case n.IsComplex:
		return nil, false
	case n.IsFloat && !isHexInt && !isRuneInt && strings.ContainsAny(n.Text, ".eEpP"):
		return n.Float64, true
	case n.IsInt:
		i := int(n.Int64)
		if int64(i) != n.Int64 {
			return nil, false
		}
		return i, true
	}
	return nil, false
}

func mergeText(ops []op) []op {
	out := ops[:0]
	for _, o := range ops {
		if o.kind == opText {
			if o.text == "" {
				continue
			}
			if n := len(out); n > 0 && out[n-1].kind == opText {
				out[n-1].text += o.text
				continue
			}
		}
		out = append(out, o)
	}
	return out
}

// slowPath runs a template through text/template. Template functions need
// the Env (vu), so each concurrent execution takes its own copy of the
// template, whose functions read the Env from the copy's slot, from a pool.
type slowPath struct {
	trees map[string]*parse.Tree
	funcs map[string]*function
	pool  sync.Pool
}

type slowItem struct {
	t   *template.Template
	env *Env
	w   appendWriter
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

const printFunc = "__print"

func newSlowPath(trees map[string]*parse.Tree, funcs map[string]*function) *slowPath {
	for _, tr := range trees {
		addPrint(tr.Root)
	}
	sp := &slowPath{trees: trees, funcs: funcs}
	sp.pool.New = func() any { return sp.newItem() }
	return sp
}

// addPrint appends "| __print" to every printing action, so that a missing
// variable prints as "" instead of "<no value>".
func addPrint(root *parse.ListNode) {
	inspectTemplate(root, func(n parse.Node) bool {
		switch n := n.(type) {
		case *parse.ActionNode:
			if len(n.Pipe.Decl) == 0 {
				id := parse.NewIdentifier(printFunc).SetPos(n.Pos)
				n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{id}})
			}
			return false
		case *parse.PipeNode:
			return false // no action prints inside a pipe
		}
		return true
	})
}

func (sp *slowPath) newItem() *slowItem {
	it := &slowItem{}
	fm := template.FuncMap{printFunc: func(v any) any {
		if v == nil {
			return ""
		}
		return v
	}}
	for name, f := range sp.funcs {
		fm[name] = func(args ...any) (any, error) {
			if err := checkArity(f, len(args)); err != nil {
				return nil, err
			}
			v, err := f.call(it.env, args)
			if err != nil {
				return nil, err
			}
			return v.any(), nil
		}
	}
	t := template.New("t").Funcs(fm)
	for _, name := range sortedKeys(sp.trees) {
		if _, err := t.AddParseTree(name, sp.trees[name]); err != nil {
			panic(err) // cannot happen: the trees come from one Parse
		}
	}
	it.t = t
	return it
}

func (sp *slowPath) append(dst []byte, env *Env) ([]byte, error) {
	it := sp.pool.Get().(*slowItem)
	it.env = env
	it.w.b = dst
	var vars Vars
	if env != nil {
		vars = env.Vars
	}
	err := it.t.Execute(&it.w, vars)
	dst = it.w.b
	it.w.b = nil
	it.env = nil
	sp.pool.Put(it)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "template: ")
		return dst, fmt.Errorf("template: %s", msg)
	}
	return dst, nil
}

// parseTreesOf parses text into its trees ("t" is the main one), leaving
// the function check to checkFuncs.
func parseTreesOf(text string) (map[string]*parse.Tree, error) {
	tr := parse.New("t")
	tr.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	_, err := tr.Parse(text, "", "", trees)
	return trees, err
}
