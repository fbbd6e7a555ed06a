package cluster

// Share returns the users of each class that worker i of n runs, given the
// run's per-class totals.
//
// Every worker gets total/n users of each class; the remainder of a class
// goes one user each to the workers that follow where the previous class's
// remainder ended (cyclically). So each class is within one user of even,
// each worker's total is within one user of every other's, and the shares
// add up exactly to the totals. A worker computes its share from its index
// alone, with integers: nothing is accumulated or rounded (the idea of k6's
// execution segments).
func Share(classUsers []int, n, i int) []int {
	out := make([]int, len(classUsers))
	if n <= 0 || i < 0 || i >= n {
		return out
	}
	start := 0
	for c, u := range classUsers {
		base, rem := u/n, u%n
		out[c] = base
		if off := (i - start + n) % n; off < rem {
			out[c]++
		}
		start = (start + rem) % n
	}
	return out
}

// ShareRate returns a worker's share of the spawn rate: in proportion to its
// users, so that every worker finishes its ramp at the same time.
func ShareRate(rate float64, workerUsers, totalUsers int) float64 {
	if totalUsers <= 0 || rate <= 0 {
		return rate
	}
	return rate * float64(workerUsers) / float64(totalUsers)
}
