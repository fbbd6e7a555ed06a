package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde"
)

func TestCounts(t *testing.T) {
	cls := func(ws ...[2]int) []horde.Class {
		var out []horde.Class
		for _, w := range ws {
			out = append(out, horde.Class{Name: "c", Weight: w[0], Count: w[1]})
		}
		return out
	}
	tests := []struct {
		name    string
		classes []horde.Class
		n       int
		want    []int
	}{
		{"one class", cls([2]int{1, 0}), 7, []int{7}},
		{"equal weights", cls([2]int{1, 0}, [2]int{1, 0}), 5, []int{3, 2}},
		{"3/1", cls([2]int{3, 0}, [2]int{1, 0}), 8, []int{6, 2}},
		{"3/2/1/1 exact", cls([2]int{3, 0}, [2]int{2, 0}, [2]int{1, 0}, [2]int{1, 0}), 70, []int{30, 20, 10, 10}},
		{"fixed first", cls([2]int{1, 2}, [2]int{1, 0}), 5, []int{2, 3}},
		{"fixed only caps", cls([2]int{1, 2}), 5, []int{2}},
		{"large weights scaled", cls([2]int{999, 0}, [2]int{1, 0}), 1000, []int{999, 1}},
		{"zero users", cls([2]int{1, 0}), 0, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Counts(tt.classes, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
}

// Every prefix of the spawn order is within one user of the exact share.
func TestSpawnOrder_PrefixesEven(t *testing.T) {
	classes := []horde.Class{{Name: "a", Weight: 5}, {Name: "b", Weight: 3}, {Name: "c", Weight: 1}}
	o, err := NewSpawnOrder(classes)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 3)
	for k := 1; k <= 500; k++ {
		counts[o.Class(k-1)]++
		for i, c := range classes {
			exact := float64(k) * float64(c.Weight) / 9
			if d := float64(counts[i]) - exact; d > 1 || d < -1 {
				t.Fatalf("after %d users class %s has %d, exact share %.2f", k, c.Name, counts[i], exact)
			}
		}
	}
}

func TestCounts_Errors(t *testing.T) {
	for _, classes := range [][]horde.Class{
		nil,
		{{Name: "a", Weight: 0}},
		{{Name: "a", Weight: 1, Count: -1}},
	} {
		if _, err := Counts(classes, 3); err == nil {
			t.Errorf("Counts(%+v): no error", classes)
		}
	}
}
