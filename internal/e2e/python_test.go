//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/python"
)

// The locustfile reader against Python's own parser: for every Python file
// of the test corpora, internal/python's tree (python.Dump) equals the one
// CPython's ast module gives (internal/python/testdata/dump.py), places
// included.
func TestPython_SameTreeAsCPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		skipOrFail(t, "python3 not installed (Debian package python3, a dependency of python3-locust)")
	}
	var files []string
	for _, dir := range []string{"internal/python/testdata", "internal/locustfile/testdata"} {
		fs, _ := filepath.Glob(filepath.Join(repoRoot, dir, "*.py"))
		files = append(files, fs...)
	}
	dump := filepath.Join(repoRoot, "internal", "python", "testdata", "dump.py")
	n := 0
	for _, f := range files {
		if f == dump {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := exec.Command(py, dump, f).Output()
			if err != nil {
				t.Fatalf("python3 %s %s: %v", dump, f, err)
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := python.Parse(f, src)
			if err != nil {
				t.Fatal(err)
			}
			got := python.Dump(m)
			if d := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(got)); d != "" {
				t.Errorf("internal/python's tree differs from CPython's (-cpython +ours):\n%s", d)
			}
		})
	}
	if n < 5 {
		t.Fatalf("only %d files", n)
	}
}
