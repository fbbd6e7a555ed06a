package worker

import (
	"context"
	"sync"
	"time"
)

// probeEvery is how often the scheduling probe asks to wake: 50 wake-ups
// a second, a few microseconds of CPU each.
const probeEvery = 20 * time.Millisecond

// schedProbe measures the worker's own scheduling delay during a run: a
// goroutine sleeps probeEvery again and again and keeps how much later
// than asked it woke, the worst of each second. A load generator starved
// of CPU (by its own users or by its neighbours on the machine) stamps
// responses late, so its latencies are its own as much as the service's;
// the master keeps the worst worker's delay beside the latencies, and the
// latency checks do not blame the service for a rise the generator's own
// delay explains.
type schedProbe struct {
	mu        sync.Mutex
	sec       int64         // the second cur is of (Unix)
	cur, prev time.Duration // the worst delay of that second and of the one before
}

// run probes until ctx ends.
func (p *schedProbe) run(ctx context.Context) {
	t := time.NewTimer(probeEvery)
	defer t.Stop()
	asked := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		p.note(now, now.Sub(asked)-probeEvery)
		asked = time.Now()
		t.Reset(probeEvery)
	}
}

// note keeps a wake-up's delay d, observed at now.
func (p *schedProbe) note(now time.Time, d time.Duration) {
	d = max(d, 0)
	s := now.Unix()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case s == p.sec:
		p.cur = max(p.cur, d)
	case s == p.sec+1:
		p.prev, p.cur, p.sec = p.cur, d, s
	default: // the first wake-up, or one after a gap (d holds the gap)
		p.prev, p.cur, p.sec = 0, d, s
	}
}

// delay is the worst delay over the last full second and this one so far.
func (p *schedProbe) delay(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch now.Unix() - p.sec {
	case 0:
		return max(p.prev, p.cur)
	case 1:
		return p.cur
	}
	return 0 // no wake-up for two seconds: the probe has stopped
}
