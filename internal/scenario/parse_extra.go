// This file parses what a request may add to its method, URL and body:
// auth, multipart bodies, files, on_failure; and the think-time step.

package scenario

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// failPolicy reads on_failure: continue or stop_task.
func (p *parser) failPolicy(n *yaml.Node) string {
	v, ok := p.str(n, "on_failure")
	if !ok {
		return ""
	}
	if !slices.Contains(failPolicies, v) {
		msg := fmt.Sprintf("unknown on_failure %q; want continue or stop_task", v)
		if s := suggest(v, failPolicies); s != "" {
			msg = fmt.Sprintf("unknown on_failure %q; did you mean %q?", v, s)
		}
		p.errorf(n, "%s", msg)
		return ""
	}
	return v
}

// auth reads auth: {basic: [user, pass]} or {bearer: TOKEN}. Both become
// an Authorization header, computed here when nothing is templated.
func (p *parser) auth(e pair, s *Step, f map[string]pair) {
	ps, ok := p.pairs(e.val, "auth")
	if !ok {
		return
	}
	if len(ps) == 0 {
		p.errorf(e.val, "auth is empty: want basic or bearer")
		return
	}
	if hasHeader(p, f, "Authorization") {
		p.errorf(e.key, "auth and an Authorization header; use one")
		return
	}
	for i, a := range ps {
		if !slices.Contains(authKinds, a.name) {
			p.unknownKey(a.key, a.name, "auth", authKinds)
			continue
		}
		if i > 0 {
			p.errorf(a.key, "auth has both %s and %s; use one", ps[0].name, a.name)
			continue
		}
		var value *Template
		switch a.name {
		case "bearer":
			t, ok := p.str(a.val, "bearer")
			if !ok {
				continue
			}
			if p.template(a.val, t) == nil { // errors placed in the token
				continue
			}
			value, _ = compileTemplate("Bearer "+t, p.rt)
		case "basic":
			r := p.resolve(a.val)
			if r == nil || r.Kind != yaml.SequenceNode || len(r.Content) != 2 {
				p.errorf(a.val, "basic must be [user, password]")
				continue
			}
			ut, ok1 := p.text(r.Content[0], "basic user")
			pt, ok2 := p.text(r.Content[1], "basic password")
			if !ok1 || !ok2 {
				continue
			}
			u, pw := p.template(r.Content[0], ut), p.template(r.Content[1], pt)
			if u == nil || pw == nil {
				continue
			}
			us, ok1 := u.Static()
			ps, ok2 := pw.Static()
			if !ok1 || !ok2 {
				s.BasicUser, s.BasicPass = u, pw
				s.Header = slices.DeleteFunc(s.Header, func(d Param) bool { return strings.EqualFold(d.Name, "Authorization") })
				continue
			}
			value = &Template{src: BasicAuth(us, ps), static: true}
		}
		if value == nil {
			continue
		}
		s.Header = slices.DeleteFunc(s.Header, func(d Param) bool { return strings.EqualFold(d.Name, "Authorization") })
		s.Header = append(s.Header, Param{Name: "Authorization", Value: value})
	}
}

// hasHeader reports whether the headers: of fields f name the header.
func hasHeader(p *parser, f map[string]pair, name string) bool {
	h, ok := f["headers"]
	if !ok {
		return false
	}
	r := p.resolve(h.val)
	if r == nil || r.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i < len(r.Content); i += 2 {
		if k := p.resolve(r.Content[i]); k != nil && k.Kind == yaml.ScalarNode && strings.EqualFold(k.Value, name) {
			return true
		}
	}
	return false
}

// BasicAuth is the Authorization header value of HTTP basic auth.
func BasicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// maxFileBytes bounds a file a request sends (body_file, multipart): it is
// held in memory and shipped to every worker.
const maxFileBytes = 64 << 20

// readFile reads the file named by scalar n, relative to the scenario.
func (p *parser) readFile(n *yaml.Node, what string) ([]byte, bool) {
	name, ok := p.str(n, what)
	if !ok {
		return nil, false
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, path)
	}
	st, err := os.Stat(path)
	if err == nil && st.IsDir() {
		err = errors.New("is a directory")
	} else if err == nil && !st.Mode().IsRegular() {
		err = errors.New("is not a regular file")
	} else if err == nil && st.Size() > maxFileBytes {
		err = fmt.Errorf("larger than %d MiB", maxFileBytes>>20)
	}
	var b []byte
	if err == nil {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		p.errorf(n, "%s %q: %s", what, name, err)
		return nil, false
	}
	return b, true
}

