package worker

import (
	"context"
	"testing"
	"time"
)

// The probe keeps the worst delay of the last full second and of this
// one, and forgets a second once two have passed.
func TestSchedProbe_Seconds(t *testing.T) {
	var p schedProbe
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	p.note(at(10), 2*time.Millisecond)
	p.note(at(500), 7*time.Millisecond)
	p.note(at(900), -time.Millisecond) // a timer never fires early; a clock step is no delay
	if d := p.delay(at(950)); d != 7*time.Millisecond {
		t.Fatalf("in the first second: %v", d)
	}
	p.note(at(1100), time.Millisecond)
	if d := p.delay(at(1200)); d != 7*time.Millisecond {
		t.Fatalf("the second after: %v, want the last full second's 7ms", d)
	}
	p.note(at(2100), 3*time.Millisecond)
	if d := p.delay(at(2200)); d != 3*time.Millisecond {
		t.Fatalf("two seconds on: %v, want 3ms", d)
	}
	if d := p.delay(at(4500)); d != 0 {
		t.Fatalf("a stopped probe: %v", d)
	}
	p.note(at(9000), 40*time.Millisecond) // after a gap
	if d := p.delay(at(9001)); d != 40*time.Millisecond {
		t.Fatalf("after a gap: %v", d)
	}
}

// The running probe measures something, and stops with its context.
func TestSchedProbe_Run(t *testing.T) {
	var p schedProbe
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.run(ctx); close(done) }()
	time.Sleep(5 * probeEvery)
	cancel()
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sec == 0 {
		t.Fatal("the probe never woke")
	}
}
