package cli

import (
	"time"

	"github.com/horde-load/horde/internal/scenario"
)

// durationValue is a flag that accepts horde's durations: 20 (seconds),
// 90s, 1h30m, 7d.
type durationValue struct{ d time.Duration }

func (v *durationValue) String() string {
	if v.d == 0 {
		return ""
	}
	return v.d.String()
}

func (v *durationValue) Set(s string) error {
	d, err := scenario.ParseDuration(s)
	if err != nil {
		return err
	}
	v.d = d
	return nil
}

func (v *durationValue) Type() string { return "duration" }
