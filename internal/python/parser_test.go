package python

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse_Seed(t *testing.T) {
	src, err := os.ReadFile("../locustfile/testdata/seed.py")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse("seed.py", src)
	if err != nil {
		t.Fatal(err)
	}
	cs := Classes(m)
	if len(cs) != 1 {
		t.Fatalf("got %d classes, want 1", len(cs))
	}
	c := cs[0]
	if c.Name != "APIUser" || len(c.Bases) != 1 || c.Bases[0] != "HttpUser" {
		t.Fatalf("class %s(%v)", c.Name, c.Bases)
	}
	wt, ok := c.Attr("wait_time")
	if !ok {
		t.Fatal("no wait_time")
	}
	call, ok := wt.Value.(*Call)
	if !ok || Dotted(call.Fn) != "between" || len(call.Args) != 2 {
		t.Fatalf("wait_time = %#v", wt.Value)
	}
	if wt.Pos.Line != 10 || wt.Pos.Col != 5 {
		t.Errorf("wait_time at %v, want 10:5", wt.Pos)
	}
	var tasks []string
	for _, f := range c.Methods {
		for _, d := range f.Decorators {
			name, call := Decorator(d)
			if name == "task" && call != nil {
				w, _ := Literal(call.Args[0])
				tasks = append(tasks, f.Name+"="+strings.TrimSpace(strings.Repeat("*", int(w.(int64)))))
			}
		}
	}
	if got, want := strings.Join(tasks, " "), "get_data=*** list_items=** create_item=* update_item=*"; got != want {
		t.Errorf("tasks %q, want %q", got, want)
	}
	if c.Method("on_start") == nil || c.Method("on_stop") == nil {
		t.Error("on_start/on_stop missing")
	}
}

func TestParse_Forms(t *testing.T) {
	// Each must parse; they are the forms locustfiles (and Python) use.
	for _, src := range []string{
		"x = 1\n",
		"a, b = 1, 2\n",
		"a = b = [1, 2, *c]\n",
		"x: int = 3\n",
		"x += 1; y -= 2\n",
		"if a:\n    pass\nelif b:\n    pass\nelse:\n    pass\n",
		"for i, x in enumerate(xs):\n    continue\nelse:\n    break\n",
		"while True:\n  if x: break\n",
		"with self.client.get('/', catch_response=True) as r, open(f) as g:\n    r.success()\n",
		"with (open(a) as b, open(c) as d):\n    pass\n",
		"try:\n    x()\nexcept (A, B) as e:\n    raise C() from e\nexcept Exception:\n    pass\nelse:\n    y\nfinally:\n    z\n",
		"@task(3)\n@tag('a', 'b')\ndef f(self, *args, key=None, **kw) -> None:\n    return\n",
		"class A(HttpUser, metaclass=M):\n    '''doc'''\n    tasks = {B: 2, C: 1}\n",
		"from locust import (HttpUser,\n    task, between as btw,)\n",
		"from . import x\nimport a.b.c as d, e\n",
		"x = lambda a, b=2: a + b\n",
		"x = [i * 2 for i in range(10) if i % 2 for j in y]\n",
		"x = {k: v for k, v in d.items()}\n",
		"x = {1, 2}\ny = {**a, 'b': 1}\nz = {}\n",
		"x = sum(i for i in y)\n",
		"x = a if b else c\n",
		"x = not a and b or c is not d and e not in f\n",
		"x = -a ** -b // c % d @ e << 1 | 2 ^ 3 & 4\n",
		"x = a[1:2, ::3][...]\n",
		"x = f'a{b!r:>{w}}c{{d}}{e=}'\n",
		"x = f\"{'nested'}\" f'{x[\"k\"]}' 'plain'\n",
		"x = '''tri\nple''' + r'\\d+' + b'\\x00'\n",
		"x = 0x1F + 0o7 + 0b1 + 1_000 + 1.5e-3 + .5 + 3j\n",
		"if (n := len(a)) > 10:\n    pass\n",
		"async def f():\n    await g()\n    async for x in y:\n        pass\n",
		"def g():\n    yield 1\n    x = yield\n    yield from h()\n",
		"global a, b\ndel x[1], y\nassert x, 'msg'\n",
		"x = (\n  1 +\n  2\n)\n",
		"x = 1 + \\\n    2\n",
		"print(*a, **k)\n",
		"class A: pass\n",
		"def f(a, /, b, *, c): pass\n",
		"# only a comment\n",
		"",
		"\ufeffx = 1\r\ny = 2\r\n",
		"if x:\n\n    # comment\n    y = 1\n\n\nz = 2",
	} {
		if _, err := Parse("t.py", []byte(src)); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func TestParse_Errors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"x = (1,\n", "t.py:2:1: unexpected end of input: a bracket is not closed"},
		{"def f(:\n  pass\n", "t.py:1:7: expected a name, found \":\""},
		{"if x:\npass\n", "t.py:2:1: expected an indented block"},
		{"if x:\n    a\n  b\n", "t.py:3:3: unindent does not match any outer indentation level"},
		{"x = 'abc\n", "t.py:1:5: string literal is not terminated before the end of the line"},
		{"x = f'{}'\n", "t.py:1:7: f-string: empty expression not allowed"},
		{"x = f'{a'\n", "t.py:1:7: f-string: expecting '}'"},
		{"x = f'{a +}'\n", "t.py:1:11: unexpected end of line"},
		{"1 = x\n", "t.py:1:1: cannot assign to this expression"},
		{"x = $\n", "t.py:1:5: invalid character '$'"},
		{"match x:\n    case 1: pass\n", "t.py:1:1: match statements are not supported"},
		{"  x = 1\n", "t.py:1:1: unexpected indent"},
		{"x = )\n", "t.py:1:5: unmatched \")\""},
	} {
		_, err := Parse("t.py", []byte(tc.src))
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want a *Error", tc.src, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, err, tc.want)
		}
	}
}

