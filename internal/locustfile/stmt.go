package locustfile

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/horde-load/horde/internal/python"
)

// fnCtx translates one function's body.
type fnCtx struct {
	c         *conv
	cls       *class // the class of a method, nil for a module function
	self      string // the name of self (or of a task function's user parameter); "" for none
	top       bool   // the module's top level
	hook      bool   // a test_start/test_stop listener
	start     bool   // a user's on_start: class attributes and __init__ go first
	inTaskSet bool
	clients   map[string]bool // local names bound to self.client
	locals    map[string]bool // names the function assigns (parameters included)
}

// prologue writes what a user's on_start does before its own body: the
// class attributes become the user's variables, __init__'s assignments
// run, and a task set's default wait is kept.
func (fc *fnCtx) prologue(out *w) {
	if !fc.start || fc.cls == nil {
		return
	}
	c := fc.c
	for _, a := range c.instanceAttrs(fc.cls) {
		v, err := fc.expr(a.Value)
		if err != nil {
			c.failLine(out, err)
			continue
		}
		out.line("u.vars[%s] = %s", quote(a.Name), v)
	}
	if c.hasTaskSets(fc.cls) {
		if a, ok := c.classAttr(fc.cls, "wait_time"); ok {
			if v, err := c.waitTuple(a.Value); err == nil {
				out.line("u.vars[\"_wait\"] = %s", v)
			}
		}
	}
	if _, f := c.findMethod(fc.cls, "__init__"); f != nil {
		var body []python.Stmt
		for _, s := range f.Body {
			if es, ok := s.(*python.ExprStmt); ok {
				if call, ok := es.X.(*python.Call); ok {
					if a, ok := call.Fn.(*python.Attribute); ok && a.Name == "__init__" {
						continue // super().__init__(...)
					}
				}
			}
			body = append(body, s)
		}
		sub := &fnCtx{c: c, cls: fc.cls, self: "self"}
		if len(f.Params) > 0 {
			sub.self = f.Params[0].Name
		}
		sub.stmts(out, body)
	}
}

func (fc *fnCtx) param(p python.Param) (string, error) {
	switch p.Kind {
	case python.ParamVarArgs:
		if p.Name == "" {
			return "*", nil
		}
		return "*" + ident(p.Name), nil
	case python.ParamKwArgs:
		return "**" + ident(p.Name), nil
	case python.ParamSlash:
		return "", nc(p, "positional-only parameters (/)")
	}
	if p.Default != nil {
		d, err := fc.expr(p.Default)
		if err != nil {
			return "", err
		}
		return ident(p.Name) + " = " + d, nil
	}
	return ident(p.Name), nil
}

// stmts translates statements; one that cannot be becomes a fail() in its
// place, so the task fails there when it runs.
func (fc *fnCtx) stmts(out *w, body []python.Stmt) {
	for _, s := range body {
		var sub strings.Builder
		so := &w{b: &sub, ind: out.ind}
		if err := fc.stmt(so, s); err != nil {
			var e *notConverted
			if !errors.As(err, &e) {
				panic(err)
			}
			for _, l := range fc.c.sourceLines(s) {
				out.line("# %s", strings.TrimSpace(l))
			}
			fc.c.failLine(out, err)
			placeholders(out, s)
			continue
		}
		out.b.WriteString(sub.String())
	}
}

func (fc *fnCtx) block(out *w, body []python.Stmt) {
	out.ind++
	n := out.b.Len()
	fc.stmts(out, body)
	if out.b.Len() == n {
		out.line("pass")
	}
	out.ind--
}

