package cluster

// Shared data of a distributed run (docs/cluster.md, "Leases"): the master
// owns the rows of every unique and sequential feeder and the counters
// behind {{ seq }} and the user number, and hands them to workers in
// leases over the session.

// Counters a worker may lease numbers of.
const (
	CounterSeq = "seq" // {{ seq }}
	CounterVU  = "vu"  // the user number ({{ vu }})
)

// LeaseRequest asks for Count values of a run's shared data now, and Extra
// more if the master can spare them (a prefetch). Exactly one of Feeder
// and Counter is set.
type LeaseRequest struct {
	RunID   string
	ID      uint64 // per worker process; the answering Lease carries it
	Feeder  string
	Counter string
	Count   int64
	Extra   int64
}

// Lease answers one LeaseRequest: Rows of a unique feeder (0-based
// indexes), or First..First+Count-1 of a counter or of a sequential
// feeder's positions (taken modulo its rows). Exhausted: a unique feeder
// has no rows left; Rows holds what remained.
type Lease struct {
	RunID     string
	ID        uint64
	Feeder    string
	Counter   string
	Rows      []int64
	First     int64
	Count     int64
	Exhausted bool
}

// Recall asks a worker to give back the rows of a unique feeder that it
// holds and no user took: another worker waits for rows.
type Recall struct {
	RunID  string
	Feeder string
}

// LeaseReturn gives rows of a unique feeder back (the answer to a Recall,
// possibly empty).
// With Sync (sent after each Welcome), Kept lists every row of the feeder
// the worker's users took that its acknowledged reports do not hold: the
// master frees whatever else it counted as this worker's.
type LeaseReturn struct {
	RunID  string
	Feeder string
	Rows   []int64
	Sync   bool
	Kept   []int64
}

// FeederUse is the rows of a unique feeder a worker's users took.
type FeederUse struct {
	Feeder string
	Rows   []int64
}

// FeederInfo describes a feeder whose rows the master owns.
type FeederInfo struct {
	Mode string // "unique" or "sequential"
	Rows int64
}
