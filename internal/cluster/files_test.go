package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/scenario"
)

func TestDataFiles_RequestFiles(t *testing.T) {
	src := []byte(`host: http://x
data:
  creds: {file: users.csv}
users:
  - name: a
    on_start:
      - post: /login
        body_file: login.json
    tasks:
      - post: /upload
        multipart:
          fields: {title: x}
          files:
            doc: {file: files/doc.pdf, content_type: application/pdf}
            pic: {file: ../pic.png}
      - name: flow
        steps:
          - put: /raw
            body_file: &raw raw.bin
          - put: /again
            body_file: *raw
`)
	got := DataFiles(src)
	want := []string{"login.json", "files/doc.pdf", "../pic.png", "raw.bin", "raw.bin", "users.csv"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DataFiles (-want +got):\n%s", diff)
	}
}

// The files a request sends are shipped with the scenario and laid out
// again where the worker compiles it.
func TestNewScenario_ShipsRequestFiles(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "s")
	os.MkdirAll(filepath.Join(sub, "files"), 0o755)
	os.WriteFile(filepath.Join(sub, "files", "doc.pdf"), []byte("%PDF"), 0o644)
	os.WriteFile(filepath.Join(dir, "body.json"), []byte(`{"a":1}`), 0o644)
	src := []byte("users:\n  - tasks:\n      - post: /\n        body_file: ../body.json\n      - post: /u\n        multipart: {files: {doc: {file: files/doc.pdf}}}\n")
	s, err := NewScenario(filepath.Join(sub, "t.yaml"), src, "", scenario.TLSFlags{})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	at, err := s.Materialize(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"../body.json": `{"a":1}`, "files/doc.pdf": "%PDF"} {
		b, err := os.ReadFile(filepath.Join(at, name))
		if err != nil || string(b) != want {
			t.Errorf("%s on the worker: %q, %v; want %q", name, b, err, want)
		}
	}
}
