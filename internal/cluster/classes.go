package cluster

import (
	"errors"
	"fmt"

	"github.com/horde-load/horde"
)

// maxCycle bounds the precomputed weighted sequence; larger weight sums are
// scaled down (keeping every class at least weight 1).
const maxCycle = 1 << 16

// SpawnOrder decides which class the k-th user (0-based) belongs to, as
// Locust does: users of fixed-count classes first, then the other classes
// interleaved by smooth weighted round-robin, so that any prefix of the
// sequence is spread over the classes as evenly as integer counts allow.
type SpawnOrder struct {
	fixed []int // class index of each fixed-count user
	cycle []int // one period of the weighted round-robin
}

func NewSpawnOrder(classes []horde.Class) (*SpawnOrder, error) {
	if len(classes) == 0 {
		return nil, errors.New("no user classes")
	}
	o := &SpawnOrder{}
	var weighted []int
	sum := 0
	for i, c := range classes {
		switch {
		case c.Count < 0:
			return nil, fmt.Errorf("class %q: count %d < 0", c.Name, c.Count)
		case c.Count > 0:
			for j := 0; j < c.Count; j++ {
				o.fixed = append(o.fixed, i)
			}
		case c.Weight <= 0:
			return nil, fmt.Errorf("class %q: weight %d must be > 0", c.Name, c.Weight)
		default:
			weighted = append(weighted, i)
			sum += c.Weight
		}
	}
	if len(weighted) == 0 {
		return o, nil
	}
	weights := make([]int, len(weighted))
	g := 0
	for j, i := range weighted {
		weights[j] = classes[i].Weight
		g = gcd(g, weights[j])
	}
	sum = 0
	for j := range weights {
		weights[j] /= g
		sum += weights[j]
	}
	if sum > maxCycle {
		scaled := 0
		for j := range weights {
			weights[j] = max(1, weights[j]*maxCycle/sum)
			scaled += weights[j]
		}
		sum = scaled
	}
	current := make([]int, len(weights))
	o.cycle = make([]int, 0, sum)
	for range sum {
		best := 0
		for j, w := range weights {
			current[j] += w
			if current[j] > current[best] {
				best = j
			}
		}
		current[best] -= sum
		o.cycle = append(o.cycle, weighted[best])
	}
	return o, nil
}

// Class returns the class index of user k, or -1 when only fixed-count
// classes exist and k is past them.
func (o *SpawnOrder) Class(k int) int {
	if k < len(o.fixed) {
		return o.fixed[k]
	}
	if len(o.cycle) == 0 {
		return -1
	}
	return o.cycle[(k-len(o.fixed))%len(o.cycle)]
}

// Limit is the largest user count the classes allow (fixed-only plans cannot grow).
func (o *SpawnOrder) Limit() int {
	if len(o.cycle) == 0 {
		return len(o.fixed)
	}
	return int(^uint(0) >> 1)
}

// Counts returns how many of the first n users in spawn order each of the
// k classes gets, without walking the n users.
func (o *SpawnOrder) Counts(n, k int) []int {
	out := make([]int, k)
	f := min(n, len(o.fixed))
	for _, c := range o.fixed[:f] {
		out[c]++
	}
	n -= f
	if n <= 0 || len(o.cycle) == 0 {
		return out
	}
	q, r := n/len(o.cycle), n%len(o.cycle)
	for i, c := range o.cycle {
		out[c] += q
		if i < r {
			out[c]++
		}
	}
	return out
}

// Counts returns how many of n users each class gets: the master splits
// a run's users over the classes with it, then over the workers (Share).
func Counts(classes []horde.Class, n int) ([]int, error) {
	o, err := NewSpawnOrder(classes)
	if err != nil {
		return nil, err
	}
	return o.Counts(min(max(n, 0), o.Limit()), len(classes)), nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
