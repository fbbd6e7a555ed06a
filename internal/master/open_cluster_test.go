package master

import (
	"testing"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/shape"
)

// openRate measures the run's iterations per second over d, from the
// workers' cumulative counters (a worker that left keeps its count).
func openRate(m *Master, d time.Duration) float64 {
	n0 := m.Open().Iterations
	time.Sleep(d)
	return float64(m.Open().Iterations-n0) / d.Seconds()
}

func liveMembers(m *Master) int {
	n := 0
	for _, w := range m.Workers() {
		if w.State != cluster.WorkerMissing && w.State != cluster.WorkerDisconnected {
			n++
		}
	}
	return n
}

// In the open model the rate is re-split over the live workers when one
// joins or goes missing: the total stays the shape's rate.
func TestMaster_OpenModelRebalances(t *testing.T) {
	const rate = 200.0
	m, addr := startCluster(t, pingClasses(), func(m *Master) {
		m.cfg.Shape = shape.Shape{Open: true, Start: rate}
		m.cfg.MaxVUs = 60
	})
	ws := startWorkers(t, 2, addr)
	waitWorkers(t, m, 2)
	if err := m.Start(cluster.RunSpec{Users: 1, SpawnRate: 1}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		// The statuses carry the counters every report interval (150 ms);
		// a worker starved of CPU for a moment (a loaded machine) runs the
		// iterations it fell behind on at once when it gets it back:
		// settle a second, then count over three.
		time.Sleep(time.Second)
		if got := openRate(m, 3*time.Second); got < rate*0.8 || got > rate*1.2 {
			t.Errorf("%s: %.0f iterations/s over the workers, want about %.0f", when, got, rate)
		}
	}
	check("2 workers")

	// A third worker joins: each runs a third of the rate.
	ws = append(ws, startWorkers(t, 1, addr)...)
	deadline := time.Now().Add(5 * time.Second)
	for liveMembers(m) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	check("after a worker joined")
	m.mu.Lock()
	for _, w := range m.workers {
		a := w.assignment
		if v, _ := a.OpenShape.At(0); v < rate/3-0.01 || v > rate/3+0.01 {
			t.Errorf("worker %s assigned %.2f/s, want a third of %v", w.id, v, rate)
		}
		if a.OpenElapsed <= 0 {
			t.Errorf("worker %s: assignment mid-run without the time into the shape", w.id)
		}
	}
	m.mu.Unlock()

	// One leaves: once it is missing (after the reconnect grace), the two
	// others take up its share.
	ws[0].cancel()
	<-ws[0].done
	ws[0].done <- nil // for the cleanup
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		missing := 0
		for _, w := range m.Workers() {
			if w.State == cluster.WorkerMissing {
				missing++
			}
		}
		if missing == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	check("after a worker went missing")
	m.Stop()
	select {
	case <-m.RunDone():
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop")
	}
}