func (fc *fnCtx) stmt(out *w, s python.Stmt) error {
	switch s := s.(type) {
	case *python.ExprStmt:
		return fc.exprStmt(out, s)
	case *python.Assign:
		return fc.assign(out, s)
	case *python.AugAssign:
		t, v, err := fc.targetValue(s.Target, s.Value)
		if err != nil {
			return err
		}
		switch s.Op {
		case "+", "-", "*", "/", "//", "%", "&", "|", "^", "<<", ">>":
		default:
			return nc(s, "the %s= operator", s.Op)
		}
		out.line("%s %s= %s", t, s.Op, v)
	case *python.AnnAssign:
		if s.Value == nil {
			return nil
		}
		return fc.assign(out, &python.Assign{At: s.At, Targets: []python.Expr{s.Target}, Value: s.Value})
	case *python.Return:
		if s.Value == nil {
			out.line("return")
			return nil
		}
		v, err := fc.x(s.Value)
		if err != nil {
			return err
		}
		out.line("return %s", v)
	case *python.Pass:
		out.line("pass")
	case *python.Break:
		out.line("break")
	case *python.Continue:
		out.line("continue")
	case *python.If:
		return fc.ifStmt(out, s, "if")
	case *python.For:
		if s.Else != nil {
			return nc(s, "for ... else (Starlark has no else on loops)")
		}
		if s.Async {
			return nc(s, "async for")
		}
		t, it, err := fc.targetValue(s.Target, s.Iter)
		if err != nil {
			return err
		}
		out.line("for %s in %s:", t, it)
		fc.block(out, s.Body)
	case *python.While:
		if s.Else != nil {
			return nc(s, "while ... else (Starlark has no else on loops)")
		}
		t, err := fc.x(s.Test)
		if err != nil {
			return err
		}
		out.line("while %s:", t)
		fc.block(out, s.Body)
	case *python.With:
		return fc.with(out, s)
	case *python.Try:
		return fc.try(out, s)
	case *python.Raise:
		return fc.raise(out, s)
	case *python.Assert:
		t, err := fc.expr(s.Test)
		if err != nil {
			return err
		}
		msg := quote(fmt.Sprintf("assertion failed: %s", fc.c.line(s.P)))
		if s.Msg != nil {
			if msg, err = fc.expr(s.Msg); err != nil {
				return err
			}
			msg = "str(" + msg + ")"
		}
		out.line("if not (%s):", t)
		out.line("    fail(%s)", msg)
	case *python.Del:
		for _, t := range s.Targets {
			switch t := t.(type) {
			case *python.Subscript:
				xk, err := fc.exprs(t.X, t.Index)
				if err != nil {
					return err
				}
				out.line("%s.pop(%s)", xk[0], xk[1])
			case *python.Attribute:
				if python.Dotted(t.X) == fc.self && fc.self != "" {
					out.line("u.vars.pop(%s, None)", quote(t.Name))
					continue
				}
				return nc(s, "del of an attribute")
			default:
				return nc(s, "del of a name (Starlark has no del)")
			}
		}
	case *python.Global:
		return nc(s, "global/nonlocal (a horde script's globals are frozen once loaded; keep per-user state in u.vars)")
	case *python.Import, *python.ImportFrom:
		return nc(s, "an import inside a function")
	case *python.FuncDef:
		if len(s.Decorators) > 0 {
			return nc(s, "a decorated nested function")
		}
		var params []string
		for _, p := range s.Params {
			ps, err := fc.param(p)
			if err != nil {
				return err
			}
			params = append(params, ps)
		}
		out.line("def %s(%s):", ident(s.Name), strings.Join(params, ", "))
		fc.block(out, s.Body)
	case *python.ClassDef:
		return nc(s, "a class inside a function")
	default:
		return nc(s, "this statement")
	}
	return nil
}

func (fc *fnCtx) ifStmt(out *w, s *python.If, kw string) error {
	t, err := fc.x(s.Test)
	if err != nil {
		return err
	}
	out.line("%s %s:", kw, t)
	fc.block(out, s.Body)
	if len(s.Else) == 1 {
		if e, ok := s.Else[0].(*python.If); ok && e.Elif {
			var sub strings.Builder
			so := &w{b: &sub, ind: out.ind}
			if err := fc.ifStmt(so, e, "elif"); err != nil {
				out.line("else:")
				out.ind++
				fc.stmts(out, s.Else)
				out.ind--
				return nil
			}
			out.b.WriteString(sub.String())
			return nil
		}
	}
	if len(s.Else) > 0 {
		out.line("else:")
		fc.block(out, s.Else)
	}
	return nil
}

