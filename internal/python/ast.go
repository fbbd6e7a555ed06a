package python

// Node is any node of the tree; Pos is where it starts.
type Node interface{ Position() Pos }

// Expr is an expression.
type Expr interface {
	Node
	expr()
}

// Stmt is a statement.
type Stmt interface {
	Node
	stmt()
}

// At is the place a node starts; every node embeds it.
type At struct{ P Pos }

// Position returns where the node starts.
func (a At) Position() Pos { return a.P }

// Expressions.
type (
	// Name is an identifier.
	Name struct {
		At
		Id string
	}
	// Num is a number literal as written (1, 0x10, 1_000, 2.5, 1e3, 3j).
	Num struct {
		At
		Lit string
	}
	// Str is a string or bytes literal (adjacent literals joined), decoded.
	Str struct {
		At
		Value string
		Bytes bool
	}
	// FString is an f-string (with any adjacent plain literals joined in):
	// literal text and replacement fields in order.
	FString struct {
		At
		Parts []FPart
	}
	// Const is True, False, None or ... (Ellipsis).
	Const struct {
		At
		Value string
	}
	// Attribute is X.Name.
	Attribute struct {
		At
		X    Expr
		Name string
	}
	// Call is Fn(Args..., Keywords...).
	Call struct {
		At
		Fn       Expr
		Args     []Expr // *x is a Starred
		Keywords []Keyword
	}
	// Subscript is X[Index]; a slice index is a Slice, x[a, b] a Tuple.
	Subscript struct {
		At
		X     Expr
		Index Expr
	}
	// Slice is lo:hi:step inside a subscript; absent parts are nil.
	Slice struct {
		At
		Lo, Hi, Step Expr
	}
	// BinOp is X Op Y for + - * / // % ** @ << >> & | ^.
	BinOp struct {
		At
		Op   string
		X, Y Expr
	}
	// BoolOp is "and" or "or" over two or more values.
	BoolOp struct {
		At
		Op     string
		Values []Expr
	}
	// UnaryOp is - + ~ or not.
	UnaryOp struct {
		At
		Op string
		X  Expr
	}
	// Compare is Left Ops[0] Rights[0] Ops[1] Rights[1]...; ops are
	// < > == >= <= != in "not in" is "is not".
	Compare struct {
		At
		Left   Expr
		Ops    []string
		Rights []Expr
	}
	// IfExp is Then if Cond else Else.
	IfExp struct {
		At
		Cond, Then, Else Expr
	}
	// Lambda is lambda Params: Body.
	Lambda struct {
		At
		Params []Param
		Body   Expr
	}
	// List is [a, b].
	List struct {
		At
		Elts []Expr
	}
	// Tuple is (a, b) or a, b; Paren says whether it was written in parentheses.
	Tuple struct {
		At
		Elts  []Expr
		Paren bool
	}
	// Set is {a, b}.
	Set struct {
		At
		Elts []Expr
	}
	// Dict is {k: v, **m}; a nil key is a ** unpacking of its value.
	Dict struct {
		At
		Keys, Values []Expr
	}
	// Comp is a comprehension: Kind is "list", "set", "dict" or "gen"; a
	// dict comprehension has Key and Value, the others Elt.
	Comp struct {
		At
		Kind       string
		Elt        Expr
		Key, Value Expr
		Fors       []CompFor
	}
	// Starred is *X in a call, a list or an assignment target.
	Starred struct {
		At
		X Expr
	}
	// NamedExpr is Target := Value.
	NamedExpr struct {
		At
		Target *Name
		Value  Expr
	}
	// Await is await X.
	Await struct {
		At
		X Expr
	}
	// Yield is yield X or yield from X (X may be nil).
	Yield struct {
		At
		X    Expr
		From bool
	}
)

// FPart is one part of an f-string: literal text (Expr nil) or a
// replacement field {Expr!Conv:Spec}; SelfDoc is the "x=" text of {x=}.
type FPart struct {
	Lit     string
	Expr    Expr
	Conv    byte // 0, 's', 'r' or 'a'
	Spec    *FString
	SelfDoc string
}

// Keyword is name=value in a call; Name "" is **value.
type Keyword struct {
	At
	Name  string
	Value Expr
}

// CompFor is "for Target in Iter if Ifs..." in a comprehension.
type CompFor struct {
	Target Expr
	Iter   Expr
	Ifs    []Expr
	Async  bool
}

// ParamKind tells a normal parameter from *args, **kwargs and the markers.
type ParamKind int

// The parameter kinds.
const (
	ParamNormal  ParamKind = iota
	ParamVarArgs           // *args, or a bare * (Name "") before keyword-only ones
	ParamKwArgs            // **kwargs
	ParamSlash             // the / that ends positional-only parameters
)

// Param is one parameter of a def or a lambda.
type Param struct {
	At
	Name    string
	Kind    ParamKind
	Default Expr
	Ann     Expr
}

