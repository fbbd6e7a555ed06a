package script

import (
	"strings"
	"testing"

	"github.com/horde-load/horde/internal/scenario"
)

// setup and teardown globals become the plan's once-per-test steps; a
// value that is not a function of the user is an error naming the global.
func TestHooks(t *testing.T) {
	base := "host = \"http://127.0.0.1:1\"\ndef t(u):\n    pass\nusers = [user(\"a\", tasks = {t: 1})]\n"
	plan, err := Parse("h.star", ".", []byte(base+"def s(u):\n    pass\nsetup = s\nteardown = s\n"), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Setup) != 1 || plan.Setup[0].Script == nil || plan.Setup[0].Script.Run == nil || len(plan.Teardown) != 1 {
		t.Fatalf("setup %+v, teardown %+v", plan.Setup, plan.Teardown)
	}
	if p := plan.Setup[0].Pos; p.Line != 5 {
		t.Errorf("setup placed at %v, want line 5 (its def)", p)
	}
	for _, tc := range []struct{ src, want string }{
		{"setup = 3\n", "setup must be a function of the user, got int"},
		{"def s():\n    pass\nteardown = s\n", "teardown: "},
	} {
		_, err := Parse("h.star", ".", []byte(base+tc.src), scenario.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.want)
		}
	}
}
