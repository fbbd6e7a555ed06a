package target

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Resource knobs: what a service that leaks something other than memory
// does. Each is off at zero. They make a soak test's resource checks
// find something real: open file descriptors, goroutines and pool slots
// that are never given back, a disk that fills, CPU per request that
// grows with uptime.
type ResourceKnobs struct {
	// LeakFDEvery opens a file (os.DevNull) and never closes it on every
	// Nth main-listener request (--leak-fd-every). process_open_fds
	// climbs; at the process's limit (process_max_fds) opening files,
	// and accepting connections, fails.
	LeakFDEvery int
	// LeakGoroutineEvery starts a goroutine that never returns (it waits
	// for the server to stop) on every Nth request
	// (--leak-goroutine-every): go_goroutines climbs.
	LeakGoroutineEvery int
	// LeakPoolEvery keeps the pool slot of every Nth request
	// (--leak-pool-every). Every request takes one of PoolSize slots and
	// gives it back when it ends, but the leaked ones; with none left a
	// request is answered 503 {"error":"pool exhausted"}, as a service
	// whose connection pool ran dry. horde_target_pool_in_use and
	// horde_target_pool_max show it.
	LeakPoolEvery int
	// PoolSize is the pool's size (--pool-size, default DefaultPoolSize).
	PoolSize int
	// WriteDir receives WriteBytesPerSecond bytes a second, appended to
	// one file (horde-target-<pid>.data) while the target runs
	// (--write-dir, --write-bytes-per-second); the file is removed when
	// it stops. horde_target_disk_used_bytes counts what was written.
	WriteDir            string
	WriteBytesPerSecond int64
	// WriteMax is a quota on what is written (--write-max; 0: none, the
	// file system's own space is the limit): at the quota writing stops,
	// requests are answered 507 {"error":"disk full"}, and
	// horde_target_disk_limit_bytes says the quota.
	WriteMax int64
	// CPUPerRequest is CPU time every request spins for
	// (--cpu-per-request), and CPUGrowth is added to it per minute of
	// uptime, pro rata (--cpu-growth): the CPU per request grows while
	// latency barely moves.
	CPUPerRequest, CPUGrowth time.Duration
}

// DefaultPoolSize is the pool's size when LeakPoolEvery is set.
const DefaultPoolSize = 100

func (k ResourceKnobs) validate() []error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{{"LeakFDEvery", int64(k.LeakFDEvery)}, {"LeakGoroutineEvery", int64(k.LeakGoroutineEvery)}, {"LeakPoolEvery", int64(k.LeakPoolEvery)},
		{"PoolSize", int64(k.PoolSize)}, {"WriteBytesPerSecond", k.WriteBytesPerSecond}, {"WriteMax", k.WriteMax},
		{"CPUPerRequest", int64(k.CPUPerRequest)}, {"CPUGrowth", int64(k.CPUGrowth)}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d is negative", f.name, f.v))
		}
	}
	if k.WriteBytesPerSecond > 0 && k.WriteDir == "" {
		errs = append(errs, errors.New("WriteBytesPerSecond needs WriteDir"))
	}
	if k.WriteDir != "" {
		if st, err := os.Stat(k.WriteDir); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("WriteDir %q is not a directory", k.WriteDir))
		}
	}
	return errs
}

// resources is the state of the resource knobs.
type resources struct {
	k        ResourceKnobs
	requests atomic.Int64
	stop     chan struct{} // closed when the server stops: leaked goroutines end
	stopOnce sync.Once

	mu  sync.Mutex
	fds []*os.File

	poolInUse atomic.Int64
	written   atomic.Int64
	full      atomic.Bool
}

func newResources(k ResourceKnobs) *resources {
	if k.LeakPoolEvery > 0 && k.PoolSize == 0 {
		k.PoolSize = DefaultPoolSize
	}
	return &resources{k: k, stop: make(chan struct{})}
}

