# Dumps a Python file's ast in the canonical form of internal/python's Dump,
# for the test that compares the two (internal/e2e/python_test.go). ASCII
# sources only: columns are counted in bytes here, in characters there.
import ast
import sys

BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
       ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"}
UN = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~", ast.Not: "not"}
CMP = {ast.Lt: "<", ast.Gt: ">", ast.Eq: "==", ast.GtE: ">=", ast.LtE: "<=", ast.NotEq: "!=", ast.In: "in",
       ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}


def at(n, pos):
    return "@%d:%d" % (n.lineno, n.col_offset + 1) if pos else ""


def num(v):
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e16:
            return "%.1f" % v
        return repr(v)
    return str(v)


def params(a, pos):
    out = []
    n_pos = len(a.posonlyargs) + len(a.args)
    defaults = [None] * (n_pos - len(a.defaults)) + list(a.defaults)
    allpos = list(a.posonlyargs) + list(a.args)

    def one(prefix, arg, default):
        s = prefix + arg.arg
        if arg.annotation is not None:
            s += ":" + d(arg.annotation, pos)
        if default is not None:
            s += "=" + d(default, pos)
        return s

    for i, arg in enumerate(allpos):
        out.append(one("", arg, defaults[i]))
        if a.posonlyargs and i == len(a.posonlyargs) - 1:
            out.append("/")
    if a.vararg is not None:
        out.append(one("*", a.vararg, None))
    elif a.kwonlyargs:
        out.append("*")
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        out.append(one("", arg, default))
    if a.kwarg is not None:
        out.append(one("**", a.kwarg, None))
    return ", ".join(out)


def fparts(values):
    out = []
    for v in values:
        if isinstance(v, ast.Constant):
            out.append("Lit(%s)" % v.value.encode().hex())
        else:
            spec = "_" if v.format_spec is None else "F[" + fparts(v.format_spec.values) + "]"
            out.append("V(%s, %d, %s)" % (d(v.value, False), v.conversion, spec))
    return ", ".join(out)


def ds(xs, pos):
    return ", ".join(d(x, pos) for x in xs)


def d(e, pos=True):
    if e is None:
        return "_"
    a = at(e, pos)
    t = type(e)
    if t is ast.Name:
        return "Name(%s)%s" % (e.id, a)
    if t is ast.Constant:
        v = e.value
        if v is True or v is False or v is None:
            return "Const(%s)%s" % (v, a)
        if v is Ellipsis:
            return "Const(Ellipsis)" + a
        if isinstance(v, (int, float)):
            return "Num(%s)%s" % (num(v), a)
        if isinstance(v, bytes):
            return "Bytes(%s)%s" % (v.hex(), a)
        return "Str(%s)%s" % (v.encode("utf-8", "surrogatepass").hex(), a)
    if t is ast.JoinedStr:
        return "F[%s]%s" % (fparts(e.values), a)
    if t is ast.Attribute:
        return "Attr(%s.%s)%s" % (d(e.value, pos), e.attr, a)
    if t is ast.Call:
        kws = ", ".join("%s=%s" % (k.arg or "", d(k.value, pos)) for k in e.keywords)
        return "Call(%s; %s; %s)%s" % (d(e.func, pos), ds(e.args, pos), kws, a)
    if t is ast.Subscript:
        return "Sub(%s[%s])%s" % (d(e.value, pos), d(e.slice, pos), a)
    if t is ast.Slice:
        return "Slice(%s:%s:%s)" % (d(e.lower, pos), d(e.upper, pos), d(e.step, pos))
    if t is ast.BinOp:
        return "Bin(%s %s %s)%s" % (d(e.left, pos), BIN[type(e.op)], d(e.right, pos), a)
    if t is ast.BoolOp:
        return "Bool(%s; %s)%s" % ("and" if isinstance(e.op, ast.And) else "or", ds(e.values, pos), a)
    if t is ast.UnaryOp:
        return "Unary(%s %s)%s" % (UN[type(e.op)], d(e.operand, pos), a)
    if t is ast.Compare:
        s = "Cmp(" + d(e.left, pos)
        for op, r in zip(e.ops, e.comparators):
            s += " %s %s" % (CMP[type(op)], d(r, pos))
        return s + ")" + a
    if t is ast.IfExp:
        return "IfExp(%s; %s; %s)%s" % (d(e.test, pos), d(e.body, pos), d(e.orelse, pos), a)
    if t is ast.Lambda:
        return "Lambda(%s; %s)%s" % (params(e.args, pos), d(e.body, pos), a)
    if t is ast.List:
        return "List[%s]%s" % (ds(e.elts, pos), a)
    if t is ast.Tuple:
        return "Tuple[%s]%s" % (ds(e.elts, pos), a)
    if t is ast.Set:
        return "Set[%s]%s" % (ds(e.elts, pos), a)
    if t is ast.Dict:
        return "Dict{%s}%s" % (", ".join("%s: %s" % (d(k, pos), d(v, pos)) for k, v in zip(e.keys, e.values)), a)
    if t in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
        kind = {ast.ListComp: "list", ast.SetComp: "set", ast.GeneratorExp: "gen", ast.DictComp: "dict"}[t]
        s = "Comp(%s; " % kind
        s += "%s: %s" % (d(e.key, pos), d(e.value, pos)) if t is ast.DictComp else d(e.elt, pos)
        for g in e.generators:
            s += "; for %s %s in %s if [%s]" % ("true" if g.is_async else "false", d(g.target, pos), d(g.iter, pos), ds(g.ifs, pos))
        return s + ")" + ("" if t is ast.GeneratorExp else a)
    if t is ast.Starred:
        return "Star(%s)%s" % (d(e.value, pos), a)
    if t is ast.NamedExpr:
        return "Walrus(%s %s)%s" % (d(e.target, pos), d(e.value, pos), a)
    if t is ast.Await:
        return "Await(%s)%s" % (d(e.value, pos), a)
    if t is ast.Yield:
        return "Yield(false %s)%s" % (d(e.value, pos), a)
    if t is ast.YieldFrom:
        return "Yield(true %s)%s" % (d(e.value, pos), a)
    return t.__name__


