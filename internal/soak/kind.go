package soak

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// Kind is what a judged series measures. It decides how a drop is read: a
// garbage collector drops a heap by half every cycle, and a JVM's full
// collection brings an old generation that climbed for tens of minutes
// back to the live set, the very shape of a process restarted at its
// baseline. So a drop is a restart only in a series the operating system
// keeps (resident memory, a container's working set, a count of open
// files): a heap's drop alone never is.
type Kind string

// Kinds of series.
const (
	// KindUnknown is memory whose kind the name does not tell: judged as
	// OS-level memory (a drop back to the baseline is a restart).
	KindUnknown Kind = ""
	// KindHeap is a garbage-collected heap (jvm_memory_used_bytes,
	// go_memstats_heap_inuse_bytes, nodejs_heap_size_used_bytes, ...):
	// its drops are collections; restarts come only from evidence
	// (LeakOptions.Restarts).
	KindHeap Kind = "heap"
	// KindOS is memory the operating system accounts
	// (process_resident_memory_bytes, container_memory_working_set_bytes,
	// ...): it falls only when the process frees pages or ends, so a drop
	// back to the baseline is a restart.
	KindOS Kind = "os"
	// KindCount is a count of resources (open file descriptors,
	// goroutines, threads, pool slots), judged in its own units with the
	// same lasting-growth test; a drop back to the baseline is a restart,
	// as for OS-level memory.
	KindCount Kind = "count"
)

// Kinds are the values ParseKind accepts (the `kind:` of a monitor query,
// `horde analyze --kind`).
var Kinds = []Kind{KindHeap, KindOS, KindCount}

// ParseKind parses a kind's name: heap, os (also rss), count; "" and
// "auto" are KindUnknown (the name decides).
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return KindUnknown, nil
	case "heap", "gc", "gc-heap":
		return KindHeap, nil
	case "os", "rss", "os-level":
		return KindOS, nil
	case "count":
		return KindCount, nil
	}
	return KindUnknown, fmt.Errorf("unknown series kind %q (want heap, os or count)", s)
}

// DropsAreRestarts reports whether a drop of a series of kind k back to
// its baseline may be read as a restart without other evidence.
func (k Kind) DropsAreRestarts() bool { return k != KindHeap }

// heapMetrics are the metric names the common exporters give a
// garbage-collected heap (or a pool of it), exact names.
var heapMetrics = map[string]bool{
	// JVM: Prometheus client_java / JMX exporter, Micrometer, OpenTelemetry.
	"jvm_memory_used_bytes":               true,
	"jvm_memory_bytes_used":               true,
	"jvm_memory_committed_bytes":          true,
	"jvm_memory_bytes_committed":          true,
	"jvm_memory_pool_used_bytes":          true,
	"jvm_memory_pool_bytes_used":          true,
	"jvm_memory_pool_bytes_committed":     true,
	"jvm_gc_live_data_size_bytes":         true,
	"jvm_memory_used_after_last_gc_bytes": true,
	// Go: client_golang's Go collector, runtime/metrics names.
	"go_memstats_heap_inuse_bytes":         true,
	"go_memstats_heap_alloc_bytes":         true,
	"go_memstats_alloc_bytes":              true,
	"go_gc_heap_live_bytes":                true,
	"go_gc_heap_goal_bytes":                true,
	"go_memory_classes_heap_objects_bytes": true,
	// Node.js: prom-client, OpenTelemetry.
	"nodejs_heap_size_used_bytes":       true,
	"nodejs_heap_size_total_bytes":      true,
	"nodejs_heap_space_size_used_bytes": true,
	"nodejs_external_memory_bytes":      true,
	"v8js_memory_heap_used_bytes":       true,
	// .NET: prometheus-net, OpenTelemetry.
	"dotnet_total_memory_bytes":                 true,
	"dotnet_gc_heap_size_bytes":                 true,
	"process_runtime_dotnet_gc_heap_size_bytes": true,
	"dotnet_gc_last_collection_heap_size_bytes": true,
	// Python: prometheus_client has no heap gauge; tracemalloc exporters.
	"python_tracemalloc_current_bytes": true,
	// Erlang/BEAM.
	"erlang_vm_memory_bytes_total": true,
}

