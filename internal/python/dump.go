package python

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Dump writes a module's tree in a canonical text form, one statement per
// line, with line:col places: the test against Python's own ast module
// (internal/e2e, testdata/dump.py) compares the two.
func Dump(m *Module) string {
	var b strings.Builder
	for _, s := range m.Body {
		dumpStmt(&b, s, 0)
	}
	return b.String()
}

func dumpStmts(b *strings.Builder, ss []Stmt, ind int) {
	for _, s := range ss {
		dumpStmt(b, s, ind)
	}
}

func dumpStmt(b *strings.Builder, s Stmt, ind int) {
	pad := strings.Repeat(" ", ind)
	p := s.Position()
	fmt.Fprintf(b, "%s%d:%d ", pad, p.Line, p.Col)
	switch s := s.(type) {
	case *ExprStmt:
		fmt.Fprintf(b, "Expr %s\n", dx(s.X))
	case *Assign:
		fmt.Fprintf(b, "Assign %s = %s\n", dxs(s.Targets), dx(s.Value))
	case *AugAssign:
		fmt.Fprintf(b, "AugAssign %s %s %s\n", dx(s.Target), s.Op, dx(s.Value))
	case *AnnAssign:
		fmt.Fprintf(b, "AnnAssign %s %s %s\n", dx(s.Target), dx(s.Ann), dx(s.Value))
	case *Return:
		fmt.Fprintf(b, "Return %s\n", dx(s.Value))
	case *Pass:
		b.WriteString("Pass\n")
	case *Break:
		b.WriteString("Break\n")
	case *Continue:
		b.WriteString("Continue\n")
	case *Raise:
		fmt.Fprintf(b, "Raise %s %s\n", dx(s.Exc), dx(s.Cause))
	case *Global:
		fmt.Fprintf(b, "Global %v %s\n", s.Nonlocal, strings.Join(s.Names, ","))
	case *Del:
		fmt.Fprintf(b, "Del %s\n", dxs(s.Targets))
	case *Assert:
		fmt.Fprintf(b, "Assert %s %s\n", dx(s.Test), dx(s.Msg))
	case *Import:
		fmt.Fprintf(b, "Import %s\n", aliases(s.Names))
	case *ImportFrom:
		fmt.Fprintf(b, "ImportFrom %d %s %s\n", s.Level, s.Module, aliases(s.Names))
	case *If:
		fmt.Fprintf(b, "If %s\n", dx(s.Test))
		dumpBodyElse(b, s.Body, s.Else, ind, pad)
	case *For:
		fmt.Fprintf(b, "For %v %s %s\n", s.Async, dx(s.Target), dx(s.Iter))
		dumpBodyElse(b, s.Body, s.Else, ind, pad)
	case *While:
		fmt.Fprintf(b, "While %s\n", dx(s.Test))
		dumpBodyElse(b, s.Body, s.Else, ind, pad)
	case *With:
		var items []string
		for _, it := range s.Items {
			items = append(items, dx(it.Expr)+" as "+dx(it.As))
		}
		fmt.Fprintf(b, "With %v %s\n", s.Async, strings.Join(items, ", "))
		dumpStmts(b, s.Body, ind+1)
	case *Try:
		b.WriteString("Try\n")
		dumpStmts(b, s.Body, ind+1)
		for _, h := range s.Handlers {
			fmt.Fprintf(b, "%s%d:%d except %s %s\n", pad, h.P.Line, h.P.Col, dx(h.Type), h.Name)
			dumpStmts(b, h.Body, ind+1)
		}
		fmt.Fprintf(b, "%selse\n", pad)
		dumpStmts(b, s.Else, ind+1)
		fmt.Fprintf(b, "%sfinally\n", pad)
		dumpStmts(b, s.Finally, ind+1)
	case *FuncDef:
		fmt.Fprintf(b, "Def %v %s (%s) -> %s @[%s]\n", s.Async, s.Name, params(s.Params), dx(s.Returns), dxs(s.Decorators))
		dumpStmts(b, s.Body, ind+1)
	case *ClassDef:
		fmt.Fprintf(b, "Class %s (%s; %s) @[%s]\n", s.Name, dxs(s.Bases), dumpKeywords(s.Keywords), dxs(s.Decorators))
		dumpStmts(b, s.Body, ind+1)
	default:
		fmt.Fprintf(b, "%T\n", s)
	}
}

func aliases(as []Alias) string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name+" as "+a.AsName)
	}
	return strings.Join(out, ",")
}

