package locustfile

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/horde-load/horde/internal/python"
)

// starlarkBuiltins are Python builtins Starlark has with the same meaning.
var starlarkBuiltins = map[string]bool{"len": true, "str": true, "int": true, "float": true, "bool": true,
	"list": true, "dict": true, "tuple": true, "range": true, "enumerate": true, "zip": true, "min": true,
	"max": true, "sorted": true, "reversed": true, "any": true, "all": true, "repr": true, "hasattr": true,
	"getattr": true, "abs": true, "print": true, "set": true, "type": true, "chr": true, "ord": true, "hash": true}

var stringConsts = map[string]string{
	"ascii_letters":   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"ascii_lowercase": "abcdefghijklmnopqrstuvwxyz",
	"ascii_uppercase": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"digits":          "0123456789",
	"hexdigits":       "0123456789abcdefABCDEF",
	"octdigits":       "01234567",
	"punctuation":     "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
	"whitespace":      " \t\n\r\x0b\x0c",
}

// quote writes a Starlark string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else if r == utf8.RuneError {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// resolve gives the dotted name an expression stands for after imports:
// randint (from random import randint) is random.randint.
func (fc *fnCtx) resolve(e python.Expr) string {
	d := python.Dotted(e)
	if d == "" {
		return ""
	}
	root, rest, _ := strings.Cut(d, ".")
	if imp, ok := fc.c.imports[root]; ok {
		if rest != "" {
			return imp + "." + rest
		}
		return imp
	}
	return ""
}

// exprs translates es in order, stopping at the first error.
func (fc *fnCtx) exprs(es ...python.Expr) ([]string, error) { return each(es, fc.expr) }

