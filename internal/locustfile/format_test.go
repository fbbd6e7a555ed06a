package locustfile

import (
	"fmt"
	"testing"

	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/script"
)

// TestFormat runs converted %, format() and f-string format specs in the
// Starlark runtime and compares them with what Python 3 prints.
func TestFormat(t *testing.T) {
	src := `from locust import HttpUser, task
import random
A = "item-%03d %5.1f|%-4s|%+d" % (7, 2.345, "x", 5)
B = "{:.2f} {} {name:>4}".format(1.005, "a", name="b")
C = f"{3:03d}|{3.14159:.2f}|{-2.5:08.3f}|{'ab':<5}|{'ab':>5}|{'ab':^6}|{42:x}|{255:X}|{5:b}|{0.256:.1%}|{7:+d}|{1234.5:10.1f}|{'abcdef':.3}|{-3:05d}|{2.0}"
D = "%s and %d%%" % ("plain", 5)
E = f"{A!r:>3} {1 + 1=}"
F = "{} {}".format(1, "x")
R = random.randrange(10) in range(10) and len(random.sample([1, 2, 3], 2)) == 2 and 0 <= random.random() < 1

class U(HttpUser):
    @task
    def t(self):
        pass
`
	want := map[string]string{ // python3 -c 'print(repr(...))'
		"A": "item-007   2.3|x   |+5",
		"B": "1.00 a    b",
		"C": "003|3.14|-002.500|ab   |   ab|  ab  |2a|FF|101|25.6%|+7|    1234.5|abc|-0003|2.0",
		"D": "plain and 5%",
		"E": `"item-007   2.3|x   |+5" 1 + 1=2`, // Starlark's repr quotes with "

		"F": "1 x",
	}
	res, err := Convert("f.py", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	star := string(res.Star)
	for k, v := range want {
		star += fmt.Sprintf("if %s != %s:\n    fail(\"%s = %%r, want %%r\" %% (%s, %s))\n", k, quote(v), k, k, quote(v))
	}
	star += "if not R:\n    fail(\"random helpers\")\n"
	if _, err := script.Parse("f.star", ".", []byte(star), scenario.Options{Host: "http://127.0.0.1:1"}); err != nil {
		t.Fatalf("%v\n%s", err, star)
	}
}