func (fc *fnCtx) assign(out *w, s *python.Assign) error {
	// client = self.client: the name is the user from now on.
	if len(s.Targets) == 1 {
		if n, ok := s.Targets[0].(*python.Name); ok && fc.isClient(s.Value) {
			if fc.clients == nil {
				fc.clients = map[string]bool{}
			}
			fc.clients[n.Id] = true
			return nil
		}
		// self.client.headers["X"] = v, self.client.cookies["k"] = v
		if sub, ok := s.Targets[0].(*python.Subscript); ok {
			if kind := fc.sessionDict(sub.X); kind != "" {
				kv, err := fc.exprs(sub.Index, s.Value)
				if err != nil {
					return err
				}
				fc.c.session = true
				fc.c.helpers["_h"] = true
				out.line("u.vars.setdefault(%s, {})[%s] = %s", quote(kind), kv[0], kv[1])
				return nil
			}
		}
	}
	v, err := fc.x(s.Value)
	if err != nil {
		return err
	}
	var ts []string
	for _, t := range s.Targets {
		if st, ok := t.(*python.Starred); ok {
			return nc(st, "a starred assignment target")
		}
		if tu, ok := t.(*python.Tuple); ok {
			for _, e := range tu.Elts {
				if _, ok := e.(*python.Starred); ok {
					return nc(e, "a starred assignment target")
				}
			}
		}
		x, err := fc.target(t)
		if err != nil {
			return err
		}
		ts = append(ts, x)
	}
	if len(ts) == 1 {
		out.line("%s = %s", ts[0], v)
		return nil
	}
	out.line("_v = %s", v)
	for _, t := range ts {
		out.line("%s = _v", t)
	}
	return nil
}

// target translates an assignment target: self.x is u.vars["x"].
// targetValue translates the target and the value of x op= v or of
// for x in v.
func (fc *fnCtx) targetValue(target, value python.Expr) (t, v string, err error) {
	if t, err = fc.target(target); err != nil {
		return "", "", err
	}
	if v, err = fc.expr(value); err != nil {
		return "", "", err
	}
	return t, v, nil
}

func (fc *fnCtx) target(e python.Expr) (string, error) {
	switch t := e.(type) {
	case *python.Name:
		if fc.top && t.Id == "host" {
			return "host", nil
		}
		return ident(t.Id), nil
	case *python.Attribute:
		if fc.isSelf(t.X) {
			if t.Name == "client" {
				return "", nc(t, "assigning self.client (a custom client)")
			}
			return fmt.Sprintf("u.vars[%s]", quote(t.Name)), nil
		}
		return "", nc(t, "assigning to an attribute (%s); only self.NAME translates", t.Name)
	case *python.Subscript:
		x, err := fc.expr(t.X)
		if err != nil {
			return "", err
		}
		if _, ok := t.Index.(*python.Slice); ok {
			return "", nc(t, "assigning to a slice")
		}
		k, err := fc.expr(t.Index)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s[%s]", x, k), nil
	case *python.Tuple:
		parts, err := each(t.Elts, fc.target)
		if err != nil {
			return "", err
		}
		if len(parts) == 1 {
			return parts[0] + ",", nil
		}
		return strings.Join(parts, ", "), nil
	case *python.List:
		return fc.target(&python.Tuple{At: t.At, Elts: t.Elts})
	}
	return "", nc(e, "this assignment target")
}

