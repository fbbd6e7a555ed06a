package scenario

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// value is what a template function returns: an integer or a string. The
// fast path appends it directly; text/template gets it as int or string,
// which prints the same.
type value struct {
	s     string
	i     int64
	isInt bool
}

func (v value) any() any {
	if v.isInt {
		return int(v.i)
	}
	return v.s
}

func (v value) appendTo(dst []byte) []byte {
	if v.isInt {
		return strconv.AppendInt(dst, v.i, 10)
	}
	return append(dst, v.s...)
}

// function is one template function. Arguments arrive as text/template
// passes them to a parameter of type any: string, int, float64, bool, nil
// for a missing variable, or a variable's value.
type function struct {
	name     string
	min, max int // argument count; max < 0: no limit
	call     func(env *Env, args []any) (value, error)
	// literal, when set, checks at load time an argument written as a
	// string literal (the i-th, from 0).
	literal func(i int, s string) error
}

// runtime is what the template functions depend on. Templates compiled by
// Parse use the process-wide defaultRuntime; tests use a deterministic one.
type runtime struct {
	uint64  func() uint64
	uint64n func(n uint64) uint64
	now     func() time.Time
	seq     *atomic.Int64
	getenv  func(string) string
}

// processSeq backs the seq function: one counter for the whole process, as
// documented, so that every user of every class draws distinct values.
var processSeq atomic.Int64

// defaultRuntime uses the lock-free top-level math/rand/v2 functions, so
// that templates shared by all users do not contend on a source.
var defaultRuntime = &runtime{
	uint64:  rand.Uint64,
	uint64n: rand.Uint64N,
	now:     time.Now,
	seq:     &processSeq,
	getenv:  os.Getenv,
}

// funcNames are the functions a template may call, ours first.
var funcNames = []string{"randInt", "randChoice", "uuid", "seq", "now", "env", "vu",
	"base64", "base64decode", "urlquery", "sha256", "hmac"}

// builtinFuncs are text/template's own functions.
var builtinFuncs = []string{"and", "call", "html", "index", "slice", "js", "len", "not", "or",
	"print", "printf", "println", "eq", "ge", "gt", "le", "lt", "ne"}

func (rt *runtime) functions() map[string]*function {
	return map[string]*function{
		"randInt":    {name: "randInt", min: 2, max: 2, call: rt.randInt},
		"randChoice": {name: "randChoice", min: 1, max: -1, call: rt.randChoice},
		"uuid":       {name: "uuid", call: rt.uuid},
		"seq":        {name: "seq", call: rt.seqNext},
		"now":        {name: "now", max: 1, call: rt.nowFunc},
		"env":        {name: "env", min: 1, max: 1, call: rt.env},
		"vu":         {name: "vu", call: vuFunc},
		// encoding and hashing (funcs_crypto.go)
		"base64":       {name: "base64", min: 1, max: 1, call: base64Func},
		"base64decode": {name: "base64decode", min: 1, max: 1, call: base64Decode},
		"urlquery":     {name: "urlquery", min: 1, max: -1, call: urlQuery},
		"sha256":       {name: "sha256", min: 1, max: 1, call: sha256Func},
		"hmac":         {name: "hmac", min: 3, max: 3, call: hmacFunc, literal: hmacLiteral},
	}
}

func checkArity(f *function, n int) error {
	switch {
	case f.min == f.max && n != f.min:
		return fmt.Errorf("%s wants %d argument%s, got %d", f.name, f.min, plural(f.min), n)
	case n < f.min:
		return fmt.Errorf("%s wants at least %d argument%s, got %d", f.name, f.min, plural(f.min), n)
	case f.max >= 0 && n > f.max:
		return fmt.Errorf("%s wants at most %d argument%s, got %d", f.name, f.max, plural(f.max), n)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// toInt converts a template argument to an integer: integers, integral
// floats and decimal strings (a captured "42") are accepted.
func toInt(fn string, a any) (int64, error) {
	switch v := a.(type) {
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case float64:
		if v == math.Trunc(v) && v >= math.MinInt64 && v < math.MaxInt64 {
			return int64(v), nil
		}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s: %s is not an integer", fn, describeArg(a))
}

// toString converts a template argument to text as text/template prints
// it, except that a missing variable (nil) is "".
func toString(a any) string {
	switch v := a.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

func describeArg(a any) string {
	switch v := a.(type) {
	case nil:
		return "a missing value"
	case string:
		return strconv.Quote(v)
	default:
		return fmt.Sprint(v)
	}
}

func (rt *runtime) randInt(_ *Env, args []any) (value, error) {
	lo, err := toInt("randInt", args[0])
	if err != nil {
		return value{}, err
	}
	hi, err := toInt("randInt", args[1])
	if err != nil {
		return value{}, err
	}
	if lo > hi {
		return value{}, fmt.Errorf("randInt: min %d is greater than max %d", lo, hi)
	}
	span := uint64(hi-lo) + 1
	if span == 0 { // the whole int64 range
		return value{i: int64(rt.uint64()), isInt: true}, nil
	}
	return value{i: lo + int64(rt.uint64n(span)), isInt: true}, nil
}

func (rt *runtime) randChoice(_ *Env, args []any) (value, error) {
	if len(args) == 0 {
		return value{}, errors.New("randChoice: no choices")
	}
	return value{s: toString(args[rt.uint64n(uint64(len(args)))])}, nil
}

const hexDigits = "0123456789abcdef"

func (rt *runtime) uuid(*Env, []any) (value, error) {
	return value{s: UUID(rt.uint64)}, nil
}

// UUID returns a random (version 4, RFC 4122) UUID in its 36-character
// text form, its 122 random bits drawn from rnd: the template function
// uuid() and the scripts' uuid() draw from the user's source, so a seeded
// run repeats its UUIDs.
func UUID(rnd func() uint64) string {
	var b [16]byte
	hi, lo := rnd(), rnd()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	var s [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
	return string(s[:])
}

func (rt *runtime) seqNext(env *Env, _ []any) (value, error) {
	if env != nil && env.Seq != nil {
		n, err := env.Seq()
		if err != nil {
			return value{}, fmt.Errorf("seq: %w", err)
		}
		return value{i: n, isInt: true}, nil
	}
	return value{i: rt.seq.Add(1), isInt: true}, nil
}

func (rt *runtime) nowFunc(_ *Env, args []any) (value, error) {
	t := rt.now()
	if len(args) == 0 {
		return value{s: t.UTC().Format(time.RFC3339)}, nil
	}
	format, ok := args[0].(string)
	if !ok {
		return value{}, fmt.Errorf("now: format %s is not a string", describeArg(args[0]))
	}
	switch format {
	case "unix":
		return value{i: t.Unix(), isInt: true}, nil
	case "unixms":
		return value{i: t.UnixMilli(), isInt: true}, nil
	case "", "rfc3339":
		return value{s: t.UTC().Format(time.RFC3339)}, nil
	default:
		return value{s: t.UTC().Format(format)}, nil
	}
}

func (rt *runtime) env(_ *Env, args []any) (value, error) {
	name, ok := args[0].(string)
	if !ok {
		return value{}, fmt.Errorf("env: name %s is not a string", describeArg(args[0]))
	}
	return value{s: rt.getenv(name)}, nil
}

func vuFunc(env *Env, _ []any) (value, error) {
	if env == nil {
		return value{isInt: true}, nil
	}
	return value{i: int64(env.UserID), isInt: true}, nil
}

// NextSeq returns the next value of the process-wide counter behind the
// seq template function, so that scripts (internal/script) and templates
// draw from one sequence.
func NextSeq() int64 { return processSeq.Add(1) }
