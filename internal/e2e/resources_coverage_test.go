//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/store"
)

// coverageKnob is a resource knob of the target with a limit, and how the
// test sees the resource from outside (the OS, the target's file, its
// /metrics) to know when it truly runs out.
type coverageKnob struct {
	name   string
	kind   string // the verdict's resource.kind
	args   func(dir string) []string
	limits string // a monitor limits: entry, if the limit is given as a number
	limit  float64
	// margin: the resource counts as run out at limit - margin (open fds:
	// the connections in flight hold a descriptor or two when the leak's
	// open fails).
	margin float64
	// perRequest: the resource grows per request, so the pause between
	// the soak and the load that continues it does not count.
	perRequest bool
	observe    func(pid int, admin, dir string) (float64, error)
}

// coverageRun is one soak's forecast against the truth.
type coverageRun struct {
	knob           string
	ok             bool // a forecast was made
	lo, in, hi     time.Duration
	hiNever        bool
	truth          time.Duration
	truthKnown     bool // false: not reached by the time the interval had passed
	covered        bool
	reason, errMsg string
	// For a replay: the soak's run file, its forecast's At, the pause
	// between the loads.
	runFile string
	at      time.Time
	gap     time.Duration
}

// coverageRecord is a run as HORDE_COVERAGE_RECORD writes it (one JSON
// object a line), for HORDE_COVERAGE_REPLAY to judge again.
type coverageRecord struct {
	Knob       string    `json:"knob"`
	RunFile    string    `json:"run_file"`
	At         time.Time `json:"at"`
	TruthS     float64   `json:"truth_s"`
	TruthKnown bool      `json:"truth_known"`
	LoS        float64   `json:"lo_s"`
	InS        float64   `json:"in_s"`
	HiS        float64   `json:"hi_s"`
	Forecast   bool      `json:"forecast"`
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// The forecast's interval against the true time to exhaustion, measured
// on the sample target for each knob with a limit (opt-in:
// HORDE_COVERAGE=1; HORDE_COVERAGE_RUNS runs per knob, default 20;
// HORDE_COVERAGE_PARALLEL at once, default 8; HORDE_COVERAGE_SOAK the
// soak's length, default 60s; HORDE_COVERAGE_KNOBS a comma-separated
// subset; HORDE_COVERAGE_OUT a file for the table; HORDE_COVERAGE_SEED
// draws each run's load and limits, for a measurement on other runs than
// the interval was tuned on: see drawCoverageParams). Each run: a headless
// soak of SOAK with the target's resource metrics scraped every second;
// then the same load continues (a second horde run, started as the first
// ends) until the resource, watched from outside (/proc, the written
// file, the target's /metrics), reaches its limit. The truth is that
// moment less the forecast's At (the soak's last sample), less the pause
// between the two loads for a resource that grows per request.
func TestResources_ForecastCoverage(t *testing.T) {
	if os.Getenv("HORDE_COVERAGE") != "1" {
		t.Skip("opt-in: HORDE_COVERAGE=1 runs 20 soaks per resource knob (about 30 minutes)")
	}
	runs := envInt("HORDE_COVERAGE_RUNS", 20)
	par := envInt("HORDE_COVERAGE_PARALLEL", 8)
	soakLen := os.Getenv("HORDE_COVERAGE_SOAK")
	if soakLen == "" {
		soakLen = "60s"
	}
	knobs := coverageKnobs(defaultCoverageParams())
	// HORDE_COVERAGE_SEED: each run draws its own load and limits
	// (drawCoverageParams), seeded by the seed, the run and the knob.
	seed, seeded := uint64(0), false
	if v := os.Getenv("HORDE_COVERAGE_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("HORDE_COVERAGE_SEED=%q: %v", v, err)
		}
		seed, seeded = n, true
	}
	soakDur, err := time.ParseDuration(soakLen)
	if err != nil {
		t.Fatalf("HORDE_COVERAGE_SOAK=%q: %v", soakLen, err)
	}
	if only := os.Getenv("HORDE_COVERAGE_KNOBS"); only != "" {
		knobs = slices.DeleteFunc(knobs, func(k coverageKnob) bool { return !slices.Contains(strings.Split(only, ","), k.name) })
	}
	results := map[string][]coverageRun{}
	if replay := os.Getenv("HORDE_COVERAGE_REPLAY"); replay != "" {
		// Judge recorded soaks again with this build: the truth stays.
		b, err := os.ReadFile(replay)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var rec coverageRecord
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("%s: %v", replay, err)
			}
			i := slices.IndexFunc(knobs, func(k coverageKnob) bool { return k.name == rec.Knob })
			if i < 0 {
				continue
			}
			p := start(t, t.TempDir(), nil, hordeBin, "analyze", rec.RunFile, "--format", "json")
			p.wait(t, time.Minute)
			var doc struct {
				Verdicts []coverageVerdict `json:"verdicts"`
			}
			if err := json.Unmarshal([]byte(p.stdout.String()), &doc); err != nil {
				t.Fatalf("analyze %s: %v\n%s", rec.RunFile, err, p.stderr)
			}
			r := coverageRun{knob: rec.Knob, truth: secs(rec.TruthS), truthKnown: rec.TruthKnown}
			r.forecastFrom(doc.Verdicts, knobs[i].kind)
			r.covered = r.ok && r.truthKnown && r.truth >= r.lo && (r.hiNever || r.truth <= r.hi)
			t.Logf("%s %s: %s", rec.Knob, filepath.Base(rec.RunFile), r.line())
			results[rec.Knob] = append(results[rec.Knob], r)
		}
		coverageTable(t, knobs, results, "replay of "+replay)
		return
	}
	var record *os.File
	if path := os.Getenv("HORDE_COVERAGE_RECORD"); path != "" {
		var err error
		if record, err = os.Create(path); err != nil {
			t.Fatal(err)
		}
		defer record.Close()
	}
	keep := os.Getenv("HORDE_COVERAGE_RUNS_DIR") // where the soaks' run files stay (for a replay)
	var mu sync.Mutex
	sem := make(chan struct{}, par)
	t.Run("runs", func(t *testing.T) {
		var wg sync.WaitGroup
		defer wg.Wait()
		// Interleave the knobs so that each meets the same machine load.
		for i := range runs {
			for _, k := range knobs {
				p := defaultCoverageParams()
				if seeded {
					// Drawn by the knob's place among all (a subset draws
					// what the whole set would).
					all := coverageKnobs(p)
					j := slices.IndexFunc(all, func(a coverageKnob) bool { return a.name == k.name })
					p = drawCoverageParams(rand.New(rand.NewPCG(seed, uint64(i*len(all)+j))), soakDur)
					k = coverageKnobs(p)[j]
				}
				goRun(t, &wg, fmt.Sprintf("%s/%d", k.name, i), func(t *testing.T) {
					sem <- struct{}{}
					defer func() { <-sem }()
					r := coverageSoak(t, k, p, soakLen, keep)
					t.Logf("%s (%v): %s %s", k.name, p, r.line(), r.errMsg)
					mu.Lock()
					defer mu.Unlock()
					results[k.name] = append(results[k.name], r)
					if record != nil && r.runFile != "" {
						b, _ := json.Marshal(coverageRecord{Knob: k.name, RunFile: r.runFile, At: r.at, TruthS: r.truth.Seconds(), TruthKnown: r.truthKnown,
							LoS: r.lo.Seconds(), InS: r.in.Seconds(), HiS: r.hi.Seconds(), Forecast: r.ok})
						record.Write(append(b, '\n'))
					}
				})
			}
		}
	})
	what := fmt.Sprintf("soak %s, %d at once, the tuning's load and limits", soakLen, par)
	if seeded {
		what = fmt.Sprintf("soak %s, %d at once, load and limits drawn with seed %d", soakLen, par, seed)
	}
	coverageTable(t, knobs, results, what)
}

