package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes ParseLimit reads: IEC (KiB = 1024) and SI
// (KB = 1000), and Kubernetes' forms (Ki, Mi, Gi, Ti; k, M, G, T).
var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
	{"B", 1},
}

// ParseLimit reads a resource limit: a positive number (1024 open fds,
// 100 pool slots), with an optional size unit for bytes ("512MiB",
// "512Mi", "2GB", "1.5 GiB").
func ParseLimit(s string) (float64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || strings.ContainsAny(t, "xXpP_") {
		return 0, fmt.Errorf("limit %q: want a number, optionally with a size unit (512MiB, 2GB, 1024)", s)
	}
	v *= mult
	if !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("limit %q: must be a positive number", s)
	}
	return v, nil
}
