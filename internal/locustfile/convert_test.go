package locustfile

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/script"
)

var update = flag.Bool("update", false, "rewrite the golden .star files")

// TestGolden converts every testdata/*.py, compares the result with its
// .star golden file (go test -update rewrites them) and loads it as a
// horde scenario: it must be valid.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.py")
	if len(files) < 2 {
		t.Fatal("no corpus")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Convert(filepath.Base(f), src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(f, ".py") + ".star"
			if *update {
				if err := os.WriteFile(golden, res.Star, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestGolden -update writes it)", err)
			}
			if d := cmp.Diff(string(want), string(res.Star)); d != "" {
				t.Errorf("%s differs (-want +got):\n%s", golden, d)
			}
			plan, err := script.Parse(golden, "testdata", res.Star, scenario.Options{Host: "http://127.0.0.1:1"})
			if err != nil {
				t.Fatalf("the converted file is not valid:\n%v\n%s", err, res.Star)
			}
			if len(plan.Classes) != len(res.Users) {
				t.Errorf("%d classes in the plan, %d converted", len(plan.Classes), len(res.Users))
			}
		})
	}
}

// The converted classes as a Locust-protocol master reads them: inherited
// attributes resolved, abstract bases left out.
func TestUsers(t *testing.T) {
	src := `from locust import HttpUser, task, tag, between, constant
@tag("web")
class Base(HttpUser):
    abstract = True
    host = "http://127.0.0.1:8080"
    weight = 3
    wait_time = between(1, 3)
    @task(2)
    def a(self):
        self.client.get("/a")
class Web(Base):
    @task
    def b(self):
        self.client.get("/b")
class Api(HttpUser):
    fixed_count = 2
    wait_time = constant(0.5)
    @task
    def c(self):
        self.client.get("/c")
`
	res, err := Convert("u.py", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []User{
		{Name: "Web", Pos: res.Users[0].Pos, Bases: []string{"Base"}, Weight: 3, Host: "http://127.0.0.1:8080", Wait: "between(1, 3)",
			Tasks: []Task{{Name: "a", Weight: 2}, {Name: "b", Weight: 1}}},
		{Name: "Api", Pos: res.Users[1].Pos, Bases: []string{"HttpUser"}, Weight: 1, FixedCount: 2, Wait: "constant(0.5)",
			Tasks: []Task{{Name: "c", Weight: 1}}},
	}
	if d := cmp.Diff(want, res.Users); d != "" {
		t.Errorf("users (-want +got):\n%s", d)
	}
	if res.Users[0].Pos.Line != 11 {
		t.Errorf("Web at %v, want line 11", res.Users[0].Pos)
	}
}
