package scenario

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration accepts what scenario files and the CLI accept: a bare
// number of seconds ("20", "0.5"), Go durations ("90s", "1h30m", "250ms")
// and days ("7d", "1d12h", "1.5d"). Negative durations are refused.
// The error reads `bad duration "5x": ...`.
func ParseDuration(s string) (time.Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: %s", s, err)
	}
	return d, nil
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty (use e.g. 20, 90s, 1h30m, 7d)")
	}
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("negative")
	}
	s = strings.TrimPrefix(s, "+")
	if isDecimal(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f*float64(time.Second) > math.MaxInt64 {
			return 0, errors.New("out of range")
		}
		return time.Duration(math.Round(f * float64(time.Second))), nil
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n := s[:i]
		if !isDecimal(n) {
			return 0, errors.New("want a number before d (use e.g. 7d, 1d12h)")
		}
		f, err := strconv.ParseFloat(n, 64)
		if err != nil || f*float64(24*time.Hour) > math.MaxInt64 {
			return 0, errors.New("out of range")
		}
		days = time.Duration(math.Round(f * float64(24*time.Hour)))
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
		if s[0] == '-' || s[0] == '+' {
			return 0, errors.New("sign after d")
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "time: ")
		if i := strings.Index(msg, " in duration "); i >= 0 {
			msg = msg[:i]
		}
		if strings.HasPrefix(msg, "invalid duration") {
			msg = "want a number with a unit"
		}
		return 0, errors.New(msg + " (use e.g. 20, 90s, 1h30m, 7d)")
	}
	if d > math.MaxInt64-days {
		return 0, errors.New("out of range")
	}
	return days + d, nil
}

// isDecimal reports whether s is digits with at most one '.' between or after them.
func isDecimal(s string) bool {
	if s == "" || s == "." {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return s[0] != '.'
}
