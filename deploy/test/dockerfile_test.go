package deploytest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The real-cluster tier's image (deploy/build.sh's binary packed by hack/mkimage.sh:
// /usr/local/bin/horde, user 65532, entrypoint horde) stands for deploy/Dockerfile's;
// these are the lines that make them the same.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repo, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{
		"RUN sh deploy/build.sh /out/horde",
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"COPY --from=build /out/horde /usr/local/bin/horde",
		"USER 65532:65532",
		`ENTRYPOINT ["horde"]`,
	} {
		if !strings.Contains(df, want+"\n") && !strings.Contains(df, want+" ") {
			t.Errorf("deploy/Dockerfile: no line %q", want)
		}
	}
	build, err := os.ReadFile(filepath.Join(repo, "deploy", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0 go build -trimpath"} {
		if !strings.Contains(string(build), want) {
			t.Errorf("deploy/build.sh: no %q", want)
		}
	}
}

// .dockerignore must keep every file the build needs: the packages of cmd/horde in
// this repository and the files they embed.
func TestDockerignore(t *testing.T) {
	f, err := os.Open(filepath.Join(repo, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ignored []string // patterns, relative to the repository
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ignored = append(ignored, strings.TrimPrefix(line, "/"))
	}
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`, "./cmd/horde")
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	needed := []string{"go.mod", "go.sum", "deploy/build.sh"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		rel, err := filepath.Rel(repo, f[0])
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a module from the cache
		}
		for _, file := range f[1:] {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, file)))
		}
	}
	for _, file := range needed {
		for _, pat := range ignored {
			if matchIgnore(pat, file) {
				t.Errorf(".dockerignore: %q leaves out %s, which the build needs", pat, file)
			}
		}
	}
	if len(needed) < 20 {
		t.Errorf("go list found only %d files: %v", len(needed), needed)
	}
}

// matchIgnore reports whether a .dockerignore pattern covers file (or a directory above it).
func matchIgnore(pat, file string) bool {
	if base, ok := strings.CutPrefix(pat, "**/"); ok {
		m, _ := filepath.Match(base, filepath.Base(file))
		return m
	}
	for p := file; p != "." && p != "/"; p = filepath.Dir(p) {
		if m, _ := filepath.Match(pat, p); m {
			return true
		}
	}
	return false
}
