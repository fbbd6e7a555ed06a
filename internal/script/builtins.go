package script

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/scenario"
)

// predeclared are the names every script sees besides Starlark's own
// (docs/scripting.md lists them).
func predeclared() starlark.StringDict {
	return starlark.StringDict{
		"user":        starlark.NewBuiltin("user", builtinUser),
		"between":     starlark.NewBuiltin("between", builtinBetween),
		"constant":    starlark.NewBuiltin("constant", builtinConstant),
		"pacing":      starlark.NewBuiltin("pacing", builtinPacing),
		"sleep":       starlark.NewBuiltin("sleep", builtinSleep),
		"check":       starlark.NewBuiltin("check", builtinCheck),
		"rand_int":    starlark.NewBuiltin("rand_int", builtinRandInt),
		"rand_choice": starlark.NewBuiltin("rand_choice", builtinRandChoice),
		"uuid":        starlark.NewBuiltin("uuid", builtinUUID),
		"seq":         starlark.NewBuiltin("seq", builtinSeq),
		"now":         starlark.NewBuiltin("now", builtinNow),
		"env":         starlark.NewBuiltin("env", builtinEnv),
		"feeder":      starlark.NewBuiltin("feeder", builtinFeeder),
		"grpc_proto":  starlark.NewBuiltin("grpc_proto", builtinGRPCProto),
		"json":        json.Module,
	}
}

var (
	jsonEncode = json.Module.Members["encode"]
	jsonDecode = json.Module.Members["decode"]
)

// toDuration reads a duration: a number of seconds or a string such as
// "1.5s", "500ms", "2m".
func toDuration(v starlark.Value) (time.Duration, error) {
	if s, ok := starlark.AsString(v); ok {
		return scenario.ParseDuration(s)
	}
	f, ok := starlark.AsFloat(v)
	if !ok {
		return 0, fmt.Errorf("want seconds (a number) or a duration string, got %s", v.Type())
	}
	if f < 0 || math.IsNaN(f) || f > 1e9 {
		return 0, fmt.Errorf("duration %v out of range", f)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// waitValue is what between(), constant() and pacing() return.
type waitValue struct{ w horde.Wait }

func (w waitValue) String() string {
	switch w.w.Kind {
	case horde.WaitBetween:
		return fmt.Sprintf("between(%v, %v)", w.w.Min.Seconds(), w.w.Max.Seconds())
	case horde.WaitPacing:
		return fmt.Sprintf("pacing(%v)", w.w.Min.Seconds())
	default:
		return fmt.Sprintf("constant(%v)", w.w.Min.Seconds())
	}
}
func (w waitValue) Type() string          { return "wait" }
func (w waitValue) Freeze()               {}
func (w waitValue) Truth() starlark.Bool  { return true }
func (w waitValue) Hash() (uint32, error) { return 0, errors.New("unhashable: wait") }

func builtinBetween(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lo, hi starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &lo, &hi); err != nil {
		return nil, err
	}
	a, err := toDuration(lo)
	if err != nil {
		return nil, fmt.Errorf("between: min: %w", err)
	}
	z, err := toDuration(hi)
	if err != nil {
		return nil, fmt.Errorf("between: max: %w", err)
	}
	if a > z {
		return nil, fmt.Errorf("between: min %v is greater than max %v", a, z)
	}
	return waitValue{horde.Between(a, z)}, nil
}

// durationArg is the one positional argument of the builtin b (called
// name in a bad value's error) as a duration.
func durationArg(name string, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (time.Duration, error) {
	var x starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x); err != nil {
		return 0, err
	}
	d, err := toDuration(x)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

func builtinConstant(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d, err := durationArg("constant", b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return waitValue{horde.Constant(d)}, nil
}

func builtinPacing(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d, err := durationArg("pacing", b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return waitValue{horde.Pacing(d)}, nil
}

// builtinSleep pauses the user; a stop or the task's timeout ends it early.
func builtinSleep(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d, err := durationArg("sleep", b, args, kwargs)
	if err != nil {
		return nil, err
	}
	r := runnerOf(thread)
	if r == nil {
		return nil, errors.New("sleep: only inside a task, on_start or on_stop")
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return starlark.None, nil
	case <-r.ctx.Done():
		return nil, errStopped
	case <-r.wake:
		return nil, errStopped
	case <-r.cutOff:
		return nil, errors.New("sleep interrupted: the task was cut off")
	}
}

// builtinCheck records a failure named msg when cond is false, and returns
// cond's truth. With a response (check(cond, msg, r)) the failure is that
// response's instead (its request is recorded as failed with msg).
func builtinCheck(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var cond starlark.Value
	var msg string
	var resp starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "cond", &cond, "msg", &msg, "response?", &resp); err != nil {
		return nil, err
	}
	ok := cond.Truth()
	r := runnerOf(thread)
	if r != nil {
		if cr, isCR := r.vu.(checkRecorder); isCR {
			cr.RecordCheck(msg, bool(ok))
		}
	}
	if r != nil && r.u.tracer != nil {
		rv, _ := resp.(*response)
		r.u.traceCheck(rv, msg, bool(ok))
	}
	if ok {
		return starlark.True, nil
	}
	if r == nil {
		return nil, errors.New("check: only inside a task, on_start or on_stop")
	}
	if rv, isResp := resp.(*response); isResp && !rv.recorded {
		rv.fail(msg)
		return starlark.False, nil
	}
	r.vu.Record(horde.Sample{Method: "CHECK", Name: msg, Failure: "check failed: " + msg})
	return starlark.False, nil
}

func builtinRandInt(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lo, hi int64
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &lo, &hi); err != nil {
		return nil, err
	}
	if lo > hi {
		return nil, fmt.Errorf("rand_int: min %d is greater than max %d", lo, hi)
	}
	span := uint64(hi-lo) + 1
	if span == 0 {
		return starlark.MakeInt64(int64(rand.Uint64())), nil
	}
	return starlark.MakeInt64(lo + int64(rand.Uint64N(span))), nil
}

// builtinRandChoice picks one element of a sequence, or one argument.
func builtinRandChoice(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("rand_choice: unexpected keyword arguments")
	}
	var seq starlark.Indexable = args
	if len(args) == 1 {
		if s, ok := args[0].(starlark.Indexable); ok {
			if _, isStr := args[0].(starlark.String); !isStr {
				seq = s
			}
		}
	}
	if seq.Len() == 0 {
		return nil, errors.New("rand_choice: no choices")
	}
	return seq.Index(rand.IntN(seq.Len())), nil
}

// builtinUUID returns a random UUID drawn from the user's random source
// (the process's outside a user, at load time).
func builtinUUID(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	rnd := rand.Uint64
	if r := runnerOf(thread); r != nil {
		rnd = r.vu.Rand().Uint64
	}
	return starlark.String(scenario.UUID(rnd)), nil
}

func builtinSeq(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.MakeInt64(scenario.NextSeq()), nil
}

// builtinNow is the template function now: RFC 3339 in UTC, "unix",
// "unixms", or a Go time layout.
func builtinNow(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	format := ""
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &format); err != nil {
		return nil, err
	}
	t := time.Now()
	switch format {
	case "unix":
		return starlark.MakeInt64(t.Unix()), nil
	case "unixms":
		return starlark.MakeInt64(t.UnixMilli()), nil
	case "", "rfc3339":
		return starlark.String(t.UTC().Format(time.RFC3339)), nil
	default:
		return starlark.String(t.UTC().Format(format)), nil
	}
}

