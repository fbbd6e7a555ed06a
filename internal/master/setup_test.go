package master

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/stats"
)

// The setup runs under the run's context: Stop while it runs cancels it,
// and the run does not start.
func TestMaster_StopCutsSetupShort(t *testing.T) {
	started := make(chan struct{})
	m, err := New(Config{Classes: pingClasses(), Setup: func(ctx context.Context, host string) (map[string]string, *stats.Interval, error) {
		close(started)
		<-ctx.Done()
		return nil, nil, ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- m.Start(cluster.RunSpec{Users: 1, SpawnRate: 1}) }()
	<-started
	m.Stop()
	select {
	case err := <-errc:
		var se *SetupError
		if !errors.As(err, &se) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Start: %v, want a SetupError of a cancelled setup", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not cut the setup short")
	}
	if got := m.State(); got != cluster.StateReady {
		t.Errorf("state %s after a cancelled setup, want ready", got)
	}
}
