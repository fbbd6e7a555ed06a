// Package script runs virtual users written in Starlark, a small,
// deterministic dialect of Python (go.starlark.net). A .star file is a
// scenario of its own, and a YAML scenario can hand one task, or a whole
// user class, to a script function. The API is in docs/scripting.md.
//
// Every file is parsed, resolved and compiled once per process, and its
// globals are executed once and frozen: users share them read-only. Each
// user owns one starlark.Thread and its own u object (u.vars is the user's
// mutable state). Requests go through the engine's per-user HTTP client and
// are recorded as YAML requests are, so the statistics are the same.
package script

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/scenario"
)

// Defaults of a user class's limits (user(..., task_timeout=, max_steps=)).
const (
	// DefaultTaskTimeout cuts off a task (or on_start, on_stop) that runs
	// longer, waits and requests included.
	DefaultTaskTimeout = 60 * time.Second
	// DefaultMaxSteps cuts off a task that executes more Starlark steps
	// (about a second of pure computation).
	DefaultMaxSteps = 50_000_000
	// loadSteps bounds the top level of a file, run once when it is loaded.
	loadSteps = 100_000_000
	// loadTimeout bounds the top level of a file in wall time.
	loadTimeout = 10 * time.Second
)

// fileOptions are the dialect: while loops, sets, recursion and top-level
// control flow are allowed (they are all bounded by the step limit and the
// task timeout).
var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

// IsScript reports whether name is a Starlark scenario (a .star file).
func IsScript(name string) bool { return strings.HasSuffix(name, ".star") }

// LoadFile reads and compiles a scenario file, YAML or .star.
func LoadFile(path string, opts scenario.Options) (*scenario.Plan, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, filepath.Dir(path), src, opts)
}

// Parse compiles a scenario read from name: a .star file becomes a plan of
// script user classes; a YAML file is compiled by package scenario, then
// each of its script: references is loaded and checked. Files read besides
// a YAML data: section (scripts, their loads, their feeders) are listed in
// plan.Files, relative to dir, for the master to ship to workers. Errors are
// a scenario.ErrorList with file:line:col.
func Parse(name, dir string, src []byte, opts scenario.Options) (*scenario.Plan, error) {
	return parseWith(newLoader(dir), name, src, opts)
}

func parseWith(l *loader, name string, src []byte, opts scenario.Options) (*scenario.Plan, error) {
	dir := l.dir
	if IsScript(name) {
		return l.scenario(name, src, opts)
	}
	plan, err := scenario.Parse(name, dir, src, opts)
	if err != nil {
		return nil, err
	}
	if err := l.resolveRefs(plan); err != nil {
		return nil, err
	}
	plan.Files = append(plan.Files, l.files()...) // after the .proto files the YAML's gRPC steps read
	return plan, nil
}

// loader compiles the files of one scenario, each once.
type loader struct {
	dir     string
	steps   uint64             // bound of a file's top level in steps
	timeout time.Duration      // and in wall time
	modules map[string]*module // by path relative to dir
	read    map[string]bool    // every relative file read (shipped to workers)
	errs    scenario.ErrorList
}

// module is a loaded file: its frozen globals, or the error it gave.
type module struct {
	globals starlark.StringDict
	err     error
	loading bool
}

func newLoader(dir string) *loader {
	return &loader{dir: dir, steps: loadSteps, timeout: loadTimeout, modules: map[string]*module{}, read: map[string]bool{}}
}

