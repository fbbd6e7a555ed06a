package scenario

import (
	"fmt"
	"strings"
)

// Outcome is one check's or capture's result in a Trace.
type Outcome struct {
	// What: `status 200`, `body_contains "ok"`, `json "$.id" == 3`, or a
	// capture's variable name.
	What string
	// Value is a capture's value ("" when it failed or did not run).
	Value string
	// Failure is "" when it held, else the message Evaluate would give.
	Failure string
	// Skipped: a capture not run because a check before it failed.
	Skipped bool
}

// Trace is what Evaluate decides about a response, one check and one
// capture at a time (horde try shows it): every check is evaluated; the
// captures run, in order, only while everything before them held, as in
// Evaluate. Failure is Evaluate's message and vars are set as it sets them.
type Trace struct {
	Checks   []Outcome
	Captures []Outcome
	Failure  string
}

// Trace evaluates the step against resp as Evaluate does, reporting each
// check and capture; captured values go into vars (nil: not stored).
func (s *Step) Trace(resp Response, vars Vars) Trace {
	var t Trace
	s.walk(resp, vars, &t, nil)
	return t
}

// describe is the check as written in the scenario.
func (c *Check) describe() string {
	switch c.kind {
	case checkStatus:
		if len(c.statuses) == 1 {
			return fmt.Sprintf("status %d", c.statuses[0])
		}
		return fmt.Sprintf("status one of %v", c.statuses)
	case checkBodyContains:
		return fmt.Sprintf("body_contains %q", c.text)
	case checkJSON:
		if c.cmp != nil {
			return fmt.Sprintf("json %q%s", c.text, describeCompares(c.cmp))
		}
		return fmt.Sprintf("json %q == %s", c.text, c.wantText)
	case checkHeader:
		d := fmt.Sprintf("header %q", c.text)
		if c.hasEqual {
			d += fmt.Sprintf(" == %q", c.equal)
		}
		return d + describeCompares(c.cmp)
	case checkDuration:
		return "max_duration " + c.max.String()
	}
	return "check"
}

// describeCompares lists a check's comparisons: ` > 3, matches "^a"`.
func describeCompares(cs []compare) string {
	var b strings.Builder
	for i, c := range cs {
		if i == 0 {
			b.WriteString(" ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(c.op)
		if c.wantText != "" {
			b.WriteString(" " + c.wantText)
		}
	}
	return b.String()
}
