package locustfile

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/horde-load/horde/internal/python"
)

func (fc *fnCtx) args(call *python.Call) ([]string, error) {
	out, err := fc.items(call.Args)
	if err != nil {
		return nil, err
	}
	for _, kw := range call.Keywords {
		v, err := fc.x(kw.Value)
		if err != nil {
			return nil, err
		}
		if kw.Name == "" {
			out = append(out, "**"+v)
		} else {
			out = append(out, ident(kw.Name)+" = "+v)
		}
	}
	return out, nil
}

func (fc *fnCtx) call(e *python.Call) (string, error) {
	if fc.isRequest(e) {
		return fc.request(e)
	}
	if a, ok := e.Fn.(*python.Attribute); ok {
		// self.method(...) -> Class_method(u, ...)
		if fc.isSelf(a.X) {
			if s, ok, err := fc.methodCall(e, a); ok || err != nil {
				return s, err
			}
			return "", nc(e, "self.%s(...)", a.Name)
		}
		// A module global is frozen once the script is loaded (and shared by
		// every user): it cannot be changed.
		if n, ok := a.X.(*python.Name); ok && fc.c.moduleGlobal(n.Id) && mutators[a.Name] && !fc.assignsLocal(n.Id) {
			return "", nc(e, "%s.%s(...) changes a module global: a horde script's globals are frozen and shared by every user (per-user state: u.vars; rows for each user: feeder(), docs/scripting.md)", n.Id, a.Name)
		}
		// logger.info(...) with logger = logging.getLogger(...)
		if n, ok := a.X.(*python.Name); ok && fc.c.loggerNames()[n.Id] {
			switch a.Name {
			case "info", "debug", "warning", "warn", "error", "critical", "exception":
				args, err := fc.args(e)
				if err != nil {
					return "", err
				}
				return fc.logCall(e, args)
			}
			return "", nc(e, "%s.%s", n.Id, a.Name)
		}
		// "{:.2f}".format(x)
		if lit, ok := a.X.(*python.Str); ok && a.Name == "format" && !lit.Bytes {
			if s, ok, err := fc.format(lit, e); ok || err != nil {
				return s, err
			}
		}
		// response.elapsed.total_seconds()
		if a.Name == "total_seconds" {
			if inner, ok := a.X.(*python.Attribute); ok && inner.Name == "elapsed" {
				return fc.expr(inner)
			}
		}
		// response.headers.get(k[, d])
		if a.Name == "get" && isRespHeaders(fc, a.X) {
			r, err := fc.expr(a.X.(*python.Attribute).X)
			if err != nil {
				return "", err
			}
			args, err := fc.args(e)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s.header(%s)", r, strings.Join(args, ", ")), nil
		}
		// "".join(generator) works on a list in Starlark.
	}
	if d := fc.resolve(e.Fn); d != "" {
		if !moduleFuncs[d] {
			if root, _, _ := strings.Cut(d, "."); root == "locust" {
				return "", nc(e, "%s (%s)", python.LastName(d), d)
			}
			return "", nc(e, "%s (only some of random, uuid, time, json, os and logging translate: docs/convert.md)", d)
		}
		return fc.moduleCall(e, d)
	}
	if n, ok := e.Fn.(*python.Name); ok {
		switch n.Id {
		case "print":
			args, err := fc.args(e)
			if err != nil {
				return "", err
			}
			return "print(" + strings.Join(args, ", ") + ")", nil
		case "int", "float", "str", "bool", "len", "list", "dict", "tuple", "sorted", "min", "max", "enumerate",
			"zip", "range", "any", "all", "reversed", "repr", "abs", "set", "hasattr", "getattr", "chr", "ord", "type":
			args, err := fc.args(e)
			if err != nil {
				return "", err
			}
			if n.Id == "str" && len(e.Args) == 1 && len(e.Keywords) == 0 {
				if c, ok := e.Args[0].(*python.Call); ok && strings.HasPrefix(fc.resolve(c.Fn), "uuid.uuid") {
					return args[0], nil
				}
			}
			return n.Id + "(" + strings.Join(args, ", ") + ")", nil
		}
		if k, ok := fc.c.classes[n.Id]; ok {
			return "", nc(e, "creating an instance of the class %s", k.c.Name)
		}
	}
	fn, err := fc.expr(e.Fn)
	if err != nil {
		return "", err
	}
	args, err := fc.args(e)
	if err != nil {
		return "", err
	}
	return fn + "(" + strings.Join(args, ", ") + ")", nil
}

