package soak

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// A heap scraped every 30 s (kube-prometheus's interval), slower than its
// collections: its floor and its samples' means are both noisy levels of
// the live set, and a 5 %/h leak over 2 h is flagged when both climb
// (trendsAgree). On these series, before it: the JVM heap's leaks
// flagged in 88.5 %, the Go heap's in 79.5 % (the trend test of one
// level or the other at p = 0.06–0.4); after: 95 % and 83.5 % (the Go
// heap's goal of 90 % is not met: its samples, spread over its whole
// GOGC cycle, measure their growth too loosely in most runs; see
// docs/soak.md, issue #25's twenty-fourth part). The flat twins stay
// below the no-leak goal.
func TestLeak_HeapTrendsAgreeAt30s(t *testing.T) {
	heaps := []struct {
		name string
		g    func(*rand.Rand, gen) gen
	}{
		{"JVM heap", func(r *rand.Rand, l gen) gen { return jvmHeap(r, l, 0.01) }},
		{"Go heap", func(r *rand.Rand, l gen) gen { return goHeap(r, l, 0.01) }},
	}
	const n = 200
	for _, h := range heaps {
		for _, rate := range []float64{0, 5} {
			r := rand.New(rand.NewPCG(2524, uint64(rate)))
			flagged, agreed := 0, 0
			for range n {
				pts := sample(2*time.Hour, 30*time.Second, h.g(r, leakF(100*mb, rate, 0)))
				res := Leak("heap", pts, LeakOptions{Kind: KindHeap})
				if res.Status == Warn || res.Status == Fail {
					flagged++
				}
				if strings.Contains(res.Reason, "its samples as a whole climbed too") {
					agreed++
					if res.Status != Warn {
						t.Errorf("%s %.0f%%/h: %s, want a warning: %s", h.name, rate, res.Status, res.Reason)
					}
					// Bytes first: the samples' and the floor's rates in
					// B/h, kB/h or MB/h, then the percentages.
					if !strings.Contains(res.Reason, "MB/h (") || !strings.Contains(res.Reason, "trend p=") {
						t.Errorf("%s: the reason does not give the growth in bytes first: %s", h.name, res.Reason)
					}
				}
			}
			pct := 100 * float64(flagged) / n
			switch {
			case rate > 0 && h.name == "JVM heap" && pct < 90:
				t.Errorf("%s leaking %.0f%%/h over 2 h, scraped every 30 s: flagged %.1f%%, want >= 90%%", h.name, rate, pct)
			case rate > 0 && pct < 82:
				t.Errorf("%s leaking %.0f%%/h over 2 h, scraped every 30 s: flagged %.1f%%, want >= 82%% (79.5%% before trendsAgree)", h.name, rate, pct)
			case rate == 0 && pct > 5:
				t.Errorf("%s flat over 2 h, scraped every 30 s: flagged %.1f%%, want <= 5%%", h.name, pct)
			}
			if rate > 0 && agreed == 0 {
				t.Errorf("%s leaking: no verdict was decided by the two levels agreeing", h.name)
			}
			t.Logf("%s %.0f%%/h: flagged %.1f%% (%d by the two levels agreeing)", h.name, rate, pct, agreed)
		}
	}
}

// A cache that fills in the first third of the window and stays, on a
// heap whose samples carry its whole GC cycle (the recorded Node.js cache
// at ×30: 2.4 h, full after 50 minutes): its floor's line and its
// samples' both climb over the window, but the samples measure their
// growth only to ±7.5 %/h, not a level of their own; not flagged.
func TestLeak_TrendsAgreeSparesAFilledCache(t *testing.T) {
	for _, r := range loadRecorded(t) {
		if r.name != "node-cache" {
			continue
		}
		for _, view := range []string{"raw", "prometheus"} {
			pts := stretch(r.heap, runtimeCompression)
			if view == "prometheus" {
				pts = promRange(pts)
			}
			res := Leak("node-cache heap", pts, LeakOptions{Kind: KindHeap})
			if res.Status == Warn || res.Status == Fail {
				t.Errorf("node-cache heap ×%d (%s): %s: %s", runtimeCompression, view, res.Status, res.Reason)
			}
		}
		return
	}
	t.Fatal("no node-cache recording")
}

// Scraped every 60 s over 2 h, a bucket of samplesRate holds three
// samples, and its trimmed mean is one of them: not a level trendsAgree
// reads. Without minMeanSamples, 3 of these 200 flat JVM heaps warned by
// it (6 % flagged in all, 4.5 % without it).
func TestLeak_TrendsAgreeNeedsMeansOfSeveralSamples(t *testing.T) {
	step, span := 60*time.Second, 2*time.Hour
	r := rand.New(rand.NewPCG(uint64(step)+uint64(span)+13, 99))
	for i := range 200 {
		pts := sample(span, step, jvmHeap(r, leakF(100*mb, 0, 0), 0.01))
		res := Leak("heap", pts, LeakOptions{Kind: KindHeap})
		if strings.Contains(res.Reason, "its samples as a whole climbed too") {
			t.Errorf("flat JVM heap %d at 60 s: %s: %s", i, res.Status, res.Reason)
		}
	}
}
