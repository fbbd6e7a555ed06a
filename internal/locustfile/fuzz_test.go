package locustfile

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzConvert: whatever the file, Convert returns a result or an error; it
// never panics.
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.py")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		res, err := Convert("f.py", src, Options{Tags: nil})
		if err == nil && len(res.Star) == 0 {
			t.Fatal("no output and no error")
		}
	})
}
