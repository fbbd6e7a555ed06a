package locustfile

import (
	"regexp"
	"sort"
	"strings"
)

// helperDefs are the Starlark functions a converted file may need; only
// those used are written. deps lists what each one calls.
var helperDefs = map[string]string{
	"_INTERRUPT": `_INTERRUPT = "interrupt"  # a task set's task returns it for self.interrupt()
`,
	"_pick": `def _pick(tasks):
    """One of [(task, weight)...] at random by weight (Locust's task choice)."""
    total = 0
    for t in tasks:
        total += t[1]
    n = rand_int(1, total)
    for t in tasks:
        n -= t[1]
        if n <= 0:
            return t[0]
    return tasks[-1][0]
`,
	"_wait": `def _wait(w, start):
    """A task set's wait: ("between", lo, hi), ("constant", s, 0) or ("pacing", s, 0)."""
    if w == None:
        return
    if w[0] == "between":
        sleep(w[1] + (w[2] - w[1]) * _random())
    elif w[0] == "constant":
        sleep(w[1])
    else:
        left = w[1] - (now("unixms") - start) / 1000.0
        if left > 0:
            sleep(left)
`,
	"_random": `def _random():
    """random.random(): a float in [0, 1)."""
    return rand_int(0, 999999999) / 1000000000.0
`,
	"_uniform": `def _uniform(a, b):
    """random.uniform(a, b)."""
    return a + (b - a) * _random()
`,
	"_choice": `def _choice(seq):
    """random.choice(seq), for lists, tuples and strings."""
    if len(seq) == 0:
        fail("random.choice: the sequence is empty")
    return seq[rand_int(0, len(seq) - 1)]
`,
	"_randrange": `def _randrange(start, stop = None, step = 1):
    """random.randrange(stop) or (start, stop[, step])."""
    if stop == None:
        start, stop = 0, start
    n = (stop - start + step - 1) // step
    if n <= 0:
        fail("random.randrange: empty range")
    return start + step * rand_int(0, n - 1)
`,
	"_choices": `def _choices(population, weights = None, cum_weights = None, k = 1):
    """random.choices(population, weights=None, k=1)."""
    if cum_weights != None:
        weights = [cum_weights[i] - (cum_weights[i - 1] if i > 0 else 0) for i in range(len(cum_weights))]
    out = []
    for _ in range(k):
        if weights == None:
            out.append(_choice(population))
            continue
        total = 0
        for x in weights:
            total += x
        r = _random() * total
        for i in range(len(population)):
            r -= weights[i]
            if r < 0 or i == len(population) - 1:
                out.append(population[i])
                break
    return out
`,
	"_sample": `def _sample(population, k):
    """random.sample(population, k)."""
    pool = list(population)
    if k > len(pool):
        fail("random.sample: sample larger than population")
    out = []
    for _ in range(k):
        out.append(pool.pop(rand_int(0, len(pool) - 1)))
    return out
`,
	"_shuffle": `def _shuffle(x):
    """random.shuffle(x), in place."""
    for i in range(len(x) - 1, 0, -1):
        j = rand_int(0, i)
        x[i], x[j] = x[j], x[i]
`,
	"_merge": `def _merge(*dicts):
    """{**a, **b}: a new dict with the items of each in turn."""
    out = {}
    for d in dicts:
        if d != None:
            out.update(d)
    return out
`,
	"_h": `def _h(u, headers, cookies):
    """A request's headers: the session's (self.client.headers, cookies set by the script), then its own."""
    h = dict(u.vars.get("_headers", {}))
    if headers != None:
        h.update(headers)
    c = dict(u.vars.get("_cookies", {}))
    if cookies != None:
        c.update(cookies)
    if c:
        h["Cookie"] = "; ".join(["%s=%s" % (k, v) for k, v in c.items()])
    return h
`,
	"_getenv": `def _getenv(name):
    """os.getenv(name): None when it is not set."""
    v = env(name, "\x00")
    return None if v == "\x00" else v
`,
	"_sum": `def _sum(xs, start = 0):
    """sum(xs)."""
    for x in xs:
        start += x
    return start
`,
	"_round": `def _round(x, n = None):
    """round(x[, n]) (halves away from zero; Python rounds them to even)."""
    if n == None:
        return int(x + 0.5) if x >= 0 else -int(-x + 0.5)
    m = 1
    for _ in range(n):
        m *= 10
    return (int(x * m + 0.5) if x >= 0 else -int(-x * m + 0.5)) / float(m)
`,
	"_map": `def _map(f, *xs):
    """map(f, xs...) as a list."""
    return [f(*a) for a in zip(*xs)]
`,
	"_filter": `def _filter(f, xs):
    """filter(f, xs) as a list."""
    return [x for x in xs if (f(x) if f != None else x)]
`,
	"_divmod": `def _divmod(a, b):
    """divmod(a, b)."""
    return (a // b, a % b)
`,
	"_no_tasks": `def _no_tasks(u):
    fail("not converted: this user class has no tasks horde could translate")
`,
	"_basic": `_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

def _basic(user, password):
    """auth=(user, password): an HTTP Basic Authorization header."""
    b = [ord(c) for c in (str(user) + ":" + str(password)).elems()]
    out = ""
    for i in range(0, len(b), 3):
        n = b[i] * 65536 + (b[i + 1] * 256 if i + 1 < len(b) else 0) + (b[i + 2] if i + 2 < len(b) else 0)
        out += _B64[n // 262144] + _B64[(n // 4096) % 64]
        out += _B64[(n // 64) % 64] if i + 1 < len(b) else "="
        out += _B64[n % 64] if i + 2 < len(b) else "="
    return "Basic " + out
`,
	"_fmt": `def _digits(s, i):
    """The decimal number at s[i:] (0 when none) and the offset after it."""
    n = 0
    for _ in range(len(s)):
        if i < len(s) and s[i].isdigit():
            n = n * 10 + int(s[i])
            i += 1
    return n, i

def _fmt(v, spec):
    """format(v, spec): Python's format spec ([[fill]align][sign][0][width][.precision][type])."""
    fill, align, i = " ", "", 0
    if len(spec) >= 2 and spec[1] in "<>^=":
        fill, align, i = spec[0], spec[1], 2
    elif len(spec) >= 1 and spec[0] in "<>^=":
        align, i = spec[0], 1
    sign = ""
    if i < len(spec) and spec[i] in "+- ":
        sign = spec[i]
        i += 1
    if i < len(spec) and spec[i] == "#":
        i += 1
    if i < len(spec) and spec[i] == "0":
        if align == "":
            fill, align = "0", "="
        i += 1
    width, i = _digits(spec, i)
    if i < len(spec) and spec[i] in ",_":
        i += 1
    prec = -1
    if i < len(spec) and spec[i] == ".":
        prec, i = _digits(spec, i + 1)
    typ = spec[i:]
    num = typ in ("d", "n", "f", "F", "%", "x", "X", "o", "b", "e", "E", "g", "G") or (typ == "" and type(v) in ("int", "float"))
    if typ in ("f", "F", "%") or (typ == "" and type(v) == "float" and prec >= 0):
        x = float(v) * (100 if typ == "%" else 1)
        s = _fixed(x, 6 if prec < 0 else prec) + ("%" if typ == "%" else "")
    elif typ in ("d", "n"):
        s = str(int(v))
    elif typ in ("x", "X", "o"):
        s = ("%" + typ) % int(v)
    elif typ == "b":
        n, s = int(v), ""
        neg = n < 0
        if neg:
            n = -n
        for _ in range(64):
            s = str(n % 2) + s
            n //= 2
            if n == 0:
                break
        s = ("-" if neg else "") + s
    elif typ in ("e", "E", "g", "G"):
        s = ("%" + typ) % float(v)
    else:
        s = str(v)
        if prec >= 0:
            s = s[:prec]
    if num and sign in ("+", " ") and not s.startswith("-"):
        s = sign + s
    n = width - len(s)
    if n > 0:
        if align == "":
            align = ">" if num else "<"
        if align == "<":
            s = s + fill * n
        elif align == "^":
            s = fill * (n // 2) + s + fill * (n - n // 2)
        elif align == "=" and len(s) > 0 and s[0] in "+- ":
            s = s[0] + fill * n + s[1:]
        else:
            s = fill * n + s
    return s

def _fixed(x, prec):
    """x with prec digits after the point (half up)."""
    neg = x < 0
    if neg:
        x = -x
    m = 1
    for _ in range(prec):
        m *= 10
    n = int(x * m + 0.5)
    s = str(n // m)
    if prec > 0:
        f = str(n % m)
        s += "." + "0" * (prec - len(f)) + f
    return ("-" if neg and n != 0 else "") + s
`,
}

var helperDeps = map[string][]string{
	"_wait":      {"_random"},
	"_uniform":   {"_random"},
	"_choices":   {"_choice", "_random"},
	"_h":         nil,
	"_basic":     nil,
	"_randrange": nil,
}

func (c *conv) helperSource() string {
	for changed := true; changed; {
		changed = false
		for h := range c.helpers {
			for _, d := range helperDeps[h] {
				if !c.helpers[d] {
					c.helpers[d] = true
					changed = true
				}
			}
		}
	}
	var names []string
	for h := range c.helpers {
		names = append(names, h)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("# Python's library, as the converted code uses it (docs/convert.md).\n\n")
	for _, n := range names {
		b.WriteString(helperDefs[n])
		b.WriteString("\n")
	}
	return b.String()
}

var sessionRe = regexp.MustCompile(`\.client\.(headers|cookies)\b`)

// usesSession says whether the file touches the client's own headers or
// cookies: then every request merges them (_h).
func (c *conv) usesSession() bool {
	for _, l := range c.src {
		if i := strings.IndexByte(l, '#'); i >= 0 && !strings.ContainsAny(l[:i], `"'`) {
			l = l[:i]
		}
		if sessionRe.MatchString(l) {
			return true
		}
	}
	return false
}
