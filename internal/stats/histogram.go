package stats

import (
	"math"
	"math/bits"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// subBucketBits is log2 of the histogram's sub-bucket count: the smallest
// power of two holding 2×10^SignificantFigures (2048 for 3 digits). Values
// below 2^subBucketBits have their own bucket; above, a bucket spans
// 2^(bits.Len(v)-subBucketBits) values. LowestMicros is 1, so the unit
// magnitude is 0. TestBucketMedian checks this against hdrhistogram-go.
var subBucketBits = bits.Len64(uint64(2*math.Pow10(SignificantFigures)) - 1)

// newHist returns an empty dense histogram with the package geometry.
func newHist() *hdr.Histogram {
	return hdr.New(LowestMicros, HighestMicros, SignificantFigures)
}

// newSparse returns an empty sparse histogram with the package geometry.
func newSparse() *hdr.PackedHistogram {
	return hdr.NewPacked(LowestMicros, HighestMicros, SignificantFigures)
}

// bucketMedian returns the median-equivalent value of the bucket whose lowest
// value is v (what PackedHistogram.ForEachBucket reports), as hdrhistogram's
// medianEquivalentValue does. Its error is at most half a bucket width, i.e.
// below 2^-(subBucketBits) ≈ 0.05 % of the value, and 0 below 2048 µs.
func bucketMedian(v int64) int64 {
	shift := bits.Len64(uint64(v)|(1<<subBucketBits-1)) - subBucketBits
	return v + (int64(1)<<shift)>>1
}

// micros converts a duration to whole microseconds, rounding to nearest, and
// clamps it to [0, HighestMicros]. clamped reports a value above the range.
func micros(d time.Duration) (us int64, clamped bool) {
	switch {
	case d <= 0:
		return 0, false
	case d >= time.Duration(HighestMicros)*time.Microsecond+time.Microsecond/2:
		return HighestMicros, true
	}
	return int64((d + time.Microsecond/2) / time.Microsecond), false
}

// rankFor returns the nearest rank of fraction p among n values:
// ceil(p·n), at least 1 and at most n. A product within 1e-9 of an integer
// is taken as that integer, so that 0.999×100000 is 99900, not 99901.
func rankFor(p float64, n int64) int64 {
	if n <= 0 {
		return 0
	}
	x := p * float64(n)
	if r := math.Round(x); math.Abs(x-r) <= 1e-9*math.Max(1, math.Abs(x)) {
		x = r
	}
	rank := int64(math.Ceil(x))
	if !(x > 0) || rank < 1 { // also catches NaN
		return 1
	}
	if rank > n {
		return n
	}
	return rank
}

// percentilesMicros fills out[i] with the nearest-rank value of ps[i] in h, in
// microseconds, in one pass over h's populated buckets. ps must be ascending.
// A value is the median-equivalent value of the bucket holding the rank-th
// smallest sample, clamped to [minUs, maxUs]; rank 1 is minUs and rank N is
// maxUs exactly, since those are known. With an empty h, every value is 0.
func percentilesMicros(h *hdr.PackedHistogram, ps []float64, minUs, maxUs int64, out []int64) {
	n := h.TotalCount()
	if n == 0 {
		clear(out)
		return
	}
	var ranks [16]int64
	rs := ranks[:0]
	if len(ps) > len(ranks) {
		rs = make([]int64, 0, len(ps))
	}
	for _, p := range ps {
		rs = append(rs, rankFor(p, n))
	}
	j := 0
	var cum int64
	for v, c := range h.ForEachBucket {
		cum += c
		for j < len(rs) && rs[j] <= cum {
			out[j] = bucketMedian(v)
			j++
		}
		if j == len(rs) {
			break
		}
	}
	for i, r := range rs {
		switch {
		case i >= j: // unreachable unless the counts are inconsistent
			out[i] = maxUs
		case r == n:
			out[i] = maxUs
		case r == 1:
			out[i] = minUs
		default:
			out[i] = min(max(out[i], minUs), maxUs)
		}
	}
}