func TestFString(t *testing.T) {
	e, err := ParseExpr("t.py", `f"user_{random.randint(1, 10000)}-{x!r:>{w}} {{lit}} {y=}"`)
	if err != nil {
		t.Fatal(err)
	}
	fs := e.(*FString)
	var kinds []string
	for _, p := range fs.Parts {
		if p.Expr == nil {
			kinds = append(kinds, "lit:"+p.Lit)
		} else {
			k := "expr@" + p.Expr.Position().String()
			if p.Conv != 0 {
				k += "!" + string(p.Conv)
			}
			if p.Spec != nil {
				k += ":spec"
			}
			if p.SelfDoc != "" {
				k += "=" + p.SelfDoc
			}
			kinds = append(kinds, k)
		}
	}
	want := "lit:user_|expr@1:9|lit:-|expr@1:36!r:spec|lit: {lit} |expr@1:55=y="
	if got := strings.Join(kinds, "|"); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	call := fs.Parts[1].Expr.(*Call)
	if Dotted(call.Fn) != "random.randint" || len(call.Args) != 2 {
		t.Errorf("field 1: %#v", call)
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`'a' "b"`, "ab"},
		{`'\n\t\x41\u00e9\101\\'`, "\n\tAé" + "A\\"},
		{`r'\d\n'`, `\d\n`},
		{"'''a\nb'''", "a\nb"},
		{`'a\
b'`, "ab"},
	} {
		e, err := ParseExpr("t.py", tc.src)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if s, ok := e.(*Str); !ok || s.Value != tc.want {
			t.Errorf("%s: got %#v, want %q", tc.src, e, tc.want)
		}
	}
}

func TestLiteral(t *testing.T) {
	e, err := ParseExpr("t.py", `{"a": [1, -2.5, "x", None, True], "b": (0x10,)}`)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := Literal(e)
	if !ok {
		t.Fatal("not a literal")
	}
	m := v.(map[string]any)
	a := m["a"].([]any)
	if a[0] != int64(1) || a[1] != -2.5 || a[2] != "x" || a[3] != nil || a[4] != true || m["b"].([]any)[0] != int64(16) {
		t.Errorf("got %#v", v)
	}
	if _, ok := Literal(&Name{Id: "x"}); ok {
		t.Error("a name is not a literal")
	}
}

func TestParse_Corpus(t *testing.T) {
	files, _ := filepath.Glob("../locustfile/testdata/*.py")
	if len(files) == 0 {
		t.Fatal("no corpus")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(f, src); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestParse_DeepNesting(t *testing.T) {
	src := "x = " + strings.Repeat("(", 10000) + "1" + strings.Repeat(")", 10000) + "\n"
	_, err := Parse("t.py", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("got %v", err)
	}
	src = "x = " + strings.Repeat("-", 10000) + "1\n"
	if _, err := Parse("t.py", []byte(src)); err == nil {
		t.Fatal("deep unary: no error")
	}
}
