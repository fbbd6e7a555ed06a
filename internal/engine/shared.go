package engine

import "context"

// Shared is the data the users of a distributed run share with the other
// workers' users: the rows of unique and sequential feeders, {{ seq }} and
// the user number. internal/worker leases them from the master; without
// one (Config.Shared nil: standalone runs) the process's own counters are
// used, with no round trip.
type Shared interface {
	// Row returns the index of the next row of a unique or sequential
	// feeder; ok is false when a unique feeder has no rows left.
	Row(ctx context.Context, feeder string) (row int, ok bool, err error)
	// Seq returns the next value of {{ seq }}.
	Seq() (int64, error)
	// UserID returns the next user number.
	UserID() (int, error)
}
