package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadProcSample_Self(t *testing.T) {
	s, err := readProcSample(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if s.RSS <= 0 || s.Threads < 1 || s.OpenFDs < 3 || s.CPU < 0 {
		t.Errorf("self: %+v", s)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s2, _ := readProcSample(os.Getpid())
	if s2.OpenFDs <= s.OpenFDs-1 {
		t.Errorf("open fds %v then %v after opening one", s.OpenFDs, s2.OpenFDs)
	}
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and a ")" in it.
	line := "1234 (my (weird) app) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 123 456789 2048 18446744073709551615"
	f, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if f.cpuTicks != 300 || f.threads != 7 || f.pages != 2048 {
		t.Errorf("got %+v", f)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 0 0 0 20 0 1 0 1 1 1"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
}

func TestParseLimitsNoFile(t *testing.T) {
	limits := "Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            1024                 524288               files     \n"
	if v := parseLimitsNoFile(limits); v != 1024 {
		t.Errorf("got %v", v)
	}
	if v := parseLimitsNoFile(strings.Replace(limits, "1024 ", "unlimited ", 1)); v != 0 {
		t.Errorf("unlimited: %v", v)
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	root := t.TempDir()
	old := cgroupRoot
	cgroupRoot = root
	defer func() { cgroupRoot = old }()
	// v2: the limit is on the parent; the leaf says max.
	leaf := filepath.Join(root, "kubepods", "pod1", "ctr")
	if err := os.MkdirAll(leaf, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(leaf, "memory.max"), []byte("max\n"), 0o644)
	os.WriteFile(filepath.Join(root, "kubepods", "pod1", "memory.max"), []byte("536870912\n"), 0o644)
	if v := cgroupMemoryLimit("0::/kubepods/pod1/ctr\n"); v != 512<<20 {
		t.Errorf("v2: %v", v)
	}
	// v1: the memory controller's limit_in_bytes; "no limit" is 2^63-4096.
	v1 := filepath.Join(root, "memory", "docker", "abc")
	os.MkdirAll(v1, 0o755)
	os.WriteFile(filepath.Join(v1, "memory.limit_in_bytes"), []byte("9223372036854771712\n"), 0o644)
	if v := cgroupMemoryLimit("4:memory:/docker/abc\n"); v != 0 {
		t.Errorf("v1 unlimited: %v", v)
	}
	os.WriteFile(filepath.Join(v1, "memory.limit_in_bytes"), []byte("268435456\n"), 0o644)
	if v := cgroupMemoryLimit("5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n"); v != 256<<20 {
		t.Errorf("v1: %v", v)
	}
	if v := cgroupMemoryLimit("0::/../../etc\n"); v != 0 {
		t.Errorf("escape: %v", v)
	}
}

// FuzzProcFiles: no /proc file's content panics its parser, and what
// they return is a usable number.
func FuzzProcFiles(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/proc/*")
	for _, p := range seeds {
		raw, err := os.ReadFile(p)
		if err == nil {
			f.Add(string(raw))
		}
	}
	f.Add("1 (a) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1")
	f.Add("Max open files 1e400 x")
	f.Add("0::/\n1:memory:/a/../../b")
	f.Fuzz(func(t *testing.T, s string) {
		if st, err := parseStat(s); err == nil && (st.cpuTicks < 0 || st.pages < 0 || st.threads < 0) {
			t.Fatalf("negative figures from %q: %+v", s, st)
		}
		if v := parseLimitsNoFile(s); v < 0 || v != v {
			t.Fatalf("limit %v from %q", v, s)
		}
		if v := parseLimitValue(s); v < 0 || v != v {
			t.Fatalf("limit %v from %q", v, s)
		}
		_ = cgroupMemoryLimit(s)
	})
}