func params(ps []Param) string {
	var out []string
	for _, p := range ps {
		s := p.Name
		switch p.Kind {
		case ParamVarArgs:
			s = "*" + s
		case ParamKwArgs:
			s = "**" + s
		case ParamSlash:
			s = "/"
		}
		if p.Ann != nil {
			s += ":" + dx(p.Ann)
		}
		if p.Default != nil {
			s += "=" + dx(p.Default)
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func dumpKeywords(ks []Keyword) string {
	var out []string
	for _, k := range ks {
		out = append(out, k.Name+"="+dx(k.Value))
	}
	return strings.Join(out, ", ")
}

func dxs(es []Expr) string {
	var out []string
	for _, e := range es {
		out = append(out, dx(e))
	}
	return strings.Join(out, ", ")
}

func dx(e Expr) string { return dumpExpr(e, true) }

func dumpExpr(e Expr, pos bool) string {
	if e == nil {
		return "_"
	}
	at := ""
	if pos {
		p := e.Position()
		at = fmt.Sprintf("@%d:%d", p.Line, p.Col)
	}
	d := func(x Expr) string { return dumpExpr(x, pos) }
	ds := func(xs []Expr) string {
		var out []string
		for _, x := range xs {
			out = append(out, d(x))
		}
		return strings.Join(out, ", ")
	}
	switch e := e.(type) {
	case *Name:
		return "Name(" + e.Id + ")" + at
	case *Num:
		v, ok := ParseNum(e.Lit)
		if !ok {
			return "Num(?)" + at
		}
		if f, isF := v.(float64); isF {
			if f == float64(int64(f)) && f < 1e16 && f > -1e16 {
				return fmt.Sprintf("Num(%.1f)%s", f, at)
			}
			return "Num(" + strconv.FormatFloat(f, 'g', -1, 64) + ")" + at
		}
		return fmt.Sprintf("Num(%d)%s", v, at)
	case *Str:
		if e.Bytes {
			return "Bytes(" + hex.EncodeToString([]byte(e.Value)) + ")" + at
		}
		return "Str(" + hex.EncodeToString([]byte(e.Value)) + ")" + at
	case *FString:
		return "F[" + fparts(e) + "]" + at
	case *Const:
		if e.Value == "..." {
			return "Const(Ellipsis)" + at
		}
		return "Const(" + e.Value + ")" + at
	case *Attribute:
		return "Attr(" + d(e.X) + "." + e.Name + ")" + at
	case *Call:
		return "Call(" + d(e.Fn) + "; " + ds(e.Args) + "; " + keywordsP(e.Keywords, pos) + ")" + at
	case *Subscript:
		return "Sub(" + d(e.X) + "[" + d(e.Index) + "])" + at
	case *Slice:
		return "Slice(" + dumpExpr(e.Lo, pos) + ":" + dumpExpr(e.Hi, pos) + ":" + dumpExpr(e.Step, pos) + ")"
	case *BinOp:
		return "Bin(" + d(e.X) + " " + e.Op + " " + d(e.Y) + ")" + at
	case *BoolOp:
		return "Bool(" + e.Op + "; " + ds(e.Values) + ")" + at
	case *UnaryOp:
		return "Unary(" + e.Op + " " + d(e.X) + ")" + at
	case *Compare:
		s := "Cmp(" + d(e.Left)
		for i, op := range e.Ops {
			s += " " + op + " " + d(e.Rights[i])
		}
		return s + ")" + at
	case *IfExp:
		return "IfExp(" + d(e.Cond) + "; " + d(e.Then) + "; " + d(e.Else) + ")" + at
	case *Lambda:
		return "Lambda(" + params(e.Params) + "; " + d(e.Body) + ")" + at
	case *List:
		return "List[" + ds(e.Elts) + "]" + at
	case *Tuple:
		return "Tuple[" + ds(e.Elts) + "]" + at
	case *Set:
		return "Set[" + ds(e.Elts) + "]" + at
	case *Dict:
		var kv []string
		for i, k := range e.Keys {
			kv = append(kv, d(k)+": "+d(e.Values[i]))
		}
		return "Dict{" + strings.Join(kv, ", ") + "}" + at
	case *Comp:
		s := "Comp(" + e.Kind + "; "
		if e.Kind == "dict" {
			s += d(e.Key) + ": " + d(e.Value)
		} else {
			s += d(e.Elt)
		}
		for _, f := range e.Fors {
			s += fmt.Sprintf("; for %v %s in %s if [%s]", f.Async, d(f.Target), d(f.Iter), ds(f.Ifs))
		}
		if e.Kind == "gen" {
			at = "" // Python places a lone argument's generator differently across versions
		}
		return s + ")" + at
	case *Starred:
		return "Star(" + d(e.X) + ")" + at
	case *NamedExpr:
		return "Walrus(" + d(e.Target) + " " + d(e.Value) + ")" + at
	case *Await:
		return "Await(" + d(e.X) + ")" + at
	case *Yield:
		return fmt.Sprintf("Yield(%v %s)%s", e.From, d(e.X), at)
	}
	return fmt.Sprintf("%T", e)
}

func keywordsP(ks []Keyword, pos bool) string {
	var out []string
	for _, k := range ks {
		out = append(out, k.Name+"="+dumpExpr(k.Value, pos))
	}
	return strings.Join(out, ", ")
}

// fparts dumps an f-string's parts as Python's JoinedStr has them: {x=}
// is the text "x=" and a repr of x; places inside are left out (Python's
// differ between versions).
func fparts(f *FString) string {
	var out []string
	lit := ""
	flush := func() {
		if lit != "" {
			out = append(out, "Lit("+hex.EncodeToString([]byte(lit))+")")
			lit = ""
		}
	}
	for _, p := range f.Parts {
		if p.Expr == nil {
			lit += p.Lit
			continue
		}
		conv := int(p.Conv)
		if p.SelfDoc != "" {
			lit += p.SelfDoc
			if conv == 0 && p.Spec == nil {
				conv = 'r'
			}
		}
		flush()
		if conv == 0 {
			conv = -1
		}
		spec := "_"
		if p.Spec != nil {
			spec = "F[" + fparts(p.Spec) + "]"
		}
		out = append(out, fmt.Sprintf("V(%s, %d, %s)", dumpExpr(p.Expr, false), conv, spec))
	}
	flush()
	return strings.Join(out, ", ")
}

// dumpBodyElse writes a body and its else part (if, for, while).
func dumpBodyElse(b *strings.Builder, body, els []Stmt, ind int, pad string) {
	dumpStmts(b, body, ind+1)
	fmt.Fprintf(b, "%selse\n", pad)
	dumpStmts(b, els, ind+1)
}
