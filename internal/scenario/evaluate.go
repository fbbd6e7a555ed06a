package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
)

// Check kinds.
const (
	checkStatus = iota
	checkBodyContains
	checkJSON
	checkHeader
	checkDuration
)

// Capture kinds.
const (
	captureJSON = iota
	captureHeader
	captureRegex
	captureCookie
)

// Evaluate runs the step's checks and then its captures against resp,
// storing captured values in vars. It returns "" when every check and
// capture held, otherwise the first failure message, e.g.
// `check status: got 500, want 200` or `capture token: json path "token" not found`.
// When no status check is given, a status >= 400 fails as "HTTP 404 Not Found".
// The body is read as JSON only when a json check or capture needs it.
// Captured values are stored as strings; vars may be nil when the step
// has no captures.
func (s *Step) Evaluate(resp Response, vars Vars) string {
	return s.walk(resp, vars, nil, nil)
}

// EvaluateChecks is Evaluate that evaluates every check, as k6 does, and
// tells rec each one's outcome by its name (Check.Name); the implicit
// "status < 400" of a step without a status check is not a named check.
func (s *Step) EvaluateChecks(resp Response, vars Vars, rec func(name string, ok bool)) string {
	return s.walk(resp, vars, nil, rec)
}

// TraceChecks is Trace that tells rec each check's outcome too.
func (s *Step) TraceChecks(resp Response, vars Vars, rec func(name string, ok bool)) Trace {
	var t Trace
	s.walk(resp, vars, &t, rec)
	return t
}

// walk is the one pass over the step's checks and captures that both
// Evaluate (t nil: it stops at the first failure, unless rec wants every
// check's outcome) and Trace (t set: every check is evaluated and
// reported) make, so that they cannot disagree. It returns the first
// failure, or "".
func (s *Step) walk(resp Response, vars Vars, t *Trace, rec func(name string, ok bool)) string {
	failure := ""
	hasStatus := false
	for _, c := range s.Checks {
		if c.kind == checkStatus {
			hasStatus = true
			break
		}
	}
	if !hasStatus {
		msg := ""
		if code := resp.Status(); code >= 400 {
			msg = httpFailure(code)
		}
		if t == nil && msg != "" && rec == nil {
			return msg
		}
		if t != nil {
			t.Checks = append(t.Checks, Outcome{What: "status < 400 (no status check)", Failure: msg})
		}
		failure = msg
	}
	lb := lazyBody{resp: resp, valid: -1}
	for _, c := range s.Checks {
		msg := c.eval(resp, lb.isJSON, &lb.body)
		if rec != nil {
			rec(c.name, msg == "")
		}
		if t == nil && rec == nil {
			if msg != "" {
				return msg
			}
			continue
		}
		if t != nil {
			t.Checks = append(t.Checks, Outcome{What: c.describe(), Failure: msg})
		}
		if failure == "" {
			failure = msg
		}
	}
	if t == nil && failure != "" {
		return failure
	}
	for _, c := range s.Captures {
		if failure != "" { // only when tracing: Evaluate has returned
			t.Captures = append(t.Captures, Outcome{What: c.Var, Skipped: true})
			continue
		}
		v, msg := c.eval(resp, lb.isJSON, &lb.body)
		if t != nil {
			t.Captures = append(t.Captures, Outcome{What: c.Var, Value: v, Failure: msg})
		}
		if msg != "" {
			if t == nil {
				return msg
			}
			failure = msg
		} else if vars != nil {
			vars[c.Var] = v
		}
	}
	if t != nil {
		t.Failure = failure
	}
	return failure
}

func httpFailure(code int) string {
	if t := http.StatusText(code); t != "" {
		return "HTTP " + strconv.Itoa(code) + " " + t
	}
	return "HTTP " + strconv.Itoa(code)
}

