package script

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/scenario"
)

// FuzzParse loads arbitrary scripts with a time and step limit per input:
// a script either compiles into classes that can make users, or fails with
// errors that all name a place in a file; it never panics or hangs.
func FuzzParse(f *testing.F) {
	if seed, err := os.ReadFile(filepath.Join("..", "..", "examples", "seed-api.star")); err == nil {
		f.Add(string(seed))
	}
	for _, s := range []string{
		"",
		"users = [user('a', tasks = [lambda u: u.get('/')])]",
		"def f(u):\n    u.get('/')\nusers = [user('a', wait = between(1, 2), tasks = {f: 2})]\n",
		"def f(u)\n",
		"x = 1 +\n",
		"while True:\n    pass\n",
		"load('other.star', 'x')\n",
		"settings = {'users': 3, 'run_time': '1m'}\nusers = []\n",
		"users = [user('a', tasks = [1])]",
		"f = feeder('x.csv')\n",
		"def r(n):\n    return r(n + 1)\nx = r(0)\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src string) {
		l := newLoader(dir)
		l.steps, l.timeout = 1_000_000, 200*time.Millisecond
		t0 := time.Now()
		plan, err := parseWith(l, "f.star", []byte(src), scenario.Options{Host: "http://127.0.0.1:1"})
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("load took %v", d)
		}
		if err != nil {
			var list scenario.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Pos.File == "" || e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Errorf("error without a place: %q", e)
				}
			}
			return
		}
		if len(plan.Classes) == 0 {
			t.Fatal("a plan without classes")
		}
		for _, c := range plan.Classes {
			if c.New == nil || len(c.Tasks) == 0 || c.Weight <= 0 {
				t.Errorf("class %+v", c)
			}
		}
	})
}
