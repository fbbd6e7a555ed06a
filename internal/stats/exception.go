package stats

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