func (c *Check) eval(resp Response, isJSON func() bool, body *[]byte) string {
	switch c.kind {
	case checkStatus:
		got := resp.Status()
		for _, want := range c.statuses {
			if got == want {
				return ""
			}
		}
		if len(c.statuses) == 1 {
			return fmt.Sprintf("check status: got %d, want %d", got, c.statuses[0])
		}
		return fmt.Sprintf("check status: got %d, want one of %v", got, c.statuses)
	case checkBodyContains:
		if !bytes.Contains(resp.Body(), c.needle) {
			return fmt.Sprintf("check body_contains %q: not found", c.text)
		}
	case checkJSON:
		if !isJSON() {
			return fmt.Sprintf("check json %q: body is not JSON", c.text)
		}
		raw, ok := c.path.find(*body)
		if c.cmp != nil {
			return c.compareJSON(raw, ok)
		}
		if !ok {
			return fmt.Sprintf("check json %q: path not found", c.text)
		}
		var got any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if d.Decode(&got) != nil || !jsonEqual(got, c.want) {
			return fmt.Sprintf("check json %q: got %s, want %s", c.text, compactJSON(raw), c.wantText)
		}
	case checkHeader:
		return c.checkHeader(resp.Header(c.text))
	case checkDuration:
		if resp.Duration() > c.max {
			// the message names the limit, not the time taken, so that the
			// failures table groups every slow response in one row
			return "check max_duration: slower than " + c.max.String()
		}
	}
	return ""
}

func compactJSON(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	const max = 200
	if b.Len() > max {
		return b.String()[:max] + "..."
	}
	return b.String()
}

// jsonEqual compares two values decoded with json.Number: numbers
// numerically, everything else exactly.
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		return ok && numberEqual(a, b)
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case nil:
		return b == nil
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !jsonEqual(av, bv) {
				return false
			}
		}
		return true
	}
	return false
}

func numberEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, ok1 := new(big.Float).SetPrec(256).SetString(string(a))
	y, ok2 := new(big.Float).SetPrec(256).SetString(string(b))
	return ok1 && ok2 && x.Cmp(y) == 0
}

func (c *Capture) eval(resp Response, isJSON func() bool, body *[]byte) (string, string) {
	switch c.kind {
	case captureJSON:
		if !isJSON() {
			return "", fmt.Sprintf("capture %s: body is not JSON", c.Var)
		}
		raw, ok := c.path.find(*body)
		if !ok {
			return "", fmt.Sprintf("capture %s: json path %q not found", c.Var, c.src)
		}
		return jsonText(raw), ""
	case captureHeader:
		v := resp.Header(c.header)
		if v == "" {
			return "", fmt.Sprintf("capture %s: header %q missing", c.Var, c.header)
		}
		if c.re != nil {
			return c.submatch([]byte(v), "header "+strconv.Quote(c.header)+" ")
		}
		return v, ""
	case captureCookie:
		v, ok := resp.Cookie(c.header)
		if !ok {
			return "", fmt.Sprintf("capture %s: cookie %q not set", c.Var, c.header)
		}
		if c.re != nil {
			return c.submatch([]byte(v), "cookie "+strconv.Quote(c.header)+" ")
		}
		return v, ""
	case captureRegex:
		return c.submatch(resp.Body(), "")
	}
	return "", ""
}

// submatch applies the capture's regex to b: the first group, or the whole
// match without one. what names where b came from in the message.
func (c *Capture) submatch(b []byte, what string) (string, string) {
	m := c.re.FindSubmatch(b)
	if m == nil {
		return "", fmt.Sprintf("capture %s: %sregex %q did not match", c.Var, what, c.re.String())
	}
	if len(m) > 1 {
		return string(m[1]), ""
	}
	return string(m[0]), ""
}

// lazyBody reads a response's body for checks and captures once, and
// parses it as JSON only when one of them asks.
type lazyBody struct {
	resp  Response
	body  []byte
	valid int8 // -1: not looked at yet
}

func (l *lazyBody) isJSON() bool {
	if l.valid < 0 {
		l.body = l.resp.Body()
		l.valid = 0
		if json.Valid(l.body) {
			l.valid = 1
		}
	}
	return l.valid == 1
}
