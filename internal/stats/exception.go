package stats

import (
	"cmp"
	"slices"
)

// Exception is an error raised by user code (not a request failure),
// counted by message, as in Locust's exceptions table. A worker's report
// carries the occurrences since its previous report; a run's list carries
// the totals.
type Exception struct {
	Count     int64
	Message   string
	Traceback string
	Nodes     string // "local", or comma-joined worker ids
}

// SortExceptions orders exceptions as the exceptions table shows them: the
// most frequent first, then by message.
func SortExceptions(es []Exception) {
	slices.SortFunc(es, func(a, b Exception) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Message, b.Message))
	})
}
