package python

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of expressions and blocks, so a hostile file
// cannot exhaust the stack.
const MaxDepth = 200

// Parse reads a Python 3 module. The error, if any, is an *Error naming
// filename:line:col. Syntax this package does not know (match statements,
// type statements) is an error too, with its place.
func Parse(filename string, src []byte) (*Module, error) {
	toks, unclosed, err := tokenize(filename, src)
	if err != nil {
		return nil, err
	}
	p := &parser{file: filename, toks: toks}
	m, err := p.module()
	if err != nil && unclosed != nil && p.atEnd() {
		return nil, unclosed
	}
	return m, err
}

func (p *parser) module() (*Module, error) {
	m := &Module{File: p.file}
	for p.tok().Kind != EOF {
		if p.tok().Kind == NEWLINE {
			p.pos++
			continue
		}
		ss, err := p.statement()
		if err != nil {
			return nil, err
		}
		m.Body = append(m.Body, ss...)
	}
	return m, nil
}

// ParseExpr reads one expression (for tests and tools).
func ParseExpr(filename string, src string) (Expr, error) {
	toks, err := tokenizeExpr(filename, src, Pos{1, 1})
	if err != nil {
		return nil, err
	}
	p := &parser{file: filename, toks: toks}
	e, err := p.testlistStar()
	if err != nil {
		return nil, err
	}
	if p.tok().Kind != EOF && p.tok().Kind != NEWLINE {
		return nil, p.unexpected()
	}
	return e, nil
}

type parser struct {
	file   string
	toks   []Token
	pos    int
	depth  int
	parens map[Expr]Pos // where the outermost parentheses around an expression open
}

// start is where an expression starts, its parentheses included: the
// place of a node whose first operand is parenthesized (Python's too).
func (p *parser) start(x Expr) Pos {
	if at, ok := p.parens[x]; ok {
		return at
	}
	return x.Position()
}

func (p *parser) tok() *Token { return &p.toks[p.pos] }

func (p *parser) peekTok(n int) *Token {
	if p.pos+n < len(p.toks) {
		return &p.toks[p.pos+n]
	}
	return &p.toks[len(p.toks)-1]
}

func (p *parser) errf(at Pos, format string, a ...any) error {
	return &Error{File: p.file, Pos: at, Msg: fmt.Sprintf(format, a...)}
}

func (p *parser) unexpected() error {
	t := p.tok()
	switch t.Kind {
	case EOF, NEWLINE, INDENT, DEDENT:
		return p.errf(t.Pos, "unexpected %s", t.Kind)
	}
	return p.errf(t.Pos, "unexpected %q", t.Val)
}

func (p *parser) isOp(v string) bool   { t := p.tok(); return t.Kind == OP && t.Val == v }
func (p *parser) isName(v string) bool { t := p.tok(); return t.Kind == NAME && t.Val == v }

