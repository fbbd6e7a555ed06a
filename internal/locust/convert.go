package locust

import (
	"fmt"
	"math"
	"sort"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/horde-load/horde/internal/stats"
)

// Report is what one Locust "stats" message carries, converted: the
// requests since the worker's previous report (Locust resets its entries
// after each report), and its users.
type Report struct {
	Interval   *stats.Interval
	ClassUsers map[string]int // nil when the message had none
	Users      int
	// Requests with no response time (Locust's num_none_requests): counted,
	// absent from the histogram.
	NoTime int64
}

// ConvertStats turns the data of a Locust "stats" message into horde's
// interval statistics. Each request entry gives its exact count,
// failures, sum, min, max and content length; its response times come as
// Locust's rounded buckets ({bucket_ms: count}), each recorded into the
// histogram at the bucket's value, so percentiles are exact only to
// Locust's rounding (docs/locust.md). Error entries become horde's
// failures by (method, name, message). "stats_total" is not used: horde
// sums the entries itself.
func ConvertStats(data any) (*Report, error) {
	m, ok := asMap(data)
	if !ok {
		return nil, fmt.Errorf("stats: data is %T, not a dict", data)
	}
	r := &Report{Interval: &stats.Interval{Entries: map[stats.Key]*stats.IntervalEntry{}}}
	if v, present := m["stats"]; present && v != nil {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("stats: \"stats\" is %T, not a list", v)
		}
		for i, e := range list {
			key, ent, noTime, err := convertEntry(e)
			if err != nil {
				return nil, fmt.Errorf("stats: entry %d: %w", i, err)
			}
			if ent.Count == 0 {
				continue
			}
			r.NoTime += noTime
			if prev := r.Interval.Entries[key]; prev != nil {
				one := &stats.Interval{Entries: map[stats.Key]*stats.IntervalEntry{key: ent}}
				r.Interval.Merge(one)
				continue
			}
			r.Interval.Entries[key] = ent
		}
	}
	if v, present := m["errors"]; present && v != nil {
		errs, ok := asMap(v)
		if !ok {
			return nil, fmt.Errorf("stats: \"errors\" is %T, not a dict", v)
		}
		// Sorted, so that the cap on distinct errors keeps the same ones
		// whatever the map order.
		keys := make([]string, 0, len(errs))
		byKey := map[string]map[any]any{}
		for k, e := range errs {
			em, ok := asMap(e)
			if !ok {
				return nil, fmt.Errorf("stats: error %v is %T, not a dict", k, e)
			}
			ks := fmt.Sprint(k)
			keys = append(keys, ks)
			byKey[ks] = em
		}
		sort.Strings(keys)
		for _, ks := range keys {
			em := byKey[ks]
			method, _ := asString(em["method"])
			name, _ := asString(em["name"])
			msg, ok := asString(em["error"])
			if !ok {
				msg = fmt.Sprint(em["error"])
			}
			n, ok := asInt(em["occurrences"])
			if !ok || n < 0 {
				return nil, fmt.Errorf("stats: error %q: occurrences %v", msg, em["occurrences"])
			}
			if r.Interval.Errors == nil {
				r.Interval.Errors = map[stats.ErrorKey]int64{}
			}
			k := stats.ErrorKey{Method: method, Name: name, Message: msg}
			if _, have := r.Interval.Errors[k]; have || len(r.Interval.Errors) < stats.DefaultMaxErrors {
				r.Interval.Errors[k] += n
			} else {
				r.Interval.ErrorsDropped += n
			}
		}
	}
	if v, present := m["user_classes_count"]; present && v != nil {
		uc, ok := asMap(v)
		if !ok {
			return nil, fmt.Errorf("stats: \"user_classes_count\" is %T, not a dict", v)
		}
		r.ClassUsers = classCounts(uc)
	}
	if n, ok := asInt(m["user_count"]); ok {
		r.Users = int(n)
	}
	return r, nil
}