OPS = {**BIN}


def stmts(ss, ind, out):
    for s in ss:
        stmt(s, ind, out)


def stmt(s, ind, out):
    pad = " " * ind
    head = "%s%d:%d " % (pad, s.lineno, s.col_offset + 1)
    t = type(s)
    if t is ast.Expr:
        out.append(head + "Expr " + d(s.value))
    elif t is ast.Assign:
        out.append(head + "Assign %s = %s" % (ds(s.targets, True), d(s.value)))
    elif t is ast.AugAssign:
        out.append(head + "AugAssign %s %s %s" % (d(s.target), OPS[type(s.op)], d(s.value)))
    elif t is ast.AnnAssign:
        out.append(head + "AnnAssign %s %s %s" % (d(s.target), d(s.annotation), d(s.value)))
    elif t is ast.Return:
        out.append(head + "Return " + d(s.value))
    elif t in (ast.Pass, ast.Break, ast.Continue):
        out.append(head + t.__name__)
    elif t is ast.Raise:
        out.append(head + "Raise %s %s" % (d(s.exc), d(s.cause)))
    elif t in (ast.Global, ast.Nonlocal):
        out.append(head + "Global %s %s" % ("true" if t is ast.Nonlocal else "false", ",".join(s.names)))
    elif t is ast.Delete:
        out.append(head + "Del " + ds(s.targets, True))
    elif t is ast.Assert:
        out.append(head + "Assert %s %s" % (d(s.test), d(s.msg)))
    elif t is ast.Import:
        out.append(head + "Import " + ",".join("%s as %s" % (n.name, n.asname or "") for n in s.names))
    elif t is ast.ImportFrom:
        out.append(head + "ImportFrom %d %s %s" % (s.level, s.module or "", ",".join("%s as %s" % (n.name, n.asname or "") for n in s.names)))
    elif t is ast.If:
        out.append(head + "If " + d(s.test))
        stmts(s.body, ind + 1, out)
        out.append(pad + "else")
        stmts(s.orelse, ind + 1, out)
    elif t in (ast.For, ast.AsyncFor):
        out.append(head + "For %s %s %s" % ("true" if t is ast.AsyncFor else "false", d(s.target), d(s.iter)))
        stmts(s.body, ind + 1, out)
        out.append(pad + "else")
        stmts(s.orelse, ind + 1, out)
    elif t is ast.While:
        out.append(head + "While " + d(s.test))
        stmts(s.body, ind + 1, out)
        out.append(pad + "else")
        stmts(s.orelse, ind + 1, out)
    elif t in (ast.With, ast.AsyncWith):
        items = ", ".join("%s as %s" % (d(i.context_expr), d(i.optional_vars)) for i in s.items)
        out.append(head + "With %s %s" % ("true" if t is ast.AsyncWith else "false", items))
        stmts(s.body, ind + 1, out)
    elif t in (ast.Try, getattr(ast, "TryStar", ast.Try)):
        out.append(head + "Try")
        stmts(s.body, ind + 1, out)
        for h in s.handlers:
            out.append("%s%d:%d except %s %s" % (pad, h.lineno, h.col_offset + 1, d(h.type), h.name or ""))
            stmts(h.body, ind + 1, out)
        out.append(pad + "else")
        stmts(s.orelse, ind + 1, out)
        out.append(pad + "finally")
        stmts(s.finalbody, ind + 1, out)
    elif t in (ast.FunctionDef, ast.AsyncFunctionDef):
        out.append(head + "Def %s %s (%s) -> %s @[%s]" % ("true" if t is ast.AsyncFunctionDef else "false", s.name,
                                                       params(s.args, True), d(s.returns), ds(s.decorator_list, True)))
        stmts(s.body, ind + 1, out)
    elif t is ast.ClassDef:
        kws = ", ".join("%s=%s" % (k.arg or "", d(k.value)) for k in s.keywords)
        out.append(head + "Class %s (%s; %s) @[%s]" % (s.name, ds(s.bases, True), kws, ds(s.decorator_list, True)))
        stmts(s.body, ind + 1, out)
    else:
        out.append(head + t.__name__)


out = []
stmts(ast.parse(open(sys.argv[1], encoding="utf-8").read()).body, 0, out)
print("\n".join(out))
