package python

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any input either parses or fails with an *Error whose place is
// inside the file; a parsed file's classes can be listed.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../locustfile/testdata/*.py")
	more, _ := filepath.Glob("testdata/*.py")
	for _, name := range append(files, more...) {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, s := range []string{"x = f'{a!r:{b}}'\n", "if x:\n  y\n z\n", "(", "'''", "\\\n", "@d\nclass A(B): pass\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		m, err := Parse("f.py", src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if pe.Pos.Line < 1 || pe.Pos.Col < 1 || pe.Pos.Line > countLines(src)+1 {
				t.Fatalf("error place %v outside the file (%d lines): %v", pe.Pos, countLines(src), err)
			}
			return
		}
		for _, c := range Classes(m) {
			_ = c.Name
			for _, a := range c.Attrs {
				Literal(a.Value)
			}
		}
	})
}

func countLines(b []byte) int {
	n := 1
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
