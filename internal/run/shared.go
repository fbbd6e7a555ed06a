package run

import (
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/scenario"
)

// feederInfo lists the scenario's feeders whose rows a distributed
// master owns and leases: the unique and sequential ones.
func feederInfo(p *scenario.Plan) map[string]cluster.FeederInfo {
	if p == nil {
		return nil
	}
	out := map[string]cluster.FeederInfo{}
	for name, f := range p.Feeders {
		if m := f.Mode(); m == scenario.FeedUnique || m == scenario.FeedSequential {
			out[name] = cluster.FeederInfo{Mode: m, Rows: int64(f.Len())}
		}
	}
	return out
}
