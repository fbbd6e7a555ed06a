package worker

import (
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/stats"
)

// outbox holds the reports the master has not acknowledged, in sequence
// order. A report is numbered when queued; once sent it never changes (the
// master may have counted it), and it is resent with the same number after
// a reconnect until acknowledged. A report not yet sent absorbs the next
// one of the same run, so while the master is away (or slow to
// acknowledge) the outbox holds at most one unsent report per run.
type outbox struct {
	items    []*outItem
	lastSeq  uint64
	sessSent uint64 // highest seq sent in the current session
}

type outItem struct {
	rep      *cluster.Report
	requests int64
	sent     bool // sent in some session: frozen
}

// add queues rep, numbering it or merging it into the last unsent report.
func (o *outbox) add(rep *cluster.Report, requests int64) {
	if n := len(o.items); n > 0 {
		last := o.items[n-1]
		if !last.sent && !last.rep.Final && last.rep.RunID == rep.RunID {
			last.rep.Interval.Merge(rep.Interval)
			last.rep.Exceptions = mergeExceptions(last.rep.Exceptions, rep.Exceptions)
			last.rep.Final = rep.Final
			last.rep.Status = rep.Status
			last.rep.Used = append(last.rep.Used, rep.Used...)
			last.requests += requests
			return
		}
	}
	o.lastSeq++
	rep.Seq = o.lastSeq
	o.items = append(o.items, &outItem{rep: rep, requests: requests})
}

func mergeExceptions(a, b []stats.Exception) []stats.Exception {
	for _, x := range b {
		found := false
		for i := range a {
			if a[i].Message == x.Message {
				a[i].Count += x.Count
				found = true
				break
			}
		}
		if !found {
			a = append(a, x)
		}
	}
	return a
}

// next returns the next report to send in this session, marking it sent,
// or nil when all are sent or maxInFlight are awaiting acknowledgement.
func (o *outbox) next(maxInFlight int) *cluster.Report {
	inFlight := 0
	for _, it := range o.items {
		if it.rep.Seq > o.sessSent {
			if inFlight >= maxInFlight {
				return nil
			}
			it.sent = true
			o.sessSent = it.rep.Seq
			return it.rep
		}
		inFlight++
	}
	return nil
}

// hasUnsent reports whether a report waits to be sent in this session.
func (o *outbox) hasUnsent() bool {
	n := len(o.items)
	return n > 0 && o.items[n-1].rep.Seq > o.sessSent
}

// resend starts a session: every report not acknowledged goes again.
func (o *outbox) resend() { o.sessSent = 0 }

// ack drops the reports up to seq and returns how many, with their requests.
func (o *outbox) ack(seq uint64) (reports, requests int64) {
	i := 0
	for ; i < len(o.items) && o.items[i].rep.Seq <= seq; i++ {
		reports++
		requests += o.items[i].requests
	}
	o.items = o.items[i:]
	return reports, requests
}
