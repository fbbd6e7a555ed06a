package stats

import "time"

// Event is something that happened to a run (it started, its users changed,
// a worker joined or went missing, a threshold was breached, it stopped),
// recorded with its statistics and marked on the time axis of its charts.
type Event struct {
	T            time.Time
	Kind, Detail string
}
