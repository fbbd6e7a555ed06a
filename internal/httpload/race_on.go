//go:build race

package httpload

// raceEnabled: built with -race. Raw reads and writes then go through
// syscall.Read and syscall.Write, whose annotations tell the race detector
// that what a goroutine wrote before sending is seen by the one that reads
// the answer, as with the net package.
const raceEnabled = true
