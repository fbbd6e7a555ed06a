package soak

import (
	"strings"
	"testing"
	"time"
)

func TestKindOf(t *testing.T) {
	for in, want := range map[string]Kind{
		"jvm_memory_used_bytes":                                     KindHeap,
		`sum by (pod) (jvm_memory_used_bytes{area="heap"})`:         KindHeap,
		"go_memstats_heap_inuse_bytes":                              KindHeap,
		"nodejs_heap_size_used_bytes":                               KindHeap,
		"dotnet_total_memory_bytes":                                 KindHeap,
		"process_resident_memory_bytes":                             KindOS,
		`sum(container_memory_working_set_bytes{pod=~"my-app-.*"})`: KindOS,
		"process_working_set_bytes":                                 KindOS,
		"my_app_heap_used":                                          KindHeap,
		"process_runtime_jvm_memory_usage_bytes":                    KindHeap,
		`java_lang_memorypool_usage_used{name="G1 Old Gen"}`:        KindHeap,
		"memory": KindUnknown,
		"http://127.0.0.1:9091/metrics process_resident_memory_bytes": KindOS,
	} {
		if got := KindOf(in); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := ParseKind("rss-ish"); err == nil {
		t.Error("ParseKind accepted rss-ish")
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{FormatAmount(110e6, UnitBytes), "110 MB"},
		{FormatAmount(271.4e6, UnitBytes), "271 MB"},
		{FormatAmount(1.5e9, UnitBytes), "1.5 GB"},
		{FormatAmount(42, "fds"), "42 fds"},
		{FormatRate(4e6, UnitBytes, 40*time.Second), "+4.0 MB/s"},
		{FormatRate(5e6/3600, UnitBytes, 2*time.Hour), "+5.0 MB/h"},
		{FormatRate(-2e5/60, UnitBytes, 20*time.Minute), "-200 kB/min"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// A JVM heap whose old generation climbs for 30 minutes and drops back to
// the live set at each full collection is never called restarted: a heap's
// drops are collections. The same shape as an OS-level series is.
func TestLeak_HeapDropsAreNotRestarts(t *testing.T) {
	var pts []Point
	for i := 0; i < 6*60; i++ { // a sample a minute, 6 h
		at := t0.Add(time.Duration(i) * time.Minute)
		old := float64(i%30) / 30 * 0.6 // climbs 60 % in 30 min, then a full GC
		pts = append(pts, Point{T: at, V: 100e6 * (1 + old)})
	}
	if r := Leak("heap", pts, LeakOptions{Kind: KindHeap}); r.Restarts != 0 {
		t.Errorf("heap: %d restarts: %s", r.Restarts, r.Reason)
	}
	if r := Leak("rss", pts, LeakOptions{Kind: KindOS}); r.Restarts == 0 {
		t.Errorf("os: no restart found in a series that drops to its baseline every 30 min: %s", r.Reason)
	}
	// With the start-time marker, the heap is split where it says.
	at := []time.Time{t0.Add(2 * time.Hour), t0.Add(4 * time.Hour)}
	if r := Leak("heap", pts, LeakOptions{Kind: KindHeap, Restarts: at, RestartEvidence: "process_start_time_seconds"}); r.Restarts != 2 || r.RestartEvidence != "process_start_time_seconds" {
		t.Errorf("heap with a marker: %d restarts (%q)", r.Restarts, r.RestartEvidence)
	}
}

// Pass and inconclusive verdicts state the smallest lasting growth the run
// would have failed, in bytes and %/h, text and JSON.
func TestLeak_Power(t *testing.T) {
	pts := sample(2*time.Hour, 15*time.Second, func(time.Duration) float64 { return 100e6 })
	for i := range pts {
		pts[i].V *= 1 + 0.01*float64((i*7919)%13-6)/6
	}
	r := Leak("rss", pts, LeakOptions{Kind: KindOS})
	if r.Status != Pass || !(r.DetectablePerHourPct > 0) || !(r.DetectableSlopePerSec > 0) {
		t.Fatalf("%s, detectable %.3g%%/h: %s", r.Status, r.DetectablePerHourPct, r.Reason)
	}
	if r.DetectablePerHourPct < DefaultFailPerHour {
		t.Errorf("detectable %.2f%%/h below the failing threshold %.0f%%/h", r.DetectablePerHourPct, DefaultFailPerHour)
	}
	if want := "this run would have failed a lasting growth of +"; !contains(r.Reason, want) || !contains(r.Reason, "MB/h") {
		t.Errorf("reason %q, want %q in MB/h", r.Reason, want)
	}
	b, _ := r.MarshalJSON()
	if !contains(string(b), `"detectable_per_hour_pct"`) {
		t.Errorf("JSON without detectable_per_hour_pct: %s", b)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// KindOf and ParseKind read user text (a PromQL query, a `kind:`, a
// metric name): any input answers, and a kind that parses prints back.
func FuzzKindOf(f *testing.F) {
	for _, s := range []string{"", "jvm_memory_used_bytes", `sum by (pod) (container_memory_working_set_bytes{pod=~"a.*"})`, "heap", "auto", "\x00\xff", "a{b=\"c\"}[5m]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := KindOf(s)
		if k != KindUnknown && k != KindHeap && k != KindOS {
			t.Fatalf("KindOf(%q) = %q", s, k)
		}
		if p, err := ParseKind(s); err == nil && p != KindUnknown {
			if back, err := ParseKind(string(p)); err != nil || back != p {
				t.Fatalf("ParseKind(%q) = %q, which parses back as %q (%v)", s, p, back, err)
			}
		}
	})
}
