//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var memoryGrowthRE = regexp.MustCompile(`target\.memory_growth < 10%: actual (-?[0-9.]+)%`)

// The acceptance for the leak verdict (#14): the seed scenario
// soaked for 60 s against a clean `horde target`, its memory scraped,
// passes `target.memory_growth < 10%` ten times out of ten (a fresh
// process's heap growing to its steady size is not a leak); with the
// target leaking 4 MB a second it fails ten times out of ten. The twenty
// runs go at once, each against its own target, with few users, so the
// test takes about as long as one run.
func TestSoakVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("twenty 60 s soaks")
	}
	const runs = 10
	type outcome struct {
		leak   bool
		code   int
		growth string
		out    string
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		wg       sync.WaitGroup
	)
	for _, leak := range []bool{false, true} {
		for i := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				args := []string{}
				if leak {
					args = append(args, "--leak-bytes-per-second", "4000000")
				}
				host, admin := startTargetWithAdmin(t, args...)
				p := start(t, repoRoot, nil, hordeBin, "run", "examples/seed-api.yaml", "--headless", "-u", "5", "-r", "5", "-t", "60s",
					"-H", host, "--scrape", "http://"+admin+"/metrics", "--threshold", "target.memory_growth < 10%", "--only-summary")
				code := p.wait(t, 150*time.Second)
				out := p.stdout.String()
				g := "?"
				if m := memoryGrowthRE.FindStringSubmatch(out); m != nil {
					g = m[1]
				}
				for _, line := range strings.Split(out, "\n") {
					if strings.Contains(line, "memory leak (") {
						t.Logf("leak %v run %d: %s", leak, i, strings.TrimSpace(line))
					}
				}
				if j := strings.Index(out, "Verdict"); j >= 0 {
					out = out[j:]
				}
				mu.Lock()
				outcomes = append(outcomes, outcome{leak: leak, code: code, growth: g, out: fmt.Sprintf("run %d: %s", i, out)})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	var healthy, leaking []string
	for _, o := range outcomes {
		want := 0
		if o.leak {
			want = 1
			leaking = append(leaking, o.growth)
		} else {
			healthy = append(healthy, o.growth)
		}
		if o.code != want {
			t.Errorf("leak %v: exit code %d, want %d\n%s", o.leak, o.code, want, o.out)
		}
	}
	t.Logf("memory_growth of the healthy runs (%%): %s", strings.Join(healthy, " "))
	t.Logf("memory_growth of the leaking runs (%%): %s", strings.Join(leaking, " "))
}
