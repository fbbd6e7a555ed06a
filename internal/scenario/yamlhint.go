package scenario

import (
	"fmt"
	"slices"
	"strings"
)

// yamlHint finds, in a file the YAML parser refused, the line that is most
// likely wrong and says what is wrong with it in words: the parser's own
// message names where it gave up (often the start of the block around the
// mistake, lines earlier) and its terms ("did not find expected '-'
// indicator"). It looks for a tab in a line's indentation and for a key
// indented between two levels (less than the keys of the item above it,
// more than the item's dash) or deeper than a key with a value on the line
// above. ok is false when it finds neither: the parser's message stands.
func yamlHint(src []byte) (line, col int, msg string, ok bool) {
	type frame struct {
		indent  int
		seq     bool // the dash column of a list item
		line    int  // where the block starts
		request bool // a mapping with a method key (get:, post:, ...)
	}
	var (
		stack      []frame
		prevOpens  = true // the last line ends a key with no value (a block follows)
		prevIndent = -1
		prevLine   int
		prevKey    string
		block      = -1                // the indentation of the key whose block scalar (| or >) is being skipped
		flow       int                 // open [ and { on earlier lines
		closed     = map[int]closing{} // by indentation: the line that ended a list there
	)
	for n, raw := range strings.Split(string(src), "\n") {
		n++
		text := strings.TrimRight(raw, " \r")
		body := strings.TrimLeft(text, " \t")
		if body == "" || strings.HasPrefix(body, "#") {
			continue
		}
		lead := text[:len(text)-len(body)]
		if block >= 0 {
			if len(lead) > block {
				continue // inside a block scalar, where tabs and any indentation are text
			}
			block = -1
		}
		if i := strings.IndexByte(lead, '\t'); i >= 0 {
			return n, i + 1, "tabs are not allowed for indentation in YAML: indent with spaces", true
		}
		if flow > 0 {
			flow += strings.Count(body, "[") + strings.Count(body, "{") - strings.Count(body, "]") - strings.Count(body, "}")
			continue
		}
		if body == "---" || body == "..." {
			stack, prevOpens = nil, true
			continue
		}
		indent := len(lead)
		key := keyOf(body)
		var popped *frame
		var ended []int // the indentation of the lists this line ends
		for len(stack) > 0 && stack[len(stack)-1].indent > indent {
			f := stack[len(stack)-1]
			if !f.seq && popped == nil {
				popped = &f
			}
			if f.seq {
				ended = append(ended, f.indent)
			}
			stack = stack[:len(stack)-1]
		}
		what := "this line"
		if key != "" {
			what = key + ":"
		}
		above := "the line above it"
		switch {
		case popped != nil && popped.request:
			above = fmt.Sprintf("the request above it (line %d)", popped.line)
		case popped != nil:
			above = fmt.Sprintf("the keys above it (line %d)", popped.line)
		}
		lessMsg := fmt.Sprintf("%s is indented less than %s: line it up with its keys, or start a new item with \"- \"", what, above)
		for _, in := range ended {
			closed[in] = closing{n, indent + 1, lessMsg}
		}
		isItem := body == "-" || strings.HasPrefix(body, "- ")
		if !(prevOpens && indent > prevIndent) { // not the first line of a block: it must line up with one
			top := len(stack) - 1
			if top >= 1 && stack[top].seq && !isItem && stack[top].indent == indent && !stack[top-1].seq && stack[top-1].indent == indent {
				stack, top = stack[:top], top-1 // the end of a list written at its key's indentation
			}
			if c, ok := closed[indent]; ok && isItem && (top < 0 || stack[top].indent < indent) {
				return c.line, c.col, c.msg, true // a list goes on after a line that ended it
			}
			switch {
			case top >= 0 && stack[top].indent == indent && stack[top].seq && !isItem,
				(top < 0 || stack[top].indent < indent) && indent < prevIndent:
				return n, indent + 1, lessMsg, true
			case (top < 0 || stack[top].indent < indent) && prevKey != "":
				return n, indent + 1, fmt.Sprintf("%s is indented more than %s: above it (line %d), which already has a value: line it up with %s:",
					what, prevKey, prevLine, prevKey), true
			}
		}
		// Push this line's blocks: a list item's dash, then its keys.
		col := indent
		for strings.HasPrefix(body, "- ") || body == "-" {
			if top := len(stack) - 1; top < 0 || stack[top].indent != col || !stack[top].seq {
				stack = append(stack, frame{indent: col, seq: true, line: n})
			}
			rest := strings.TrimLeft(strings.TrimPrefix(body, "-"), " ")
			col += len(body) - len(rest)
			body = rest
			if body == "" {
				break
			}
		}
		key = keyOf(body)
		if body != "" && (key != "" || col > indent) {
			if top := len(stack) - 1; top < 0 || stack[top].indent != col || stack[top].seq {
				stack = append(stack, frame{indent: col, line: n})
			}
			if slices.Contains(methodKeys, key) {
				stack[len(stack)-1].request = true
			}
		}
		value := ""
		if key != "" {
			value = strings.TrimSpace(stripComment(body[len(key)+1:]))
		}
		prevOpens = body == "" || (key != "" && value == "")
		prevIndent, prevKey, prevLine = col, key, n
		if strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">") {
			block, prevOpens = col, true
		}
		flow = strings.Count(value, "[") + strings.Count(value, "{") - strings.Count(value, "]") - strings.Count(value, "}")
		if flow < 0 {
			flow = 0
		}
	}
	return 0, 0, "", false
}

// closing is a line that ended a list, and what is wrong with it if the
// list goes on after it.
type closing struct {
	line, col int
	msg       string
}

// keyOf is the key a line (after any "- ") starts with, "" when it has none:
// a plain word followed by ":" and a space or the end of the line.
func keyOf(body string) string {
	i := strings.Index(body, ":")
	if i <= 0 {
		return ""
	}
	k := body[:i]
	if strings.ContainsAny(k, " \t\"'{}[],&*#?|<>=!%@`") {
		return ""
	}
	if i+1 < len(body) && body[i+1] != ' ' {
		return ""
	}
	return k
}

// stripComment drops a " #" comment from a value (not inside quotes).
func stripComment(v string) string {
	var quote byte
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || v[i-1] == ' '):
			return v[:i]
		}
	}
	return v
}
