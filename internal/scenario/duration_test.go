package scenario

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"20", 20 * time.Second},
		{"0", 0},
		{"0.5", 500 * time.Millisecond},
		{"90s", 90 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"168h", 168 * time.Hour},
		{"7d", 7 * 24 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"1.5d", 36 * time.Hour},
		{"250ms", 250 * time.Millisecond},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDuration_Errors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `bad duration "": empty (use e.g. 20, 90s, 1h30m, 7d)`},
		{"-1s", `bad duration "-1s": negative`},
		{"5x", `bad duration "5x": unknown unit "x" (use e.g. 20, 90s, 1h30m, 7d)`},
		{"d", `bad duration "d": want a number before d (use e.g. 7d, 1d12h)`},
		{"1d-2h", `bad duration "1d-2h": sign after d`},
		{"x", `bad duration "x": want a number with a unit (use e.g. 20, 90s, 1h30m, 7d)`},
		{"999999999999d", `bad duration "999999999999d": out of range`},
		{"1e3", `bad duration "1e3": unknown unit "e" (use e.g. 20, 90s, 1h30m, 7d)`},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		if err == nil {
			t.Errorf("ParseDuration(%q) = %v, want error %q", tt.in, d, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseDuration(%q) error = %q, want %q", tt.in, err, tt.want)
		}
	}
}
