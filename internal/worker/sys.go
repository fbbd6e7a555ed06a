package worker

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// usage samples the process's CPU use and resident memory.
type usage struct {
	mu      sync.Mutex
	lastCPU time.Duration
	lastAt  time.Time
	pct     float64
}

// sample returns the CPU use since the previous sample, as a percentage of
// the cores the Go runtime may use (100 = every GOMAXPROCS core busy), and
// the resident set size.
func (u *usage) sample() (cpuPercent float64, rss uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	cpu := processCPU()
	if !u.lastAt.IsZero() {
		if wall := now.Sub(u.lastAt); wall >= 100*time.Millisecond {
			u.pct = float64(cpu-u.lastCPU) / float64(wall) / float64(runtime.GOMAXPROCS(0)) * 100
			u.lastCPU, u.lastAt = cpu, now
		}
	} else {
		u.lastCPU, u.lastAt = cpu, now
	}
	return u.pct, residentBytes()
}

// residentBytes reads the resident set size from /proc where there is one,
// and falls back to the memory the Go runtime holds from the OS.
func residentBytes() uint64 {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			if pages, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				return pages * uint64(os.Getpagesize())
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Sys
}
