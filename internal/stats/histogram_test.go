package stats

import (
	"math"
	"testing"
	"time"
)

// TestBucketMedian checks the package's bucket arithmetic against
// hdrhistogram-go: a value recorded alone reads back, at p100, as its
// bucket's highest equivalent value; the median lies half a bucket above
// the lowest.
func TestBucketMedian(t *testing.T) {
	vals := []int64{0, 1, 2, 1000, 2047, 2048, 2049, 2050, 4095, 4096, 4100, 150_000, 999_999, 12_345_678, HighestMicros - 1, HighestMicros}
	for _, v := range vals {
		h := newSparse()
		if err := h.RecordValue(v); err != nil {
			t.Fatalf("RecordValue(%d): %v", v, err)
		}
		var lowest int64
		for lv := range h.ForEachBucket {
			lowest = lv
		}
		d := newHist()
		_ = d.RecordValue(v)
		highest := d.ValueAtPercentile(100)
		width := highest - lowest + 1
		if got, want := bucketMedian(lowest), lowest+width/2; got != want {
			t.Errorf("bucketMedian(%d) (value %d) = %d, want %d", lowest, v, got, want)
		}
		if v < 2048 && bucketMedian(lowest) != v {
			t.Errorf("bucketMedian(%d) = %d, want exact %d below 2048", lowest, bucketMedian(lowest), v)
		}
		if err := math.Abs(float64(bucketMedian(lowest)-v)) / math.Max(1, float64(v)); err > 5e-4 {
			t.Errorf("bucketMedian for %d: relative error %g, want <= 5e-4", v, err)
		}
	}
}

func TestMicros(t *testing.T) {
	tests := []struct {
		d           time.Duration
		want        int64
		wantClamped bool
	}{
		{-time.Second, 0, false},
		{0, 0, false},
		{499 * time.Nanosecond, 0, false},
		{500 * time.Nanosecond, 1, false},
		{1499 * time.Nanosecond, 1, false},
		{1500 * time.Nanosecond, 2, false},
		{150 * time.Millisecond, 150_000, false},
		{time.Hour, HighestMicros, false},
		{time.Hour + 499*time.Nanosecond, HighestMicros, false},
		{time.Hour + 500*time.Nanosecond, HighestMicros, true},
		{2 * time.Hour, HighestMicros, true},
		{math.MaxInt64, HighestMicros, true},
	}
	for _, tt := range tests {
		got, clamped := micros(tt.d)
		if got != tt.want || clamped != tt.wantClamped {
			t.Errorf("micros(%v) = %d, %v; want %d, %v", tt.d, got, clamped, tt.want, tt.wantClamped)
		}
	}
}

func TestRankFor(t *testing.T) {
	tests := []struct {
		p    float64
		n    int64
		want int64
	}{
		{0.5, 0, 0},
		{0.5, 1, 1},
		{0, 10, 1},
		{0.5, 10, 5},
		{0.5, 11, 6},
		{0.999, 100_000, 99_900},
		{0.9999, 100_000, 99_990},
		{0.66, 100, 66},
		{0.99, 1000, 990},
		{1, 7, 7},
		{1.5, 7, 7},
		{math.NaN(), 7, 1},
	}
	for _, tt := range tests {
		if got := rankFor(tt.p, tt.n); got != tt.want {
			t.Errorf("rankFor(%v, %d) = %d, want %d", tt.p, tt.n, got, tt.want)
		}
	}
}