func builtinEnv(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, def string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name, &def); err != nil {
		return nil, err
	}
	if v, ok := os.LookupEnv(name); ok {
		return starlark.String(v), nil
	}
	return starlark.String(def), nil
}

// feederValue is a CSV data source made by feeder(file, mode=); next()
// returns the next row as a dict.
type feederValue struct {
	f *scenario.Feeder
}

func (f *feederValue) String() string        { return fmt.Sprintf("<feeder %s>", f.f.Name) }
func (f *feederValue) Type() string          { return "feeder" }
func (f *feederValue) Freeze()               {}
func (f *feederValue) Truth() starlark.Bool  { return true }
func (f *feederValue) Hash() (uint32, error) { return 0, errors.New("unhashable: feeder") }
func (f *feederValue) AttrNames() []string   { return []string{"next", "len"} }
func (f *feederValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "next":
		return starlark.NewBuiltin("next", f.next).BindReceiver(f), nil
	case "len":
		return starlark.MakeInt(f.f.Len()), nil
	}
	return nil, nil
}

func (f *feederValue) next(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	var rng *rand.Rand
	if r := runnerOf(thread); r != nil {
		rng = r.vu.Rand()
	} else {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	row, ok := f.f.Next(rng)
	if !ok {
		return nil, fmt.Errorf("feeder %s: no rows left", f.f.Name)
	}
	d := starlark.NewDict(len(row))
	for _, c := range f.f.Columns() {
		_ = d.SetKey(starlark.String(c), starlark.String(row[c]))
	}
	return d, nil
}

// builtinFeeder loads a CSV file (path relative to the script) when the
// file's top level runs; the file is shipped to workers.
func builtinFeeder(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var file string
	mode := scenario.FeedSequential
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "file", &file, "mode?", &mode); err != nil {
		return nil, err
	}
	l, _ := thread.Local(localLoader).(*loader)
	dir, _ := thread.Local(localDir).(string)
	if l == nil {
		return nil, errors.New("feeder: call it at the top level of a file, not in a task")
	}
	rel := file
	if !filepath.IsAbs(rel) {
		rel = filepath.Join(dir, file)
	}
	f, err := scenario.LoadFeeder(filepath.Base(file), mode, l.path(rel))
	if err != nil {
		return nil, fmt.Errorf("feeder %q: %w", file, err)
	}
	l.note(rel)
	return &feederValue{f: f}, nil
}
