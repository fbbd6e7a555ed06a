package scenario

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// UUID draws from the source it is given: a seeded source repeats its
// UUIDs, and each is a version 4, RFC 4122 variant UUID.
func TestUUID_FromTheSource(t *testing.T) {
	form := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for range 100 {
		x, y := UUID(a.Uint64), UUID(b.Uint64)
		if x != y {
			t.Fatalf("same seed, different UUIDs: %s, %s", x, y)
		}
		if !form.MatchString(x) {
			t.Fatalf("%s is not a version 4 UUID", x)
		}
		if seen[x] {
			t.Fatalf("%s repeated", x)
		}
		seen[x] = true
	}
	if got := UUID(func() uint64 { return 0 }); got != "00000000-0000-4000-8000-000000000000" {
		t.Errorf("all-zero source: %s", got)
	}
}