// with: only the client's requests (with ... as response:) translate.
func (fc *fnCtx) with(out *w, s *python.With) error {
	if s.Async {
		return nc(s, "async with")
	}
	for _, it := range s.Items {
		call, ok := it.Expr.(*python.Call)
		if !ok || !fc.isRequest(call) {
			return nc(s, "with %s (only `with self.client.<method>(...) as response:` translates)", fc.c.line(s.P))
		}
	}
	for _, it := range s.Items {
		v, err := fc.expr(it.Expr)
		if err != nil {
			return err
		}
		if it.As == nil {
			out.line("%s", v)
			continue
		}
		t, err := fc.target(it.As)
		if err != nil {
			return err
		}
		out.line("%s = %s", t, v)
	}
	fc.stmts(out, s.Body)
	return nil
}

// try: Starlark has no exceptions. The body runs; an error in it ends the
// task as an exception (Locust's Exceptions tab); the handlers stay as
// comments and are reported.
func (fc *fnCtx) try(out *w, s *python.Try) error {
	fc.stmts(out, s.Body)
	for _, h := range s.Handlers {
		what := "except"
		if h.Type != nil {
			what += " " + strings.TrimSpace(fc.c.line(h.P)[len("except"):])
			what = strings.TrimSuffix(what, ":")
		}
		fc.c.note(h.P, false, "%s: Starlark has no exceptions; an error in the try body ends the task and is reported as an exception, and this handler does not run", what)
		out.line("# %s: %s (does not run: an error above ends the task)", fc.c.where(h.P), strings.TrimSpace(fc.c.line(h.P)))
	}
	fc.stmts(out, s.Else)
	fc.stmts(out, s.Finally)
	return nil
}

func (fc *fnCtx) raise(out *w, s *python.Raise) error {
	if s.Exc == nil {
		return nc(s, "a bare raise")
	}
	name := python.Dotted(s.Exc)
	var args []python.Expr
	if call, ok := s.Exc.(*python.Call); ok {
		name = python.Dotted(call.Fn)
		args = call.Args
	}
	switch python.LastName(name) {
	case "RescheduleTask", "RescheduleTaskImmediately":
		out.line("return")
		return nil
	case "InterruptTaskSet":
		if !fc.inTaskSet {
			return nc(s, "InterruptTaskSet outside a task set")
		}
		out.line("return _INTERRUPT")
		return nil
	case "StopUser":
		return nc(s, "StopUser (a horde user cannot stop itself; the test's run time, iterations or count stop users)")
	}
	msg := quote(name)
	if len(args) > 0 {
		v, err := fc.expr(args[0])
		if err != nil {
			return err
		}
		msg = fmt.Sprintf("%s + \": \" + str(%s)", quote(name), v)
	}
	out.line("fail(%s)", msg)
	return nil
}