func (l *loader) files() []string {
	out := make([]string, 0, len(l.read))
	for f := range l.read {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func (l *loader) path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(l.dir, rel)
}

// note records a file read, for shipping (absolute paths are not shipped:
// they must exist on every worker, as YAML data files).
func (l *loader) note(rel string) {
	if !filepath.IsAbs(rel) {
		l.read[filepath.ToSlash(filepath.Clean(rel))] = true
	}
}

// load compiles and runs the file named rel (relative to the scenario's
// directory) once, with src if given, and returns its frozen globals.
// display names it in errors and tracebacks.
func (l *loader) load(rel, display string, src []byte) (starlark.StringDict, error) {
	key := filepath.ToSlash(filepath.Clean(rel))
	if m, ok := l.modules[key]; ok {
		if m.loading {
			return nil, fmt.Errorf("cycle in load graph: %s loads itself", rel)
		}
		return m.globals, m.err
	}
	m := &module{loading: true}
	l.modules[key] = m
	defer func() { m.loading = false }()
	if src == nil {
		b, err := os.ReadFile(l.path(rel))
		if err != nil {
			m.err = fmt.Errorf("read script: %w", err)
			return nil, m.err
		}
		src = b
	}
	l.note(rel)
	m.globals, m.err = l.exec(rel, display, src)
	return m.globals, m.err
}

// exec parses, resolves, compiles and runs a file's top level.
func (l *loader) exec(rel, name string, src []byte) (starlark.StringDict, error) {
	pre := predeclared()
	_, prog, err := starlark.SourceProgramOptions(fileOptions, name, src, pre.Has)
	if err != nil {
		return nil, atLineEnd(err, src)
	}
	thread := &starlark.Thread{Name: "load " + name, Load: func(t *starlark.Thread, module string) (starlark.StringDict, error) {
		if !IsScript(module) {
			return nil, fmt.Errorf("load %q: a module is a .star file", module)
		}
		return l.load(filepath.Join(filepath.Dir(rel), module), filepath.Join(filepath.Dir(name), module), nil)
	}, Print: func(_ *starlark.Thread, msg string) { fmt.Fprintf(stderr, "%s: %s\n", name, msg) }}
	thread.SetMaxExecutionSteps(l.steps)
	thread.SetLocal(localLoader, l)
	thread.SetLocal(localDir, filepath.Dir(rel))
	tm := time.AfterFunc(l.timeout, func() { thread.Cancel("the file's top level ran longer than " + l.timeout.String()) })
	defer tm.Stop()
	globals, err := prog.Init(thread, pre)
	if err != nil {
		return nil, err
	}
	globals.Freeze()
	return globals, nil
}

// Thread locals used while a file's top level runs.
const (
	localLoader = "horde.loader"
	localDir    = "horde.dir"
)

// atLineEnd moves a syntax error found at a newline ("got newline, want
// ':'", which the parser places at the start of the next line) to the end
// of the line that lacks the token, and says it in words.
func atLineEnd(err error, src []byte) error {
	var se syntax.Error
	if !errors.As(err, &se) || !strings.HasPrefix(se.Msg, "got newline, want ") {
		return err
	}
	lines := strings.Split(string(src), "\n")
	line := int(se.Pos.Line) - 1 // the newline ends the line before
	if se.Pos.Col > 1 {
		line++ // a newline inside the line's text (not at its start): this line
	}
	for line > 1 && line <= len(lines) && strings.TrimSpace(stripComment(lines[line-1])) == "" {
		line--
	}
	if line < 1 || line > len(lines) {
		return err
	}
	text := strings.TrimRight(stripComment(lines[line-1]), " \t\r")
	want := strings.TrimPrefix(se.Msg, "got newline, want ")
	fn := se.Pos.Filename()
	return syntax.Error{
		Pos: syntax.MakePosition(&fn, int32(line), int32(len(text)+1)),
		Msg: fmt.Sprintf("missing %s at the end of the line", want),
	}
}

// stripComment drops a # comment (not inside a string) from a line.
func stripComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case quote != 0 && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return line[:i]
		}
	}
	return line
}

// errorsOf turns a Starlark error into scenario errors with their places.
func errorsOf(file string, err error) scenario.ErrorList {
	var list scenario.ErrorList
	var se syntax.Error
	var re resolve.ErrorList
	var ee *starlark.EvalError
	var le scenario.ErrorList
	switch {
	case errors.As(err, &le):
		return le
	case errors.As(err, &re):
		for _, e := range re {
			list = append(list, &scenario.Error{Pos: posOf(e.Pos), Msg: e.Msg})
		}
	case errors.As(err, &se):
		list = append(list, &scenario.Error{Pos: posOf(se.Pos), Msg: se.Msg})
	case errors.As(err, &ee):
		// An error in a module that load() ran: name the module's place.
		for inner := (*starlark.EvalError)(nil); errors.As(ee.Unwrap(), &inner); {
			ee = inner
		}
		pos := scenario.Pos{File: file, Line: 1, Col: 1}
		if fr, ok := scriptFrame(ee.CallStack); ok {
			pos = posOf(fr.Pos)
		}
		list = append(list, &scenario.Error{Pos: pos, Msg: ee.Msg})
	default:
		list = append(list, &scenario.Error{Pos: scenario.Pos{File: file, Line: 1, Col: 1}, Msg: err.Error()})
	}
	return list
}

// scriptFrame is the innermost frame of stack in a script file (not in a
// built-in function).
func scriptFrame(stack starlark.CallStack) (starlark.CallFrame, bool) {
	for i := len(stack) - 1; i >= 0; i-- {
		if f := stack[i].Pos.Filename(); f != "" && f != "<builtin>" {
			return stack[i], true
		}
	}
	return starlark.CallFrame{}, false
}

