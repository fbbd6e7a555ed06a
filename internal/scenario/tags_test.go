package scenario

import (
	"strings"
	"testing"
)

const taggedSrc = `host: http://127.0.0.1:1
users:
  - name: api
    tasks:
      - get: /r
        name: read
        tags: [read]
      - get: /w
        name: write
        tags: write
      - name: both
        tags: [read, write]
        steps:
          - get: /b
  - name: admin
    tags: [admin]
    tasks:
      - get: /a
        name: list
`

func taskNames(p *Plan) string {
	var out []string
	for _, c := range p.Classes {
		for _, t := range c.Tasks {
			out = append(out, c.Name+"/"+t.Name)
		}
	}
	return strings.Join(out, " ")
}

func TestSelectTags(t *testing.T) {
	for _, c := range []struct {
		tags, exclude []string
		want          string
	}{
		{nil, nil, "api/read api/write api/both admin/list"},
		{[]string{"read"}, nil, "api/read api/both"},
		{[]string{"admin"}, nil, "admin/list"},
		{nil, []string{"write"}, "api/read admin/list"},
		{[]string{"read"}, []string{"write"}, "api/read"},
		{nil, []string{"admin"}, "api/read api/write api/both"},
	} {
		p, err := Parse("t.yaml", ".", []byte(taggedSrc), Options{Tags: c.tags, ExcludeTags: c.exclude})
		if err != nil {
			t.Fatalf("%v -%v: %v", c.tags, c.exclude, err)
		}
		if got := taskNames(p); got != c.want {
			t.Errorf("tags %v exclude %v: %q, want %q", c.tags, c.exclude, got, c.want)
		}
	}
	for _, c := range []struct {
		tags, exclude []string
		msg           string
	}{
		{[]string{"raed"}, nil, "--tags raed: no task or user class of t.yaml has this tag (tags: admin, read, write)"},
		{nil, []string{"nope"}, "--exclude-tags nope"},
		{[]string{"admin"}, []string{"admin"}, "no task of t.yaml is left"},
	} {
		_, err := Parse("t.yaml", ".", []byte(taggedSrc), Options{Tags: c.tags, ExcludeTags: c.exclude})
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("tags %v exclude %v: %v, want %q", c.tags, c.exclude, err, c.msg)
		}
	}
	_, err := Parse("t.yaml", ".", []byte(strings.Replace(taggedSrc, "tags: write", "tags: [write, write, \"a b\"]", 1)), Options{})
	if err == nil || !strings.Contains(err.Error(), `t.yaml:10:23:`) || !strings.Contains(err.Error(), `tag "write" is listed twice`) || !strings.Contains(err.Error(), `tag "a b"`) {
		t.Errorf("bad tags: %v", err)
	}
}