func (fc *fnCtx) exprStmt(out *w, s *python.ExprStmt) error {
	switch x := s.X.(type) {
	case *python.Str, *python.Const:
		return nil // a docstring or ...
	case *python.Call:
		if a, ok := x.Fn.(*python.Attribute); ok {
			// self.interrupt()
			if fc.isSelf(a.X) && a.Name == "interrupt" {
				if !fc.inTaskSet {
					return nc(s, "interrupt() outside a task set")
				}
				fc.c.helpers["_INTERRUPT"] = true
				out.line("return _INTERRUPT")
				return nil
			}
			if fc.isSelf(a.X) && a.Name == "wait" {
				return nc(s, "self.wait() inside a task")
			}
			// self.client.headers.update({...}), cookies.update / set / clear
			if kind := fc.sessionDict(a.X); kind != "" {
				fc.c.session = true
				fc.c.helpers["_h"] = true
				switch a.Name {
				case "update":
					if len(x.Args) != 1 {
						return nc(s, "%s.update with keywords", kind)
					}
					v, err := fc.expr(x.Args[0])
					if err != nil {
						return err
					}
					out.line("u.vars.setdefault(%s, {}).update(%s)", quote(kind), v)
					return nil
				case "set":
					if len(x.Args) < 2 {
						return nc(s, "cookies.set without a name and a value")
					}
					kv, err := fc.exprs(x.Args[0], x.Args[1])
					if err != nil {
						return err
					}
					out.line("u.vars.setdefault(%s, {})[%s] = %s", quote(kind), kv[0], kv[1])
					return nil
				case "clear":
					out.line("u.vars[%s] = {}", quote(kind))
					return nil
				case "pop":
					if len(x.Args) < 1 {
						return nc(s, "pop without a name")
					}
					k, err := fc.expr(x.Args[0])
					if err != nil {
						return err
					}
					out.line("u.vars.setdefault(%s, {}).pop(%s, None)", quote(kind), k)
					return nil
				}
				return nc(s, "self.client.%s.%s", kind[1:], a.Name)
			}
			// response.raise_for_status()
			if a.Name == "raise_for_status" && len(x.Args) == 0 {
				r, err := fc.expr(a.X)
				if err != nil {
					return err
				}
				out.line("if not %s.ok:", r)
				out.line("    fail(\"HTTP %%d\" %% %s.status)", r)
				return nil
			}
		}
	}
	v, err := fc.x(s.X)
	if err != nil {
		return err
	}
	out.line("%s", v)
	return nil
}

// sessionDict tells self.client.headers ("_headers") and
// self.client.cookies ("_cookies") apart from other expressions.
func (fc *fnCtx) sessionDict(e python.Expr) string {
	a, ok := e.(*python.Attribute)
	if !ok || !fc.isClient(a.X) {
		return ""
	}
	switch a.Name {
	case "headers":
		return "_headers"
	case "cookies":
		return "_cookies"
	}
	return ""
}

// isSelf: self, or self.user / self.parent inside a task set (the same
// user in horde).
func (fc *fnCtx) isSelf(e python.Expr) bool {
	if fc.self == "" {
		return false
	}
	switch e := e.(type) {
	case *python.Name:
		return e.Id == fc.self
	case *python.Attribute:
		return (e.Name == "user" || e.Name == "parent" || e.Name == "locust") && fc.isSelf(e.X)
	}
	return false
}

func (fc *fnCtx) isClient(e python.Expr) bool {
	switch e := e.(type) {
	case *python.Attribute:
		return e.Name == "client" && fc.isSelf(e.X)
	case *python.Name:
		return fc.clients[e.Id]
	}
	return false
}

var requestMethods = map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true,
	"head": true, "options": true, "request": true}

func (fc *fnCtx) isRequest(call *python.Call) bool {
	a, ok := call.Fn.(*python.Attribute)
	return ok && requestMethods[a.Name] && fc.isClient(a.X) && !fc.customClient()
}

// customClient: a User (not an HttpUser) has a client of its own making.
func (fc *fnCtx) customClient() bool {
	for k := fc.cls; k != nil; k = k.base {
		for _, b := range k.c.Bases {
			name := b
			if imp, ok := fc.c.imports[b]; ok {
				name = imp
			}
			switch python.LastName(name) {
			case "User", "Locust":
				return true
			case "HttpUser", "FastHttpUser", "HttpLocust", "FastHttpLocust":
				return false
			}
		}
	}
	return false
}

// assignsLocal says whether the function being translated binds name
// itself (then it is not the module's global).
func (fc *fnCtx) assignsLocal(name string) bool { return fc.locals[name] }

// placeholders binds, after a fail() that stands for a statement, the names
// the statement would have bound: never run, they keep the rest of the
// function valid (Starlark resolves every name before running).
func placeholders(out *w, s python.Stmt) {
	names := map[string]bool{}
	bound([]python.Stmt{s}, names)
	var sorted []string
	for n := range names {
		if n != "u" {
			sorted = append(sorted, ident(n))
		}
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		out.line("%s = None  # bound by the statement above", n)
	}
}
