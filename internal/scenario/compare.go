// This file holds the comparisons of json and header checks.

package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
)

// Comparison operators of a json check (check: {json: {path: {OP: value}}}).
var compareOps = []string{"<", ">", "<=", ">=", "in", "exists", "matches", "equals"}

// compare is one comparison of a checked value.
type compare struct {
	op       string
	num      *big.Float     // <, >, <=, >=
	list     []any          // in: the values, decoded with json.Number
	want     any            // equals
	wantText string         // the expected value as written, for messages
	exists   bool           // exists
	re       *regexp.Regexp // matches
}

// compareJSON runs the check's comparisons on raw, the JSON value at the
// path (found false: the path is absent).
func (c *Check) compareJSON(raw []byte, found bool) string {
	for i := range c.cmp {
		m := &c.cmp[i]
		if m.op == "exists" {
			switch {
			case m.exists && !found:
				return fmt.Sprintf("check json %q: path not found", c.text)
			case !m.exists && found:
				return fmt.Sprintf("check json %q: got %s, want no value", c.text, compactJSON(raw))
			}
			continue
		}
		if !found {
			return fmt.Sprintf("check json %q: path not found", c.text)
		}
		if !m.holds(raw) {
			return fmt.Sprintf("check json %q: got %s, want %s", c.text, compactJSON(raw), m.describe())
		}
	}
	return ""
}

// holds reports whether the JSON value raw passes the comparison.
func (m *compare) holds(raw []byte) bool {
	switch m.op {
	case "matches":
		return m.re.MatchString(jsonText(raw))
	case "<", ">", "<=", ">=":
		raw = trimWS(raw)
		if !isJSONLiteral(raw) || raw[0] == 't' || raw[0] == 'f' || raw[0] == 'n' {
			return false
		}
		got, ok := new(big.Float).SetPrec(256).SetString(string(raw))
		if !ok {
			return false
		}
		r := got.Cmp(m.num)
		switch m.op {
		case "<":
			return r < 0
		case ">":
			return r > 0
		case "<=":
			return r <= 0
		default:
			return r >= 0
		}
	}
	var got any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&got) != nil {
		return false
	}
	if m.op == "in" {
		for _, v := range m.list {
			if jsonEqual(got, v) {
				return true
			}
		}
		return false
	}
	return jsonEqual(got, m.want)
}

// describe is the "want" part of a failure message.
func (m *compare) describe() string {
	switch m.op {
	case "in":
		return "one of " + m.wantText
	case "matches":
		return fmt.Sprintf("matching %q", m.re.String())
	case "equals":
		return m.wantText
	}
	return m.op + " " + m.wantText
}

// checkHeader checks a header's value v ("" when absent).
func (c *Check) checkHeader(v string) string {
	if v == "" {
		return fmt.Sprintf("check header %q: missing", c.text)
	}
	if c.hasEqual && v != c.equal {
		return fmt.Sprintf("check header %q: got %q, want %q", c.text, truncate(v, 100), c.equal)
	}
	for i := range c.cmp {
		if re := c.cmp[i].re; re != nil && !re.MatchString(v) {
			return fmt.Sprintf("check header %q: got %q, want matching %q", c.text, truncate(v, 100), re.String())
		}
	}
	return ""
}
