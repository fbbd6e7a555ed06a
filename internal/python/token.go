// Package python reads Python 3 source without Python: a tokenizer (with
// INDENT/DEDENT, implicit line joining and f-strings) and a parser for the
// statements and expressions locustfiles are written in, producing an AST whose
// nodes carry their line and column. It checks syntax, not meaning: it never
// runs the code. See docs/design.md, "Reading locustfiles".
package python

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pos is a place in a source file: line and column, both from 1; the column
// counts characters (runes), not bytes.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is a syntax error at a place in a file.
type Error struct {
	File string
	Pos  Pos
	Msg  string
}

func (e *Error) Error() string {
	if e.File == "" {
		return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Kind is a token's kind.
type Kind int

// The token kinds.
const (
	EOF Kind = iota
	NEWLINE
	INDENT
	DEDENT
	NAME
	NUMBER
	STRING
	OP
)

var kindNames = [...]string{"end of file", "end of line", "indent", "dedent", "name", "number", "string", "operator"}

func (k Kind) String() string { return kindNames[k] }

// Token is one token. For a STRING, Val is the literal as written, Prefix its
// lower-cased prefix (r, b, f, rb, fr, u...), Body the text between the quotes
// and BodyPos where that text starts.
type Token struct {
	Kind    Kind
	Val     string
	Pos     Pos
	Prefix  string
	Body    string
	BodyPos Pos
}

type lexer struct {
	file     string
	src      string
	off      int
	at       Pos // of src[off]
	depth    int // open brackets: newlines and indentation inside do not count
	indents  []int
	toks     []Token
	atBOL    bool
	unclosed error
	exprFlag bool // an f-string replacement field: starts inside one bracket
}

// Tokenize splits src into tokens, ending with NEWLINE and DEDENTs as needed
// and one EOF.
func Tokenize(filename string, src []byte) ([]Token, error) {
	toks, unclosed, err := tokenize(filename, src)
	if err == nil && unclosed != nil {
		return nil, unclosed
	}
	return toks, err
}

func tokenize(filename string, src []byte) ([]Token, error, error) {
	lx := &lexer{file: filename, src: string(src), at: Pos{1, 1}, indents: []int{0}, atBOL: true}
	if !utf8.Valid(src) {
		return nil, nil, &Error{File: filename, Pos: Pos{1, 1}, Msg: "the file is not UTF-8"}
	}
	lx.src = strings.TrimPrefix(lx.src, "\ufeff")
	if err := lx.run(); err != nil {
		return nil, nil, err
	}
	return lx.toks, lx.unclosed, nil
}

// tokenizeExpr tokenizes the text of an f-string's replacement field, which
// starts at pos; newlines inside it are not statement ends.
func tokenizeExpr(filename, src string, pos Pos) ([]Token, error) {
	lx := &lexer{file: filename, src: src, at: pos, indents: []int{0}, depth: 1, exprFlag: true}
	if err := lx.run(); err != nil {
		return nil, err
	}
	if lx.unclosed != nil {
		return nil, lx.unclosed
	}
	return lx.toks, nil
}

func (lx *lexer) errf(p Pos, format string, a ...any) error {
	return &Error{File: lx.file, Pos: p, Msg: fmt.Sprintf(format, a...)}
}

func (lx *lexer) pos() Pos { return lx.at }

func (lx *lexer) peek(n int) byte {
	if lx.off+n < len(lx.src) {
		return lx.src[lx.off+n]
	}
	return 0
}

// next advances one rune, keeping line and column.
func (lx *lexer) next() rune {
	r, size := utf8.DecodeRuneInString(lx.src[lx.off:])
	lx.off += size
	lx.at = lx.at.step(r)
	return r
}

func (lx *lexer) emit(k Kind, val string, p Pos) {
	lx.toks = append(lx.toks, Token{Kind: k, Val: val, Pos: p})
}

func (lx *lexer) lastKind() Kind {
	if len(lx.toks) == 0 {
		return NEWLINE
	}
	return lx.toks[len(lx.toks)-1].Kind
}

var ops3 = []string{"**=", "//=", ">>=", "<<=", "..."}
var ops2 = []string{"**", "//", ">>", "<<", "<=", ">=", "==", "!=", "->", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":="}

const ops1 = "+-*/%@&|^~<>()[]{},:.;=!"

func (lx *lexer) run() error {
	for lx.off < len(lx.src) {
		if lx.atBOL && lx.depth == 0 {
			if err := lx.indentation(); err != nil {
				return err
			}
			if lx.off >= len(lx.src) {
				break
			}
		}
		c := lx.src[lx.off]
		p := lx.pos()
		switch {
		case c == ' ' || c == '\t' || c == '\f' || c == '\r':
			lx.next()
		case c == '#':
			for lx.off < len(lx.src) && lx.src[lx.off] != '\n' {
				lx.next()
			}
		case c == '\\':
			lx.next()
			if lx.peek(0) == '\r' {
				lx.next()
			}
			if lx.peek(0) != '\n' {
				return lx.errf(p, "unexpected character after line continuation character")
			}
			lx.next()
		case c == '\n':
			lx.next()
			if lx.depth == 0 {
				if k := lx.lastKind(); k != NEWLINE && k != INDENT && k != DEDENT {
					lx.emit(NEWLINE, "", p)
				}
				lx.atBOL = true
			}
		case c >= '0' && c <= '9' || c == '.' && lx.peek(1) >= '0' && lx.peek(1) <= '9':
			if err := lx.number(); err != nil {
				return err
			}
		case c == '"' || c == '\'':
			if err := lx.str(p, ""); err != nil {
				return err
			}
		default:
			r, _ := utf8.DecodeRuneInString(lx.src[lx.off:])
			if r == '_' || unicode.IsLetter(r) {
				start := lx.off
				for lx.off < len(lx.src) {
					r, _ := utf8.DecodeRuneInString(lx.src[lx.off:])
					if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
						break
					}
					lx.next()
				}
				word := lx.src[start:lx.off]
				if q := lx.peek(0); (q == '"' || q == '\'') && isStringPrefix(word) {
					if err := lx.str(p, strings.ToLower(word)); err != nil {
						return err
					}
					continue
				}
				lx.emit(NAME, word, p)
				continue
			}
			if err := lx.op(p); err != nil {
				return err
			}
		}
	}
	if (!lx.exprFlag && lx.depth > 0) || (lx.exprFlag && lx.depth != 1) {
		// Reported only when the parser fails at the end: a syntax error
		// earlier in the bracket is the better message.
		lx.unclosed = lx.errf(lx.pos(), "unexpected end of input: a bracket is not closed")
	}
	p := lx.pos()
	if k := lx.lastKind(); len(lx.toks) > 0 && k != NEWLINE && k != DEDENT && k != INDENT {
		lx.emit(NEWLINE, "", p)
	}
	for len(lx.indents) > 1 {
		lx.indents = lx.indents[:len(lx.indents)-1]
		lx.emit(DEDENT, "", p)
	}
	lx.emit(EOF, "", p)
	return nil
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// indentation measures a line's indentation and emits INDENT or DEDENTs;
// blank and comment-only lines do not count.
func (lx *lexer) indentation() error {
	for {
		width := 0
		start := lx.pos()
		for lx.off < len(lx.src) {
			c := lx.src[lx.off]
			if c == ' ' {
				width++
			} else if c == '\t' {
				width = (width/8 + 1) * 8
			} else if c == '\f' {
				width = 0
			} else {
				break
			}
			lx.next()
		}
		if lx.off >= len(lx.src) {
			return nil
		}
		c := lx.src[lx.off]
		if c == '\r' && lx.peek(1) == '\n' {
			lx.next()
			c = '\n'
		}
		if c == '\n' {
			lx.next()
			continue
		}
		if c == '#' {
			for lx.off < len(lx.src) && lx.src[lx.off] != '\n' {
				lx.next()
			}
			continue
		}
		if c == '\\' && (lx.peek(1) == '\n' || lx.peek(1) == '\r') {
			// A continuation at the start of a line: the indentation is the
			// next line's text, not counted (as Python).
			lx.atBOL = false
			return nil
		}
		lx.atBOL = false
		top := lx.indents[len(lx.indents)-1]
		switch {
		case width > top:
			lx.indents = append(lx.indents, width)
			lx.emit(INDENT, "", start)
		case width < top:
			for width < lx.indents[len(lx.indents)-1] {
				lx.indents = lx.indents[:len(lx.indents)-1]
				lx.emit(DEDENT, "", lx.pos())
			}
			if width != lx.indents[len(lx.indents)-1] {
				return lx.errf(lx.pos(), "unindent does not match any outer indentation level")
			}
		}
		return nil
	}
}

func (lx *lexer) number() error {
	p := lx.pos()
	start := lx.off
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' || c == '_' }
	if lx.peek(0) == '0' && strings.ContainsRune("xXoObB", rune(lx.peek(1))) {
		lx.next()
		lx.next()
		for c := lx.peek(0); c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '_'; c = lx.peek(0) {
			lx.next()
		}
	} else {
		for isDigit(lx.peek(0)) {
			lx.next()
		}
		if lx.peek(0) == '.' {
			lx.next()
			for isDigit(lx.peek(0)) {
				lx.next()
			}
		}
		if c := lx.peek(0); c == 'e' || c == 'E' {
			n := 1
			if s := lx.peek(1); s == '+' || s == '-' {
				n = 2
			}
			if d := lx.peek(n); d >= '0' && d <= '9' {
				for range n {
					lx.next()
				}
				for isDigit(lx.peek(0)) {
					lx.next()
				}
			}
		}
		if c := lx.peek(0); c == 'j' || c == 'J' {
			lx.next()
		}
	}
	if r, _ := utf8.DecodeRuneInString(lx.src[lx.off:]); lx.off < len(lx.src) && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
		return lx.errf(lx.pos(), "invalid number %q", lx.src[start:lx.off+1])
	}
	lx.emit(NUMBER, lx.src[start:lx.off], p)
	return nil
}

// str reads a string literal whose quote is at the current offset.
func (lx *lexer) str(p Pos, prefix string) error {
	startOff := lx.off - len(prefix)
	q := lx.src[lx.off]
	triple := lx.peek(1) == q && lx.peek(2) == q
	n := 1
	if triple {
		n = 3
	}
	for range n {
		lx.next()
	}
	bodyPos := lx.pos()
	bodyStart := lx.off
	raw := strings.Contains(prefix, "r")
	for {
		if lx.off >= len(lx.src) {
			return lx.errf(p, "string literal is not terminated")
		}
		c := lx.src[lx.off]
		if c == '\\' {
			lx.next()
			if lx.off < len(lx.src) {
				lx.next()
			}
			_ = raw
			continue
		}
		if c == '\n' && !triple {
			return lx.errf(p, "string literal is not terminated before the end of the line")
		}
		if c == q && (!triple || lx.peek(1) == q && lx.peek(2) == q) {
			body := lx.src[bodyStart:lx.off]
			for range n {
				lx.next()
			}
			lx.toks = append(lx.toks, Token{Kind: STRING, Val: lx.src[startOff:lx.off], Pos: p, Prefix: prefix, Body: body, BodyPos: bodyPos})
			return nil
		}
		lx.next()
	}
}

func (lx *lexer) op(p Pos) error {
	rest := lx.src[lx.off:]
	for _, set := range [][]string{ops3, ops2} {
		for _, o := range set {
			if strings.HasPrefix(rest, o) {
				for range len(o) {
					lx.next()
				}
				lx.emit(OP, o, p)
				return nil
			}
		}
	}
	c := rest[0]
	if strings.IndexByte(ops1, c) < 0 {
		r, _ := utf8.DecodeRuneInString(rest)
		return lx.errf(p, "invalid character %q", r)
	}
	lx.next()
	switch c {
	case '(', '[', '{':
		lx.depth++
	case ')', ']', '}':
		if lx.depth == 0 || (lx.exprFlag && lx.depth == 1) {
			return lx.errf(p, "unmatched %q", string(c))
		}
		lx.depth--
	}
	lx.emit(OP, string(c), p)
	return nil
}