// classCounts reads a {class name: users} dict (bad values count as 0).
func classCounts(uc map[any]any) map[string]int {
	out := make(map[string]int, len(uc))
	for k, v := range uc {
		name, ok := asString(k)
		if !ok {
			continue
		}
		n, _ := asInt(v)
		out[name] = int(max(n, 0))
	}
	return out
}

// micros converts Locust's milliseconds (float or int) to whole
// microseconds, clamped to the histogram's range.
func micros(ms float64) int64 {
	us := math.Round(ms * 1000)
	switch {
	case us < 0:
		return 0
	case us > float64(stats.HighestMicros):
		return stats.HighestMicros
	}
	return int64(us)
}

// convertEntry converts one serialized StatsEntry.
func convertEntry(v any) (stats.Key, *stats.IntervalEntry, int64, error) {
	m, ok := asMap(v)
	if !ok {
		return stats.Key{}, nil, 0, fmt.Errorf("%T, not a dict", v)
	}
	var key stats.Key
	key.Name, ok = asString(m["name"])
	if !ok {
		return key, nil, 0, fmt.Errorf("name is %T, not a string", m["name"])
	}
	key.Method, _ = asString(m["method"]) // None for a few custom events
	num := func(field string) (int64, error) {
		f, present := m[field]
		if !present || f == nil {
			return 0, nil
		}
		n, ok := asInt(f)
		if !ok || n < 0 {
			return 0, fmt.Errorf("%s %q: %s %v is not a count", key.Method, key.Name, field, f)
		}
		return n, nil
	}
	e := &stats.IntervalEntry{}
	var err error
	if e.Count, err = num("num_requests"); err != nil {
		return key, nil, 0, err
	}
	if e.Failures, err = num("num_failures"); err != nil {
		return key, nil, 0, err
	}
	noTime, err := num("num_none_requests")
	if err != nil {
		return key, nil, 0, err
	}
	if e.Bytes, err = num("total_content_length"); err != nil {
		return key, nil, 0, err
	}
	if f, ok := asFloat(m["total_response_time"]); ok && f > 0 {
		e.SumMicros = micros(f)
		if f*1000 > math.MaxInt64/2 {
			e.SumMicros = math.MaxInt64 / 2
		}
	}
	if f, ok := asFloat(m["min_response_time"]); ok {
		e.MinMicros = micros(f)
	}
	if f, ok := asFloat(m["max_response_time"]); ok {
		e.MaxMicros = micros(f)
	}
	if e.Count == 0 {
		return key, e, noTime, nil
	}
	if e.Failures > e.Count {
		e.Failures = e.Count
	}
	e.Hist = hdr.New(stats.LowestMicros, stats.HighestMicros, stats.SignificantFigures)
	if b, present := m["response_times"]; present && b != nil {
		buckets, ok := asMap(b)
		if !ok {
			return key, nil, 0, fmt.Errorf("%s %q: response_times is %T, not a dict", key.Method, key.Name, b)
		}
		var timed int64
		for k, c := range buckets {
			ms, ok := asFloat(k)
			if !ok {
				return key, nil, 0, fmt.Errorf("%s %q: response-time bucket %v is not a number", key.Method, key.Name, k)
			}
			n, ok := asInt(c)
			if !ok || n < 0 {
				return key, nil, 0, fmt.Errorf("%s %q: bucket %v has count %v", key.Method, key.Name, k, c)
			}
			timed += n
			if timed > e.Count {
				return key, nil, 0, fmt.Errorf("%s %q: the buckets hold more than its %d requests", key.Method, key.Name, e.Count)
			}
			if n > 0 {
				_ = e.Hist.RecordValues(micros(ms), n) // cannot fail: micros clamps to the range
			}
		}
		if timed > 0 && e.MaxMicros < e.MinMicros {
			e.MaxMicros = e.MinMicros
		}
	}
	return key, e, noTime, nil
}
