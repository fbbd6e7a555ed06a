package cli

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseBuckets(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    []float64
		wantErr string
	}{
		{"0.005,0.01,0.1", []float64{0.005, 0.01, 0.1}, ""},
		{"5ms, 10ms ,250ms,1s,1m", []float64{0.005, 0.01, 0.25, 1, 60}, ""},
		{"1", []float64{1}, ""},
		{"0.1,0.1", nil, `bound 2 "0.1": bounds must ascend`},
		{"1s,500ms", nil, `bound 2 "500ms": bounds must ascend`},
		{"0", nil, `bound 1 "0": want a positive`},
		{"-1", nil, `bound 1 "-1"`},
		{"abc", nil, `bound 1 "abc": want seconds (0.25) or a duration (250ms)`},
		{"0.1,,0.2", nil, `bound 2 ""`},
		{"NaN", nil, `bound 1 "NaN"`},
		{"+Inf", nil, `bound 1 "+Inf"`},
	} {
		got, err := parseBuckets(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseBuckets(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("parseBuckets(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseBuckets: what parses is ascending, positive and finite, and
// reads back the same when written as seconds.
func FuzzParseBuckets(f *testing.F) {
	for _, s := range []string{"0.005,0.01,0.1", "5ms,1s", "1e-3,2.5", "1,1", "", ",", "1d", "0x1p-3,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bs, err := parseBuckets(s)
		if err != nil {
			return
		}
		if len(bs) == 0 {
			t.Fatalf("%q: no bounds and no error", s)
		}
		parts := make([]string, len(bs))
		for i, b := range bs {
			if !(b > 0) || math.IsInf(b, 0) || (i > 0 && b <= bs[i-1]) {
				t.Fatalf("%q: bounds %v not ascending, positive and finite", s, bs)
			}
			parts[i] = strconv.FormatFloat(b, 'g', -1, 64)
		}
		again, err := parseBuckets(strings.Join(parts, ","))
		if err != nil || !slices.Equal(again, bs) {
			t.Fatalf("%q: %v written back reads %v, %v", s, bs, again, err)
		}
	})
}
