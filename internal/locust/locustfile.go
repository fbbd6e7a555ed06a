package locust

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/horde-load/horde/internal/python"
)

// UserClass is a User class of a locustfile as the master needs it: what
// Locust's master knows of a class, read from the text (the master has no
// Python and never runs the file).
type UserClass struct {
	Name       string
	Base       string // the base as written: HttpUser, FastHttpUser, User, or a user class of the file
	Weight     int    // 1 unless set
	FixedCount int    // 0 unless set
	Host       string // "" unless set
	HostUnread bool   // host is set by an expression only Python can evaluate
	Tags       []string
	Line       int
}

// userBases are Locust's User classes a locustfile's classes derive from.
var userBases = []string{"User", "HttpUser", "FastHttpUser"}

// ReadClasses reads the User classes of a locustfile: class X(HttpUser),
// X(FastHttpUser), X(User) and classes derived from those in the same file,
// with their weight, fixed_count, host and tags (@tag on the class and on
// its tasks) when written as constants. Classes with abstract = True are
// left out, as Locust does. Anything horde cannot read is an error naming
// file:line:col; notes say what was read but left aside.
func ReadClasses(file string, src []byte) (classes []UserClass, notes []string, err error) {
	mod, err := python.Parse(file, src)
	if err != nil {
		return nil, nil, err
	}
	known := map[string]bool{}
	for _, b := range userBases {
		known[b] = true
	}
	at := func(p python.Pos) string { return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col) }
	for _, c := range python.Classes(mod) {
		base := ""
		for _, b := range c.Bases {
			if known[python.LastName(b)] {
				base = python.LastName(b)
				break
			}
		}
		pos := c.Def.Position()
		if base == "" {
			for _, b := range c.Bases {
				if strings.HasSuffix(python.LastName(b), "User") {
					notes = append(notes, fmt.Sprintf("%s: class %s(%s) is not read as a User class: its base is not defined in this file (horde reads HttpUser, FastHttpUser, User and classes of this file derived from them)",
						at(pos), c.Name, b))
				}
			}
			continue
		}
		known[c.Name] = true
		u := UserClass{Name: c.Name, Base: base, Weight: 1, Line: pos.Line}
		if a, ok := c.Attr("abstract"); ok {
			if v, ok := python.Literal(a.Value); ok && v == true {
				continue
			}
		}
		if a, ok := c.Attr("weight"); ok {
			if u.Weight, err = intAttr(a, at); err != nil {
				return nil, nil, fmt.Errorf("class %s: %w", c.Name, err)
			}
		}
		if a, ok := c.Attr("fixed_count"); ok {
			if u.FixedCount, err = intAttr(a, at); err != nil {
				return nil, nil, fmt.Errorf("class %s: %w", c.Name, err)
			}
		}
		if a, ok := c.Attr("host"); ok {
			v, ok := python.Literal(a.Value)
			switch s := v.(type) {
			case string:
				u.Host = s
			case nil:
				if !ok {
					// host = os.getenv("HOST", "http://...") is common: the
					// Locust workers evaluate it (a spawn without a host
					// leaves each class its own).
					u.HostUnread = true
					notes = append(notes, fmt.Sprintf("%s: class %s: host is an expression horde cannot read without running Python: the Locust workers evaluate it (the master shows no host for the class; -H overrides it)", at(a.Pos), c.Name))
				}
			default:
				return nil, nil, fmt.Errorf("%s: class %s: host is %v, not a string", at(a.Pos), c.Name, v)
			}
		}
		// Tags are listed, not used: -T/-E are applied by the workers, which
		// evaluate the decorators themselves.
		tags, err := decoratorTags(c.Def.Decorators, at)
		for _, m := range c.Methods {
			t, e := decoratorTags(m.Decorators, at)
			tags = append(tags, t...)
			if err == nil {
				err = e
			}
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("class %s: %v; the Locust workers evaluate it (-T and -E work as ever), horde lists the class's tags without it", c.Name, err))
		}
		slices.Sort(tags)
		u.Tags = slices.Compact(tags)
		if u.Weight == 0 && u.FixedCount == 0 {
			notes = append(notes, fmt.Sprintf("%s: class %s has weight 0: it gets no users", at(pos), c.Name))
			continue
		}
		classes = append(classes, u)
	}
	if len(classes) == 0 {
		return nil, notes, errors.New(file + ": no User class found (a class deriving from HttpUser, FastHttpUser or User)")
	}
	return classes, notes, nil
}

// intAttr reads a class attribute that must be a non-negative integer.
func intAttr(a python.Attr, at func(python.Pos) string) (int, error) {
	v, ok := python.Literal(a.Value)
	n, isInt := v.(int64)
	if !ok || !isInt {
		return 0, fmt.Errorf("%s: %s is not a number horde can read without running Python (write %s = 3)", at(a.Pos), a.Name, a.Name)
	}
	if n < 0 || n > 1<<30 {
		return 0, fmt.Errorf("%s: %s = %d is out of range", at(a.Pos), a.Name, n)
	}
	return int(n), nil
}

// decoratorTags returns the tags of @tag("a", "b") decorators.
func decoratorTags(decs []python.Expr, at func(python.Pos) string) ([]string, error) {
	var out []string
	for _, d := range decs {
		name, call := python.Decorator(d)
		if python.LastName(name) != "tag" || call == nil {
			continue
		}
		for _, a := range call.Args {
			v, ok := python.Literal(a)
			s, isStr := v.(string)
			if !ok || !isStr {
				return out, fmt.Errorf("%s: @tag with a value horde cannot read without running Python", at(call.Position()))
			}
			out = append(out, s)
		}
	}
	return out, nil
}
