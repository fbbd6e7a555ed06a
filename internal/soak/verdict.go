package soak

// Verdict is one judged threshold or check of a run: what the console's
// verdict table, the reports, the run file and the web UI show.
type Verdict struct {
	Kind   string `json:"kind"` // "threshold" or "check"
	Name   string `json:"name"`
	Status Status `json:"status"`
	Reason string `json:"reason"` // one sentence
}
