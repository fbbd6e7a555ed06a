package stats

import (
	"cmp"
	"slices"
)

// MaxChecks caps the distinct check names kept (a script may build them
// from data): outcomes of further names count under OtherChecksName.
const MaxChecks = 1000

// OtherChecksName is the check that counts the outcomes of names past
// MaxChecks.
const OtherChecksName = "other checks"

// CheckCount is how often one named check held and failed.
type CheckCount struct {
	Passes int64 `json:"passes"`
	Fails  int64 `json:"fails"`
}

// Check is one named check's outcomes (Snapshot.Checks).
type Check struct {
	Name string `json:"name"`
	CheckCount
}

// Rate is the share of the check's evaluations that held, in percent (0
// when it was never evaluated).
func (c CheckCount) Rate() float64 {
	if n := c.Passes + c.Fails; n > 0 {
		return float64(c.Passes) / float64(n) * 100
	}
	return 0
}

// addCheck adds c to name's count in m, within the MaxChecks cap.
func addCheck(m map[string]CheckCount, name string, c CheckCount) {
	if _, ok := m[name]; !ok && len(m) >= MaxChecks {
		name = OtherChecksName
	}
	o := m[name]
	o.Passes += c.Passes
	o.Fails += c.Fails
	m[name] = o
}

// RecordCheck counts one evaluation of the check named name. It does not
// allocate once the shard has seen the name in the current interval.
func (r *Recorder) RecordCheck(shard int, name string, ok bool) {
	n := len(r.shards)
	i := shard % n
	if i < 0 {
		i += n
	}
	s := &r.shards[i]
	c := CheckCount{Fails: 1}
	if ok {
		c = CheckCount{Passes: 1}
	}
	s.mu.Lock()
	if s.checks == nil {
		s.checks = make(map[string]CheckCount)
	}
	addCheck(s.checks, name, c)
	s.mu.Unlock()
}

// AddCheck counts c under name in iv.
func (iv *Interval) AddCheck(name string, c CheckCount) {
	if iv.Checks == nil {
		iv.Checks = make(map[string]CheckCount)
	}
	addCheck(iv.Checks, name, c)
}

// checksSorted returns m's checks by name (nil when none).
func checksSorted(m map[string]CheckCount) []Check {
	if len(m) == 0 {
		return nil
	}
	out := make([]Check, 0, len(m))
	for n, c := range m {
		out = append(out, Check{Name: n, CheckCount: c})
	}
	slices.SortFunc(out, func(a, b Check) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// AllChecks sums every check's outcomes (the threshold "checks > 99%").
func AllChecks(cs []Check) CheckCount {
	var t CheckCount
	for _, c := range cs {
		t.Passes += c.Passes
		t.Fails += c.Fails
	}
	return t
}
