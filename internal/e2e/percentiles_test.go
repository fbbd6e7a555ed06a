//go:build e2e

package e2e

import (
	"encoding/csv"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A run keeps per-minute histograms: `horde percentiles RUN` gives every
// name's percentiles over the run, with the counts of the run's own CSV and
// percentiles within the coarse histograms' 1 %.
func TestPercentiles_Window(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "slow.yaml", `
users:
  - name: a
    tasks:
      - get: /delay/20
        name: twenty
      - get: /delay/60
        name: sixty
`)
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "3", "-r", "30", "-t", "4s", "-H", host,
		"--only-summary", "--runs-dir", "runs", "--csv", "out")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("run: exit code %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	path := runFileOf(t, p, dir)
	code, out, errOut := hordeIn(t, dir, "percentiles", path, "--format", "csv")
	if code != 0 {
		t.Fatalf("percentiles: exit %d\n%s\n%s", code, out, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 4 || rows[3][1] != "Aggregated" || rows[0][2] != "Request Count" || rows[0][3] != "50%" {
		t.Fatalf("percentiles CSV: %v\n%s", err, out)
	}
	t.Logf("horde percentiles:\n%s", out)
	want := statsRows(t, filepath.Join(dir, "out_stats.csv"))
	for _, r := range rows[1:] {
		key := r[0] + " " + r[1]
		w := want[key]
		if w == nil {
			t.Fatalf("no row %q in the run's stats CSV", key)
		}
		if r[2] != w[2] {
			t.Errorf("%s: %s requests in the minutes, %s in the run", key, r[2], w[2])
		}
		// Column 5 of the stats CSV is the median, in whole ms as Locust writes it.
		got, _ := strconv.ParseFloat(r[3], 64)
		med, _ := strconv.ParseFloat(w[4], 64)
		if math.Abs(got-med) > 0.01*med+1 {
			t.Errorf("%s: median %.3f ms from the minutes, %.0f ms in the run", key, got, med)
		}
	}
	// Bad input: a window after the end, a reversed window.
	if code, _, errOut := hordeIn(t, dir, "percentiles", path, "--from", "1h"); code != 2 || !strings.Contains(errOut, "no per-minute histograms") {
		t.Errorf("window after the end: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := hordeIn(t, dir, "percentiles", path, "--from", "2m", "--to", "1m"); code != 2 || !strings.Contains(errOut, "--to") {
		t.Errorf("reversed window: exit %d\n%s", code, errOut)
	}
}
