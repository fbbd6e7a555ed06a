// A small HTTP service whose memory behaves as the recording asks (see
// ../README.md): every GET /work allocates GARBAGE bytes that die at once,
// keeps RING recent responses (medium-lived objects), and by MODE keeps
// nothing more (clean), LEAK bytes a request for ever (leak), or LEAK bytes
// a request in a cache of at most CACHE entries (cache). GET /metrics
// exposes go_memstats_heap_inuse_bytes (with LIVE=1, go_gc_heap_live_bytes
// instead) and process_start_time_seconds.
package main

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"
)

func env(k string, d int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return d
}

var (
	mu      sync.Mutex
	ring    [][]byte
	ringAt  int
	kept    [][]byte
	cache   = map[int][]byte{}
	nreq    int
	sink    int
	started = time.Now()
	ballast [][]byte // the live set: a loaded data set
)

// touched is n bytes written to, so they are resident (an untouched
// allocation from fresh pages is not in RSS).
func touched(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 256 {
		b[i] = byte(i)
	}
	return b
}

func main() {
	mode := os.Getenv("MODE")
	garbage, leak, entries := env("GARBAGE", 100000), env("LEAK", 0), env("CACHE", 0)
	ring = make([][]byte, env("RING", 500))
	ballast = make([][]byte, env("BALLAST", 40<<20)/1024)
	for i := range ballast {
		ballast[i] = touched(1024)
	}
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		tmp := make([][]byte, 0, 64)
		for n := 0; n < garbage; n += 2048 {
			tmp = append(tmp, touched(2048))
		}
		mu.Lock()
		nreq++
		sink += len(tmp)
		ring[ringAt%len(ring)] = touched(4096)
		ringAt++
		switch mode {
		case "leak":
			kept = append(kept, touched(leak))
		case "cache":
			if len(cache) < entries {
				cache[nreq] = touched(leak)
			}
		}
		mu.Unlock()
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if os.Getenv("LIVE") == "1" {
			// The live set the last collection marked, as client_golang's
			// Go collector exports it from runtime/metrics: set at each
			// collection, held between (the go-live recordings).
			s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			metrics.Read(s)
			fmt.Fprintf(w, "go_gc_heap_live_bytes %d\nprocess_start_time_seconds %.3f\n", s[0].Value.Uint64(), float64(started.UnixNano())/1e9)
			return
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, "go_memstats_heap_inuse_bytes %d\nprocess_start_time_seconds %.3f\n", ms.HeapInuse, float64(started.UnixNano())/1e9)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
