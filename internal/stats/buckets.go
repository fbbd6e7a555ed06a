package stats

import (
	"cmp"
	"math"
	"slices"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Buckets are one key's cumulative response times counted into the buckets
// of a Prometheus histogram: classic buckets with fixed upper bounds and
// native (exponential) buckets of one schema. They are read from the key's
// HDR histogram when asked for, so recording a request costs nothing more.
//
// A value is the lowest value of its HDR bucket (exact below 2.048 ms,
// within 0.05 % above), clamped to the key's exact minimum and maximum: a
// value exactly on a bound counts in the bucket the bound closes, and one
// less than 0.05 % above a bound may count in it too.
type Buckets struct {
	Method, Name string
	Count        uint64
	SumSeconds   float64 // exact
	// Classic[i] counts the values <= bounds[i] (cumulative, as Prometheus).
	Classic []uint64
	// Native counts the values > 0 by native bucket index for the schema
	// asked for: bucket i holds (2^((i-1)/2^schema), 2^(i/2^schema)] s.
	Native map[int]int64
	// Zero counts the values of 0 (below the 1 µs resolution).
	Zero uint64
}

// Buckets returns every key's cumulative Buckets, sorted by (Name, Method),
// for classic upper bounds in seconds (ascending) and a native schema
// (-4 to 8; see NativeKey).
func (s *Stats) Buckets(bounds []float64, schema int32) []Buckets {
	out := make([]Buckets, 0, len(s.entries))
	for k, c := range s.entries {
		if c.Count == 0 {
			continue
		}
		out = append(out, c.buckets(k, bounds, schema))
	}
	slices.SortFunc(out, func(a, b Buckets) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Method, b.Method))
	})
	return out
}

// buckets counts c's histogram into classic and native buckets.
func (c *cumEntry) buckets(k Key, bounds []float64, schema int32) Buckets {
	b := Buckets{
		Method: k.Method, Name: k.Name,
		SumSeconds: float64(c.SumMicros) / 1e6,
		Classic:    make([]uint64, len(bounds)),
		Native:     make(map[int]int64),
	}
	perBound := make([]uint64, len(bounds)+1) // not yet cumulative; last: above every bound
	countInto(c.hist(), c.MinMicros, c.MaxMicros, bounds, schema, perBound, &b)
	var cum uint64
	for i := range bounds {
		cum += perBound[i]
		b.Classic[i] = cum
	}
	return b
}

// countInto adds each populated HDR bucket of h to perBound (by the first
// bound its value is at most) and to b's native buckets and count. The
// buckets come in ascending order, so both indexes only move up: a bucket
// costs a comparison or two, not a search or a logarithm.
func countInto(h *hdr.PackedHistogram, minUs, maxUs int64, bounds []float64, schema int32, perBound []uint64, b *Buckets) {
	bi := 0
	key, upper := 0, math.Inf(-1) // the native bucket in use and its upper bound
	var inKey int64               // counted into key, not yet in b.Native
	defer func() {
		if inKey > 0 {
			b.Native[key] += inKey
		}
	}()
	for v, n := range h.ForEachBucket {
		if n <= 0 {
			continue
		}
		us := min(max(v, minUs), maxUs)
		sec := float64(us) / 1e6
		for bi < len(bounds) && bounds[bi] < sec {
			bi++
		}
		perBound[bi] += uint64(n)
		b.Count += uint64(n)
		if us <= 0 {
			b.Zero += uint64(n)
			continue
		}
		if sec > upper {
			if inKey > 0 {
				b.Native[key] += inKey
			}
			key, inKey = NativeKey(sec, schema), 0
			upper = nativeUpper(key, schema)
		}
		inKey += n
	}
}

// nativeUpper is the upper bound of native bucket key at schema, as
// NativeKey places values: the largest v with NativeKey(v) == key.
func nativeUpper(key int, schema int32) float64 {
	u := math.Exp2(float64(key) / math.Ldexp(1, int(schema)))
	for NativeKey(u, schema) > key { // rounding: stay inside the bucket
		u = math.Nextafter(u, 0)
	}
	for n := math.Nextafter(u, math.Inf(1)); NativeKey(n, schema) == key; n = math.Nextafter(n, math.Inf(1)) {
		u = n
	}
	return u
}

// NativeKey is the index of the native histogram bucket holding v > 0 at
// schema: the i with 2^((i-1)/2^schema) < v <= 2^(i/2^schema).
func NativeKey(v float64, schema int32) int {
	// math.Log2 is exact for powers of two, so a bound falls in its own bucket.
	return int(math.Ceil(math.Log2(v) * math.Ldexp(1, int(schema))))
}

// NativeSchema is the schema client_golang picks for a
// NativeHistogramBucketFactor f > 1: the largest whose bucket growth
// factor 2^(2^-schema) is at most f, within -4 and 8.
func NativeSchema(f float64) int32 {
	floor := math.Floor(math.Log2(math.Log2(f)))
	switch {
	case floor <= -8:
		return 8
	case floor >= 4:
		return -4
	}
	return -int32(floor)
}