func (r coverageRun) line() string {
	return fmt.Sprintf("forecast %v (%v – %v, never=%v), truth %v (known %v): covered %v",
		r.in.Round(time.Second), r.lo.Round(time.Second), r.hi.Round(time.Second), r.hiNever, r.truth.Round(time.Second), r.truthKnown, r.covered)
}

// coverageTable writes the table of runs, forecasts made, intervals that
// held the truth and the intervals' width, and fails a knob under 90 %.
func coverageTable(t *testing.T, knobs []coverageKnob, results map[string][]coverageRun, what string) {
	var table strings.Builder
	fmt.Fprintf(&table, "| knob | runs | forecasts | covered | median truth | median interval width | median width / truth |\n|---|---|---|---|---|---|---|\n")
	for _, k := range knobs {
		rs := results[k.name]
		n, made, cov := len(rs), 0, 0
		var widths, truths, rel []float64
		for _, r := range rs {
			if r.ok {
				made++
				if !r.hiNever {
					widths = append(widths, (r.hi - r.lo).Seconds())
					if r.truthKnown && r.truth > 0 {
						rel = append(rel, (r.hi-r.lo).Seconds()/r.truth.Seconds())
					}
				}
			}
			if r.truthKnown {
				truths = append(truths, r.truth.Seconds())
			}
			if r.covered {
				cov++
			}
		}
		fmt.Fprintf(&table, "| %s | %d | %d | %d | %.0f s | %.0f s | %.0f %% |\n", k.name, n, made, cov, medianOf(truths), medianOf(widths), 100*medianOf(rel))
		if n > 0 && float64(cov) < 0.9*float64(n) {
			t.Errorf("%s: the interval held the true time to exhaustion in %d of %d runs, want 90 %%", k.name, cov, n)
		}
	}
	t.Logf("forecast coverage (%s):\n%s", what, table.String())
	if out := os.Getenv("HORDE_COVERAGE_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// coverageVerdict is what the coverage test reads of a verdict.
type coverageVerdict struct {
	Name     string `json:"name"`
	Reason   string `json:"reason"`
	Resource *struct {
		Kind     string `json:"kind"`
		Forecast *struct {
			At      time.Time `json:"at"`
			InS     float64   `json:"in_s"`
			LoS     float64   `json:"lo_s"`
			HiS     float64   `json:"hi_s"`
			HiNever bool      `json:"hi_never"`
			Reached bool      `json:"reached"`
		} `json:"forecast"`
	} `json:"resource"`
}

// forecastFrom sets r's forecast from the verdict on a resource of kind.
func (r *coverageRun) forecastFrom(vs []coverageVerdict, kind string) {
	for _, v := range vs {
		if v.Resource == nil || v.Resource.Kind != kind {
			continue
		}
		r.reason = v.Reason
		if f := v.Resource.Forecast; f != nil && !f.Reached {
			r.ok, r.at = true, f.At
			r.in, r.lo, r.hi = secs(f.InS), secs(f.LoS), secs(f.HiS)
			r.hiNever = f.HiNever
		}
	}
	if !r.ok {
		r.errMsg = "no forecast: " + r.reason
	}
}

// coverageParams is one run's load and limits. The defaults are the
// configuration the forecast's interval was tuned on (2 users, a request
// every 40 ms each, a 6,000 fds or pool limit, 1 MB/s to 140 MB, 20 kB a
// request to 180 MiB); HORDE_COVERAGE_SEED draws each run's own, so that
// a measurement is independent of the soaks the interval was tuned on.
type coverageParams struct {
	users     int
	pacing    time.Duration
	every     int           // a descriptor or a pool slot leaked per this many requests
	horizon   time.Duration // the aimed time to exhaustion after the soak
	fdLimit   int
	poolLimit int
	diskRate  int     // bytes a second written
	diskMax   float64 // bytes
	leakBytes int     // bytes leaked a request
	memLimit  float64 // bytes
}

func (p coverageParams) String() string {
	return fmt.Sprintf("%d users, pacing %v, leak every %d, aimed %v after the soak, fds %d, pool %d, disk %d B/s to %.0f, memory %d B/request to %.0f MiB",
		p.users, p.pacing, p.every, p.horizon, p.fdLimit, p.poolLimit, p.diskRate, p.diskMax, p.leakBytes, p.memLimit/(1<<20))
}

func defaultCoverageParams() coverageParams {
	return coverageParams{users: 2, pacing: 40 * time.Millisecond, every: 1, fdLimit: 6000, poolLimit: 6000,
		diskRate: 1000000, diskMax: 140e6, leakBytes: 20000, memLimit: 180 << 20}
}

// drawCoverageParams draws a run's load and limits: 1–3 users, a request
// every 30–70 ms each, a leak per 1 or 2 requests, 0.4–1.6 MB/s written,
// 8–30 kB leaked a request, and limits the resource reaches 30–150 s
// after a soak of soak (at the nominal rate: the truth is measured).
func drawCoverageParams(rng *rand.Rand, soak time.Duration) coverageParams {
	p := coverageParams{users: 1 + rng.IntN(3), pacing: time.Duration(30+rng.IntN(41)) * time.Millisecond, every: 1 + rng.IntN(2),
		horizon: time.Duration(30+rng.IntN(121)) * time.Second}
	rate := float64(p.users) / p.pacing.Seconds() // requests a second
	total := (soak + p.horizon).Seconds()
	p.fdLimit = min(15000, 20+int(rate/float64(p.every)*total))
	p.poolLimit = int(rate / float64(p.every) * total)
	p.diskRate = 400000 + rng.IntN(1200001)
	p.diskMax = math.Round(float64(p.diskRate) * total)
	p.leakBytes = 8000 + rng.IntN(22001)
	// The target's resident set without the leak (about 30 MB under this
	// load; 48 MiB leaves room for a busy start) and the leak.
	p.memLimit = math.Round(48<<20 + float64(p.leakBytes)*rate*total)
	return p
}

func coverageKnobs(p coverageParams) []coverageKnob {
	every := strconv.Itoa(p.every)
	return []coverageKnob{
		{name: "fds", kind: "open fds", limit: float64(p.fdLimit), margin: 2, perRequest: true,
			args: func(string) []string { return []string{"--leak-fd-every", every, "--max-fds", strconv.Itoa(p.fdLimit)} },
			observe: func(pid int, _, _ string) (float64, error) {
				es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
				return float64(len(es)), err
			}},
		{name: "pool", kind: "pool slots in use", limit: float64(p.poolLimit), perRequest: true,
			args: func(string) []string {
				return []string{"--leak-pool-every", every, "--pool-size", strconv.Itoa(p.poolLimit)}
			},
			observe: func(_ int, admin, _ string) (float64, error) {
				return scrapeValue(admin, "horde_target_pool_in_use")
			}},
		{name: "disk", kind: "disk used", limit: p.diskMax,
			args: func(dir string) []string {
				return []string{"--write-dir", dir, "--write-bytes-per-second", strconv.Itoa(p.diskRate),
					"--write-max", strconv.FormatFloat(p.diskMax, 'f', 0, 64)}
			},
			observe: func(pid int, _, dir string) (float64, error) {
				st, err := os.Stat(filepath.Join(dir, fmt.Sprintf("horde-target-%d.data", pid)))
				if err != nil {
					return 0, err
				}
				return float64(st.Size()), nil
			}},
		{name: "memory", kind: "memory", limit: p.memLimit, perRequest: true,
			limits: fmt.Sprintf("  limits: {process_resident_memory_bytes: %.0f}\n", p.memLimit),
			args:   func(string) []string { return []string{"--leak-bytes-per-request", strconv.Itoa(p.leakBytes)} },
			observe: func(pid int, _, _ string) (float64, error) {
				return procRSS(pid)
			}},
	}
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// coverageSoak runs one soak against a target with knob k, continues the
// load until the resource runs out, and compares.
func coverageSoak(t *testing.T, k coverageKnob, p coverageParams, soakLen, keep string) coverageRun {
	r := coverageRun{knob: k.name}
	dir := t.TempDir()
	runsDir := filepath.Join(dir, "runs")
	if keep != "" {
		runsDir = keep
	}
	tp := start(t, repoRoot, nil, hordeBin, append([]string{"target", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, k.args(dir)...)...)
	var host, admin string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && admin == ""; time.Sleep(20 * time.Millisecond) {
		out := tp.stdout.String()
		if m, a := listenRE.FindStringSubmatch(out), adminRE.FindStringSubmatch(out); m != nil && a != nil {
			host, admin = m[1], a[1]
		}
	}
	if admin == "" {
		t.Fatalf("target did not start: %s", tp.stderr)
	}
	pid := tp.cmd.Process.Pid
	defer syscall.Kill(pid, syscall.SIGKILL)

	// Watch the resource from outside until it reaches its limit.
	hit := make(chan time.Time, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// Every second while far from the limit (listing thousands of
		// descriptors ten times a second would load the machine), every
		// 100 ms near it.
		every := time.Second
		for {
			select {
			case <-stop:
				return
			case <-time.After(every):
				now := time.Now()
				v, err := k.observe(pid, admin, dir)
				if err == nil && v >= k.limit-k.margin {
					hit <- now
					return
				}
				if err == nil && v >= 0.9*k.limit {
					every = 100 * time.Millisecond
				}
			}
		}
	}()

	// A steady soak: each user starts a request every p.pacing whatever
	// it took (pacing), so the request rate, and a leak per request, goes
	// on after the soak as it went during it, on a busy machine too.
	users := fmt.Sprintf(`
users:
  - name: a
    wait: {pacing: %dms}
    tasks:
      - get: /delay/0
`, p.pacing.Milliseconds())
	nUsers := strconv.Itoa(p.users)
	soakFile := writeFile(t, dir, "soak.yaml", users+fmt.Sprintf(`monitor:
  interval: 1s
%s  scrape:
    - url: http://%s/metrics
      metrics: [process_resident_memory_bytes, process_open_fds, process_max_fds,
                horde_target_pool_in_use, horde_target_pool_max, horde_target_disk_used_bytes, horde_target_disk_limit_bytes]
`, k.limits, admin))
	contFile := writeFile(t, dir, "cont.yaml", users)
	jsonOut := filepath.Join(dir, "report.json")
	s := start(t, dir, nil, hordeBin, "run", soakFile, "--headless", "-u", nUsers, "-r", "50", "-t", soakLen,
		"-H", host, "--only-summary", "--json", jsonOut, "--runs-dir", runsDir)
	code := s.wait(t, 5*time.Minute)
	soakEnd := time.Now()
	// The same load continues as the soak ends (bounded: 15 minutes).
	c := start(t, dir, nil, hordeBin, "run", contFile, "--headless", "-u", nUsers, "-r", "50", "-t", "15m", "-H", host,
		"--only-summary", "--runs-dir", filepath.Join(dir, "cont-runs"))
	defer syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
	if m := regexp.MustCompile(`run file: (\S+)`).FindStringSubmatch(s.stdout.String()); m != nil {
		r.runFile = m[1]
	}

	var rep struct {
		Info struct {
			Verdicts []coverageVerdict `json:"verdicts"`
		} `json:"info"`
	}
	raw, err := os.ReadFile(jsonOut)
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil {
		r.errMsg = fmt.Sprintf("soak exit %d, report: %v\n%s", code, err, s.stderr)
		return r
	}
	r.forecastFrom(rep.Info.Verdicts, k.kind)
	if !r.ok {
		r.at = soakEnd
	}
	// Wait for the resource to run out: the truth, even well past the
	// interval (a replay judges the same soak with another forecast), up
	// to three times the forecast, at least 2 minutes past it, at most 12
	// minutes.
	wait := 8 * time.Minute
	if r.ok {
		wait = min(max(3*r.in, r.in+2*time.Minute), 12*time.Minute)
	}
	select {
	case h := <-hit:
		r.truthKnown = true
		r.truth = h.Sub(r.at)
	case <-time.After(time.Until(r.at.Add(wait))):
	case <-c.done:
		r.errMsg += fmt.Sprintf("; the continued load ended: %s", c.stderr)
	}
	// The pause between the loads, from their run files: the soak's load
	// stopping, the continued load's start (its process killed first).
	syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
	stopping := runEvent(t, r.runFile, "stopping")
	conts, _ := filepath.Glob(filepath.Join(dir, "cont-runs", "*.db"))
	resumed := time.Time{}
	if len(conts) == 1 {
		// The load resumes as its users start: half the rate between the
		// first and the last, so half that time counts in the pause.
		resumed = runEvent(t, conts[0], "run started")
		if done := runEvent(t, conts[0], "spawn complete"); !resumed.IsZero() && done.After(resumed) {
			resumed = resumed.Add(done.Sub(resumed) / 2)
		}
	}
	if stopping.IsZero() || resumed.IsZero() {
		r.errMsg += fmt.Sprintf("; no pause measured (stopping %v, resumed %v, %d continued runs)", stopping, resumed, len(conts))
		r.truthKnown = false
	} else {
		r.gap = resumed.Sub(stopping)
		if k.perRequest {
			r.truth -= r.gap
		}
	}
	r.covered = r.ok && r.truthKnown && r.truth >= r.lo && (r.hiNever || r.truth <= r.hi)
	return r
}

// runEvent is the time of a run file's first event of kind (zero if none).
func runEvent(t *testing.T, path, kind string) time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return time.Time{}
	}
	defer st.Close(ctx)
	evs, err := st.Events(ctx)
	if err != nil {
		t.Logf("%s: %v", path, err)
	}
	for _, e := range evs {
		if e.Kind == kind {
			return e.T
		}
	}
	return time.Time{}
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// scrapeValue reads one unlabelled metric from a /metrics endpoint.
func scrapeValue(admin, name string) (float64, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("no %s", name)
}

// procRSS reads a process's resident set from /proc/PID/status.
func procRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}
