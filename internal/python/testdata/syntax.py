# Python 3 forms, for the comparison with Python's own ast
# (internal/e2e/python_test.go): every line here parses in CPython 3.8+.
import a.b.c as d, e
from . import x
from ..pkg.mod import (y as z,
    w,)
from m import *
x = 1
a, b = 1, 2
a = b = [1, 2, *c]
x: int = 3
y: "str"
x += 1; y -= 2
x //= 3; x **= 2; x >>= 1; x @= m
if a:
    pass
elif b:
    pass
elif c: pass
else:
    pass
for i, (j, k) in enumerate(xs):
    continue
else:
    break
while not done:
    if x: break
with open(f) as g, lock:
    pass
try:
    x()
except (A, B) as e:
    raise C("msg") from e
except Exception:
    raise
else:
    y = 1
finally:
    z = 2
try:
    pass
finally:
    pass


@task(3)
@tag("a", 'b')
def f(self, p, q=1, *args, key=None, other, **kw) -> None:
    """Docstring."""
    return


def g(a, b, /, c, d=4, *, e, f=6):
    global G
    nonlocal_ = 1
    yield 1
    x = yield
    yield from h()
    return x, y


async def h():
    await g()
    async for x in y:
        pass
    async with z as w:
        pass


class A(HttpUser, metaclass=M):
    '''doc'''
    tasks = {B: 2, C: 1}
    wait_time = between(1, 2.5)

    class Inner(TaskSet):
        pass


@decorator
class D: pass

x = lambda a, b=2, *c, **d: a + b
x = lambda: 0
x = [i * 2 for i in range(10) if i % 2 if i for j in y]
x = {k: v for k, v in d.items()}
x = {i for i in s}
x = {1, 2}
y = {**a, 'b': 1, **c}
z = {}
t = ()
t1 = (1,)
t2 = 1,
x = sum(i for i in y)
x = sum((i for i in y), 0)
x = a if b else c if d else e
x = not a and b or c is not d and e not in f and g in h is i
x = -a ** -b // c % d @ e << 1 | 2 ^ 3 & 4 >> 5 - ~6 + +7
x = a < b <= c > d >= e == f != g
x = a[1:2, ::3][...][:][1:][:-1][::2][x, y]
x = a.b.c(d)(e)[f].g
x = f'a{b!r:>{w}}c{{d}}{e=}{f!s}{g:{h}.{i}}'
x = f"{'nested'}" f'{x["k"]}' 'plain' F"{1}"
x = '''tri
ple''' + r'\d+' + b'\x00\xff' + rb'\d' + Rb"x" + u"u"
x = 0x1F + 0o7 + 0b1 + 1_000 + 1.5e-3 + .5 + 5. + 1e10 + 0.1 + 1E5
x = "\n\t\\\'\"\x41\101\u00e9\U0001F600\a\b\f\v\0"
x = "line \
continued"
x = ...
x = None, True, False
print(*a, **k, sep="")
print(a, *b, c, d=1, **e)
f(x)(y)
del x[1], y.z
assert x, "msg"
assert y
x = (
    1 +
    2
)
x = 1 + \
    2
if (n := len(a)) > 10:
    pass
x = [y := 1, y ** 2]
def k(): return 1
class E(object): x = 1; y = 2
x = a if b else (lambda: c)
x = [*a, *b]
x, *y = z
[a, b] = c
x = a[b:c:d]
x = -1
x = not not a
x = a.b[c].d(e).f
