package scenario

import (
	"math"
	"strings"
	"testing"
)

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]float64{"1024": 1024, "512MiB": 512 << 20, "512Mi": 512 << 20, "2GB": 2e9, "1.5 GiB": 1.5 * (1 << 30), "100": 100, "4k": 4000} {
		if got, err := ParseLimit(in); err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-5", "abc", "12XB", "NaN", "Inf", "0x10", "1e999"} {
		if _, err := ParseLimit(bad); err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("ParseLimit(%q): %v, want an error naming the limit", bad, err)
		}
	}
}

func TestMonitorLimits(t *testing.T) {
	src := "host: http://127.0.0.1:1\nmonitor:\n  limits: {process_resident_memory_bytes: 512MiB, pool: 100}\n  scrape: [http://127.0.0.1:9091/metrics]\n" + loadUsers
	p, err := Parse("m.yaml", "", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Monitor.Limits["process_resident_memory_bytes"] != 512<<20 || p.Monitor.Limits["pool"] != 100 {
		t.Errorf("limits %v", p.Monitor.Limits)
	}
	_, err = Parse("m.yaml", "", []byte("host: http://127.0.0.1:1\nmonitor:\n  limits: {pool: lots}\n"+loadUsers), Options{})
	if err == nil || !strings.Contains(err.Error(), "m.yaml:3:") || !strings.Contains(err.Error(), "pool") {
		t.Errorf("bad limit: %v, want the file position and the metric", err)
	}
}

// FuzzParseLimit: any text is a positive finite number or an error.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"512MiB", "1024", "2 GB", "-1", "1e400", "Ki", "0.5Ti"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseLimit(s)
		if err == nil && (!(v > 0) || math.IsInf(v, 0)) {
			t.Fatalf("ParseLimit(%q) = %v", s, v)
		}
	})
}

func TestThreshold_TimeToExhaustion(t *testing.T) {
	th, err := ParseThreshold("target.time_to_exhaustion > 7d")
	if err != nil || th.Target != "time_to_exhaustion" || th.Value != 7*24*3600*1000 || !th.Duration {
		t.Fatalf("%+v %v", th, err)
	}
	if th, err := ParseThreshold("target.time_to_exhaustion >= 12h"); err != nil || th.Value != 12*3600*1000 {
		t.Errorf("12h: %+v %v", th, err)
	}
	for _, bad := range []string{"target.time_to_exhaustion > 7", "target.time_to_exhaustion > 7%", "p95 < 3d%"} {
		if _, err := ParseThreshold(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