// methodCall translates self.name(...) to the class's function.
func (fc *fnCtx) methodCall(e *python.Call, a *python.Attribute) (string, bool, error) {
	var owner *class
	if fc.cls != nil {
		owner, _ = fc.c.findMethod(fc.cls, a.Name)
	}
	if owner == nil {
		// self.user.method() from a task set: the one user class that has it.
		for _, k := range fc.c.order {
			if k.kind == kindUser {
				if o, f := fc.c.findMethod(k, a.Name); f != nil {
					owner = o
					break
				}
			}
		}
	}
	if owner == nil {
		switch a.Name {
		case "interrupt":
			return "", true, nc(e, "interrupt() used as a value")
		}
		return "", false, nil
	}
	args, err := fc.args(e)
	if err != nil {
		return "", true, err
	}
	f := owner.c.Method(a.Name)
	static := false
	for _, d := range f.Decorators {
		if python.Dotted(d) == "staticmethod" {
			static = true
		}
	}
	if !static {
		args = append([]string{"u"}, args...)
	}
	return fmt.Sprintf("%s(%s)", fc.c.method(owner, a.Name), strings.Join(args, ", ")), true, nil
}

var moduleFuncs = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`random.randint random.choice random.random random.uniform random.randrange
		random.choices random.sample random.shuffle random.seed uuid.uuid4 uuid.uuid1 time.time time.monotonic
		time.perf_counter time.time_ns time.monotonic_ns time.perf_counter_ns time.sleep gevent.sleep json.dumps
		json.loads os.getenv os.environ.get logging.info logging.debug logging.warning logging.error
		logging.critical logging.exception logging.warn`) {
		moduleFuncs[f] = true
	}
}

// moduleCall translates random.*, uuid.*, time.*, json.*, os.*, logging.*.
func (fc *fnCtx) moduleCall(e *python.Call, d string) (string, error) {
	args, err := fc.args(e)
	if err != nil {
		return "", err
	}
	pos := func(n int) error {
		if len(e.Args) != n || len(e.Keywords) > 0 {
			return nc(e, "%s with %d arguments", d, len(e.Args)+len(e.Keywords))
		}
		return nil
	}
	j := strings.Join(args, ", ")
	h := func(name string) string {
		fc.c.helpers[name] = true
		return name + "(" + j + ")"
	}
	switch d {
	case "random.randint":
		return "rand_int(" + j + ")", pos(2)
	case "random.choice":
		return h("_choice"), pos(1)
	case "random.random":
		return h("_random"), pos(0)
	case "random.uniform":
		return h("_uniform"), pos(2)
	case "random.randrange":
		if len(e.Args) < 1 || len(e.Args) > 3 || len(e.Keywords) > 0 {
			return "", nc(e, "random.randrange with these arguments")
		}
		return h("_randrange"), nil
	case "random.choices":
		return h("_choices"), nil
	case "random.sample":
		return h("_sample"), pos(2)
	case "random.shuffle":
		return h("_shuffle"), pos(1)
	case "random.seed":
		return "None", nil
	case "uuid.uuid4", "uuid.uuid1":
		return "uuid()", pos(0)
	case "time.time", "time.monotonic", "time.perf_counter":
		return "(now(\"unixms\") / 1000.0)", pos(0)
	case "time.time_ns", "time.monotonic_ns", "time.perf_counter_ns":
		return "(now(\"unixms\") * 1000000)", pos(0)
	case "time.sleep", "gevent.sleep":
		return "sleep(" + j + ")", pos(1)
	case "json.dumps":
		if len(e.Args) != 1 {
			return "", pos(1)
		}
		for _, kw := range e.Keywords {
			if kw.Name != "indent" && kw.Name != "separators" && kw.Name != "sort_keys" && kw.Name != "ensure_ascii" && kw.Name != "default" {
				return "", nc(e, "json.dumps(..., %s=)", kw.Name)
			}
		}
		if len(e.Keywords) > 0 {
			fc.c.note(e.P, false, "json.dumps keywords (indent, separators...) are left out: the JSON is compact")
		}
		a, _ := fc.expr(e.Args[0])
		return "json.encode(" + a + ")", nil
	case "json.loads":
		return "json.decode(" + j + ")", pos(1)
	case "os.getenv", "os.environ.get":
		if len(e.Args) < 1 || len(e.Args) > 2 {
			return "", pos(1)
		}
		if len(e.Args) == 1 {
			fc.c.helpers["_getenv"] = true
			return "_getenv(" + j + ")", nil
		}
		return "env(" + j + ")", nil
	case "logging.info", "logging.debug", "logging.warning", "logging.error", "logging.critical", "logging.exception", "logging.warn":
		return fc.logCall(e, args)
	}
	if root, _, _ := strings.Cut(d, "."); root == "logging" {
		return "", nc(e, "%s", d)
	}
	if strings.HasPrefix(d, "locust.") {
		return "", nc(e, "%s (%s)", python.LastName(d), d)
	}
	return "", nc(e, "%s (only some of random, uuid, time, json, os and logging translate)", d)
}

func (fc *fnCtx) logCall(e *python.Call, args []string) (string, error) {
	if len(e.Args) == 0 {
		return "print()", nil
	}
	a, _ := fc.expr(e.Args[0])
	if len(e.Args) > 1 {
		rest, err := fc.exprs(e.Args[1:]...)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("print(str(%s) %% (%s,))", a, strings.Join(rest, ", ")), nil
	}
	return "print(" + a + ")", nil
}

