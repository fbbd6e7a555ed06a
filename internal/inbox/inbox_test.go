package inbox

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The queue keeps the newest messages when full and counts the dropped;
// Wait skips those that do not match, times out, follows ctx, and ends
// with the connection's reason; the first reason wins.
func TestInbox(t *testing.T) {
	b := New[int](3)
	for i := 1; i <= 4; i++ {
		b.Put(i)
	}
	if b.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", b.Dropped())
	}
	m, skipped, err := b.Wait(context.Background(), time.Second, func(m int) bool { return m == 3 })
	if err != nil || m != 3 || skipped != 1 {
		t.Fatalf("Wait = %d, %d, %v; want 3, 1 skipped", m, skipped, err)
	}
	if _, _, err := b.Wait(context.Background(), 10*time.Millisecond, func(int) bool { return false }); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Wait with no match: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := b.Wait(ctx, 0, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a done context: %v", err)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		b.Put(5)
	}()
	if m, _, err := b.Wait(context.Background(), 5*time.Second, nil); err != nil || m != 5 {
		t.Fatalf("Wait for an arriving message = %d, %v", m, err)
	}
	eof := errors.New("EOF")
	go func() {
		time.Sleep(10 * time.Millisecond)
		b.End(eof)
	}()
	_, _, err = b.Wait(context.Background(), 5*time.Second, nil)
	var ended *EndedError
	if !errors.As(err, &ended) || !errors.Is(err, eof) {
		t.Fatalf("Wait on an ended connection: %v", err)
	}
	if b.End(errors.New("later")) || !b.Ended() || b.Err() != eof {
		t.Errorf("a second End changed the reason: %v", b.Err())
	}
	select {
	case <-b.Done():
	default:
		t.Error("Done is open after End")
	}
}