func posOf(p syntax.Position) scenario.Pos {
	return scenario.Pos{File: p.Filename(), Line: max(int(p.Line), 1), Col: max(int(p.Col), 1)}
}

// scenario compiles a .star file into a plan.
func (l *loader) scenario(name string, src []byte, opts scenario.Options) (*scenario.Plan, error) {
	main := filepath.Base(name)
	globals, err := l.load(main, name, src)
	delete(l.read, main) // shipped as the scenario's source
	if err != nil {
		return nil, errorsOf(name, err)
	}
	plan := &scenario.Plan{File: name, Feeders: map[string]*scenario.Feeder{}}
	top := scenario.Pos{File: name, Line: 1, Col: 1}
	if opts.Host != "" {
		plan.Host = strings.TrimRight(opts.Host, "/")
	} else if h, ok := globals["host"]; ok {
		s, ok := starlark.AsString(h)
		if !ok || !isHostURL(s) {
			l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: fmt.Sprintf("host %s is not an http://, https://, mqtt:// or mqtts:// URL", h)})
		}
		plan.Host = strings.TrimRight(s, "/")
	} else {
		l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: "host is missing: set host = \"http://...\" in the script or pass -H"})
	}
	if opts.Host != "" && !isHostURL(opts.Host) {
		l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: fmt.Sprintf("host %q (from -H) is not an http://, https://, mqtt:// or mqtts:// URL", opts.Host)})
	}
	classes := l.userList(name, globals)
	names := map[string]bool{}
	for _, c := range classes {
		if names[c.name] {
			l.errs = append(l.errs, &scenario.Error{Pos: c.pos, Msg: fmt.Sprintf("duplicate user name %q", c.name)})
		}
		names[c.name] = true
		plan.Classes = append(plan.Classes, c.planClass())
	}
	if s, ok := globals["settings"]; ok {
		plan.Load = l.settings(name, s)
	}
	l.hooks(name, globals, plan)
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	plan.Files = l.files()
	return plan, nil
}

func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// isHostURL reports whether s can be the host: an HTTP URL or an MQTT
// broker's (mqtt://, mqtts://) for users that are MQTT devices.
func isHostURL(s string) bool {
	return isHTTPURL(s) || strings.HasPrefix(s, "mqtt://") || strings.HasPrefix(s, "mqtts://")
}

// userList reads the users global: a list (or tuple) of user() values.
func (l *loader) userList(name string, globals starlark.StringDict) []*userClass {
	top := scenario.Pos{File: name, Line: 1, Col: 1}
	v, ok := globals["users"]
	if !ok {
		l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: "users is missing: set users = [user(\"name\", tasks={...})]"})
		return nil
	}
	if uc, ok := v.(*userClass); ok {
		return []*userClass{uc}
	}
	it, ok := v.(starlark.Indexable)
	if !ok {
		l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: fmt.Sprintf("users must be a list of user(...), got %s", v.Type())})
		return nil
	}
	var out []*userClass
	for i := 0; i < it.Len(); i++ {
		uc, ok := it.Index(i).(*userClass)
		if !ok {
			l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: fmt.Sprintf("users[%d] must be a user(...), got %s", i, it.Index(i).Type())})
			continue
		}
		out = append(out, uc)
	}
	if len(out) == 0 && len(l.errs) == 0 {
		l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: "users is empty: add at least one user(...)"})
	}
	return out
}

// settings reads settings = {"users": 50, "spawn_rate": 10, "run_time": "10m", "stop_timeout": "30s"}.
func (l *loader) settings(name string, v starlark.Value) scenario.Load {
	var ld scenario.Load
	top := scenario.Pos{File: name, Line: 1, Col: 1}
	d, ok := v.(*starlark.Dict)
	if !ok {
		l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: fmt.Sprintf("settings must be a dict, got %s", v.Type())})
		return ld
	}
	for _, kv := range d.Items() {
		k, _ := starlark.AsString(kv[0])
		bad := func(want string) {
			l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: fmt.Sprintf("settings[%q] must be %s, got %s", k, want, kv[1])})
		}
		switch k {
		case "users":
			n, err := starlark.AsInt32(kv[1])
			if err != nil || n < 0 {
				bad("a user count")
			}
			ld.Users = n
		case "spawn_rate":
			f, ok := starlark.AsFloat(kv[1])
			if !ok || f < 0 {
				bad("a rate")
			}
			ld.SpawnRate = f
		case "run_time", "stop_timeout":
			d, err := toDuration(kv[1])
			if err != nil {
				bad("a duration")
			}
			if k == "run_time" {
				ld.RunTime = d
			} else {
				ld.StopTimeout = d
			}
		default:
			l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: fmt.Sprintf("unknown setting %q; want users, spawn_rate, run_time or stop_timeout", k)})
		}
	}
	return ld
}