func (p *parser) accept(v string) bool {
	t := p.tok()
	if (t.Kind == OP || t.Kind == NAME) && t.Val == v {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(v string) (Pos, error) {
	t := p.tok()
	if (t.Kind == OP || t.Kind == NAME) && t.Val == v {
		p.pos++
		return t.Pos, nil
	}
	if t.Kind == OP || t.Kind == NAME {
		return t.Pos, p.errf(t.Pos, "expected %q, found %q", v, t.Val)
	}
	return t.Pos, p.errf(t.Pos, "expected %q, found %s", v, t.Kind)
}

func (p *parser) ident() (string, Pos, error) {
	t := p.tok()
	if t.Kind != NAME || keywords[t.Val] {
		return "", t.Pos, p.errf(t.Pos, "expected a name, found %s", describe(t))
	}
	p.pos++
	return t.Val, t.Pos, nil
}

func describe(t *Token) string {
	switch t.Kind {
	case OP, NAME, NUMBER, STRING:
		return strconv.Quote(t.Val)
	}
	return t.Kind.String()
}

var keywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errf(p.tok().Pos, "nested too deeply (more than %d levels)", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// ---- statements

// compound parses the compound statement t opens; it is nil when t opens
// none (a simple statement follows).
func (p *parser) compound(t *Token) (Stmt, error) {
	if t.Kind == OP && t.Val == "@" {
		return p.decorated()
	}
	if t.Kind != NAME {
		return nil, nil
	}
	switch t.Val {
	case "if":
		return p.ifStmt()
	case "for":
		return p.forStmt(false)
	case "while":
		return p.whileStmt()
	case "with":
		return p.withStmt(false)
	case "try":
		return p.tryStmt()
	case "def":
		return p.funcDef(nil, false)
	case "class":
		return p.classDef(nil)
	case "async":
		if n := p.peekTok(1); n.Kind == NAME && (n.Val == "def" || n.Val == "for" || n.Val == "with") {
			p.pos++
			var s Stmt
			var err error
			switch n.Val {
			case "def":
				s, err = p.funcDef(nil, true)
			case "for":
				s, err = p.forStmt(true)
			default:
				s, err = p.withStmt(true)
			}
			if s != nil {
				setPos(s, t.Pos)
			}
			return s, err
		}
	}
	return nil, nil
}

// statement parses one statement line (simple statements separated by ;
// give several) or one compound statement.
func (p *parser) statement() ([]Stmt, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.tok()
	if t.Kind == INDENT {
		return nil, p.errf(t.Pos, "unexpected indent")
	}
	s, err := p.compound(t)
	if err != nil {
		return nil, err
	}
	if s != nil {
		return []Stmt{s}, nil
	}
	if t.Kind == NAME && t.Val == "match" {
		if n := p.peekTok(1); n.Kind != OP || n.Val == "(" || n.Val == "[" || n.Val == "{" || n.Val == "-" {
			if p.lineEndsWithColon() {
				return nil, p.errf(t.Pos, "match statements are not supported")
			}
		}
	}
	var out []Stmt
	for {
		s, err := p.simple()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		if !p.accept(";") {
			break
		}
		if p.tok().Kind == NEWLINE {
			break
		}
	}
	if p.tok().Kind != NEWLINE && p.tok().Kind != EOF {
		return nil, p.unexpected()
	}
	if p.tok().Kind == NEWLINE {
		p.pos++
	}
	return out, nil
}

func (p *parser) lineEndsWithColon() bool {
	for i := p.pos; i < len(p.toks); i++ {
		t := &p.toks[i]
		if t.Kind == NEWLINE || t.Kind == EOF {
			prev := &p.toks[i-1]
			return prev.Kind == OP && prev.Val == ":"
		}
	}
	return false
}

// block parses ":" and then either statements on the same line or an
// indented block.
func (p *parser) block() ([]Stmt, error) {
	if _, err := p.expect(":"); err != nil {
		return nil, err
	}
	if p.tok().Kind != NEWLINE {
		return p.statement()
	}
	p.pos++
	if p.tok().Kind != INDENT {
		return nil, p.errf(p.tok().Pos, "expected an indented block")
	}
	p.pos++
	var body []Stmt
	for p.tok().Kind != DEDENT && p.tok().Kind != EOF {
		if p.tok().Kind == NEWLINE {
			p.pos++
			continue
		}
		ss, err := p.statement()
		if err != nil {
			return nil, err
		}
		body = append(body, ss...)
	}
	if p.tok().Kind == DEDENT {
		p.pos++
	}
	return body, nil
}

func (p *parser) decorated() (Stmt, error) {
	var decs []Expr
	for p.isOp("@") {
		p.pos++
		e, err := p.namedTest()
		if err != nil {
			return nil, err
		}
		decs = append(decs, e)
		if p.tok().Kind != NEWLINE {
			return nil, p.unexpected()
		}
		p.pos++
	}
	switch {
	case p.isName("def"):
		return p.funcDef(decs, false)
	case p.isName("async") && p.peekTok(1).Kind == NAME && p.peekTok(1).Val == "def":
		at := p.tok().Pos
		p.pos++
		s, err := p.funcDef(decs, true)
		if s != nil {
			setPos(s, at)
		}
		return s, err
	case p.isName("class"):
		return p.classDef(decs)
	}
	return nil, p.errf(p.tok().Pos, "expected def or class after a decorator, found %s", describe(p.tok()))
}

func (p *parser) funcDef(decs []Expr, async bool) (Stmt, error) {
	at, _ := p.expect("def")
	name, _, err := p.ident()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect("("); err != nil {
		return nil, err
	}
	params, err := p.params(")", true)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(")"); err != nil {
		return nil, err
	}
	ret, err := p.testAfter("->")
	if err != nil {
		return nil, err
	}
	body, err := p.block()
	if err != nil {
		return nil, err
	}
	return &FuncDef{At: At{at}, Name: name, Params: params, Returns: ret, Body: body, Decorators: decs, Async: async}, nil
}

// params parses parameters up to end (")" for a def, ":" for a lambda);
// annotations only in a def.
func (p *parser) params(end string, annotations bool) ([]Param, error) {
	var out []Param
	for !p.isOp(end) {
		t := p.tok()
		switch {
		case p.accept("/"):
			out = append(out, Param{At: At{t.Pos}, Kind: ParamSlash})
		case p.accept("*"):
			prm := Param{At: At{t.Pos}, Kind: ParamVarArgs}
			if p.tok().Kind == NAME {
				name, _, err := p.ident()
				if err != nil {
					return nil, err
				}
				prm.Name = name
				if annotations && p.accept(":") {
					ann, err := p.test()
					if err != nil {
						return nil, err
					}
					prm.Ann = ann
				}
			}
			out = append(out, prm)
		case p.accept("**"):
			name, _, err := p.ident()
			if err != nil {
				return nil, err
			}
			prm := Param{At: At{t.Pos}, Kind: ParamKwArgs, Name: name}
			if annotations && p.accept(":") {
				if prm.Ann, err = p.test(); err != nil {
					return nil, err
				}
			}
			out = append(out, prm)
		default:
			name, at, err := p.ident()
			if err != nil {
				return nil, err
			}
			prm := Param{At: At{at}, Name: name}
			if annotations && p.accept(":") {
				if prm.Ann, err = p.test(); err != nil {
					return nil, err
				}
			}
			if prm.Default, err = p.testAfter("="); err != nil {
				return nil, err
			}
			out = append(out, prm)
		}
		if !p.accept(",") {
			break
		}
	}
	return out, nil
}

func (p *parser) classDef(decs []Expr) (Stmt, error) {
	at, _ := p.expect("class")
	name, _, err := p.ident()
	if err != nil {
		return nil, err
	}
	c := &ClassDef{At: At{at}, Name: name, Decorators: decs}
	if p.accept("(") {
		args, kws, err := p.arguments()
		if err != nil {
			return nil, err
		}
		c.Bases, c.Keywords = args, kws
	}
	if c.Body, err = p.block(); err != nil {
		return nil, err
	}
	return c, nil
}

func (p *parser) ifStmt() (Stmt, error) {
	at := p.tok().Pos
	p.pos++ // if or elif
	test, err := p.namedTest()
	if err != nil {
		return nil, err
	}
	body, err := p.block()
	if err != nil {
		return nil, err
	}
	s := &If{At: At{at}, Test: test, Body: body}
	switch {
	case p.isName("elif"):
		e, err := p.ifStmt()
		if err != nil {
			return nil, err
		}
		e.(*If).Elif = true
		s.Else = []Stmt{e}
	case p.isName("else"):
		p.pos++
		if s.Else, err = p.block(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (p *parser) forStmt(async bool) (Stmt, error) {
	at, _ := p.expect("for")
	target, err := p.exprList()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect("in"); err != nil {
		return nil, err
	}
	iter, err := p.testlistStar()
	if err != nil {
		return nil, err
	}
	body, err := p.block()
	if err != nil {
		return nil, err
	}
	s := &For{At: At{at}, Target: target, Iter: iter, Body: body, Async: async}
	if p.accept("else") {
		if s.Else, err = p.block(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (p *parser) whileStmt() (Stmt, error) {
	at, _ := p.expect("while")
	test, err := p.namedTest()
	if err != nil {
		return nil, err
	}
	body, err := p.block()
	if err != nil {
		return nil, err
	}
	s := &While{At: At{at}, Test: test, Body: body}
	if p.accept("else") {
		if s.Else, err = p.block(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (p *parser) withStmt(async bool) (Stmt, error) {
	at, _ := p.expect("with")
	s := &With{At: At{at}, Async: async}
	// with (a as b, c as d): is Python 3.10's parenthesized form.
	paren := false
	if p.isOp("(") {
		depth, i := 0, p.pos
		for ; i < len(p.toks); i++ {
			t := &p.toks[i]
			if t.Kind == OP && (t.Val == "(" || t.Val == "[" || t.Val == "{") {
				depth++
			} else if t.Kind == OP && (t.Val == ")" || t.Val == "]" || t.Val == "}") {
				depth--
				if depth == 0 {
					break
				}
			} else if t.Kind == NEWLINE || t.Kind == EOF {
				break
			}
		}
		if i+1 < len(p.toks) && p.toks[i+1].Kind == OP && p.toks[i+1].Val == ":" {
			// Parenthesized items only when an "as" is inside at depth 1.
			for j, d := p.pos+1, 1; j < i; j++ {
				t := &p.toks[j]
				if t.Kind == OP && strings.Contains("([{", t.Val) {
					d++
				} else if t.Kind == OP && strings.Contains(")]}", t.Val) {
					d--
				} else if d == 1 && t.Kind == NAME && t.Val == "as" {
					paren = true
					break
				}
			}
		}
	}
	if paren {
		p.pos++
	}
	for {
		if paren && p.isOp(")") {
			break
		}
		e, err := p.test()
		if err != nil {
			return nil, err
		}
		item := WithItem{Expr: e}
		if p.accept("as") {
			if item.As, err = p.starTarget(); err != nil {
				return nil, err
			}
		}
		s.Items = append(s.Items, item)
		if !p.accept(",") {
			break
		}
	}
	if paren {
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
	}
	var err error
	if s.Body, err = p.block(); err != nil {
		return nil, err
	}
	return s, nil
}

func (p *parser) starTarget() (Expr, error) {
	return p.expr()
}

func (p *parser) tryStmt() (Stmt, error) {
	at, _ := p.expect("try")
	body, err := p.block()
	if err != nil {
		return nil, err
	}
	s := &Try{At: At{at}, Body: body}
	for p.isName("except") {
		h := Handler{At: At{p.tok().Pos}}
		p.pos++
		p.accept("*") // except* (3.11)
		if !p.isOp(":") {
			if h.Type, err = p.test(); err != nil {
				return nil, err
			}
			if p.accept(",") { // except A, B: is 2.x; 3.14 allows it without as
				elts := []Expr{h.Type}
				for !p.isOp(":") {
					e, err := p.test()
					if err != nil {
						return nil, err
					}
					elts = append(elts, e)
					if !p.accept(",") {
						break
					}
				}
				h.Type = &Tuple{At: At{h.Type.Position()}, Elts: elts}
			}
			if p.accept("as") {
				if h.Name, _, err = p.ident(); err != nil {
					return nil, err
				}
			}
		}
		if h.Body, err = p.block(); err != nil {
			return nil, err
		}
		s.Handlers = append(s.Handlers, h)
	}
	if p.accept("else") {
		if s.Else, err = p.block(); err != nil {
			return nil, err
		}
	}
	if p.accept("finally") {
		if s.Finally, err = p.block(); err != nil {
			return nil, err
		}
	}
	if len(s.Handlers) == 0 && s.Finally == nil {
		return nil, p.errf(at, "try without except or finally")
	}
	return s, nil
}

func (p *parser) simple() (Stmt, error) {
	t := p.tok()
	at := At{t.Pos}
	if t.Kind == NAME {
		switch t.Val {
		case "pass":
			p.pos++
			return &Pass{at}, nil
		case "break":
			p.pos++
			return &Break{at}, nil
		case "continue":
			p.pos++
			return &Continue{at}, nil
		case "return":
			p.pos++
			s := &Return{At: at}
			if !p.endOfSimple() {
				v, err := p.testlistStar()
				if err != nil {
					return nil, err
				}
				s.Value = v
			}
			return s, nil
		case "raise":
			p.pos++
			s := &Raise{At: at}
			if !p.endOfSimple() {
				var err error
				if s.Exc, err = p.test(); err != nil {
					return nil, err
				}
				if s.Cause, err = p.testAfter("from"); err != nil {
					return nil, err
				}
			}
			return s, nil
		case "global", "nonlocal":
			p.pos++
			s := &Global{At: at, Nonlocal: t.Val == "nonlocal"}
			for {
				n, _, err := p.ident()
				if err != nil {
					return nil, err
				}
				s.Names = append(s.Names, n)
				if !p.accept(",") {
					break
				}
			}
			return s, nil
		case "del":
			p.pos++
			e, err := p.exprList()
			if err != nil {
				return nil, err
			}
			if tu, ok := e.(*Tuple); ok && !tu.Paren {
				return &Del{At: at, Targets: tu.Elts}, nil
			}
			return &Del{At: at, Targets: []Expr{e}}, nil
		case "assert":
			p.pos++
			s := &Assert{At: at}
			var err error
			if s.Test, err = p.test(); err != nil {
				return nil, err
			}
			if s.Msg, err = p.testAfter(","); err != nil {
				return nil, err
			}
			return s, nil
		case "import":
			return p.importStmt()
		case "from":
			return p.importFrom()
		}
	}
	first, err := p.testlistStarOrYield()
	if err != nil {
		return nil, err
	}
	if tt := p.tok(); tt.Kind == OP {
		switch tt.Val {
		case "=":
			targets := []Expr{first}
			var value Expr
			for p.accept("=") {
				v, err := p.testlistStarOrYield()
				if err != nil {
					return nil, err
				}
				targets = append(targets, v)
			}
			value, targets = targets[len(targets)-1], targets[:len(targets)-1]
			for _, tg := range targets {
				if err := p.checkTarget(tg); err != nil {
					return nil, err
				}
			}
			return &Assign{At: at, Targets: targets, Value: value}, nil
		case "+=", "-=", "*=", "/=", "//=", "%=", "**=", ">>=", "<<=", "&=", "|=", "^=", "@=":
			p.pos++
			if err := p.checkTarget(first); err != nil {
				return nil, err
			}
			v, err := p.testlistStarOrYield()
			if err != nil {
				return nil, err
			}
			return &AugAssign{At: at, Target: first, Op: strings.TrimSuffix(tt.Val, "="), Value: v}, nil
		case ":":
			p.pos++
			if err := p.checkTarget(first); err != nil {
				return nil, err
			}
			ann, err := p.test()
			if err != nil {
				return nil, err
			}
			s := &AnnAssign{At: at, Target: first, Ann: ann}
			if p.accept("=") {
				if s.Value, err = p.testlistStarOrYield(); err != nil {
					return nil, err
				}
			}
			return s, nil
		}
	}
	return &ExprStmt{At: at, X: first}, nil
}

func (p *parser) checkTarget(e Expr) error {
	switch e := e.(type) {
	case *Name, *Attribute, *Subscript:
		return nil
	case *Starred:
		return p.checkTarget(e.X)
	case *Tuple:
		for _, x := range e.Elts {
			if err := p.checkTarget(x); err != nil {
				return err
			}
		}
		return nil
	case *List:
		for _, x := range e.Elts {
			if err := p.checkTarget(x); err != nil {
				return err
			}
		}
		return nil
	}
	return p.errf(e.Position(), "cannot assign to this expression")
}

func (p *parser) endOfSimple() bool {
	t := p.tok()
	return t.Kind == NEWLINE || t.Kind == EOF || t.Kind == OP && t.Val == ";"
}

func (p *parser) dotted() (string, error) {
	name, _, err := p.ident()
	if err != nil {
		return "", err
	}
	for p.accept(".") {
		n, _, err := p.ident()
		if err != nil {
			return "", err
		}
		name += "." + n
	}
	return name, nil
}

func (p *parser) importStmt() (Stmt, error) {
	at, _ := p.expect("import")
	s := &Import{At: At{at}}
	for {
		a := Alias{At: At{p.tok().Pos}}
		var err error
		if a.Name, err = p.dotted(); err != nil {
			return nil, err
		}
		if p.accept("as") {
			if a.AsName, _, err = p.ident(); err != nil {
				return nil, err
			}
		}
		s.Names = append(s.Names, a)
		if !p.accept(",") {
			return s, nil
		}
	}
}

func (p *parser) importFrom() (Stmt, error) {
	at, _ := p.expect("from")
	s := &ImportFrom{At: At{at}}
	for {
		if p.accept(".") {
			s.Level++
		} else if p.accept("...") {
			s.Level += 3
		} else {
			break
		}
	}
	if !p.isName("import") {
		var err error
		if s.Module, err = p.dotted(); err != nil {
			return nil, err
		}
	}
	if _, err := p.expect("import"); err != nil {
		return nil, err
	}
	if t := p.tok(); p.accept("*") {
		s.Names = []Alias{{At: At{t.Pos}, Name: "*"}}
		return s, nil
	}
	paren := p.accept("(")
	for {
		if paren && p.isOp(")") {
			break
		}
		a := Alias{At: At{p.tok().Pos}}
		var err error
		if a.Name, _, err = p.ident(); err != nil {
			return nil, err
		}
		if p.accept("as") {
			if a.AsName, _, err = p.ident(); err != nil {
				return nil, err
			}
		}
		s.Names = append(s.Names, a)
		if !p.accept(",") {
			break
		}
		if !paren && p.endOfSimple() {
			return nil, p.unexpected()
		}
	}
	if paren {
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ---- expressions

// testlistStarOrYield is the right-hand side of an assignment.
func (p *parser) testlistStarOrYield() (Expr, error) {
	if p.isName("yield") {
		return p.yieldExpr()
	}
	return p.testlistStar()
}

func (p *parser) yieldExpr() (Expr, error) {
	at, _ := p.expect("yield")
	y := &Yield{At: At{at}}
	if p.accept("from") {
		y.From = true
		x, err := p.test()
		if err != nil {
			return nil, err
		}
		y.X = x
		return y, nil
	}
	if !p.endOfSimple() && !p.isOp(")") && !p.isOp("=") {
		x, err := p.testlistStar()
		if err != nil {
			return nil, err
		}
		y.X = x
	}
	return y, nil
}

// testlistStar parses a, *b, c (a tuple when there is a comma).
func (p *parser) testlistStar() (Expr, error) {
	return p.bareTuple(p.starOrNamedTest, p.exprEnds)
}

// exprList is the target list of a for.
func (p *parser) exprList() (Expr, error) {
	return p.bareTuple(p.starOrExpr, func() bool { return p.isName("in") || p.exprEnds() })
}

// bareTuple parses items separated by commas, without brackets: one
// item alone is itself, more (or one with a trailing comma) a tuple that
// ends before a comma followed by a token for which ends is true.
func (p *parser) bareTuple(item func() (Expr, error), ends func() bool) (Expr, error) {
	at := p.tok().Pos
	first, err := item()
	if err != nil {
		return nil, err
	}
	if !p.isOp(",") {
		return first, nil
	}
	elts := []Expr{first}
	for p.accept(",") {
		if ends() {
			break
		}
		e, err := item()
		if err != nil {
			return nil, err
		}
		elts = append(elts, e)
	}
	return &Tuple{At: At{at}, Elts: elts}, nil
}

// exprEnds says whether the token cannot start an expression.
func (p *parser) exprEnds() bool {
	t := p.tok()
	switch t.Kind {
	case NEWLINE, EOF, INDENT, DEDENT:
		return true
	case OP:
		switch t.Val {
		case ")", "]", "}", "=", ":", ";", "+=", "-=", "*=", "/=", "//=", "%=", "**=", ">>=", "<<=", "&=", "|=", "^=", "@=":
			return true
		}
	}
	return false
}

func (p *parser) starOrExpr() (Expr, error) { return p.starOr(p.expr) }

func (p *parser) starOrNamedTest() (Expr, error) { return p.starOr(p.namedTest) }

// starOr parses *expr, or else what item parses.
func (p *parser) starOr(item func() (Expr, error)) (Expr, error) {
	if t := p.tok(); p.accept("*") {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &Starred{At: At{t.Pos}, X: x}, nil
	}
	return item()
}

// namedTest is test or NAME := test.
func (p *parser) namedTest() (Expr, error) {
	if t := p.tok(); t.Kind == NAME && !keywords[t.Val] && p.peekTok(1).Kind == OP && p.peekTok(1).Val == ":=" {
		p.pos += 2
		v, err := p.test()
		if err != nil {
			return nil, err
		}
		return &NamedExpr{At: At{t.Pos}, Target: &Name{At: At{t.Pos}, Id: t.Val}, Value: v}, nil
	}
	return p.test()
}

// test is a conditional expression or a lambda.
func (p *parser) test() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if p.isName("lambda") {
		return p.lambda(true)
	}
	x, err := p.orTest()
	if err != nil {
		return nil, err
	}
	if p.isName("if") {
		p.pos++
		cond, err := p.orTest()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect("else"); err != nil {
			return nil, err
		}
		els, err := p.test()
		if err != nil {
			return nil, err
		}
		return &IfExp{At: At{p.start(x)}, Cond: cond, Then: x, Else: els}, nil
	}
	return x, nil
}

// testNoCond is test without a conditional (for comprehension ifs).
func (p *parser) testNoCond() (Expr, error) {
	if p.isName("lambda") {
		return p.lambda(false)
	}
	return p.orTest()
}

func (p *parser) lambda(cond bool) (Expr, error) {
	at, _ := p.expect("lambda")
	params, err := p.params(":", false)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(":"); err != nil {
		return nil, err
	}
	var body Expr
	if cond {
		body, err = p.test()
	} else {
		body, err = p.testNoCond()
	}
	if err != nil {
		return nil, err
	}
	return &Lambda{At: At{at}, Params: params, Body: body}, nil
}

func (p *parser) orTest() (Expr, error) {
	return p.boolOp("or", p.andTest)
}

func (p *parser) andTest() (Expr, error) {
	return p.boolOp("and", p.notTest)
}

func (p *parser) boolOp(op string, sub func() (Expr, error)) (Expr, error) {
	x, err := sub()
	if err != nil {
		return nil, err
	}
	if !p.isName(op) {
		return x, nil
	}
	b := &BoolOp{At: At{p.start(x)}, Op: op, Values: []Expr{x}}
	for p.accept(op) {
		y, err := sub()
		if err != nil {
			return nil, err
		}
		b.Values = append(b.Values, y)
	}
	return b, nil
}

func (p *parser) notTest() (Expr, error) {
	if t := p.tok(); p.isName("not") {
		p.pos++
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.notTest()
		if err != nil {
			return nil, err
		}
		return &UnaryOp{At: At{t.Pos}, Op: "not", X: x}, nil
	}
	return p.comparison()
}

func (p *parser) compOp() string {
	t := p.tok()
	switch {
	case t.Kind == OP:
		switch t.Val {
		case "<", ">", "==", ">=", "<=", "!=":
			p.pos++
			return t.Val
		}
	case t.Kind == NAME && t.Val == "in":
		p.pos++
		return "in"
	case t.Kind == NAME && t.Val == "not" && p.peekTok(1).Kind == NAME && p.peekTok(1).Val == "in":
		p.pos += 2
		return "not in"
	case t.Kind == NAME && t.Val == "is":
		p.pos++
		if p.accept("not") {
			return "is not"
		}
		return "is"
	}
	return ""
}

func (p *parser) comparison() (Expr, error) {
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	op := p.compOp()
	if op == "" {
		return x, nil
	}
	c := &Compare{At: At{p.start(x)}, Left: x}
	for ; op != ""; op = p.compOp() {
		y, err := p.expr()
		if err != nil {
			return nil, err
		}
		c.Ops = append(c.Ops, op)
		c.Rights = append(c.Rights, y)
	}
	return c, nil
}

// binary operator levels, loosest first.
var binLevels = [][]string{
	{"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "//", "%", "@"},
}

func (p *parser) expr() (Expr, error) { return p.binary(0) }

func (p *parser) binary(level int) (Expr, error) {
	if level == len(binLevels) {
		return p.factor()
	}
	x, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t := p.tok()
		if t.Kind != OP || !contains(binLevels[level], t.Val) {
			return x, nil
		}
		p.pos++
		y, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		x = &BinOp{At: At{p.start(x)}, Op: t.Val, X: x, Y: y}
	}
}

func contains(set []string, v string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

func (p *parser) factor() (Expr, error) {
	t := p.tok()
	if t.Kind == OP && (t.Val == "-" || t.Val == "+" || t.Val == "~") {
		p.pos++
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.factor()
		if err != nil {
			return nil, err
		}
		return &UnaryOp{At: At{t.Pos}, Op: t.Val, X: x}, nil
	}
	return p.power()
}

func (p *parser) power() (Expr, error) {
	var x Expr
	var err error
	if t := p.tok(); p.isName("await") {
		p.pos++
		if x, err = p.atomExpr(); err != nil {
			return nil, err
		}
		x = &Await{At: At{t.Pos}, X: x}
	} else if x, err = p.atomExpr(); err != nil {
		return nil, err
	}
	if p.accept("**") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		y, err := p.factor()
		if err != nil {
			return nil, err
		}
		return &BinOp{At: At{p.start(x)}, Op: "**", X: x, Y: y}, nil
	}
	return x, nil
}

func (p *parser) atomExpr() (Expr, error) {
	x, err := p.atom()
	if err != nil {
		return nil, err
	}
	for {
		t := p.tok()
		switch {
		case t.Kind == OP && t.Val == ".":
			p.pos++
			name, _, err := p.ident()
			if err != nil {
				return nil, err
			}
			x = &Attribute{At: At{p.start(x)}, X: x, Name: name}
		case t.Kind == OP && t.Val == "(":
			p.pos++
			args, kws, err := p.arguments()
			if err != nil {
				return nil, err
			}
			x = &Call{At: At{p.start(x)}, Fn: x, Args: args, Keywords: kws}
		case t.Kind == OP && t.Val == "[":
			p.pos++
			idx, err := p.subscripts()
			if err != nil {
				return nil, err
			}
			x = &Subscript{At: At{p.start(x)}, X: x, Index: idx}
		default:
			return x, nil
		}
	}
}

// arguments parses a call's arguments after "(", through ")".
func (p *parser) arguments() ([]Expr, []Keyword, error) {
	if err := p.enter(); err != nil {
		return nil, nil, err
	}
	defer p.leave()
	var args []Expr
	var kws []Keyword
	for !p.isOp(")") {
		t := p.tok()
		switch {
		case p.accept("**"):
			v, err := p.test()
			if err != nil {
				return nil, nil, err
			}
			kws = append(kws, Keyword{At: At{t.Pos}, Value: v})
		case p.accept("*"):
			v, err := p.test()
			if err != nil {
				return nil, nil, err
			}
			args = append(args, &Starred{At: At{t.Pos}, X: v})
		case t.Kind == NAME && !keywords[t.Val] && p.peekTok(1).Kind == OP && p.peekTok(1).Val == "=":
			p.pos += 2
			v, err := p.test()
			if err != nil {
				return nil, nil, err
			}
			kws = append(kws, Keyword{At: At{t.Pos}, Name: t.Val, Value: v})
		default:
			v, err := p.namedTest()
			if err != nil {
				return nil, nil, err
			}
			if p.isName("for") || p.isName("async") {
				c, err := p.compFors(&Comp{At: At{v.Position()}, Kind: "gen", Elt: v})
				if err != nil {
					return nil, nil, err
				}
				v = c
			}
			args = append(args, v)
		}
		if !p.accept(",") {
			break
		}
	}
	if _, err := p.expect(")"); err != nil {
		return nil, nil, err
	}
	return args, kws, nil
}

func (p *parser) subscripts() (Expr, error) {
	at := p.tok().Pos
	var elts []Expr
	comma := false
	for !p.isOp("]") {
		e, err := p.subscript()
		if err != nil {
			return nil, err
		}
		elts = append(elts, e)
		if !p.accept(",") {
			break
		}
		comma = true
	}
	if _, err := p.expect("]"); err != nil {
		return nil, err
	}
	if len(elts) == 0 {
		return nil, p.errf(at, "empty subscript")
	}
	if len(elts) == 1 && !comma {
		return elts[0], nil
	}
	return &Tuple{At: At{at}, Elts: elts}, nil
}

func (p *parser) subscript() (Expr, error) {
	at := p.tok().Pos
	var lo Expr
	var err error
	if !p.isOp(":") {
		if lo, err = p.starOrNamedTest(); err != nil {
			return nil, err
		}
		if !p.isOp(":") {
			return lo, nil
		}
	}
	p.pos++ // :
	s := &Slice{At: At{at}, Lo: lo}
	if !p.isOp(":") && !p.isOp("]") && !p.isOp(",") {
		if s.Hi, err = p.test(); err != nil {
			return nil, err
		}
	}
	if p.accept(":") {
		if !p.isOp("]") && !p.isOp(",") {
			if s.Step, err = p.test(); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// testAfter parses a test after op, or is nil when op does not come next.
func (p *parser) testAfter(op string) (Expr, error) {
	if !p.accept(op) {
		return nil, nil
	}
	return p.test()
}

// compClosed parses the for clauses of the comprehension c, then its
// closing bracket.
func (p *parser) compClosed(c *Comp, closing string) (Expr, error) {
	e, err := p.compFors(c)
	if err != nil {
		return nil, err
	}
	_, err = p.expect(closing)
	return e, err
}

// eltsClosed parses the rest of a bracketed display whose first element
// is first: more elements after commas (a trailing comma allowed), then
// the closing bracket.
func (p *parser) eltsClosed(first Expr, closing string) ([]Expr, error) {
	elts := []Expr{first}
	for p.accept(",") {
		if p.isOp(closing) {
			break
		}
		e, err := p.starOrNamedTest()
		if err != nil {
			return nil, err
		}
		elts = append(elts, e)
	}
	if _, err := p.expect(closing); err != nil {
		return nil, err
	}
	return elts, nil
}

func (p *parser) compFors(c *Comp) (Expr, error) {
	for p.isName("for") || p.isName("async") {
		f := CompFor{}
		if p.accept("async") {
			f.Async = true
		}
		if _, err := p.expect("for"); err != nil {
			return nil, err
		}
		var err error
		if f.Target, err = p.exprList(); err != nil {
			return nil, err
		}
		if _, err := p.expect("in"); err != nil {
			return nil, err
		}
		if f.Iter, err = p.orTest(); err != nil {
			return nil, err
		}
		for p.accept("if") {
			cond, err := p.testNoCond()
			if err != nil {
				return nil, err
			}
			f.Ifs = append(f.Ifs, cond)
		}
		c.Fors = append(c.Fors, f)
	}
	return c, nil
}

func (p *parser) atom() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.tok()
	at := At{t.Pos}
	switch t.Kind {
	case NAME:
		switch t.Val {
		case "True", "False", "None":
			p.pos++
			return &Const{At: at, Value: t.Val}, nil
		}
		if keywords[t.Val] {
			return nil, p.unexpected()
		}
		p.pos++
		return &Name{At: at, Id: t.Val}, nil
	case NUMBER:
		p.pos++
		return &Num{At: at, Lit: t.Val}, nil
	case STRING:
		return p.strings()
	case OP:
		switch t.Val {
		case "...":
			p.pos++
			return &Const{At: at, Value: "..."}, nil
		case "(":
			p.pos++
			if p.accept(")") {
				return &Tuple{At: at, Paren: true}, nil
			}
			if p.isName("yield") {
				y, err := p.yieldExpr()
				if err != nil {
					return nil, err
				}
				_, err = p.expect(")")
				return y, err
			}
			first, err := p.starOrNamedTest()
			if err != nil {
				return nil, err
			}
			if p.isName("for") || p.isName("async") {
				return p.compClosed(&Comp{At: at, Kind: "gen", Elt: first}, ")")
			}
			if p.accept(")") {
				if _, ok := first.(*Starred); ok {
					return nil, p.errf(first.Position(), "cannot use starred expression here")
				}
				if p.parens == nil {
					p.parens = map[Expr]Pos{}
				}
				p.parens[first] = at.P
				return first, nil
			}
			elts, err := p.eltsClosed(first, ")")
			if err != nil {
				return nil, err
			}
			return &Tuple{At: at, Elts: elts, Paren: true}, nil
		case "[":
			p.pos++
			if p.accept("]") {
				return &List{At: at}, nil
			}
			first, err := p.starOrNamedTest()
			if err != nil {
				return nil, err
			}
			if p.isName("for") || p.isName("async") {
				return p.compClosed(&Comp{At: at, Kind: "list", Elt: first}, "]")
			}
			elts, err := p.eltsClosed(first, "]")
			if err != nil {
				return nil, err
			}
			return &List{At: at, Elts: elts}, nil
		case "{":
			p.pos++
			return p.dictOrSet(at)
		}
	}
	return nil, p.unexpected()
}

func (p *parser) dictOrSet(at At) (Expr, error) {
	if p.accept("}") {
		return &Dict{At: at}, nil
	}
	// The first item decides: k: v or **m make a dict, anything else a set.
	if p.accept("**") {
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		return p.dictRest(&Dict{At: at, Keys: []Expr{nil}, Values: []Expr{v}})
	}
	first, err := p.starOrNamedTest()
	if err != nil {
		return nil, err
	}
	if p.accept(":") {
		v, err := p.test()
		if err != nil {
			return nil, err
		}
		if p.isName("for") || p.isName("async") {
			return p.compClosed(&Comp{At: at, Kind: "dict", Key: first, Value: v}, "}")
		}
		return p.dictRest(&Dict{At: at, Keys: []Expr{first}, Values: []Expr{v}})
	}
	if p.isName("for") || p.isName("async") {
		return p.compClosed(&Comp{At: at, Kind: "set", Elt: first}, "}")
	}
	elts, err := p.eltsClosed(first, "}")
	if err != nil {
		return nil, err
	}
	return &Set{At: at, Elts: elts}, nil
}

func (p *parser) dictRest(d *Dict) (Expr, error) {
	for p.accept(",") {
		if p.isOp("}") {
			break
		}
		if p.accept("**") {
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			d.Keys, d.Values = append(d.Keys, nil), append(d.Values, v)
			continue
		}
		k, err := p.test()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(":"); err != nil {
			return nil, err
		}
		v, err := p.test()
		if err != nil {
			return nil, err
		}
		d.Keys, d.Values = append(d.Keys, k), append(d.Values, v)
	}
	if _, err := p.expect("}"); err != nil {
		return nil, err
	}
	return d, nil
}

// strings joins adjacent string literals: into a Str, or an FString when
// any of them is an f-string. Bytes and text do not mix.
func (p *parser) strings() (Expr, error) {
	first := p.tok()
	var parts []FPart
	isF, isBytes := false, strings.Contains(first.Prefix, "b")
	for p.tok().Kind == STRING {
		t := p.tok()
		p.pos++
		if strings.Contains(t.Prefix, "b") != isBytes {
			return nil, p.errf(t.Pos, "cannot mix bytes and nonbytes literals")
		}
		raw := strings.Contains(t.Prefix, "r")
		if strings.Contains(t.Prefix, "f") {
			isF = true
			fs, err := p.fstring(t.Body, t.BodyPos, raw)
			if err != nil {
				return nil, err
			}
			parts = append(parts, fs...)
			continue
		}
		s, err := p.unescape(t.Body, t.BodyPos, raw, isBytes)
		if err != nil {
			return nil, err
		}
		parts = append(parts, FPart{Lit: s})
	}
	at := At{first.Pos}
	if !isF {
		var b strings.Builder
		for _, pt := range parts {
			b.WriteString(pt.Lit)
		}
		return &Str{At: at, Value: b.String(), Bytes: isBytes}, nil
	}
	// Merge neighbouring literal parts.
	var out []FPart
	for _, pt := range parts {
		if pt.Expr == nil && len(out) > 0 && out[len(out)-1].Expr == nil {
			out[len(out)-1].Lit += pt.Lit
			continue
		}
		out = append(out, pt)
	}
	return &FString{At: at, Parts: out}, nil
}

// Unquoted yields the offsets and bytes of s from start on that stand
// outside string literals: a quote opens a literal that runs to the same
// quote, a backslash inside one escapes the next byte, and the literals'
// bytes (their quotes too) are not yielded. Callers track brackets over it.
func Unquoted(s string, start int) iter.Seq2[int, byte] {
	return func(yield func(int, byte) bool) {
		var quote byte
		for i := start; i < len(s); i++ {
			c := s[i]
			switch {
			case quote != 0:
				if c == '\\' {
					i++
				} else if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			default:
				if !yield(i, c) {
					return
				}
			}
		}
	}
}

// advance moves a position over text.
func advance(pos Pos, text string) Pos {
	for _, r := range text {
		pos = pos.step(r)
	}
	return pos
}

// step is the position after the rune r.
func (p Pos) step(r rune) Pos {
	if r == '\n' {
		return Pos{p.Line + 1, 1}
	}
	return Pos{p.Line, p.Col + 1}
}

// fstring splits an f-string's body into literal text and replacement fields.
func (p *parser) fstring(body string, pos Pos, raw bool) ([]FPart, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var parts []FPart
	var lit strings.Builder
	litPos := pos
	flush := func(end Pos) error {
		if lit.Len() == 0 {
			return nil
		}
		s, err := p.unescape(lit.String(), litPos, raw, false)
		if err != nil {
			return err
		}
		parts = append(parts, FPart{Lit: s})
		lit.Reset()
		litPos = end
		return nil
	}
	i := 0
	for i < len(body) {
		c := body[i]
		switch {
		case c == '\\' && !raw && i+1 < len(body):
			// Keep escapes for unescape; \{ is not an escape of the brace.
			if body[i+1] == 'N' && i+2 < len(body) && body[i+2] == '{' {
				j := strings.IndexByte(body[i:], '}')
				if j < 0 {
					return nil, p.errf(advance(pos, body[:i]), "unterminated \\N{...} escape")
				}
				lit.WriteString(body[i : i+j+1])
				i += j + 1
				continue
			}
			lit.WriteString(body[i : i+2])
			i += 2
		case c == '{' && i+1 < len(body) && body[i+1] == '{', c == '}' && i+1 < len(body) && body[i+1] == '}':
			lit.WriteByte(c)
			i += 2
		case c == '}':
			return nil, p.errf(advance(pos, body[:i]), "f-string: single '}' is not allowed")
		case c == '{':
			if err := flush(advance(pos, body[:i])); err != nil {
				return nil, err
			}
			end, part, err := p.field(body, i, pos, raw)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part)
			i = end
			litPos = advance(pos, body[:i])
		default:
			_, size := utf8.DecodeRuneInString(body[i:])
			lit.WriteString(body[i : i+size])
			i += size
		}
	}
	if err := flush(pos); err != nil {
		return nil, err
	}
	return parts, nil
}

// field parses the replacement field starting at body[start] == '{' and
// returns the offset after its '}'.
func (p *parser) field(body string, start int, pos Pos, raw bool) (int, FPart, error) {
	fieldPos := advance(pos, body[:start])
	depth := 0
	exprEnd := -1
	for i, c := range Unquoted(body, start+1) {
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']':
			depth--
		case '}':
			if depth == 0 {
				exprEnd = i
			}
			depth--
		case '!':
			if depth == 0 && i+1 < len(body) && body[i+1] != '=' {
				exprEnd = i
			}
		case ':':
			if depth == 0 {
				exprEnd = i
			}
		}
		if exprEnd >= 0 {
			break
		}
	}
	if exprEnd < 0 {
		return 0, FPart{}, p.errf(fieldPos, "f-string: expecting '}'")
	}
	i := exprEnd
	text := body[start+1 : exprEnd]
	part := FPart{}
	trimmed := strings.TrimRight(text, " \t\n")
	if strings.HasSuffix(trimmed, "=") && !strings.HasSuffix(trimmed, "==") && !strings.HasSuffix(trimmed, "!=") &&
		!strings.HasSuffix(trimmed, "<=") && !strings.HasSuffix(trimmed, ">=") {
		part.SelfDoc = text
		text = strings.TrimSuffix(trimmed, "=")
	}
	if strings.TrimSpace(text) == "" {
		return 0, FPart{}, p.errf(fieldPos, "f-string: empty expression not allowed")
	}
	toks, err := tokenizeExpr(p.file, text, advance(fieldPos, "{"))
	if err != nil {
		return 0, FPart{}, err
	}
	sub := &parser{file: p.file, toks: toks, depth: p.depth}
	x, err := sub.testlistStarOrYield()
	if err != nil {
		return 0, FPart{}, err
	}
	if k := sub.tok().Kind; k != EOF && k != NEWLINE {
		return 0, FPart{}, sub.unexpected()
	}
	part.Expr = x
	if body[i] == '!' {
		if i+2 >= len(body) || !strings.ContainsRune("sra", rune(body[i+1])) {
			return 0, FPart{}, p.errf(advance(pos, body[:i]), "f-string: invalid conversion character: expected 's', 'r', or 'a'")
		}
		part.Conv = body[i+1]
		i += 2
	}
	if i < len(body) && body[i] == ':' {
		// The spec runs to the matching '}' and may hold fields itself.
		j, d := i+1, 0
		for ; j < len(body); j++ {
			if body[j] == '{' {
				d++
			} else if body[j] == '}' {
				if d == 0 {
					break
				}
				d--
			}
		}
		if j >= len(body) {
			return 0, FPart{}, p.errf(fieldPos, "f-string: expecting '}'")
		}
		specParts, err := p.fstring(body[i+1:j], advance(pos, body[:i+1]), raw)
		if err != nil {
			return 0, FPart{}, err
		}
		part.Spec = &FString{At: At{advance(pos, body[:i+1])}, Parts: specParts}
		i = j
	}
	if i >= len(body) || body[i] != '}' {
		return 0, FPart{}, p.errf(fieldPos, "f-string: expecting '}'")
	}
	return i + 1, part, nil
}

// unescape decodes a literal's backslash escapes.
func (p *parser) unescape(s string, pos Pos, raw, bytes bool) (string, error) {
	if raw || !strings.Contains(s, "\\") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		e := s[i]
		switch e {
		case '\n':
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(s[i:j], 8, 32)
			if bytes {
				b.WriteByte(byte(v))
			} else {
				b.WriteRune(rune(v))
			}
			i = j - 1
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if bytes && e != 'x' {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			if i+1+n > len(s) {
				return "", p.errf(advance(pos, s[:i-1]), "truncated \\%c escape", e)
			}
			v, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
			if err != nil {
				return "", p.errf(advance(pos, s[:i-1]), "invalid \\%c escape", e)
			}
			if bytes {
				b.WriteByte(byte(v))
			} else {
				if v > utf8.MaxRune {
					return "", p.errf(advance(pos, s[:i-1]), "illegal Unicode character")
				}
				b.WriteRune(rune(v))
			}
			i += n
		case 'N':
			if bytes || i+1 >= len(s) || s[i+1] != '{' {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return "", p.errf(advance(pos, s[:i-1]), "malformed \\N character escape")
			}
			// Unicode names are not known here: keep the escape as written.
			b.WriteString(s[i-1 : i+j+1])
			i += j
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String(), nil
}

// atEnd says whether only line ends, dedents and the end of file are left.
func (p *parser) atEnd() bool {
	for _, t := range p.toks[p.pos:] {
		if t.Kind != NEWLINE && t.Kind != DEDENT && t.Kind != EOF {
			return false
		}
	}
	return true
}

func setPos(s Stmt, at Pos) {
	switch s := s.(type) {
	case *FuncDef:
		s.P = at
	case *For:
		s.P = at
	case *With:
		s.P = at
	}
}
