package compare

import (
	"math"
	"slices"
	"sort"
)

// MinPeriods is the least number of periods on each side for the rank
// test to judge; with fewer it cannot reach significance and says so.
const MinPeriods = 4

// Alpha is the significance level of the rank test: per-period values of
// one run are not independent (a drift, an incident), so a stricter level
// than the usual 5 % keeps a quiet rerun from reading as a change.
const Alpha = 0.01

// MannWhitney is the two-sided Mann–Whitney U test of x against y: the
// probability, were both samples drawn from one distribution, of ranks as
// far apart as these. It is exact (by enumeration of the U distribution)
// when neither sample has more than 25 values and there are no ties, and
// the normal approximation with tie and continuity corrections otherwise.
// It returns NaN when a sample is empty.
func MannWhitney(x, y []float64) float64 {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return math.NaN()
	}
	type obs struct {
		v float64
		a bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var r1, tieSum float64
	ties := false
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // ranks i+1..j averaged
		if t := float64(j - i); t > 1 {
			ties = true
			tieSum += t*t*t - t
		}
		for k := i; k < j; k++ {
			if all[k].a {
				r1 += rank
			}
		}
		i = j
	}
	u1 := r1 - float64(n1*(n1+1))/2
	u := math.Min(u1, float64(n1*n2)-u1)
	if !ties && n1 <= 25 && n2 <= 25 {
		return math.Min(1, 2*exactUCDF(n1, n2, int(math.Round(u))))
	}
	n := float64(n1 + n2)
	mean := float64(n1*n2) / 2
	sd := math.Sqrt(float64(n1*n2) / 12 * (n + 1 - tieSum/(n*(n-1))))
	if sd == 0 {
		return 1
	}
	z := (mean - u - 0.5) / sd
	if z < 0 {
		return 1
	}
	return math.Min(1, math.Erfc(z/math.Sqrt2))
}

// exactUCDF is P(U <= u) for samples of n1 and n2 without ties: the number
// of arrangements with U = k, counted by the usual recursion over the
// largest value, divided by C(n1+n2, n1).
func exactUCDF(n1, n2, u int) float64 {
	// f[i][j][k]: arrangements of i x's and j y's with U = k.
	maxU := n1 * n2
	prev := make([][]float64, n2+1)
	for j := range prev {
		prev[j] = make([]float64, maxU+1)
		prev[j][0] = 1 // no x: U = 0
	}
	for i := 1; i <= n1; i++ {
		cur := make([][]float64, n2+1)
		for j := 0; j <= n2; j++ {
			cur[j] = make([]float64, maxU+1)
			for k := 0; k <= i*j; k++ {
				// the largest value is an x (it beats all j y's) or a y
				v := 0.0
				if k-j >= 0 {
					v += prev[j][k-j]
				}
				if j > 0 {
					v += cur[j-1][k]
				}
				cur[j][k] = v
			}
		}
		prev = cur
	}
	total, below := 0.0, 0.0
	for k, c := range prev[n2] {
		total += c
		if k <= u {
			below += c
		}
	}
	return below / total
}

// median of xs (NaN when empty); xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
