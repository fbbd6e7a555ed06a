package locust

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadClasses(t *testing.T) {
	src := `from locust import HttpUser, FastHttpUser, User, task, tag, between
import locust

class Base(HttpUser):
    abstract = True
    host = "http://base"

@tag("web")
class Browser(HttpUser):
    weight = 3
    host = "http://127.0.0.1:8080"
    wait_time = between(1, 2)

    @tag("read", "fast")
    @task(2)
    def index(self):
        self.client.get("/")

class Admin(locust.FastHttpUser):
    fixed_count = 1

    @task
    def stats(self):
        self.client.get("/stats")

class Derived(Browser):
    weight = 2

class Helper:
    weight = 7

class Zero(User):
    weight = 0
`
	got, notes, err := ReadClasses("lf.py", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []UserClass{
		{Name: "Browser", Base: "HttpUser", Weight: 3, Host: "http://127.0.0.1:8080", Tags: []string{"fast", "read", "web"}, Line: 9},
		{Name: "Admin", Base: "FastHttpUser", Weight: 1, FixedCount: 1, Line: 19},
		{Name: "Derived", Base: "Browser", Weight: 2, Line: 26},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "Zero has weight 0") {
		t.Errorf("notes %q", notes)
	}
}

func TestReadClasses_Seed(t *testing.T) {
	src, err := os.ReadFile("../locustfile/testdata/seed.py")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := ReadClasses("seed.py", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "APIUser" || got[0].Weight != 1 {
		t.Errorf("seed classes %+v", got)
	}
}

func TestReadClasses_Errors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"from locust import HttpUser\nclass A(HttpUser):\n    weight = int('3')\n", "lf.py:3:5: weight is not a number"},
		{"from locust import HttpUser\nclass A(HttpUser):\n    fixed_count = -1\n", "lf.py:3:5: fixed_count = -1 is out of range"},
		{"class A(HttpUser)\n    pass\n", "lf.py:1:"},
		{"import os\n", "no User class found"},
	} {
		_, _, err := ReadClasses("lf.py", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.src, err, c.want)
		}
	}
	// What only the workers need (they evaluate it) is a note, not an error.
	got, notes, err := ReadClasses("lf.py", []byte(`import os
from locust import HttpUser, task, tag
TAGS = ["a"]

class A(HttpUser):
    host = os.getenv("TARGET_HOST", "http://127.0.0.1:8080")
    weight = 2

    @tag(*TAGS)
    @task
    def t(self):
        pass

    @tag("b")
    @task
    def u(self):
        pass
`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]UserClass{{Name: "A", Base: "HttpUser", Weight: 2, HostUnread: true, Tags: []string{"b"}, Line: 5}}, got); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "lf.py:6:5: class A: host is an expression") || !strings.Contains(notes[1], "class A: lf.py:9:6: @tag with a value horde cannot read") {
		t.Errorf("notes %q", notes)
	}
	_, notes, _ = ReadClasses("lf.py", []byte("from base import MyUser\nclass A(MyUser):\n    pass\nclass B(OtherUser):\n    pass\n"))
	if len(notes) != 2 || !strings.Contains(notes[0], "lf.py:2:1: class A(MyUser) is not read as a User class") {
		t.Errorf("notes %q", notes)
	}
}