// each translates every one of es with tr.
func each[T any](es []T, tr func(T) (string, error)) ([]string, error) {
	var out []string
	for _, e := range es {
		s, err := tr(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// x is expr without the outer parentheses, for places where any
// expression may stand (arguments, elements, statements).
func (fc *fnCtx) x(e python.Expr) (string, error) {
	s, err := fc.expr(e)
	return unparen(s), err
}

// items translates elements of a list, a call's arguments...
func (fc *fnCtx) items(es []python.Expr) ([]string, error) { return each(es, fc.x) }

// joinItems is es translated and joined by commas between open and close.
func (fc *fnCtx) joinItems(open string, es []python.Expr, close string) (string, error) {
	vs, err := fc.items(es)
	if err != nil {
		return "", err
	}
	return open + strings.Join(vs, ", ") + close, nil
}

// unparen drops one pair of parentheses around the whole of s, unless
// they make a tuple.
func unparen(s string) string {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return s
	}
	depth := 0
	for i, c := range python.Unquoted(s, 0) {
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 && i != len(s)-1 {
				return s
			}
		case ',':
			if depth == 1 {
				return s
			}
		}
	}
	return s[1 : len(s)-1]
}

func (fc *fnCtx) expr(e python.Expr) (string, error) {
	switch e := e.(type) {
	case *python.Name:
		return fc.name(e)
	case *python.Num:
		v, ok := python.ParseNum(e.Lit)
		if !ok {
			return "", nc(e, "the number %s", e.Lit)
		}
		if f, isFloat := v.(float64); isFloat {
			s := strconv.FormatFloat(f, 'g', -1, 64)
			if !strings.ContainsAny(s, ".eIN") {
				s += ".0"
			}
			return s, nil
		}
		return fmt.Sprint(v), nil
	case *python.Str:
		if e.Bytes {
			return "b" + quote(e.Value), nil
		}
		return quote(e.Value), nil
	case *python.FString:
		return fc.fstring(e)
	case *python.Const:
		if e.Value == "..." {
			return "", nc(e, "Ellipsis")
		}
		return e.Value, nil
	case *python.Attribute:
		return fc.attr(e)
	case *python.Call:
		return fc.call(e)
	case *python.Subscript:
		return fc.subscript(e)
	case *python.BinOp:
		switch e.Op {
		case "**":
			return "", nc(e, "the ** operator (Starlark has none)")
		case "@":
			return "", nc(e, "the @ operator")
		case "%":
			if lit, ok := e.X.(*python.Str); ok && !lit.Bytes {
				if s, ok, err := fc.percent(lit, e.Y); ok || err != nil {
					return s, err
				}
			}
		}
		xy, err := fc.exprs(e.X, e.Y)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("(%s %s %s)", xy[0], e.Op, xy[1]), nil
	case *python.BoolOp:
		vs, err := fc.exprs(e.Values...)
		if err != nil {
			return "", err
		}
		return "(" + strings.Join(vs, " "+e.Op+" ") + ")", nil
	case *python.UnaryOp:
		x, err := fc.expr(e.X)
		if err != nil {
			return "", err
		}
		if e.Op == "not" {
			return "(not " + x + ")", nil
		}
		return "(" + e.Op + x + ")", nil
	case *python.Compare:
		return fc.compare(e)
	case *python.IfExp:
		tce, err := fc.exprs(e.Then, e.Cond, e.Else)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("(%s if %s else %s)", tce[0], tce[1], tce[2]), nil
	case *python.Lambda:
		ps, err := each(e.Params, fc.param)
		if err != nil {
			return "", err
		}
		b, err := fc.expr(e.Body)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("(lambda %s: %s)", strings.Join(ps, ", "), b), nil
	case *python.List:
		return fc.joinItems("[", e.Elts, "]")
	case *python.Tuple:
		vs, err := fc.items(e.Elts)
		if err != nil {
			return "", err
		}
		if len(vs) == 1 {
			return "(" + vs[0] + ",)", nil
		}
		return "(" + strings.Join(vs, ", ") + ")", nil
	case *python.Set:
		return fc.joinItems("set([", e.Elts, "])")
	case *python.Dict:
		return fc.dict(e)
	case *python.Comp:
		return fc.comp(e)
	case *python.Starred:
		x, err := fc.expr(e.X)
		if err != nil {
			return "", err
		}
		return "*" + x, nil
	case *python.NamedExpr:
		return "", nc(e, "the := operator")
	case *python.Await:
		return "", nc(e, "await")
	case *python.Yield:
		return "", nc(e, "yield")
	case *python.Slice:
		return "", nc(e, "a slice here")
	}
	return "", nc(e, "this expression")
}

func (fc *fnCtx) name(e *python.Name) (string, error) {
	if fc.self != "" && e.Id == fc.self {
		return "u", nil
	}
	if fc.clients[e.Id] {
		return "u", nil
	}
	if mod, ok := fc.c.unknown[e.Id]; ok {
		return "", nc(e, "%s (from %s, which horde cannot load)", e.Id, mod)
	}
	if imp, ok := fc.c.imports[e.Id]; ok {
		return "", nc(e, "%s (%s) used as a value", e.Id, imp)
	}
	if k, ok := fc.c.classes[e.Id]; ok {
		if k.kind == kindTaskSet || k.kind == kindSequential {
			return k.fn, nil
		}
		return "", nc(e, "the class %s used as a value", e.Id)
	}
	switch e.Id {
	case "isinstance", "issubclass", "open", "eval", "exec", "globals", "locals", "vars", "id", "iter", "next",
		"round", "sum", "map", "filter", "frozenset", "bytearray", "object", "super", "input", "format", "divmod", "pow":
		if e.Id == "sum" || e.Id == "round" || e.Id == "map" || e.Id == "filter" || e.Id == "divmod" {
			fc.c.helpers["_"+e.Id] = true
			return "_" + e.Id, nil
		}
		return "", nc(e, "the Python builtin %s", e.Id)
	case "__name__", "__file__":
		return "", nc(e, "%s", e.Id)
	}
	return ident(e.Id), nil
}

// attr translates X.name.
func (fc *fnCtx) attr(e *python.Attribute) (string, error) {
	if fc.isSelf(e) {
		return "u", nil
	}
	if fc.isClient(e) {
		if fc.customClient() {
			return "", nc(e, "the client of a User that is not an HttpUser (a custom client)")
		}
		return "u", nil
	}
	if fc.isClient(e.X) && e.Name != "headers" && e.Name != "cookies" && !requestMethods[e.Name] {
		return "", nc(e, "self.client.%s (horde's client sends HTTP requests: get, post, put, patch, delete, head, options, request)", e.Name)
	}
	if fc.isSelf(e.X) {
		switch e.Name {
		case "host":
			return "u.host", nil
		case "environment", "runner", "parent", "user", "locust":
			return "", nc(e, "self.%s", e.Name)
		}
		if fc.cls != nil {
			if _, f := fc.c.findMethod(fc.cls, e.Name); f != nil {
				return "", nc(e, "the method %s used as a value", e.Name)
			}
		}
		return fmt.Sprintf("u.vars[%s]", quote(e.Name)), nil
	}
	if kind := fc.sessionDict(e); kind != "" {
		return "", nc(e, "reading self.client.%s (horde keeps the session's cookies itself)", e.Name)
	}
	switch d := fc.resolve(e); {
	case strings.HasPrefix(d, "string."):
		if v, ok := stringConsts[strings.TrimPrefix(d, "string.")]; ok {
			return quote(v), nil
		}
		return "", nc(e, "%s", d)
	case d == "os.environ":
		return "", nc(e, "os.environ as a whole (os.environ.get(name) and os.environ[name] translate)")
	case d != "":
		return "", nc(e, "%s", d)
	}
	if d := python.Dotted(e); d != "" {
		root, _, _ := strings.Cut(d, ".")
		if mod, ok := fc.c.unknown[root]; ok {
			return "", nc(e, "%s (from %s, which horde cannot load)", d, mod)
		}
	}
	x, err := fc.expr(e.X)
	if err != nil {
		return "", err
	}
	// A response's attributes.
	switch e.Name {
	case "status_code", "text", "ok", "headers", "elapsed":
		return x + "." + e.Name, nil
	case "content":
		return x + ".text", nil
	case "hex":
		if c, ok := e.X.(*python.Call); ok && strings.HasPrefix(fc.resolve(c.Fn), "uuid.uuid") {
			return x + ".replace(\"-\", \"\")", nil
		}
	case "reason", "url", "cookies", "request", "history", "encoding", "raw", "request_meta":
		return "", nc(e, "response.%s (horde's responses have status_code, text, json(), headers, ok, elapsed)", e.Name)
	}
	return x + "." + e.Name, nil
}

func (fc *fnCtx) subscript(e *python.Subscript) (string, error) {
	// response.headers["X"]: case-insensitive in requests.
	if a, ok := e.X.(*python.Attribute); ok && a.Name == "headers" && !fc.isClient(a.X) && !fc.isSelf(a.X) {
		rk, err := fc.exprs(a.X, e.Index)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s.header(%s)", rk[0], rk[1]), nil
	}
	if fc.resolve(e.X) == "os.environ" {
		k, err := fc.expr(e.Index)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("env(%s)", k), nil
	}
	x, err := fc.expr(e.X)
	if err != nil {
		return "", err
	}
	if s, ok := e.Index.(*python.Slice); ok {
		var parts [3]string
		for i, p := range []python.Expr{s.Lo, s.Hi, s.Step} {
			if p == nil {
				continue
			}
			if parts[i], err = fc.expr(p); err != nil {
				return "", err
			}
		}
		if s.Step != nil {
			return fmt.Sprintf("%s[%s:%s:%s]", x, parts[0], parts[1], parts[2]), nil
		}
		return fmt.Sprintf("%s[%s:%s]", x, parts[0], parts[1]), nil
	}
	k, err := fc.x(e.Index)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(k, "(") && strings.HasSuffix(k, ")") {
		if _, isTuple := e.Index.(*python.Tuple); isTuple {
			return "", nc(e, "a tuple subscript")
		}
	}
	return fmt.Sprintf("%s[%s]", x, k), nil
}

var cmpOps = map[string]string{"is": "==", "is not": "!="}

func (fc *fnCtx) compare(e *python.Compare) (string, error) {
	operands := append([]python.Expr{e.Left}, e.Rights...)
	vs, err := fc.exprs(operands...)
	if err != nil {
		return "", err
	}
	var parts []string
	for i, op := range e.Ops {
		if o, ok := cmpOps[op]; ok {
			op = o
		}
		// "k in response.headers"
		if (e.Ops[i] == "in" || e.Ops[i] == "not in") && isRespHeaders(fc, operands[i+1]) {
			r, _ := fc.expr(operands[i+1].(*python.Attribute).X)
			cmp := "!="
			if e.Ops[i] == "not in" {
				cmp = "=="
			}
			parts = append(parts, fmt.Sprintf("%s.header(%s) %s None", r, vs[i], cmp))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", vs[i], op, vs[i+1]))
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ")", nil
	}
	return "(" + strings.Join(parts, " and ") + ")", nil
}

func isRespHeaders(fc *fnCtx, e python.Expr) bool {
	a, ok := e.(*python.Attribute)
	return ok && a.Name == "headers" && !fc.isClient(a.X) && !fc.isSelf(a.X)
}

func (fc *fnCtx) dict(e *python.Dict) (string, error) {
	var items []string
	var spreads []string
	for i, k := range e.Keys {
		v, err := fc.x(e.Values[i])
		if err != nil {
			return "", err
		}
		if k == nil {
			if len(items) > 0 {
				spreads = append(spreads, "{"+strings.Join(items, ", ")+"}")
				items = nil
			}
			spreads = append(spreads, v)
			continue
		}
		ks, err := fc.expr(k)
		if err != nil {
			return "", err
		}
		items = append(items, ks+": "+v)
	}
	lit := "{" + strings.Join(items, ", ") + "}"
	if len(spreads) == 0 {
		return lit, nil
	}
	if len(items) > 0 {
		spreads = append(spreads, lit)
	}
	fc.c.helpers["_merge"] = true
	return "_merge(" + strings.Join(spreads, ", ") + ")", nil
}

func (fc *fnCtx) comp(e *python.Comp) (string, error) {
	var fors []string
	for _, f := range e.Fors {
		if f.Async {
			return "", nc(e, "async comprehension")
		}
		t, err := fc.target(f.Target)
		if err != nil {
			return "", err
		}
		it, err := fc.expr(f.Iter)
		if err != nil {
			return "", err
		}
		s := "for " + t + " in " + it
		for _, cond := range f.Ifs {
			cs, err := fc.expr(cond)
			if err != nil {
				return "", err
			}
			s += " if " + cs
		}
		fors = append(fors, s)
	}
	tail := strings.Join(fors, " ")
	switch e.Kind {
	case "dict":
		kv, err := fc.exprs(e.Key, e.Value)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("{%s: %s %s}", kv[0], kv[1], tail), nil
	default:
		x, err := fc.expr(e.Elt)
		if err != nil {
			return "", err
		}
		lst := fmt.Sprintf("[%s %s]", x, tail)
		if e.Kind == "set" {
			return "set(" + lst + ")", nil
		}
		return lst, nil
	}
}

// fstring becomes "...%s..." % (args,); a format spec goes through _fmt.
func (fc *fnCtx) fstring(e *python.FString) (string, error) {
	var f strings.Builder
	var args []string
	for _, p := range e.Parts {
		if p.Expr == nil {
			f.WriteString(strings.ReplaceAll(p.Lit, "%", "%%"))
			continue
		}
		if p.SelfDoc != "" {
			f.WriteString(strings.ReplaceAll(p.SelfDoc, "%", "%%"))
		}
		v, err := fc.x(p.Expr)
		if err != nil {
			return "", err
		}
		conv := "s"
		if p.Conv == 'r' || p.Conv == 'a' || (p.SelfDoc != "" && p.Spec == nil && p.Conv == 0) {
			conv = "r"
		}
		if p.Spec != nil && len(p.Spec.Parts) > 0 {
			spec, err := fc.fstring(p.Spec)
			if err != nil {
				return "", err
			}
			fc.c.helpers["_fmt"] = true
			if conv == "r" {
				v = "repr(" + v + ")"
			}
			v = fmt.Sprintf("_fmt(%s, %s)", v, spec)
			conv = "s"
		}
		f.WriteString("%" + conv)
		args = append(args, v)
	}
	if len(args) == 0 {
		return quote(strings.ReplaceAll(f.String(), "%%", "%")), nil
	}
	if len(args) == 1 {
		return fmt.Sprintf("(%s %% (%s,))", quote(f.String()), args[0]), nil
	}
	return fmt.Sprintf("(%s %% (%s))", quote(f.String()), strings.Join(args, ", ")), nil
}