// request translates self.client.<method>(url, ...) to u.<method>(...).
func (fc *fnCtx) request(e *python.Call) (string, error) {
	method := e.Fn.(*python.Attribute).Name
	posArgs := e.Args
	var out []string
	if method == "request" {
		if len(posArgs) < 2 {
			// request(method=..., url=...)
			var m, u python.Expr
			for _, kw := range e.Keywords {
				switch kw.Name {
				case "method":
					m = kw.Value
				case "url":
					u = kw.Value
				}
			}
			if len(posArgs) == 1 {
				m = posArgs[0]
			}
			if m == nil || u == nil {
				return "", nc(e, "client.request without a method and a URL")
			}
			posArgs = []python.Expr{m, u}
		}
		ms, err := fc.expr(posArgs[0])
		if err != nil {
			return "", err
		}
		out = append(out, "str("+ms+").upper()")
		posArgs = posArgs[1:]
	}
	var url python.Expr
	if len(posArgs) > 0 {
		url = posArgs[0]
		posArgs = posArgs[1:]
	}
	kw := map[string]python.Expr{}
	var order []string
	for _, k := range e.Keywords {
		if k.Name == "" {
			return "", nc(e, "**kwargs in a request")
		}
		if k.Name == "url" && url == nil {
			url = k.Value
			continue
		}
		if k.Name == "method" {
			continue
		}
		kw[k.Name] = k.Value
		order = append(order, k.Name)
	}
	if url == nil {
		return "", nc(e, "a request without a URL")
	}
	// requests' positional parameters after the URL.
	var positional []string
	switch method {
	case "get", "options", "head", "delete":
		positional = []string{"params"}
	case "post":
		positional = []string{"data", "json"}
	case "put", "patch":
		positional = []string{"data"}
	case "request":
		positional = []string{"params", "data", "headers", "cookies", "files", "auth", "timeout", "allow_redirects"}
	}
	if method == "get" || method == "options" || method == "head" || method == "delete" {
		positional = positional[:1]
	}
	for i, a := range posArgs {
		if i >= len(positional) {
			return "", nc(a, "a positional argument of client.%s", method)
		}
		kw[positional[i]] = a
		order = append(order, positional[i])
	}
	us, err := fc.x(url)
	if err != nil {
		return "", err
	}
	out = append(out, us)
	var headers, cookies string
	var basic string
	for _, k := range order {
		v := kw[k]
		switch k {
		case "name", "params", "json", "data", "timeout", "catch_response":
			s, err := fc.x(v)
			if err != nil {
				return "", err
			}
			out = append(out, k+" = "+s)
		case "headers":
			if headers, err = fc.x(v); err != nil {
				return "", err
			}
		case "cookies":
			if cookies, err = fc.expr(v); err != nil {
				return "", err
			}
		case "auth":
			t, ok := v.(*python.Tuple)
			if !ok || len(t.Elts) != 2 {
				return "", nc(v, "auth= that is not a (user, password) pair")
			}
			us, e1 := fc.expr(t.Elts[0])
			ps, e2 := fc.expr(t.Elts[1])
			if e1 != nil || e2 != nil {
				return "", nc(v, "auth= with values that do not translate")
			}
			lu, ok1 := python.Literal(t.Elts[0])
			lp, ok2 := python.Literal(t.Elts[1])
			su, ok3 := lu.(string)
			sp, ok4 := lp.(string)
			if ok1 && ok2 && ok3 && ok4 {
				basic = quote("Basic " + base64.StdEncoding.EncodeToString([]byte(su+":"+sp)))
			} else {
				fc.c.helpers["_basic"] = true
				basic = fmt.Sprintf("_basic(%s, %s)", us, ps)
			}
		case "files":
			return "", nc(v, "files= (multipart uploads do not translate; send the body with data= and a Content-Type header)")
		case "allow_redirects", "verify", "stream", "cert", "proxies", "context":
			fc.c.note(v.Position(), false, "%s= of a request is left out (horde: --insecure-skip-tls-verify, --target-ca, HTTPS_PROXY)", k)
		default:
			return "", nc(v, "%s= of a request", k)
		}
	}
	if basic != "" {
		if headers == "" {
			headers = "{\"Authorization\": " + basic + "}"
		} else {
			fc.c.helpers["_merge"] = true
			headers = fmt.Sprintf("_merge(%s, {\"Authorization\": %s})", headers, basic)
		}
	}
	if fc.c.session || cookies != "" || fc.c.usesSession() {
		fc.c.helpers["_h"] = true
		if headers == "" {
			headers = "None"
		}
		if cookies == "" {
			cookies = "None"
		}
		out = append(out, fmt.Sprintf("headers = _h(u, %s, %s)", headers, cookies))
	} else if headers != "" {
		out = append(out, "headers = "+headers)
	}
	return fmt.Sprintf("u.%s(%s)", method, strings.Join(out, ", ")), nil
}

var mutators = map[string]bool{"append": true, "extend": true, "insert": true, "pop": true, "remove": true, "clear": true,
	"update": true, "setdefault": true, "popitem": true, "add": true, "discard": true, "sort": true, "reverse": true}
