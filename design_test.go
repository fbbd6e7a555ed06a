package horde_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The package graph of docs/design.md ("Packages and their imports"),
// checked: each package must not import (directly or not) the ones listed.
func TestDesign_Imports(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool to list the packages' dependencies")
	}
	const mod = "github.com/horde-load/horde/"
	forbidden := map[string][]string{
		"internal/master":   {"internal/engine", "internal/httpload", "internal/worker", "internal/report", "internal/run", "internal/store", "internal/web"},
		"internal/engine":   {"internal/master", "internal/worker", "internal/run", "internal/store", "internal/web"},
		"internal/worker":   {"internal/master", "internal/run", "internal/cluster/rpc", "internal/web"},
		"internal/web":      {"internal/master", "internal/engine", "internal/run", "internal/worker"},
		"internal/soak":     {"internal/monitor", "internal/store", "internal/report", "internal/run"},
		"internal/report":   {"internal/store", "internal/master", "internal/run"},
		"internal/store":    {"internal/master", "internal/run", "internal/report"},
		"internal/locust":   {"internal/master", "internal/engine", "internal/worker", "internal/run", "internal/web"},
		"internal/stats":    {"internal/"},
		"internal/series":   {"internal/"},
		"internal/scenario": {"internal/engine", "internal/master", "internal/run", "internal/stats"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if !strings.HasPrefix(dep, mod) || dep == mod+pkg {
				continue
			}
			rel := strings.TrimPrefix(dep, mod)
			for _, b := range bad {
				if rel == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(rel, b)) || strings.HasPrefix(rel, b+"/") {
					t.Errorf("%s imports %s (docs/design.md: it must not)", pkg, rel)
				}
			}
		}
	}
}

// cli wires: it drives runs through internal/run, never the master itself.
func TestDesign_CLIDrivesRuns(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool to list the packages' imports")
	}
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, "./cli").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if imp == "github.com/horde-load/horde/internal/master" {
			t.Errorf("cli imports internal/master directly; it drives runs through internal/run")
		}
	}
}
