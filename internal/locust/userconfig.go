package locust

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// UserSettings is one entry of Locust's --config-users (Locust 2.21+): the
// name of a User class and attributes to set on it, as the web UI's user
// settings send them too ({"user_class_name": "A", "weight": 2,
// "fixed_count": 0, "host": "...", "tasks": ["t1"], "any_attribute": ...}).
// The master applies weight, fixed_count and host to its split; Locust
// workers of 2.25 and later get the whole entry in an update_user_class
// message (setattr on the class, tasks filtered by name).
type UserSettings struct {
	Class string
	// Data is the entry as msgpack sends it: strings, int64, float64, bool,
	// nil, []any and map[string]any.
	Data map[string]any
	// Where names the entry for messages: the argument (or file) and its
	// index in an array.
	Where string
}

// ParseConfigUsers reads --config-users values as Locust does: each is a
// JSON object or array of objects, or the name of a .json file holding
// one. Every object needs a user_class_name. Errors name the argument
// (file:line:col for a file's syntax error). A nil readFile reads no file.
func ParseConfigUsers(args []string, readFile func(string) ([]byte, error)) ([]UserSettings, error) {
	var out []UserSettings
	for _, arg := range args {
		where, text := "--config-users "+quoteShort(arg), []byte(arg)
		if strings.HasSuffix(arg, ".json") {
			if readFile == nil {
				return nil, fmt.Errorf("--config-users %s: files are not read here", arg)
			}
			b, err := readFile(arg)
			if err != nil {
				return nil, fmt.Errorf("--config-users: %w", err)
			}
			where, text = arg, b
		}
		d := json.NewDecoder(bytes.NewReader(text))
		d.UseNumber()
		var v any
		err := d.Decode(&v)
		if err == nil {
			if _, e := d.Token(); !errors.Is(e, io.EOF) {
				err = fmt.Errorf("more after the JSON value at offset %d", d.InputOffset())
			}
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line, col := lineCol(text, se.Offset)
				return nil, fmt.Errorf("%s:%d:%d: not valid JSON: %v", where, line, col, err)
			}
			return nil, fmt.Errorf("%s: not valid JSON: %v", where, err)
		}
		list, isList := v.([]any)
		if !isList {
			list = []any{v}
		}
		for i, e := range list {
			w := where
			if isList {
				w = fmt.Sprintf("%s[%d]", where, i)
			}
			obj, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: a user config is a JSON object, not %s", w, jsonKind(e))
			}
			name, ok := obj["user_class_name"].(string)
			if !ok || name == "" {
				return nil, fmt.Errorf("%s: the user config must specify a user_class_name (a string)", w)
			}
			out = append(out, UserSettings{Class: name, Data: fromJSON(obj).(map[string]any), Where: w})
		}
	}
	return out, nil
}

// ApplyUserSettings returns classes with the settings' weight, fixed_count
// and host applied, in order (a later entry for a class overrides an
// earlier one, as Locust's setattr does). A class the locustfile does not
// have, or a value of the wrong type, is an error naming the entry.
func ApplyUserSettings(classes []UserClass, settings []UserSettings) ([]UserClass, error) {
	out := append([]UserClass(nil), classes...)
	for _, s := range settings {
		i := -1
		var names []string
		for j, c := range out {
			names = append(names, c.Name)
			if c.Name == s.Class {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("%s: user class %q is not in the locustfile (its classes: %s)", s.Where, s.Class, strings.Join(names, ", "))
		}
		for key, v := range s.Data {
			switch key {
			case "weight", "fixed_count":
				n, ok := v.(int64)
				if !ok || n < 0 || n > math.MaxInt32 {
					return nil, fmt.Errorf("%s: %s must be a whole number >= 0, not %v", s.Where, key, v)
				}
				if key == "weight" {
					out[i].Weight = int(n)
				} else {
					out[i].FixedCount = int(n)
				}
			case "host":
				h, ok := v.(string)
				if !ok && v != nil {
					return nil, fmt.Errorf("%s: host must be a string, not %v", s.Where, v)
				}
				out[i].Host, out[i].HostUnread = h, false
			case "tasks":
				list, ok := v.([]any)
				for _, t := range list {
					if _, isString := t.(string); !isString {
						ok = false
					}
				}
				if !ok {
					return nil, fmt.Errorf("%s: tasks must be a list of task names", s.Where)
				}
			}
		}
	}
	return out, nil
}

// workerOnly returns the keys of s that only a Locust worker can apply
// (all but user_class_name, weight and fixed_count), sorted.
func (s UserSettings) workerOnly() []string {
	var keys []string
	for k := range s.Data {
		switch k {
		case "user_class_name", "weight", "fixed_count":
		default:
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// fromJSON turns decoded JSON (with json.Number) into msgpack-ready values:
// integral numbers become int64 (Python ints), others float64.
func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromJSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = fromJSON(e)
		}
		return out
	}
	return v
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// lineCol returns the 1-based line and column of byte offset off in b.
func lineCol(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	if off > 0 {
		off-- // the decoder's offset is past the offending byte
	}
	line = 1 + bytes.Count(b[:off], []byte("\n"))
	col = int(off) - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return fmt.Sprintf("%q", s)
}