// resolveRefs loads the scripts a YAML plan names and binds its tasks and
// classes to them.
func (l *loader) resolveRefs(plan *scenario.Plan) error {
	for _, c := range plan.Classes {
		if sc := c.Script; sc != nil {
			globals, ok := l.refModule(sc)
			if !ok {
				continue
			}
			uc := findUser(globals, sc.Name)
			if uc == nil {
				l.errs = append(l.errs, &scenario.Error{Pos: sc.Pos, Msg: fmt.Sprintf("script %s has no user class %q (set users = [user(%q, ...)])", sc.File, sc.Name, sc.Name)})
				continue
			}
			c.New = uc.newUser
			if c.Wait == (horde.Wait{}) {
				c.Wait = uc.wait
			}
			for _, t := range uc.tasks {
				c.Tasks = append(c.Tasks, &scenario.Task{Name: t.name, Weight: t.weight})
			}
		}
		for _, t := range c.Tasks {
			sc := t.Script
			if sc == nil {
				continue
			}
			globals, ok := l.refModule(sc)
			if !ok {
				continue
			}
			v, ok := globals[sc.Name]
			if !ok {
				l.errs = append(l.errs, &scenario.Error{Pos: sc.Pos, Msg: fmt.Sprintf("script %s has no function %q", sc.File, sc.Name)})
				continue
			}
			fn, ok := v.(starlark.Callable)
			if !ok {
				l.errs = append(l.errs, &scenario.Error{Pos: sc.Pos, Msg: fmt.Sprintf("%s in %s is a %s, not a function", sc.Name, sc.File, v.Type())})
				continue
			}
			t.Script.Run = newTaskFunc(fn, sc.Name)
		}
	}
	if len(l.errs) > 0 {
		return l.errs
	}
	return nil
}

func (l *loader) refModule(sc *scenario.Script) (starlark.StringDict, bool) {
	if !IsScript(sc.File) {
		l.errs = append(l.errs, &scenario.Error{Pos: sc.Pos, Msg: fmt.Sprintf("script file %q must end in .star", sc.File)})
		return nil, false
	}
	globals, err := l.load(sc.File, filepath.Join(filepath.Dir(sc.Pos.File), sc.File), nil)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			l.errs = append(l.errs, &scenario.Error{Pos: sc.Pos, Msg: err.Error()})
		} else {
			l.errs = append(l.errs, errorsOf(sc.File, err)...)
		}
		return nil, false
	}
	return globals, true
}

func findUser(globals starlark.StringDict, name string) *userClass {
	v := globals["users"]
	if uc, ok := v.(*userClass); ok && uc.name == name {
		return uc
	}
	if it, ok := v.(starlark.Indexable); ok {
		for i := 0; i < it.Len(); i++ {
			if uc, ok := it.Index(i).(*userClass); ok && uc.name == name {
				return uc
			}
		}
	}
	for _, v := range globals {
		if uc, ok := v.(*userClass); ok && uc.name == name {
			return uc
		}
	}
	return nil
}

// hooks reads the setup and teardown globals: functions of one argument,
// the user, run once per test before the first user starts and after the
// last one stops (Locust's events.test_start and test_stop; YAML's setup:
// and teardown:).
func (l *loader) hooks(name string, globals starlark.StringDict, plan *scenario.Plan) {
	top := scenario.Pos{File: name, Line: 1, Col: 1}
	for _, h := range []struct {
		global string
		dst    *[]*scenario.Step
	}{{"setup", &plan.Setup}, {"teardown", &plan.Teardown}} {
		v, ok := globals[h.global]
		if !ok || v == starlark.None {
			continue
		}
		fn, ok := v.(starlark.Callable)
		if !ok {
			l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: fmt.Sprintf("%s must be a function of the user, got %s", h.global, v.Type())})
			continue
		}
		if err := takesUser(fn); err != nil {
			l.errs = append(l.errs, &scenario.Error{Pos: top, Msg: fmt.Sprintf("%s: %v", h.global, err)})
			continue
		}
		pos := top
		if f, ok := fn.(*starlark.Function); ok {
			pos = posOf(f.Position())
		}
		*h.dst = []*scenario.Step{{Method: "SCRIPT", Name: h.global, Pos: pos,
			Script: &scenario.Script{File: name, Name: fn.Name(), Pos: pos, Run: newTaskFunc(fn, h.global)}}}
	}
}