// Statements.
type (
	// ExprStmt is an expression on its own line (a call, a docstring).
	ExprStmt struct {
		At
		X Expr
	}
	// Assign is T1 = T2 = ... = Value.
	Assign struct {
		At
		Targets []Expr
		Value   Expr
	}
	// AugAssign is Target Op= Value (Op without the =).
	AugAssign struct {
		At
		Target Expr
		Op     string
		Value  Expr
	}
	// AnnAssign is Target: Ann [= Value].
	AnnAssign struct {
		At
		Target Expr
		Ann    Expr
		Value  Expr
	}
	// Return is return [Value].
	Return struct {
		At
		Value Expr
	}
	// Pass, Break and Continue are themselves.
	Pass     struct{ At }
	Break    struct{ At }
	Continue struct{ At }
	// Raise is raise [Exc [from Cause]].
	Raise struct {
		At
		Exc, Cause Expr
	}
	// Global is global names (Nonlocal true: nonlocal names).
	Global struct {
		At
		Names    []string
		Nonlocal bool
	}
	// Del is del targets.
	Del struct {
		At
		Targets []Expr
	}
	// Assert is assert Test[, Msg].
	Assert struct {
		At
		Test, Msg Expr
	}
	// Import is import a.b [as c], ...
	Import struct {
		At
		Names []Alias
	}
	// ImportFrom is from [.]Module import names; Level counts the dots; a
	// star import has one Alias named "*".
	ImportFrom struct {
		At
		Module string
		Level  int
		Names  []Alias
	}
	// If is if Test: Body [elif/else: Else]; an elif is an If alone in Else
	// with Elif set.
	If struct {
		At
		Test       Expr
		Body, Else []Stmt
		Elif       bool
	}
	// For is for Target in Iter: Body [else: Else].
	For struct {
		At
		Target, Iter Expr
		Body, Else   []Stmt
		Async        bool
	}
	// While is while Test: Body [else: Else].
	While struct {
		At
		Test       Expr
		Body, Else []Stmt
	}
	// With is with items: Body.
	With struct {
		At
		Items []WithItem
		Body  []Stmt
		Async bool
	}
	// Try is try/except/else/finally.
	Try struct {
		At
		Body     []Stmt
		Handlers []Handler
		Else     []Stmt
		Finally  []Stmt
	}
	// FuncDef is def Name(Params) -> Returns: Body, with its decorators; its
	// place is the def keyword's (as Python's ast), not the first decorator's.
	FuncDef struct {
		At
		Name       string
		Params     []Param
		Returns    Expr
		Body       []Stmt
		Decorators []Expr
		Async      bool
	}
	// ClassDef is class Name(Bases, Keywords): Body, with its decorators.
	ClassDef struct {
		At
		Name       string
		Bases      []Expr
		Keywords   []Keyword
		Body       []Stmt
		Decorators []Expr
	}
)

// Alias is a name in an import, with its "as" name if any.
type Alias struct {
	At
	Name   string
	AsName string
}

// WithItem is Expr [as As].
type WithItem struct {
	Expr Expr
	As   Expr
}

// Handler is except [Type [as Name]]: Body.
type Handler struct {
	At
	Type Expr
	Name string
	Body []Stmt
}

func (*Name) expr()      {}
func (*Num) expr()       {}
func (*Str) expr()       {}
func (*FString) expr()   {}
func (*Const) expr()     {}
func (*Attribute) expr() {}
func (*Call) expr()      {}
func (*Subscript) expr() {}
func (*Slice) expr()     {}
func (*BinOp) expr()     {}
func (*BoolOp) expr()    {}
func (*UnaryOp) expr()   {}
func (*Compare) expr()   {}
func (*IfExp) expr()     {}
func (*Lambda) expr()    {}
func (*List) expr()      {}
func (*Tuple) expr()     {}
func (*Set) expr()       {}
func (*Dict) expr()      {}
func (*Comp) expr()      {}
func (*Starred) expr()   {}
func (*NamedExpr) expr() {}
func (*Await) expr()     {}
func (*Yield) expr()     {}

func (*ExprStmt) stmt()   {}
func (*Assign) stmt()     {}
func (*AugAssign) stmt()  {}
func (*AnnAssign) stmt()  {}
func (*Return) stmt()     {}
func (*Pass) stmt()       {}
func (*Break) stmt()      {}
func (*Continue) stmt()   {}
func (*Raise) stmt()      {}
func (*Global) stmt()     {}
func (*Del) stmt()        {}
func (*Assert) stmt()     {}
func (*Import) stmt()     {}
func (*ImportFrom) stmt() {}
func (*If) stmt()         {}
func (*For) stmt()        {}
func (*While) stmt()      {}
func (*With) stmt()       {}
func (*Try) stmt()        {}
func (*FuncDef) stmt()    {}
func (*ClassDef) stmt()   {}

// Module is a parsed file.
type Module struct {
	File string
	Body []Stmt
}

// Blocks are the statement lists nested in s that run in s's own scope: an
// if's, for's or while's body and else, a with's body, a try's body,
// handlers, else and finally. A def or class opens a scope of its own and
// has none; neither has a simple statement.
func Blocks(s Stmt) [][]Stmt {
	switch s := s.(type) {
	case *If:
		return [][]Stmt{s.Body, s.Else}
	case *For:
		return [][]Stmt{s.Body, s.Else}
	case *While:
		return [][]Stmt{s.Body, s.Else}
	case *With:
		return [][]Stmt{s.Body}
	case *Try:
		out := [][]Stmt{s.Body}
		for _, h := range s.Handlers {
			out = append(out, h.Body)
		}
		return append(out, s.Else, s.Finally)
	}
	return nil
}
