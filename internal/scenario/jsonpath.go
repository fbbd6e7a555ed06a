package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// jsonPath is a compiled path such as data.items[0].id: object keys joined
// by dots, array indexes in brackets (negative indexes count from the end).
type jsonPath struct {
	text  string
	steps []pathStep
}

type pathStep struct {
	key   string
	index int
	isIdx bool
}

func parseJSONPath(s string) (*jsonPath, error) {
	if s == "" {
		return nil, errors.New("empty path")
	}
	p := &jsonPath{text: s}
	i := 0
	for {
		// a key, possibly empty before an index at the start or after a dot
		j := i
		for j < len(s) && s[j] != '.' && s[j] != '[' && s[j] != ']' {
			j++
		}
		key := s[i:j]
		if key == "" && (j == len(s) || s[j] != '[' || i > 0) {
			return nil, errors.New("empty key")
		}
		if key != "" {
			p.steps = append(p.steps, pathStep{key: key})
		}
		i = j
		for i < len(s) && s[i] == '[' {
			k := strings.IndexByte(s[i:], ']')
			if k < 0 {
				return nil, errors.New("missing ]")
			}
			n, err := strconv.Atoi(s[i+1 : i+k])
			if err != nil {
				return nil, errors.New("index " + strconv.Quote(s[i+1:i+k]) + " is not an integer")
			}
			p.steps = append(p.steps, pathStep{index: n, isIdx: true})
			i += k + 1
		}
		if i == len(s) {
			return p, nil
		}
		switch s[i] {
		case '.':
			i++
			if i == len(s) {
				return nil, errors.New("ends with a dot")
			}
		case ']':
			return nil, errors.New("unexpected ]")
		default:
			return nil, errors.New("want . or [ after ]")
		}
	}
}

// find returns the raw JSON of the value at the path in doc, which must be
// valid JSON (json.Valid).
func (p *jsonPath) find(doc []byte) ([]byte, bool) {
	v := trimWS(doc)
	for _, st := range p.steps {
		var ok bool
		if st.isIdx {
			v, ok = arrayIndex(v, st.index)
		} else {
			v, ok = objectKey(v, st.key)
		}
		if !ok {
			return nil, false
		}
	}
	return v, true
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimWS(b []byte) []byte {
	for len(b) > 0 && isWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// skipValue returns the end of the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isWS(b[i]) {
			i++
		}
		return i
	}
}

// skipString returns the end of the string whose quote is at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

func objectKey(v []byte, key string) ([]byte, bool) {
	if len(v) == 0 || v[0] != '{' {
		return nil, false
	}
	var found []byte
	ok := false
	i := skipWS(v, 1)
	for i < len(v) && v[i] == '"' {
		end := skipString(v, i)
		raw := v[i+1 : end-1]
		i = skipWS(v, end)
		i = skipWS(v, i+1) // ':'
		vend := skipValue(v, i)
		if keyEqual(raw, key) {
			found, ok = v[i:vend], true // the last duplicate wins, as in encoding/json
		}
		i = skipWS(v, vend)
		if i < len(v) && v[i] == ',' {
			i = skipWS(v, i+1)
		}
	}
	return found, ok
}

func keyEqual(raw []byte, key string) bool {
	if strings.IndexByte(string(raw), '\\') < 0 {
		return string(raw) == key
	}
	var s string
	if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s); err != nil {
		return false
	}
	return s == key
}

func arrayIndex(v []byte, idx int) ([]byte, bool) {
	if len(v) == 0 || v[0] != '[' {
		return nil, false
	}
	var elems [][2]int
	i := skipWS(v, 1)
	for n := 0; i < len(v) && v[i] != ']'; n++ {
		end := skipValue(v, i)
		if idx >= 0 && n == idx {
			return v[i:end], true
		}
		if idx < 0 {
			elems = append(elems, [2]int{i, end})
		}
		i = skipWS(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipWS(v, i+1)
		}
	}
	if idx < 0 && -idx <= len(elems) {
		e := elems[len(elems)+idx]
		return v[e[0]:e[1]], true
	}
	return nil, false
}

// jsonText turns a raw JSON value into the text stored by a capture:
// strings unquoted, anything else as its JSON text.
func jsonText(raw []byte) string {
	if len(raw) > 1 && raw[0] == '"' {
		if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
			return string(inner)
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}