// multipart compiles multipart: {fields: {...}, files: {field: {file,
// content_type, filename}}} into a body template and its Content-Type.
// File contents are read here, once. The boundary is derived from the
// contents, so that a scenario compiles the same everywhere, and is
// checked not to occur in them.
func (p *parser) multipart(n *yaml.Node) (*Template, string) {
	f := p.fields(n, "multipart", multipartKeys)
	if f == nil {
		return nil, ""
	}
	if r := p.resolve(n); len(f) == 0 && len(r.Content) == 0 {
		p.errorf(n, "multipart is empty: add fields or files")
		return nil, ""
	}
	type part struct {
		header string // the part's header lines, without the boundary line
		value  *Template
		data   []byte
	}
	var parts []part
	if e, ok := f["fields"]; ok {
		for _, prm := range p.params(e.val, "multipart fields", true) {
			parts = append(parts, part{
				header: fmt.Sprintf("Content-Disposition: form-data; name=\"%s\"\r\n", escapeQuotes(prm.Name)),
				value:  prm.Value,
			})
		}
	}
	if e, ok := f["files"]; ok {
		ps, _ := p.pairs(e.val, "multipart files")
		for _, fp := range ps {
			what := "multipart file " + fp.name
			ff := p.fields(fp.val, what, fileKeys)
			if ff == nil {
				continue
			}
			fe, ok := p.need(ff, "file", fp.key, what, "name the file to send")
			if !ok {
				continue
			}
			data, ok := p.readFile(fe.val, "file")
			if !ok {
				continue
			}
			filename := filepath.Base(fe.val.Value)
			if x, ok := ff["filename"]; ok {
				if filename, ok = p.str(x.val, "filename"); !ok {
					continue
				}
			}
			ct := "application/octet-stream"
			if x, ok := ff["content_type"]; ok {
				if ct, ok = p.str(x.val, "content_type"); !ok {
					continue
				}
				if strings.ContainsAny(ct, "\r\n") {
					p.errorf(x.val, "content_type must be one line")
					continue
				}
			}
			parts = append(parts, part{
				header: fmt.Sprintf("Content-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\nContent-Type: %s\r\n",
					escapeQuotes(fp.name), escapeQuotes(filename), ct),
				data: data,
			})
		}
	}
	h := sha256.New()
	for _, pt := range parts {
		h.Write([]byte(pt.header))
		h.Write(pt.data)
		h.Write([]byte(pt.value.String()))
	}
	sum := h.Sum(nil)
	var boundary string
	for i := 0; ; i++ {
		boundary = "horde" + hex.EncodeToString(sum[:12])
		clash := false
		for _, pt := range parts {
			if strings.Contains(string(pt.data), boundary) || strings.Contains(pt.value.String(), boundary) {
				clash = true
			}
		}
		if !clash || i > 100 {
			break
		}
		s := sha256.Sum256(sum)
		sum = s[:]
	}
	b := &jsonBuilder{p: p}
	for _, pt := range parts {
		b.lit([]byte("--" + boundary + "\r\n" + pt.header + "\r\n"))
		if pt.value == nil {
			b.lit(pt.data)
		} else if s, ok := pt.value.Static(); ok {
			b.lit([]byte(s))
		} else {
			b.src.WriteString(pt.value.String())
			b.ops = append(b.ops, op{kind: opRaw, sub: pt.value})
		}
		b.lit([]byte("\r\n"))
	}
	b.lit([]byte("--" + boundary + "--\r\n"))
	return b.template(), "multipart/form-data; boundary=" + boundary
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }

// sleep reads a think-time step: - sleep: 500ms or - sleep: [200ms, 1s].
func (p *parser) sleep(n *yaml.Node, f map[string]pair) *Step {
	e := f["sleep"]
	for _, o := range f {
		if o.name != "sleep" {
			p.errorf(o.key, "a sleep step cannot have %s: put the request in a step of its own", o.name)
		}
	}
	s := &Step{Sleep: true, Pos: p.pos(p.resolve(n))}
	r := p.resolve(e.val)
	if r != nil && r.Kind == yaml.SequenceNode {
		if len(r.Content) != 2 {
			p.errorf(e.val, "sleep must be a duration or [min, max], got a list of %d", len(r.Content))
			return nil
		}
		lo, ok1 := p.duration(r.Content[0], "sleep min")
		hi, ok2 := p.duration(r.Content[1], "sleep max")
		if !ok1 || !ok2 {
			return nil
		}
		if lo > hi {
			p.errorf(e.val, "sleep min %v is greater than max %v", lo, hi)
			return nil
		}
		s.SleepMin, s.SleepMax = lo, hi
		return s
	}
	d, ok := p.duration(e.val, "sleep")
	if !ok {
		return nil
	}
	s.SleepMin, s.SleepMax = d, d
	return s
}

// need is the field key of f; when f has none it is an error at the node at:
// "<what> has no <key>: <hint>".
func (p *parser) need(f map[string]pair, key string, at *yaml.Node, what, hint string) (pair, bool) {
	e, ok := f[key]
	if !ok {
		p.errorf(at, "%s has no %s: %s", what, key, hint)
	}
	return e, ok
}