// osMetrics are the names of memory the operating system accounts.
var osMetrics = map[string]bool{
	"process_resident_memory_bytes":          true,
	"process_virtual_memory_bytes":           true,
	"process_working_set_bytes":              true,
	"process_private_memory_bytes":           true,
	"process_memory_usage_bytes":             true, // OpenTelemetry process.memory.usage
	"process_runtime_go_mem_heap_sys_bytes":  true,
	"go_memstats_sys_bytes":                  true,
	"go_memstats_heap_sys_bytes":             true,
	"container_memory_working_set_bytes":     true,
	"container_memory_usage_bytes":           true,
	"container_memory_rss":                   true,
	"container_memory_cache":                 true,
	"namedprocess_namegroup_memory_bytes":    true,
	"windows_process_working_set_bytes":      true,
	"windows_process_private_bytes":          true,
	"k8s_container_memory_working_set_bytes": true,
}

var metricName = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)

// KindOf tells a series's kind from a metric name or a PromQL query's
// text: the first name it holds that a common exporter uses for a
// garbage-collected heap (KindHeap) or for memory the operating system
// accounts (KindOS), else by words in the name (heap, jvm_memory as in
// OpenTelemetry's process_runtime_jvm_memory_usage_bytes, the JMX
// exporter's java_lang_memorypool_*; resident, rss, working_set,
// container_memory), else KindUnknown.
func KindOf(nameOrQuery string) Kind {
	names := metricName.FindAllString(nameOrQuery, -1)
	for _, n := range names {
		switch {
		case heapMetrics[n]:
			return KindHeap
		case osMetrics[n]:
			return KindOS
		}
	}
	for _, n := range names {
		l := strings.ToLower(n)
		switch {
		case strings.Contains(l, "heap") || strings.Contains(l, "jvm_memory") || strings.HasPrefix(l, "java_lang_memory") ||
			strings.HasPrefix(l, "dotnet_gc"):
			return KindHeap
		case strings.Contains(l, "resident") || strings.Contains(l, "rss") || strings.Contains(l, "working_set") ||
			strings.HasPrefix(l, "container_memory") || strings.Contains(l, "virtual_memory"):
			return KindOS
		}
	}
	return KindUnknown
}

// Unit is what a series counts, for the verdict's text: UnitBytes (the
// default of memory) is written in B, kB, MB, GB (powers of 1000); any
// other unit is written after the number ("42 fds").
type Unit string

// UnitBytes is memory's unit.
const UnitBytes Unit = "bytes"

// FormatAmount writes v in unit u: "271 MB" for bytes, "1.2k fds" for a
// count. Three significant figures at most.
func FormatAmount(v float64, u Unit) string {
	if u == UnitBytes {
		return formatSI(v, "B")
	}
	s := formatSI(v, "")
	if u == "" {
		return s
	}
	return s + " " + string(u)
}

func formatSI(v float64, suffix string) string {
	a := math.Abs(v)
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	i := 0
	for a >= 999.5 && i < len(prefixes)-1 {
		a /= 1000
		v /= 1000
		i++
	}
	var s string
	switch {
	case i == 0 && v == math.Trunc(v):
		s = fmt.Sprintf("%.0f", v) // a whole count: 42, not 42.0
	case a == 0:
		s = "0"
	case a >= 99.5:
		s = fmt.Sprintf("%.0f", v)
	case a >= 9.95:
		s = fmt.Sprintf("%.1f", v)
	case a >= 0.995:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.2g", v)
	}
	sep := " "
	if suffix == "" && prefixes[i] == "" {
		sep = ""
	}
	if suffix == "" {
		return s + prefixes[i]
	}
	return s + sep + prefixes[i] + suffix
}

// rateUnit is the time unit a rate over a window of w is written in: per
// hour once the window spans an hour, per minute from 10 minutes, else per
// second — so a 40 s run says "+4.0 MB/s", never "13172 %/h".
func rateUnit(w time.Duration) (time.Duration, string) {
	switch {
	case w >= time.Hour:
		return time.Hour, "h"
	case w >= 10*time.Minute:
		return time.Minute, "min"
	}
	return time.Second, "s"
}

// FormatRate writes perSec (units a second) over a window of w in the
// unit rateUnit chooses: "+4.0 MB/s", "+12 MB/h".
func FormatRate(perSec float64, u Unit, w time.Duration) string {
	d, name := rateUnit(w)
	v := perSec * d.Seconds()
	sign := "+"
	if v < 0 {
		sign = "-"
	}
	return sign + FormatAmount(math.Abs(v), u) + "/" + name
}
