package scenario

import "strings"

// suggest returns the known word closest to s: within an edit distance of
// 2 (ignoring case) that changes at most half of s, or one that is a prefix of s or has s as a prefix.
// It returns "" when nothing is close.
func suggest(s string, known []string) string {
	ls := strings.ToLower(s)
	best, bestD := "", 3
	for _, k := range known {
		lk := strings.ToLower(k)
		d := editDistance(ls, lk)
		if d*2 > len(ls) { // too many changes for a word this short
			continue
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return best
	}
	for _, k := range known {
		lk := strings.ToLower(k)
		if len(lk) >= 3 && len(ls) >= 3 && (strings.HasPrefix(ls, lk) || strings.HasPrefix(lk, ls)) {
			return k
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
