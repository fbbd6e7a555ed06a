package monitor

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procSample is what the monitor reads of a local process (--pid): the
// standard process_* figures client_golang's process collector exports,
// from the same /proc files, and the memory limit of its cgroup.
type procSample struct {
	RSS, CPU      float64
	OpenFDs       float64 // -1: unreadable (another user's process)
	MaxFDs        float64 // the soft RLIMIT_NOFILE; 0: unlimited or unknown
	Threads       float64
	MemoryLimit   float64 // the cgroup's memory.max (v2) or memory.limit_in_bytes (v1); 0: none
	cgroupLimitOK bool
}

// procRoot is where /proc is (a test may point it elsewhere).
var procRoot = "/proc"

// cgroupRoot is where the cgroup file system is mounted.
var cgroupRoot = "/sys/fs/cgroup"

// readProcSample reads pid's figures. Only /proc/PID/stat must be
// readable; the others are left out (0, -1) when they are not.
func readProcSample(pid int) (procSample, error) {
	var s procSample
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	raw, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return s, err
	}
	st, err := parseStat(string(raw))
	if err != nil {
		return s, err
	}
	s.RSS, s.CPU, s.Threads = st.pages*float64(os.Getpagesize()), st.cpuTicks/clkTck, st.threads
	s.OpenFDs = -1
	if ents, err := os.ReadDir(filepath.Join(dir, "fd")); err == nil {
		s.OpenFDs = float64(len(ents))
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "limits")); err == nil {
		s.MaxFDs = parseLimitsNoFile(string(raw))
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil {
		s.MemoryLimit = cgroupMemoryLimit(string(raw))
	}
	return s, nil
}

// clkTck is USER_HZ on Linux: /proc counts CPU time in hundredths.
const clkTck = 100

type statFields struct {
	cpuTicks, pages, threads float64
}

// parseStat reads /proc/PID/stat: utime + stime (fields 14, 15), the
// number of threads (20) and the resident pages (24). The command name
// (field 2) may hold spaces and parentheses: the fields after it start
// after the last ")".
func parseStat(s string) (statFields, error) {
	var f statFields
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return f, errors.New("bad /proc stat: no command name")
	}
	fs := strings.Fields(s[i+1:])
	// fs[0] is field 3 (state).
	if len(fs) < 22 {
		return f, errors.New("short /proc stat")
	}
	num := func(k int) (float64, error) {
		v, err := strconv.ParseFloat(fs[k], 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf("bad /proc stat field %d: %q", k+3, fs[k])
		}
		return v, nil
	}
	ut, err := num(11)
	if err != nil {
		return f, err
	}
	st, err := num(12)
	if err != nil {
		return f, err
	}
	if f.threads, err = num(17); err != nil {
		return f, err
	}
	if f.pages, err = num(21); err != nil {
		return f, err
	}
	f.cpuTicks = ut + st
	return f, nil
}

// parseLimitsNoFile reads the soft limit of "Max open files" from
// /proc/PID/limits; 0 when unlimited or absent.
func parseLimitsNoFile(s string) float64 {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) == 0 || fs[0] == "unlimited" {
			return 0
		}
		v, err := strconv.ParseFloat(fs[0], 64)
		if err != nil || v <= 0 || math.IsInf(v, 0) {
			return 0
		}
		return v
	}
	return 0
}

// cgroupMemoryLimit is the memory limit of the cgroup /proc/PID/cgroup
// names: memory.max of the unified hierarchy (v2, the "0::" line), or
// memory.limit_in_bytes of v1's memory controller; the nearest limited
// ancestor counts (a container's limit is often set on a parent). 0 when
// unlimited or unreadable.
func cgroupMemoryLimit(procCgroup string) float64 {
	sc := bufio.NewScanner(strings.NewReader(procCgroup))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		path := filepath.Clean("/" + parts[2])
		var base, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			base, file = cgroupRoot, "memory.max"
		case strings.Contains(","+parts[1]+",", ",memory,"):
			base, file = filepath.Join(cgroupRoot, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		for p := path; ; p = filepath.Dir(p) {
			if v := readLimit(filepath.Join(base, p, file)); v > 0 {
				return v
			}
			if p == "/" || p == "." {
				break
			}
		}
	}
	return 0
}

// readLimit reads a cgroup memory limit file: a number of bytes, or
// "max" (v2). v1's "no limit" is a huge number (near 2^63): 0.
func readLimit(path string) float64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return parseLimitValue(string(raw))
}

func parseLimitValue(s string) float64 {
	s = strings.TrimSpace(s)
	if s == "" || s == "max" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || v >= 1<<62 || math.IsInf(v, 0) {
		return 0
	}
	return v
}
