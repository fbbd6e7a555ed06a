package locustfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/horde-load/horde/internal/python"
)

// Starlark's % takes no flags, width or precision and its format() no
// format spec: "%05.1f" % x and "{:.2f}".format(x) are rewritten to
// "%s" % (_fmt(x, "05.1f"),). A string that needs no rewrite is kept.

// percent rewrites a literal "..." % args when a directive has flags, a
// width or a precision; ok false keeps the expression as it is.
func (fc *fnCtx) percent(lit *python.Str, y python.Expr) (string, bool, error) {
	type directive struct {
		flags, width, prec string
		typ                byte
	}
	var parts []any // string literal text or directive
	s := lit.Value
	plain := true
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			j := strings.IndexByte(s[i:], '%')
			if j < 0 {
				j = len(s) - i
			}
			parts = append(parts, s[i:i+j])
			i += j - 1
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			parts = append(parts, "%")
			i++
			continue
		}
		d := directive{}
		j := i + 1
		if j < len(s) && s[j] == '(' {
			return "", false, nil // %(name)s: kept
		}
		for j < len(s) && strings.IndexByte("-+ 0#", s[j]) >= 0 {
			d.flags += string(s[j])
			j++
		}
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			d.width += string(s[j])
			j++
		}
		if j < len(s) && s[j] == '.' {
			j++
			d.prec = "."
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				d.prec += string(s[j])
				j++
			}
		}
		if j >= len(s) || strings.IndexByte("diouxXeEfFgGcrsa", s[j]) < 0 {
			return "", false, nil
		}
		d.typ = s[j]
		if d.flags != "" || d.width != "" || d.prec != "" {
			plain = false
		}
		parts = append(parts, d)
		i = j
	}
	if plain {
		return "", false, nil
	}
	var argExprs []python.Expr
	if t, ok := y.(*python.Tuple); ok {
		argExprs = t.Elts
	} else {
		argExprs = []python.Expr{y}
	}
	n := 0
	for _, p := range parts {
		if _, ok := p.(directive); ok {
			n++
		}
	}
	if n != len(argExprs) {
		return "", false, nil
	}
	var f strings.Builder
	var args []string
	k := 0
	for _, p := range parts {
		text, isText := p.(string)
		if isText {
			f.WriteString(strings.ReplaceAll(text, "%", "%%"))
			continue
		}
		d := p.(directive)
		v, err := fc.x(argExprs[k])
		if err != nil {
			return "", true, err
		}
		k++
		if d.flags == "" && d.width == "" && d.prec == "" {
			f.WriteString("%" + string(d.typ))
			args = append(args, v)
			continue
		}
		spec := ""
		if strings.Contains(d.flags, "-") {
			spec += "<"
		}
		if strings.Contains(d.flags, "+") {
			spec += "+"
		} else if strings.Contains(d.flags, " ") {
			spec += " "
		}
		if strings.Contains(d.flags, "0") && !strings.Contains(d.flags, "-") {
			spec += "0"
		}
		spec += d.width + d.prec
		switch d.typ {
		case 'd', 'i', 'u':
			spec += "d"
		case 's', 'r', 'a':
		case 'c':
			return "", false, nil
		default:
			spec += string(d.typ)
		}
		if d.typ == 'r' || d.typ == 'a' {
			v = "repr(" + v + ")"
		}
		fc.c.helpers["_fmt"] = true
		f.WriteString("%s")
		args = append(args, fmt.Sprintf("_fmt(%s, %s)", v, quote(spec)))
	}
	return fmt.Sprintf("(%s %% (%s,))", quote(f.String()), strings.Join(args, ", ")), true, nil
}

// format rewrites a literal "...".format(...) when a field has a format
// spec; ok false keeps the call as it is.
func (fc *fnCtx) format(lit *python.Str, call *python.Call) (string, bool, error) {
	s := lit.Value
	if !strings.Contains(s, ":") {
		return "", false, nil
	}
	type field struct {
		key  string
		conv byte
		spec string
	}
	var parts []any
	spec := false
	var text strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case (c == '{' || c == '}') && i+1 < len(s) && s[i+1] == c:
			text.WriteByte(c)
			i++
		case c == '}':
			return "", false, nil
		case c == '{':
			j := strings.IndexByte(s[i:], '}')
			if j < 0 || strings.Contains(s[i+1:i+j], "{") {
				return "", false, nil // nested fields: kept
			}
			body := s[i+1 : i+j]
			fl := field{}
			if k := strings.IndexByte(body, ':'); k >= 0 {
				fl.spec, body = body[k+1:], body[:k]
				spec = true
			}
			if k := strings.IndexByte(body, '!'); k >= 0 {
				if k+1 < len(body) {
					fl.conv = body[k+1]
				}
				body = body[:k]
			}
			if strings.ContainsAny(body, ".[") {
				return "", false, nil
			}
			fl.key = body
			if text.Len() > 0 {
				parts = append(parts, text.String())
				text.Reset()
			}
			parts = append(parts, fl)
			i += j
		default:
			text.WriteByte(c)
		}
	}
	if text.Len() > 0 {
		parts = append(parts, text.String())
	}
	if !spec {
		return "", false, nil
	}
	for _, a := range call.Args {
		if _, ok := a.(*python.Starred); ok {
			return "", false, nil
		}
	}
	kw := map[string]python.Expr{}
	for _, k := range call.Keywords {
		if k.Name == "" {
			return "", false, nil
		}
		kw[k.Name] = k.Value
	}
	var f strings.Builder
	var args []string
	auto := 0
	for _, p := range parts {
		if t, ok := p.(string); ok {
			f.WriteString(strings.ReplaceAll(t, "%", "%%"))
			continue
		}
		fl := p.(field)
		var e python.Expr
		switch {
		case fl.key == "":
			if auto >= len(call.Args) {
				return "", false, nil
			}
			e = call.Args[auto]
			auto++
		case fl.key[0] >= '0' && fl.key[0] <= '9':
			n, err := strconv.Atoi(fl.key)
			if err != nil || n >= len(call.Args) {
				return "", false, nil
			}
			e = call.Args[n]
		default:
			var ok bool
			if e, ok = kw[fl.key]; !ok {
				return "", false, nil
			}
		}
		v, err := fc.x(e)
		if err != nil {
			return "", true, err
		}
		if fl.conv == 'r' || fl.conv == 'a' {
			v = "repr(" + v + ")"
		}
		if fl.spec != "" {
			fc.c.helpers["_fmt"] = true
			v = fmt.Sprintf("_fmt(%s, %s)", v, quote(fl.spec))
		}
		f.WriteString("%s")
		args = append(args, v)
	}
	return fmt.Sprintf("(%s %% (%s,))", quote(f.String()), strings.Join(args, ", ")), true, nil
}