// collectors are the resource knobs' gauges.
func (r *resources) collectors() []prometheus.Collector {
	var cs []prometheus.Collector
	gauge := func(name, help string, f func() float64) {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "horde", Subsystem: "target", Name: name, Help: help}, f))
	}
	if r.k.PoolSize > 0 {
		gauge("pool_in_use", "Pool slots in use (leaked ones included).", func() float64 { return float64(r.poolInUse.Load()) })
		gauge("pool_max", "Pool slots in all.", func() float64 { return float64(r.k.PoolSize) })
	}
	if r.k.WriteDir != "" {
		gauge("disk_used_bytes", "Bytes written to the write directory by the disk knob.", func() float64 { return float64(r.written.Load()) })
		if r.k.WriteMax > 0 {
			gauge("disk_limit_bytes", "The disk knob's quota.", func() float64 { return float64(r.k.WriteMax) })
		}
	}
	return cs
}

// before runs the resource knobs on a request. It returns a status and a
// message when the request must fail (the pool or the disk ran out), and
// a function to call when the request ends.
func (r *resources) before(start time.Time) (code int, msg string, done func()) {
	n := r.requests.Add(1)
	if r.full.Load() {
		return http.StatusInsufficientStorage, "disk full", nil
	}
	if d := r.k.CPUPerRequest + time.Duration(float64(r.k.CPUGrowth)*time.Since(start).Minutes()); d > 0 {
		spin(d)
	}
	if e := int64(r.k.LeakFDEvery); e > 0 && n%e == 0 {
		if f, err := os.Open(os.DevNull); err == nil {
			r.mu.Lock()
			r.fds = append(r.fds, f)
			r.mu.Unlock()
		}
	}
	if e := int64(r.k.LeakGoroutineEvery); e > 0 && n%e == 0 {
		go func() { <-r.stop }()
	}
	if r.k.PoolSize > 0 {
		if r.poolInUse.Add(1) > int64(r.k.PoolSize) {
			r.poolInUse.Add(-1)
			return http.StatusServiceUnavailable, "pool exhausted", nil
		}
		if e := int64(r.k.LeakPoolEvery); e > 0 && n%e == 0 {
			return 0, "", nil // never given back
		}
		return 0, "", func() { r.poolInUse.Add(-1) }
	}
	return 0, "", nil
}

// spin burns d of CPU time: the thread's own CPU time where the system
// has a clock for it (spinThread), so a busy machine that preempts the
// loop makes it take longer, not spend less; wall time elsewhere.
func spin(d time.Duration) {
	if spinThread(d) {
		return
	}
	end := time.Now().Add(d)
	x := 1.0
	for time.Now().Before(end) {
		x = burn(x)
	}
	runtime.KeepAlive(x)
}

// burn does a little work on x and returns it (the caller keeps it, so
// the work is not dropped; every request spins on its own).
func burn(x float64) float64 {
	for range 1000 {
		x = x*1.0000001 + 1e-9
	}
	return x
}

// writeLoop appends WriteBytesPerSecond bytes a second to a file in
// WriteDir until ctx is done, then removes it.
func (r *resources) writeLoop(ctx context.Context) error {
	path := filepath.Join(r.k.WriteDir, fmt.Sprintf("horde-target-%d.data", os.Getpid()))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	defer f.Close()
	chunk := make([]byte, min(r.k.WriteBytesPerSecond, 1<<20))
	for i := range chunk {
		chunk[i] = byte(i)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		left := r.k.WriteBytesPerSecond
		if m := r.k.WriteMax; m > 0 {
			left = min(left, m-r.written.Load())
			if left <= 0 {
				r.full.Store(true)
				continue
			}
		}
		for left > 0 {
			n, err := f.Write(chunk[:min(left, int64(len(chunk)))])
			r.written.Add(int64(n))
			left -= int64(n)
			if err != nil {
				r.full.Store(true)
				break
			}
		}
		f.Sync()
	}
}

// close releases what the knobs leaked: the server stopped.
func (r *resources) close() {
	r.stopOnce.Do(func() { close(r.stop) })
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.fds {
		f.Close()
	}
	r.fds = nil
}
