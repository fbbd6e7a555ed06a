package soak

// Verdict is one judged threshold or check of a run: what the console's
// verdict table, the reports, the run file and the web UI show.
type Verdict struct {
	Kind   string `json:"kind"` // "threshold" or "check"
	Name   string `json:"name"`
	Status Status `json:"status"`
	Reason string `json:"reason"` // one sentence
	// The figures behind a check's verdict (growth %, slope %/h, p-value,
	// window, warm-up, segments, restarts...), for JSON readers; not kept
	// in a run file, which re-judges from its series.
	Leak  *LeakResult  `json:"leak,omitempty"`
	Drift *DriftResult `json:"drift,omitempty"`
	// Resource is a resource check's figures (open fds, goroutines, pool
	// slots, disk; memory with a limit): its growth, limit and forecast.
	Resource *ResourceResult `json:"resource,omitempty"`
	// Replicas is the replicas check's figures.
	Replicas *ReplicasResult `json:"replicas,omitempty"`
	// Actual is a threshold's measured value (nil for checks).
	Actual *float64 `json:"actual,omitempty"`
}
