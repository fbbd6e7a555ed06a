// Package logtest holds what tests need to read the logs of code that logs
// from many goroutines.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer a logger and a test may use at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
