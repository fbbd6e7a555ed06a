package python

import (
	"strconv"
	"strings"
)

// Class is a class statement read for what a tool needs without running it:
// its bases as written, its class-level assignments in order, its methods
// and the classes nested in it.
type Class struct {
	Def     *ClassDef
	Name    string
	Bases   []string // dotted names as written ("HttpUser", "locust.HttpUser"); "" for other expressions
	Attrs   []Attr
	Methods []*FuncDef
	Classes []*Class
}

// Attr is a class-level assignment Name = Value (or Name: T = Value).
type Attr struct {
	Name  string
	Value Expr
	Pos   Pos
}

// Attr returns the last assignment to name in the class body.
func (c *Class) Attr(name string) (Attr, bool) {
	for i := len(c.Attrs) - 1; i >= 0; i-- {
		if c.Attrs[i].Name == name {
			return c.Attrs[i], true
		}
	}
	return Attr{}, false
}

// Method returns the last def of name in the class body.
func (c *Class) Method(name string) *FuncDef {
	for i := len(c.Methods) - 1; i >= 0; i-- {
		if c.Methods[i].Name == name {
			return c.Methods[i]
		}
	}
	return nil
}

// Classes lists the module's top-level classes in order (a class defined
// inside if/try at the top level counts too).
func Classes(m *Module) []*Class {
	return classesIn(m.Body)
}

func classesIn(body []Stmt) []*Class {
	var out []*Class
	for _, s := range body {
		switch s := s.(type) {
		case *ClassDef:
			out = append(out, ReadClass(s))
		case *If:
			out = append(out, classesIn(s.Body)...)
			out = append(out, classesIn(s.Else)...)
		case *Try:
			out = append(out, classesIn(s.Body)...)
			for _, h := range s.Handlers {
				out = append(out, classesIn(h.Body)...)
			}
			out = append(out, classesIn(s.Else)...)
			out = append(out, classesIn(s.Finally)...)
		}
	}
	return out
}

// ReadClass reads one class statement.
func ReadClass(d *ClassDef) *Class {
	c := &Class{Def: d, Name: d.Name}
	for _, b := range d.Bases {
		c.Bases = append(c.Bases, Dotted(b))
	}
	for _, s := range d.Body {
		switch s := s.(type) {
		case *Assign:
			for _, t := range s.Targets {
				if n, ok := t.(*Name); ok {
					c.Attrs = append(c.Attrs, Attr{Name: n.Id, Value: s.Value, Pos: s.P})
				}
			}
		case *AnnAssign:
			if n, ok := s.Target.(*Name); ok && s.Value != nil {
				c.Attrs = append(c.Attrs, Attr{Name: n.Id, Value: s.Value, Pos: s.P})
			}
		case *FuncDef:
			c.Methods = append(c.Methods, s)
		case *ClassDef:
			c.Classes = append(c.Classes, ReadClass(s))
		}
	}
	return c
}

// Dotted returns a.b.c for a name or a chain of attributes, else "".
func Dotted(e Expr) string {
	switch e := e.(type) {
	case *Name:
		return e.Id
	case *Attribute:
		if x := Dotted(e.X); x != "" {
			return x + "." + e.Name
		}
	}
	return ""
}

// LastName returns the last part of a dotted name: "locust.HttpUser" gives
// "HttpUser".
func LastName(dotted string) string {
	if i := strings.LastIndexByte(dotted, '.'); i >= 0 {
		return dotted[i+1:]
	}
	return dotted
}

// Decorator splits a decorator into its dotted name and, when it is a call
// (@task(3)), the call.
func Decorator(e Expr) (string, *Call) {
	if c, ok := e.(*Call); ok {
		return Dotted(c.Fn), c
	}
	return Dotted(e), nil
}

// Literal evaluates a constant expression: numbers (int64 or float64),
// strings, True/False/None, negation, and lists, tuples and dicts of
// constants ([]any, map[string]any with string keys). ok is false for
// anything else.
func Literal(e Expr) (v any, ok bool) {
	switch e := e.(type) {
	case *Num:
		return ParseNum(e.Lit)
	case *Str:
		return e.Value, true
	case *Const:
		switch e.Value {
		case "True":
			return true, true
		case "False":
			return false, true
		case "None":
			return nil, true
		}
	case *UnaryOp:
		x, ok := Literal(e.X)
		if !ok {
			return nil, false
		}
		switch e.Op {
		case "-":
			switch x := x.(type) {
			case int64:
				return -x, true
			case float64:
				return -x, true
			}
		case "+":
			switch x.(type) {
			case int64, float64:
				return x, true
			}
		}
	case *List:
		return literalList(e.Elts)
	case *Tuple:
		return literalList(e.Elts)
	case *Dict:
		m := make(map[string]any, len(e.Keys))
		for i, k := range e.Keys {
			if k == nil {
				return nil, false
			}
			kv, ok := Literal(k)
			ks, isStr := kv.(string)
			if !ok || !isStr {
				return nil, false
			}
			vv, ok := Literal(e.Values[i])
			if !ok {
				return nil, false
			}
			m[ks] = vv
		}
		return m, true
	}
	return nil, false
}

func literalList(elts []Expr) (any, bool) {
	out := make([]any, 0, len(elts))
	for _, x := range elts {
		v, ok := Literal(x)
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// ParseNum reads a Python number literal: int64 for integers, float64 for
// floats; ok is false for complex numbers and integers beyond int64.
func ParseNum(lit string) (any, bool) {
	s := strings.ReplaceAll(lit, "_", "")
	if strings.HasSuffix(s, "j") || strings.HasSuffix(s, "J") {
		return nil, false
	}
	ls := strings.ToLower(s)
	if len(ls) > 1 && ls[0] == '0' && (ls[1] == 'x' || ls[1] == 'o' || ls[1] == 'b') {
		base := map[byte]int{'x': 16, 'o': 8, 'b': 2}[ls[1]]
		v, err := strconv.ParseInt(ls[2:], base, 64)
		return v, err == nil
	}
	if strings.ContainsAny(ls, ".e") {
		v, err := strconv.ParseFloat(ls, 64)
		return v, err == nil
	}
	v, err := strconv.ParseInt(ls, 10, 64)
	return v, err == nil
}
