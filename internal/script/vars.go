package script

import (
	"fmt"
	"math"
	"sort"

	"go.starlark.net/starlark"

	"github.com/horde-load/horde/internal/scenario"
)

// importVars copies a YAML user's variables (captures, feeder rows) into
// u.vars before a script task runs.
func (u *userValue) importVars(vars scenario.Vars) error {
	for k, v := range vars {
		if k == varsKey {
			continue
		}
		sv, err := toStarlark(v)
		if err != nil {
			return fmt.Errorf("variable %s: %w", k, err)
		}
		if err := u.vars.SetKey(starlark.String(k), sv); err != nil {
			return err
		}
	}
	return nil
}

// exportVars copies u.vars back after the call, for the YAML steps'
// templates ({{ .name }}).
func (u *userValue) exportVars(vars scenario.Vars) {
	for _, kv := range u.vars.Items() {
		k, ok := starlark.AsString(kv[0])
		if !ok || k == varsKey {
			continue
		}
		vars[k] = toGo(kv[1])
	}
}

func toStarlark(v any) (starlark.Value, error) {
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case starlark.Value:
		return x, nil
	case string:
		return starlark.String(x), nil
	case bool:
		return starlark.Bool(x), nil
	case int:
		return starlark.MakeInt(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case float64:
		return starlark.Float(x), nil
	case map[string]string:
		return dictOf(x)
	case map[string]any:
		return dictOf(x)
	case []any:
		l := make([]starlark.Value, 0, len(x))
		for _, e := range x {
			sv, err := toStarlark(e)
			if err != nil {
				return nil, err
			}
			l = append(l, sv)
		}
		return starlark.NewList(l), nil
	default:
		return starlark.String(fmt.Sprint(x)), nil
	}
}

// dictOf converts a map to a Starlark dict, its keys in sorted order.
func dictOf[V any](m map[string]V) (starlark.Value, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := starlark.NewDict(len(m))
	for _, k := range keys {
		e, err := toStarlark(m[k])
		if err != nil {
			return nil, err
		}
		_ = d.SetKey(starlark.String(k), e)
	}
	return d, nil
}

// toGo converts a Starlark value for templates: numbers, strings, bools,
// None, and dicts and lists of them; anything else as str() prints it.
func toGo(v starlark.Value) any {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil
	case starlark.String:
		return string(x)
	case starlark.Bool:
		return bool(x)
	case starlark.Int:
		if n, ok := x.Int64(); ok {
			return n
		}
		return x.String()
	case starlark.Float:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f)
		}
		return f
	case *starlark.Dict:
		m := make(map[string]any, x.Len())
		for _, kv := range x.Items() {
			m[text(kv[0])] = toGo(kv[1])
		}
		return m
	case *starlark.List:
		out := make([]any, x.Len())
		for i := range out {
			out[i] = toGo(x.Index(i))
		}
		return out
	case starlark.Tuple:
		out := make([]any, len(x))
		for i := range x {
			out[i] = toGo(x[i])
		}
		return out
	default:
		return x.String()
	}
}
